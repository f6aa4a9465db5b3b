"""Completed: pulls that ended, newest first and followed like tail -f until the user moves;
failed ones in red and marked FAILED (the detail view has the error).

Throughput is bytes fetched per second when the log says how many were read (1.7+), else the
image size per second, as containerd's own throughput metric counts it. "downloaded" is the store's
verdict: layers fetched from a registry, or served from the node's image store (store.py)."""

from __future__ import annotations

from rich.text import Text

from pullwatch.records import PullRecord, PullStatus
from pullwatch.tui import cells
from pullwatch.tui.table import Column, RecordTable, measure
from pullwatch.tui.view import StoreView

STATUS_STYLES = {PullStatus.COMPLETED: "green", PullStatus.FAILED: "bold red"}


def _rate_bytes(record: PullRecord) -> int | None:
    return record.bytes_read if record.bytes_read is not None else record.size_bytes


def _rate(record: PullRecord) -> float | None:
    count = _rate_bytes(record)
    if not count or not record.duration_seconds:
        return None
    return count / record.duration_seconds


def _downloaded(record: PullRecord) -> Text:
    """Layers fetched from a registry (yes), served from the node's store (no), or not told (-)."""
    if record.downloaded is None:
        return Text("-", style="dim")
    return Text("yes", style="yellow") if record.downloaded else Text("no")


def _status(record: PullRecord) -> Text:
    """FAILED in capitals and bold: readable without colour (NO_COLOR, a monochrome terminal)."""
    word = "FAILED" if record.status is PullStatus.FAILED else record.status.value
    return Text(word, style=STATUS_STYLES.get(record.status, ""))


class CompletedPane(RecordTable[PullRecord]):
    def __init__(self, view: StoreView, *, id: str | None = "completed") -> None:
        columns: list[Column[PullRecord]] = [
            Column("image", lambda r: cells.name_on(r.image, view.node_of(r)), sort_key=lambda r: r.image.lower()),
            Column(
                "finished",
                lambda r: cells.moment(r.finished_at),
                cells.TIME_WIDTH,
                sort_key=lambda r: r.finished_at,
                descending=True,
            ),
            measure("duration", lambda r: r.duration_seconds, cells.duration, 9),
            measure("size", lambda r: r.size_bytes, cells.size, 10, drop=1),
            measure("fetched", lambda r: r.bytes_read, cells.size, 10, drop=2),
            Column(
                "MiB/s",
                lambda r: cells.mib_per_second(_rate_bytes(r), r.duration_seconds),
                7,
                "right",
                sort_key=_rate,
                descending=True,
                drop=3,
            ),
            Column("status", _status, 9, sort_key=lambda r: r.status.value),
            Column("downloaded", _downloaded, 10, sort_key=lambda r: r.downloaded),
        ]
        super().__init__(
            columns,
            key=lambda r: r.id,
            row_style=lambda r: "red" if r.status is PullStatus.FAILED else "",
            sort_index=1,
            empty_text="no pull has ended yet",
            follow=True,
            id=id,
        )
