"""The image filter bar (`/`): narrows every pane as you type.

Always on screen (one line): a hidden input cannot take focus at once, so the keys typed right
after `/` would go to the pane instead (a real race in a terminal, where keys arrive together)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

PLACEHOLDER = "filter images: text, a glob like *nginx*, or re:REGEX   (enter: back to the panes, esc: clear)"


class FilterInput(Input):
    """The filter's input: enter goes back to the panes. A priority binding, so it runs as the key
    is read: `/nginx⏎q` typed in one burst quits instead of filtering for `nginxq`. Its footer
    label says what it does here (the panes' enter opens the detail)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "leave", "back to panes", priority=True)]

    def __init__(self, value: str, leave: Callable[[], None], **options: object) -> None:
        super().__init__(value, **options)  # type: ignore[arg-type]
        self._leave = leave

    def action_leave(self) -> None:
        self._leave()


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { height: 1; background: $panel; }
    FilterBar > Label { width: auto; padding: 0 1; text-style: bold; }
    FilterBar > #filter-error { width: auto; max-width: 60%; color: $text-error; padding: 0 1; }
    """
    # The Input's own look (no border: the bar is one line) is in app.tcss, where it outranks
    # Input's default :focus border.

    def __init__(self, pattern: str = "", leave: Callable[[], None] = lambda: None) -> None:
        super().__init__(id="filter-bar")
        self._pattern = pattern
        self._leave = leave
        self.error = Static("", id="filter-error")

    def compose(self) -> ComposeResult:
        # made here, not in __init__: an Input with a value wants a running app
        self.input = FilterInput(
            self._pattern, self._leave, placeholder=PLACEHOLDER, id="filter", select_on_focus=False
        )
        self.input.cursor_blink = False  # stable snapshots, and no redraw every half second
        yield Label("/")
        yield self.input
        yield self.error

    def show_error(self, message: str | None) -> None:
        self.input.set_class(message is not None, "-invalid")
        self.error.update(message or "")
