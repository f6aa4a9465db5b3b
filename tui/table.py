"""RecordTable: a Line-API table that formats only the rows on screen.

DataTable lays out every row it holds (adding 100k rows took 18 s here, removing one is O(n)), so
a pane rebuilt four times a second from a large log would freeze the screen. This table holds the
records themselves and turns a record into cells only when its line is drawn: replacing all rows
costs a sort, scrolling costs the visible lines. The header stays on line 0; row i is drawn on
line i - scroll_y + 1. One column may be flexible (width 0) and takes the space the others leave.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pullwatch.humanize import short_name

T = TypeVar("T")
FLEX_MIN = 12  # the flexible column never gets narrower than this
NAME_ROOM = 26  # columns with a `drop` rank give way until the flexible one (the names) has this
WIDE_MAX = 300  # the wide view's name column: as wide as the longest name, up to this
SCROLL_STEP = 8


@dataclass(frozen=True)
class Column(Generic[T]):
    label: str
    cell: Callable[[T], Text]  # must return a new Text (it is truncated in place)
    width: int = 0  # 0: takes the remaining width
    justify: Literal["left", "right"] = "left"
    sort_key: Callable[[T], Any] | None = None  # None: not sortable; a key may return None (sorted last)
    descending: bool = False  # first direction when this column becomes the sort column
    drop: int = 0  # > 0: hidden on a narrow pane to give names room, the highest rank first


def measure(label: str, value: Callable[[T], Any], show: Callable[[Any], Text], width: int, drop: int = 0) -> Column[T]:
    """A right-aligned quantity column: shows `value` with `show`, sorts by it, largest first."""
    return Column(label, lambda record: show(value(record)), width, "right", sort_key=value, descending=True, drop=drop)


class RecordTable(ScrollView, Generic[T], can_focus=True):
    """Rows are records; cells are computed on draw. Posts Selected on enter / double click."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "up", show=False),
        Binding("down,j", "cursor_down", "down", show=False),
        Binding("pageup,ctrl+b", "page_up", "page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "page down", show=False),
        Binding("home,g", "first", "top", show=False),
        Binding("end,G", "last", "bottom", show=False),
        Binding("left,h", "scroll_sideways(-1)", "left", show=False),
        Binding("right,l", "scroll_sideways(1)", "right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-table--header",
        "record-table--cursor",
        "record-table--empty",
    }
    DEFAULT_CSS = """
    RecordTable {
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    RecordTable > .record-table--header { text-style: bold; color: $text-accent; }
    RecordTable > .record-table--cursor { background: $block-cursor-blurred-background; }
    RecordTable:focus > .record-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RecordTable > .record-table--empty { color: $text-muted; text-style: italic; }
    """

    class Selected(Message):
        """Enter (or a click on the selected row) on a row."""

        def __init__(self, table: RecordTable[Any], item: Any) -> None:
            super().__init__()
            self.table = table
            self.item = item

        @property
        def control(self) -> RecordTable[Any]:
            return self.table

    class FollowChanged(Message):
        """The user moved away from the first row, or back to it: the pane's title says so."""

    def __init__(
        self,
        columns: Sequence[Column[T]],
        key: Callable[[T], Hashable],
        row_style: Callable[[T], str] | None = None,
        sort_index: int | None = None,
        empty_text: str = "nothing yet",
        *,
        follow: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._key = key
        self._row_style = row_style
        self.sort_index = sort_index
        self.sort_descending = columns[sort_index].descending if sort_index is not None else False
        self.empty_text = empty_text
        self.items: list[T] = []
        self.cursor = 0
        self._unsorted: Sequence[T] = ()
        # Following (as tail -f does): the cursor stays on the first row, the newest when the pane
        # is sorted newest first, until the user moves it; rows that arrive above the cursor after
        # that are counted in `new_above` ("n new ↑") until the user goes back up or resumes.
        self.wide = False  # the wide view: every column, names whole, scrolled sideways
        self._name_width = 0  # the longest name, measured when the wide view is on
        self.can_follow = follow
        self.following = follow
        self.new_above = 0

    # ---- content -------------------------------------------------------------------------------
    def set_items(self, items: Sequence[T]) -> None:
        """Replace the rows. Following, the cursor stays on the first row; else on the same
        record when it is still listed, and rows that came in above it are counted."""
        selected = self.selected
        old_cursor = self.cursor
        self._unsorted = items
        self.items = self._sorted(items)
        if self.following:
            self.cursor = 0
        elif selected is not None:
            wanted = self._key(selected)
            for index, item in enumerate(self.items):
                if self._key(item) == wanted:
                    if self.can_follow and index > old_cursor:
                        self.new_above += index - old_cursor
                    self.cursor = index
                    break
        self.cursor = max(0, min(self.cursor, len(self.items) - 1))
        if self.wide:
            self._measure_names()
        self._size_content()
        self._scroll_to_cursor()
        self.refresh()

    # ---- the wide view ---------------------------------------------------------------------------
    def set_wide(self, wide: bool) -> None:
        """Wide: every column, the names whole, ←/→ (h/l) scroll sideways; else fit the pane."""
        self.wide = wide
        self.styles.overflow_x = "auto" if wide else "hidden"
        if wide:
            self._measure_names()
        self._size_content()
        if not wide:
            self.scroll_x = 0  # (scroll_to ignores x once overflow-x is hidden)
        self.refresh()

    def _measure_names(self) -> None:
        flexible = [column for column in self.columns if not column.width]
        longest = max((column.cell(item).cell_len for column in flexible for item in self.items), default=0)
        self._name_width = min(max(longest, FLEX_MIN), WIDE_MAX)

    def _size_content(self) -> None:
        width = self.size.width
        if self.wide:
            widths = self._widths(width)
            width = max(sum(widths) + len(widths) - 1, width)
        self.virtual_size = Size(width, len(self.items) + 1)

    def action_scroll_sideways(self, direction: int) -> None:
        if self.wide:
            self.scroll_to(x=max(self.scroll_x + direction * SCROLL_STEP, 0), animate=False, immediate=True)

    def _sorted(self, items: Sequence[T]) -> list[T]:
        if self.sort_index is None:
            return list(items)
        key = self.columns[self.sort_index].sort_key
        if key is None:
            return list(items)
        known = [(value, item) for item in items if (value := key(item)) is not None]
        known.sort(key=lambda pair: pair[0], reverse=self.sort_descending)
        return [item for _, item in known] + [item for item in items if key(item) is None]

    @property
    def selected(self) -> T | None:
        return self.items[self.cursor] if 0 <= self.cursor < len(self.items) else None

    @property
    def sort_label(self) -> str:
        if self.sort_index is None:
            return ""
        arrow = "▼" if self.sort_descending else "▲"
        return f"{self.columns[self.sort_index].label} {arrow}"

    def cycle_sort(self) -> None:
        """Sort by the next sortable column, in its natural direction."""
        sortable = [i for i, column in enumerate(self.columns) if column.sort_key is not None]
        if not sortable:
            return
        after = [i for i in sortable if self.sort_index is None or i > self.sort_index]
        self.sort_index = (after or sortable)[0]
        self.sort_descending = self.columns[self.sort_index].descending
        self._resort()

    def _resort(self) -> None:
        """The same rows in a new order: nothing is new, whatever moved above the cursor."""
        new = self.new_above
        self.set_items(self._unsorted)
        self.new_above = new

    def reverse_sort(self) -> None:
        if self.sort_index is not None:
            self.sort_descending = not self.sort_descending
            self._resort()

    # ---- cursor --------------------------------------------------------------------------------
    @property
    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def move_cursor(self, row: int) -> None:
        """Move the cursor (the user did): on the first row the pane follows again."""
        if not self.items:
            return
        self.cursor = max(0, min(row, len(self.items) - 1))
        if self.can_follow:
            before = (self.following, self.new_above)
            self.following = self.cursor == 0
            self.new_above = min(self.new_above, self.cursor)
            if (self.following, self.new_above) != before:
                self.post_message(self.FollowChanged())
        self._scroll_to_cursor()
        self.refresh()

    def resume_following(self) -> None:
        """Back to the first row (the newest), and stay there as rows come in."""
        self.following = self.can_follow
        self.new_above = 0
        self.move_cursor(0)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self._visible_rows:
            self.scroll_to(y=self.cursor - self._visible_rows + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._visible_rows)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._visible_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.items) - 1)

    def action_select(self) -> None:
        if self.selected is not None:
            self.post_message(self.Selected(self, self.selected))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = int(self.scroll_y) + offset.y - 1
        if row >= len(self.items):
            return
        if row == self.cursor and event.chain > 1:
            self.action_select()
        self.move_cursor(row)

    def on_resize(self, event: events.Resize) -> None:
        self._size_content()
        self._scroll_to_cursor()

    # ---- drawing -------------------------------------------------------------------------------
    def _widths(self, width: int) -> list[int]:
        """Fixed widths (wide enough for the label and a sort arrow), the rest to the flexible
        column (the names). When that leaves the names less than NAME_ROOM, columns with a
        `drop` rank are hidden (width 0), the highest first. The wide view shows every column
        and the names whole."""
        fixed = [
            max(column.width, len(column.label) + 2 * (column.sort_key is not None)) if column.width else 0
            for column in self.columns
        ]
        flexible = max(fixed.count(0), 1)
        if self.wide:
            return [size or self._name_width for size in fixed]
        shown = list(range(len(self.columns)))

        def share() -> int:
            return (width - sum(fixed[i] for i in shown) - (len(shown) - 1)) // flexible

        for index in sorted((i for i, c in enumerate(self.columns) if c.drop), key=lambda i: -self.columns[i].drop):
            if share() >= NAME_ROOM:
                break
            shown.remove(index)
        room = max(share(), FLEX_MIN)
        return [(fixed[i] or room) if i in shown else 0 for i in range(len(self.columns))]

    def _line(self, cells: Sequence[Text], widths: Sequence[int]) -> Text:
        line = Text(no_wrap=True, end="")
        first = True
        for cell, width, column in zip(cells, widths, self.columns, strict=True):
            if not width:
                continue  # hidden to give the names room
            if not first:
                line.append(" ")
            first = False
            if not column.width and cell.cell_len > width:  # a name: its registry part goes first
                cell = Text(short_name(cell.plain, width), style=cell.style)
            cell.truncate(width, overflow="ellipsis")
            cell.align(column.justify, width)
            line.append_text(cell)
        return line

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        strip = Strip(list(text.render(self.app.console)))
        if self.wide:
            left = int(self.scroll_x)
            strip = strip.crop(left, left + width)
        return strip.adjust_cell_length(width, style).apply_style(style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        widths = self._widths(width)
        if y == 0:
            header = self.get_component_rich_style("record-table--header")
            labels = []
            for index, column in enumerate(self.columns):
                label = column.label
                if index == self.sort_index:
                    label += " ▼" if self.sort_descending else " ▲"
                labels.append(Text(label))
            return self._strip(self._line(labels, widths), width, base + header)
        row = int(self.scroll_y) + y - 1
        if row >= len(self.items):
            if row == 0 and y == 1:
                empty = self.get_component_rich_style("record-table--empty")
                return self._strip(Text(" " + self.empty_text), width, base + empty)
            return Strip([Segment(" " * width, base)], width)
        item = self.items[row]
        style = base
        if self._row_style is not None and (extra := self._row_style(item)):
            style = base + Style.parse(extra)
        if row == self.cursor:
            style = style + self.get_component_rich_style("record-table--cursor")
        line = self._line([column.cell(item) for column in self.columns], widths)
        return self._strip(line, width, style)
