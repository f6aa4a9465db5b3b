"""Lines to events to the store: the one path every source and every command goes through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from parsers import UnparsedLine, parse_line
from pullwatch.model import PullEvent
from pullwatch.sources import LineBatch
from pullwatch.store import PullStore


def ingest_line(store: PullStore, line: bytes | str, fallback_time: datetime | None = None) -> PullEvent | None:
    """Parse a candidate line and apply it; the line is already counted in stats.lines."""
    return apply_parsed(store, parse_result(line, fallback_time))


def parse_result(line: bytes | str, fallback_time: datetime | None = None) -> PullEvent | UnparsedLine | None:
    """What parse_line makes of a line, with its error as a value (it may cross processes)."""
    try:
        return parse_line(line, fallback_time)
    except UnparsedLine as error:
        return error


def apply_parsed(store: PullStore, result: PullEvent | UnparsedLine | None) -> PullEvent | None:
    """Count and apply what parse_result gave."""
    if isinstance(result, UnparsedLine):
        store.stats.unparsed_lines += 1
        return None
    if result is not None:
        store.stats.pull_lines += 1
        store.add(result)
    return result


def ingest_batch(store: PullStore, batch: LineBatch) -> Iterator[PullEvent]:
    """Apply a batch, yielding each event as it is applied (lazily: consume it)."""
    store.stats.lines += batch.total
    times, parsed = batch.times, batch.parsed
    for index, line in enumerate(batch.lines):
        if parsed is not None:
            event = apply_parsed(store, parsed[index])
        else:
            event = ingest_line(store, line, times[index] if times else None)
        if event is not None:
            yield event


def consume(store: PullStore, batch: LineBatch) -> None:
    for _ in ingest_batch(store, batch):
        pass
