"""The totals line under the title: pulls, in progress, failed, bytes, images, and lines read;
and, while pulls run, a sparkline of bytes fetched per second over the last minutes of log time."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from pullwatch.humanize import human_bytes, safe_text
from pullwatch.records import Stats
from pullwatch.tui.rates import BUCKET, BUCKETS, byte_rates, sparkline
from pullwatch.tui.view import Snapshot


def summary_text(snap: Snapshot, stats: Stats, pattern: str, nodes: list[str] | None = None) -> Text:
    """`pattern` is the image pattern, `nodes` the names of the filter's `node:NAME` words."""
    totals = snap.totals
    text = Text()
    if pattern or nodes:
        if pattern:
            text.append("filter ", style="bold")
            text.append(safe_text(pattern), style="bold reverse")
        if nodes:
            text.append(" node " if pattern else "node ", style="bold")
            text.append(safe_text(" ".join(nodes)), style="bold reverse")
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

    def show(self, snap: Snapshot, stats: Stats, pattern: str, nodes: list[str] | None = None) -> None:
        self.update(summary_text(snap, stats, pattern, nodes))


def rate_text(snap: Snapshot, now: datetime | None, short: bool = False) -> Text | None:
    """The sparkline while pulls run (None otherwise, or when no pull logged bytes in the window)."""
    if not snap.in_progress or now is None:
        return None
    rates = byte_rates([*snap.in_progress, *snap.finished], now)
    if not any(rates):
        return None
    minutes = BUCKETS * BUCKET.total_seconds() / 60
    text = Text("fetched/s ", style="bold")
    text.append(sparkline(rates), style="cyan")
    text.append(f"  peak {human_bytes(int(max(rates)))}/s")
    if all(record.progress_bytes is not None for record in snap.in_progress):
        text.append(f" · now {human_bytes(int(rates[-1]))}/s")
    else:  # unknown is not zero: info-level logs give a running pull's bytes only when it ends
        text.append(" · running: no bytes yet", style="italic")
    if not short:
        text.append(f" · last {minutes:g}m of log time", style="dim")
    return text


class RateLine(Static):
    DEFAULT_CSS = """
    RateLine { height: auto; padding: 0 1; background: $panel; }
    """

    def show(self, snap: Snapshot, now: datetime | None, short: bool = False) -> None:
        text = rate_text(snap, now, short)
        self.display = text is not None
        if text is not None:
            self.update(text)
