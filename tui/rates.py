"""Bytes per second over log time, for the header's sparkline while pulls run.

A pull's bytes (read from the registry when the log says so, else the image size: the rule of the
Completed pane's MiB/s) are spread evenly over its run; a pull in progress counts the bytes it has
logged so far (debug logs) over its run until now. Pulls that logged no bytes add nothing: the
line shows what is known, never a guessed zero for the rest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pullwatch.records import PullRecord, PullStatus

BUCKET = timedelta(seconds=15)
BUCKETS = 24  # six minutes of log time
BLOCKS = "▁▂▃▄▅▆▇█"


def _bytes(record: PullRecord) -> int | None:
    if record.status is PullStatus.IN_PROGRESS:
        return record.progress_bytes
    return record.bytes_read if record.bytes_read is not None else record.size_bytes


def byte_rates(pulls: Iterable[PullRecord], now: datetime, buckets: int = BUCKETS) -> list[float]:
    """Bytes per second in each of the `buckets` BUCKET-long stretches of log time up to `now`,
    oldest first."""
    start = now - buckets * BUCKET
    moved = [0.0] * buckets
    width = BUCKET.total_seconds()
    for record in pulls:
        count = _bytes(record)
        began = record.started_at
        ended = record.finished_at if record.status is not PullStatus.IN_PROGRESS else now
        if not count or began is None or ended is None or ended <= began or ended <= start or began >= now:
            continue
        rate = count / (ended - began).total_seconds()
        first = max(int((began - start) / BUCKET), 0)
        last = min(int((ended - start) / BUCKET), buckets - 1)
        for index in range(first, last + 1):
            low = max(began, start + index * BUCKET)
            high = min(ended, start + (index + 1) * BUCKET)
            if high > low:
                moved[index] += rate * (high - low).total_seconds()
    return [value / width for value in moved]


def sparkline(values: list[float]) -> str:
    """One block character per value, scaled to the largest (all ▁ when nothing moved)."""
    top = max(values, default=0.0)
    if top <= 0:
        return BLOCKS[0] * len(values)
    return "".join(BLOCKS[min(int(value / top * (len(BLOCKS) - 1) + 0.5), len(BLOCKS) - 1)] for value in values)
