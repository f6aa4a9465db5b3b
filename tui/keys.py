"""The main screen's keys, written once: the bindings (and so the footer), the help screen's rows
and the command palette's entries are all made from MAIN_KEYS.

Keys that move focus are priority bindings: they run as the app reads them, before the next key is
routed, so `/busybox` typed in one burst lands in the filter, not in the pane.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One key of the main screen: its binding, and how the help and the palette name it."""

    key: str  # Textual key name(s), comma-separated
    action: str  # a MainScreen action
    footer: str  # the footer's label
    shown: str  # the key as the help and the palette write it
    palette: str  # the palette entry
    palette_help: str = ""
    show: bool = True  # in the footer
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.footer, show=self.show, priority=self.priority)

    @property
    def palette_hint(self) -> str:
        """The palette's help line: what it does, and its key."""
        return f"{self.palette_help}  ({self.shown})" if self.palette_help else f"({self.shown})"


MAIN_KEYS: tuple[Key, ...] = (  # in footer order: help and quit first, seen on the narrowest terminal
    Key("question_mark", "help", "help", "?", "Show the keys"),
    Key("q", "quit", "quit", "q", "Quit pullwatch"),
    Key(
        "slash",
        "focus_filter",
        "filter",
        "/",
        "Filter images",
        "Type text, a glob (*nginx*) or re:REGEX",
        priority=True,
    ),
    Key("escape", "clear_filter", "clear", "esc", "Clear the image filter", "Show every image again", priority=True),
    Key("tab", "next_pane", "pane", "tab", "Next pane", "In progress, Completed, Pulled more than once", priority=True),
    Key("shift+tab", "previous_pane", "previous pane", "shift+tab", "Previous pane", show=False, priority=True),
    Key(
        "enter",
        "open_detail",
        "detail",
        "enter",
        "Open the selected pull or image",
        "All its pulls, errors and raw log lines",
        priority=True,
    ),
    Key("f", "follow", "follow", "f", "Follow the newest pulls", "Completed: back to the newest, and stay there"),
    Key("t", "timeline", "timeline", "t", "Timeline", "Pulls as bars over log time: concurrency, stalls, repeats"),
    Key("w", "toggle_wide", "wide", "w", "Wide view", "Every column and whole names; ←/→ scroll sideways"),
    Key("s", "cycle_sort", "sort", "s", "Sort by the next column", "In the focused pane"),
    Key("S", "reverse_sort", "reverse sort", "S", "Reverse the sort order", "In the focused pane", show=False),
    Key("p", "toggle_pause", "pause", "p", "Pause or resume updates", "A replay pauses too"),
)


@dataclass(frozen=True)
class HelpRow:
    """A line of the help screen: main-screen keys by action, or keys other widgets own
    (the tables' cursor keys, Textual's palette) written out in `keys`."""

    text: str
    actions: tuple[str, ...] = ()
    keys: str = ""


HELP_ROWS: tuple[HelpRow, ...] = (  # each fits the help box at 80 columns (tests/test_tui_small.py)
    HelpRow("filter images: text, a glob (*nginx*) or re:REGEX", ("focus_filter",)),
    HelpRow("clear the filter (a detail view: close it)", ("clear_filter",)),
    HelpRow("details: every pull of the image, errors, log lines", ("open_detail",)),
    HelpRow("next / previous pane", ("next_pane", "previous_pane")),
    HelpRow("move the cursor; pgup / pgdn a page", keys="j k ↑ ↓"),  # tui/table.py
    HelpRow("first / last row (home / end)", keys="g G"),
    HelpRow("Completed: follow the newest pulls again", ("follow",)),
    HelpRow("timeline: pulls as bars over log time (t closes)", ("timeline",)),
    HelpRow("wide view: whole names; ← → (h l) scroll sideways", ("toggle_wide",)),
    HelpRow("sort by the next column / reverse the order", ("cycle_sort", "reverse_sort")),
    HelpRow("pause or resume updates (a replay pauses too)", ("toggle_pause",)),
    HelpRow("command palette; filter by any image seen", keys="ctrl+p"),
    HelpRow("this help", ("help",)),
    HelpRow("quit (a detail view or this help: close it)", ("quit",)),
)


def help_rows() -> list[tuple[str, str]]:
    """(keys, meaning) for each help line, the keys of main-screen actions taken from MAIN_KEYS."""
    shown = {key.action: key.shown for key in MAIN_KEYS}
    return [(row.keys or " / ".join(shown[action] for action in row.actions), row.text) for row in HELP_ROWS]
