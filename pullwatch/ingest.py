"""Lines to events to the store, in one thread: the path of the headless commands. The monitor
splits the same two steps across threads (parse_line in its feed thread, store.add on the UI
thread, tui/view.py) so that the store is never changed while a pane reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from parsers import UnparsedLine, parse_line
from pullwatch.model import PullEvent
from pullwatch.sources import LineBatch
from pullwatch.store import PullStore


def ingest_line(store: PullStore, line: bytes | str, fallback_time: datetime | None = None) -> PullEvent | None:
    """Parse a candidate line and apply it; the line is already counted in stats.lines."""
    try:
        event = parse_line(line, fallback_time)
    except UnparsedLine:
        store.stats.unparsed_lines += 1
        return None
    if event is not None:
        store.stats.pull_lines += 1
        store.add(event)
    return event


def ingest_batch(store: PullStore, batch: LineBatch) -> Iterator[PullEvent]:
    """Apply a batch, yielding each event as it is applied (lazily: consume it)."""
    store.stats.lines += batch.total
    times = batch.times
    for index, line in enumerate(batch.lines):
        event = ingest_line(store, line, times[index] if times else None)
        if event is not None:
            yield event


def consume(store: PullStore, batch: LineBatch) -> None:
    for _ in ingest_batch(store, batch):
        pass
