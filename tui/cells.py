"""Cell texts shared by the panes. Names come from logs: they become plain Text (never markup)
with control characters neutralised, so `[bold]` or an escape sequence in a log shows as written."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from pullwatch import humanize
from pullwatch.humanize import human_bytes, human_duration, safe_text

TIME_WIDTH = 14


def name(text: str) -> Text:
    return Text(safe_text(text))


def name_on(text: str, node: str | None) -> Text:
    """An image, and the node it was pulled on when there is one to show."""
    shown = name(text)
    if node is not None:
        shown.append("  @ ", style="dim")
        shown.append_text(name(node))
    return shown


def moment(value: datetime | None) -> Text:
    return Text("-" if value is None else value.strftime("%m-%d %H:%M:%S"))


def size(value: int | None) -> Text:
    return Text(human_bytes(value))


def duration(seconds: float | None) -> Text:
    return Text(human_duration(seconds))


def mib_per_second(count: int | None, seconds: float | None) -> Text:
    return Text(humanize.mib_per_second(count, seconds))
