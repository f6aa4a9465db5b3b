"""The `?` help screen: every key (tui/keys.py), and what the panes and colours mean."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from pullwatch.tui.keys import help_rows

NOTES = (
    "In progress: 'timeout' is the share of containerd's no-progress timeout (5m, or the log's) "
    "used since the pull's last progress line: yellow past half, red past 80%. Completed: newest "
    "first, followed until you move; MiB/s is bytes fetched per second. Repeated: cached pulls "
    "read 0 bytes; fetched/s spreads each pull's bytes over its run."
)


def help_renderable() -> Group:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, meaning in help_rows():
        table.add_row(key, meaning)
    return Group(table, Text(""), Text(NOTES, style="dim"))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape,question_mark", "close", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "pullwatch keys"
            box.border_subtitle = "q / esc / ? to close"
            yield Static(help_renderable())

    def action_close(self) -> None:
        self.dismiss()
