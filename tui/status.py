"""The status line: where the feed is (replay position and progress, or what is being followed),
whether it is paused, why this source was picked, and a source error when one occurs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from pullwatch.humanize import safe_text


@dataclass
class FeedState:
    """What the app knows about its feed (updated from the feed's messages)."""

    live: bool
    speed: float | None = None  # replay speed; None = max
    note: str | None = None
    total_lines: int | None = None
    total_exact: bool = True  # False: estimated from the start of a big file
    done: bool = False
    error: str | None = None
    paused: bool = False


def speed_label(speed: float | None) -> str:
    if speed is None:
        return "max speed"
    return f"×{speed:g}"


def status_text(state: FeedState, lines: int, log_time: datetime | None) -> Text:
    text = Text()
    if state.error:
        text.append(f"✖ {safe_text(state.error)}", style="bold red")
    elif state.paused:
        text.append("⏸ paused (p resumes)", style="bold yellow")
    elif state.done:
        text.append("■ replay finished" if not state.live else "■ source ended", style="bold")
    elif state.live:
        text.append("● following", style="bold green")
    else:
        text.append(f"▶ replay {speed_label(state.speed)}", style="bold green")
    when = "-" if log_time is None else log_time.strftime("%Y-%m-%d %H:%M:%S")
    text.append(f" · log time {when}")
    if state.total_lines and state.done:
        text.append(f" · {lines:,} lines (100%)")
    elif state.total_lines:
        share = min(lines / state.total_lines, 0.99 if not state.total_exact else 1.0)
        about = "" if state.total_exact else "~"
        text.append(f" · {lines:,} / {about}{state.total_lines:,} lines ({about}{share:.0%})")
    else:
        text.append(f" · {lines:,} lines")
    if state.note:
        text.append(" · ", style="dim")
        text.append(safe_text(state.note), style="italic")
    return text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: auto; padding: 0 1; background: $panel; }
    """

    def show(self, state: FeedState, lines: int, log_time: datetime | None) -> None:
        self.update(status_text(state, lines, log_time))
