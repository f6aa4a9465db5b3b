"""The timeline (`t`): each pull a bar over log time, from its start to its end (or now), so that
concurrency, stalls and repeats show at a glance; a last row counts the pulls running in each
column. Plain Rich Text, made only from the store's records (no Textual here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from pullwatch.humanize import safe_text, short_name
from pullwatch.records import PullRecord, PullStatus

NAME_WIDTH = 30
MAX_ROWS = 400  # the newest pulls; older ones are counted in the title line
BARS = {PullStatus.COMPLETED: ("█", "green"), PullStatus.FAILED: ("▒", "red"), PullStatus.IN_PROGRESS: ("▓", "yellow")}
ENDS = {PullStatus.FAILED: "✗", PullStatus.IN_PROGRESS: "▶"}  # readable without colour too


def timeline_text(pulls: Sequence[PullRecord], now: datetime | None, width: int) -> Text:
    """Bars for `pulls` (in start order) across `width` columns, up to `now` (log time)."""
    timed = [r for r in pulls if r.sort_time is not None]
    timed.sort(key=lambda r: (r.sort_time, r.id))
    text = Text()
    if not timed:
        text.append("no pull with a logged time yet", style="italic")
        return text
    hidden = max(len(timed) - MAX_ROWS, 0)
    shown = timed[hidden:]
    starts = [moment for r in shown if (moment := r.sort_time) is not None]
    first = min(starts)
    ends = [r.finished_at or first for r in shown] + ([now] if now is not None else [])
    last = max([*ends, *starts])
    span = max((last - first).total_seconds(), 1.0)
    columns = max(width - NAME_WIDTH - 1 - len("  max 9999"), 10)  # room for the running row's "max N"

    def column(moment: datetime) -> int:
        return min(max(int((moment - first).total_seconds() / span * (columns - 1)), 0), columns - 1)

    text.append(_axis(first, last, columns) + "\n", style="dim")
    running = [0] * columns
    seen: dict[str, int] = {}
    for record in shown:
        seen[record.ref] = seen.get(record.ref, 0) + 1
        mark = f" #{seen[record.ref]}" if seen[record.ref] > 1 else ""
        name = short_name(safe_text(record.image), NAME_WIDTH - len(mark)) + mark
        text.append(name.ljust(NAME_WIDTH) + " ")
        start = column(record.started_at) if record.started_at is not None else None
        end_time = record.finished_at if record.status is not PullStatus.IN_PROGRESS else (now or last)
        end = column(end_time) if end_time is not None else start
        if start is None:  # no start line (a sandbox pull): a point at its end
            start = end
        assert start is not None and end is not None
        bar, style = BARS[record.status]
        tip = ENDS.get(record.status, "")
        length = max(end - start + 1, 1)
        body = bar * (length - len(tip)) + tip if length > len(tip) else tip or bar
        text.append(" " * start)
        text.append(body, style=style)
        text.append("\n")
        for index in range(start, start + length):
            running[index] += 1
    top = max(running)
    text.append("running".ljust(NAME_WIDTH) + " ", style="bold")
    text.append("".join(" " if n == 0 else "▁▂▃▄▅▆▇█"[min((n * 8 - 1) // max(top, 1), 7)] for n in running))
    text.append(f"  max {top}", style="dim")  # per column: a pull ending and one starting in it count twice
    if hidden:
        text.append(f"\n{hidden} older pulls not shown", style="italic")
    return text


def _axis(first: datetime, last: datetime, columns: int) -> str:
    """`HH:MM:SS` at the left and right ends (and the middle when there is room)."""
    left, right = first.strftime("%H:%M:%S"), last.strftime("%H:%M:%S")
    line = [" "] * columns
    middle = first + (last - first) / 2
    labels = [(0, left), (columns - len(right), right)]
    if columns >= 40:
        labels.append((columns // 2 - 4, middle.strftime("%H:%M:%S")))
    for position, label in labels:
        line[position : position + len(label)] = label
    return " " * (NAME_WIDTH + 1) + "".join(line)[:columns]
