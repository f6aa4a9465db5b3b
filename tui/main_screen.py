"""The main screen: totals, the filter bar, the three panes, the status line and the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from pullwatch.filtering import NODE_PREFIX, FilterError, split_node_words
from pullwatch.humanize import human_duration, safe_text
from pullwatch.records import PullRecord, PullStatus
from pullwatch.tui.filter_bar import FilterBar
from pullwatch.tui.footer import KeyFooter
from pullwatch.tui.keys import MAIN_KEYS
from pullwatch.tui.panes.completed import CompletedPane
from pullwatch.tui.panes.in_progress import InProgressPane
from pullwatch.tui.panes.repeated import RepeatedPane
from pullwatch.tui.screens.detail import DetailScreen
from pullwatch.tui.screens.help import HelpScreen
from pullwatch.tui.screens.timeline import TimelineScreen
from pullwatch.tui.status import StatusLine
from pullwatch.tui.summary import RateLine, SummaryLine
from pullwatch.tui.table import RecordTable
from pullwatch.tui.view import RepeatedImage, StoreView

if TYPE_CHECKING:
    from pullwatch.tui.app import PullwatchApp


COMPACT_BELOW = (100, 30)  # a smaller terminal shows one pane at a time, under a line of tabs
TAB_NAMES = ("In progress", "Completed", "Repeated")  # the header calls them repeated too
IDLE_TEXTS = ("no pull in progress", "no pull has ended yet", "no image pulled more than once")


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [key.binding() for key in MAIN_KEYS]  # tui/keys.py

    def __init__(self, view: StoreView, pattern: str = "") -> None:
        super().__init__()
        self.view = view
        self.in_progress = InProgressPane(view)
        self.completed = CompletedPane(view)
        self.repeated = RepeatedPane()
        self.panes: list[RecordTable[Any]] = [self.in_progress, self.completed, self.repeated]
        # held, not queried: a timer may still fire while the screen is being taken down
        self.summary_line = SummaryLine(id="summary")
        self.rate_line = RateLine(id="rates")
        self.status_line = StatusLine(id="status")
        self.filter_bar = FilterBar(pattern, leave=self._leave_filter)
        self.tabs = Static(id="pane-tabs")
        self._last_pane: RecordTable[Any] = self.completed
        self.ready = False  # composed and mounted: the panes may be drawn

    @property
    def _app(self) -> PullwatchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield self.summary_line
        yield self.rate_line
        yield self.filter_bar
        yield self.tabs
        yield from self.panes
        yield self.status_line
        yield KeyFooter()

    def on_mount(self) -> None:
        self.ready = True
        self.set_focus(self.completed)
        self._show_current()
        self.refresh_panes()

    def on_resize(self, event: events.Resize) -> None:
        """Below COMPACT_BELOW the panes become tabs: one pane, whole, and a line naming all three."""
        width, height = COMPACT_BELOW
        self.set_class(event.size.width < width or event.size.height < height, "-compact")

    def _show_current(self) -> None:
        for pane in self.panes:
            pane.set_class(pane is self._last_pane, "-current")
        self._draw_tabs()

    def _draw_tabs(self) -> None:
        text = Text()
        failed = sum(record.status is PullStatus.FAILED for record in self.completed.items)
        counts = (
            str(len(self.in_progress.items)),
            f"{len(self.completed.items) - failed}" + (f", {failed} failed" if failed else ""),
            str(len(self.repeated.items)),
        )
        for index, (pane, name, count) in enumerate(zip(self.panes, TAB_NAMES, counts, strict=True)):
            if index:
                text.append(" │ ", style="dim")
            text.append(f" {name} {count} ", style="bold reverse" if pane is self._last_pane else "")
        text.append("  tab: next", style="dim")
        self.tabs.update(text)

    # ---- drawing -------------------------------------------------------------------------------
    def refresh_panes(self) -> None:
        """Rebuild every pane from the store (at most a few times a second)."""
        snap = self.view.snapshot()
        self.in_progress.set_items(snap.in_progress)
        self.completed.set_items(snap.finished)
        self.repeated.set_items(snap.repeated)
        filtered = bool(self.view.pattern)
        pattern = safe_text(self.view.pattern)
        # the log's timeout (Go's "5m0s") is written the way every other duration is
        timeout = human_duration(self.view.timeout_seconds)
        source = "from the log" if self.view.timeout_text else "default"
        self.in_progress.border_title = f"In progress · {len(snap.in_progress)}"
        self.in_progress.border_subtitle = (
            f"no-progress timeout {timeout} ({source}) · sort {self.in_progress.sort_label}"
        )
        totals = snap.totals
        every = len(self.view.store.pulls) - len(self.view.store.in_progress())
        title = f"Completed · {totals.completed}" + (f" · failed {totals.failed}" if totals.failed else "")
        if filtered:
            title += f" ({len(snap.finished)} of {every} ended)"
        if self.completed.new_above:
            title += f" · {self.completed.new_above} new ↑"
        self.completed.border_title = title
        follow = "following newest" if self.completed.following else "f: follow newest"
        self.completed.border_subtitle = f"{follow} · sort {self.completed.sort_label}"
        self.repeated.border_title = f"Pulled more than once · {len(snap.repeated)}"
        self.repeated.border_subtitle = f"sort {self.repeated.sort_label}"
        for pane, idle in zip(self.panes, IDLE_TEXTS, strict=True):
            pane.empty_text = f"no pull matches '{pattern}'" if filtered else idle
        self._draw_tabs()
        self.summary_line.show(snap, self.view.store.stats, self.view.image_pattern, self.view.node_names)
        self.rate_line.show(snap, self._app.clock.now(), short=self.has_class("-compact"))
        self.refresh_status()

    def tick(self) -> None:
        """Every second: elapsed times move on (the rows are formatted when drawn)."""
        self.in_progress.set_items(self.in_progress.items)
        self.refresh_status()

    def refresh_status(self) -> None:
        app = self._app
        log_time = app.clock.now() if app.clock.paced else self.view.position
        self.status_line.show(app.feed_state, self.view.store.stats.lines, log_time)

    # ---- filter --------------------------------------------------------------------------------
    def _leave_filter(self) -> None:
        self.set_focus(self._last_pane)  # enter in the filter: back to the panes, at once

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In the filter, enter is the filter's own (back to the panes): no `⏎ detail` there."""
        return not (action == "open_detail" and self.filter_bar.input.has_focus)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, pattern: str) -> None:
        try:
            self.view.set_filter(pattern)
        except FilterError as error:
            self.filter_bar.show_error(str(error))
            return
        self.filter_bar.show_error(None)
        self.refresh_panes()

    def set_filter(self, pattern: str) -> None:
        field = self.filter_bar.input
        field.value = pattern  # posts Input.Changed, which applies it
        self.apply_filter(pattern)

    def set_node_filter(self, name: str) -> None:
        """Show only `name`'s pulls, keeping the filter's image pattern (the palette's Filter node)."""
        _, image_pattern = split_node_words(self.view.pattern)
        self.set_filter(" ".join(part for part in (f"{NODE_PREFIX}{name}", image_pattern) if part))

    def set_image_filter(self, pattern: str) -> None:
        """Filter by this image, keeping the filter's node words (the palette's Filter: IMAGE)."""
        names, _ = split_node_words(self.view.pattern)
        self.set_filter(" ".join([*(f"{NODE_PREFIX}{name}" for name in names), pattern]))

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()  # the footer's enter depends on where the focus is
        focused = self.focused
        if isinstance(focused, RecordTable) and focused is not self._last_pane:
            self._last_pane = focused
            self._show_current()

    def action_focus_filter(self) -> None:
        field = self.filter_bar.input
        if field.has_focus:  # a `/` inside a pattern (registry.k8s.io/coredns)
            field.insert_text_at_cursor("/")
            return
        self.set_focus(field)  # at once, not after a refresh: the next keys are already queued
        field.cursor_position = len(field.value)

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.set_focus(self._last_pane)

    # ---- panes ---------------------------------------------------------------------------------
    def _focus_pane(self, step: int) -> None:
        current = self.focused if isinstance(self.focused, RecordTable) else self._last_pane
        index = self.panes.index(current) if current in self.panes else 0
        if isinstance(self.focused, RecordTable):
            index += step
        self.set_focus(self.panes[index % len(self.panes)])

    def action_next_pane(self) -> None:
        self._focus_pane(1)

    def action_previous_pane(self) -> None:
        self._focus_pane(-1)

    def action_follow(self) -> None:
        """Back to the newest completed pull, and follow the new ones again."""
        self.completed.resume_following()
        self.set_focus(self.completed)
        self.refresh_panes()

    def action_timeline(self) -> None:
        self.app.push_screen(TimelineScreen(self.view))

    def action_toggle_wide(self) -> None:
        wide = not self.completed.wide
        for pane in self.panes:
            pane.set_wide(wide)

    def action_cycle_sort(self) -> None:
        self._last_pane.cycle_sort()
        self.refresh_panes()

    def action_reverse_sort(self) -> None:
        self._last_pane.reverse_sort()
        self.refresh_panes()

    def action_open_detail(self) -> None:
        """Enter in a pane: the detail of its row (in the filter, FilterInput's own enter)."""
        self.open_detail(self._last_pane.selected)

    @on(RecordTable.FollowChanged)
    def _follow_changed(self) -> None:
        self.refresh_panes()

    @on(RecordTable.Selected)
    def _row_chosen(self, event: RecordTable.Selected) -> None:
        self.open_detail(event.item)

    def open_detail(self, item: object) -> None:
        if isinstance(item, PullRecord):
            self.app.push_screen(DetailScreen(self.view, item.ref, item.id))
        elif isinstance(item, RepeatedImage):
            self.app.push_screen(DetailScreen(self.view, item.summary.ref))

    # ---- app-wide ------------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        self._app.toggle_pause()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.app.exit()
