"""The image filter bar (`/`): narrows every pane as you type. Hidden while no filter is set."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

PLACEHOLDER = "image filter: text, a glob like *nginx*, or re:REGEX   (enter: back to the panes, esc: clear)"


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $panel; }
    FilterBar.-shown { display: block; }
    FilterBar > Label { width: auto; padding: 0 1; text-style: bold; }
    FilterBar > Input { border: none; height: 1; width: 1fr; padding: 0; background: $panel; }
    FilterBar > Input.-invalid { border: none; color: $text-error; }
    FilterBar > #filter-error { width: auto; max-width: 60%; color: $text-error; padding: 0 1; }
    """

    def __init__(self, pattern: str = "") -> None:
        super().__init__(id="filter-bar")
        self._initial = pattern

    def compose(self) -> ComposeResult:
        yield Label("/")
        field = Input(self._initial, placeholder=PLACEHOLDER, id="filter", select_on_focus=False)
        field.cursor_blink = False  # stable snapshots, and no redraw every half second
        yield field
        yield Static("", id="filter-error")

    @property
    def input(self) -> Input:
        return self.query_one("#filter", Input)

    def show_error(self, message: str | None) -> None:
        self.input.set_class(message is not None, "-invalid")
        self.query_one("#filter-error", Static).update(message or "")

    def update_visibility(self) -> None:
        self.set_class(bool(self.input.value) or self.input.has_focus, "-shown")
