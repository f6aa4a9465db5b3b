"""The totals line under the title: pulls, in progress, failed, bytes, images, and lines read."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pullwatch.humanize import human_bytes, safe_text
from pullwatch.records import Stats
from pullwatch.tui.view import Snapshot


def summary_text(snap: Snapshot, stats: Stats, pattern: str) -> Text:
    totals = snap.totals
    text = Text()
    if pattern:
        text.append("filter ", style="bold")
        text.append(safe_text(pattern), style="bold reverse")
        text.append(f" {totals.pulls} of {snap.all_pulls} pulls", style="bold")
    else:
        text.append(f"{totals.pulls} pulls", style="bold")
    parts: list[tuple[str, str]] = [
        (f"{totals.in_progress} in progress", "yellow" if totals.in_progress else ""),
        (f"{totals.completed} completed", ""),
        (f"{totals.failed} failed", "bold red" if totals.failed else ""),
        (_known(totals.size_bytes, "pulled", "size unknown"), ""),
        (_known(totals.fetched_bytes, "fetched", "fetched unknown"), ""),
        (f"{totals.images} image{'s' if totals.images != 1 else ''}", ""),
        (f"{totals.repeated} repeated", "magenta" if totals.repeated else ""),
    ]
    for part, style in parts:
        text.append(" · ", style="dim")
        text.append(part, style=style)
    text.append("  │  ", style="dim")
    text.append(f"{stats.lines:,} lines read", style="dim")
    text.append(" · ", style="dim")
    text.append(f"{stats.unparsed_lines:,} unparsed", style="bold red" if stats.unparsed_lines else "dim")
    return text


def _known(count: int | None, what: str, unknown: str) -> str:
    """Bytes, or that the log does not say (1.5/1.6 log no sizes): never a 0 that means unknown."""
    return unknown if count is None else f"{human_bytes(count)} {what}"


class SummaryLine(Static):
    DEFAULT_CSS = """
    SummaryLine { height: auto; padding: 0 1; background: $panel; }
    """

    def show(self, snap: Snapshot, stats: Stats, pattern: str) -> None:
        self.update(summary_text(snap, stats, pattern))
