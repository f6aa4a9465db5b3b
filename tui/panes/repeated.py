"""Pulled more than once: images pulled repeatedly, and whether the repeats downloaded again or
were cache hits (served from the node's image store), as far as the log tells (store.py)."""

from __future__ import annotations

from rich.text import Text

from pullwatch.tui import cells
from pullwatch.tui.table import Column, RecordTable, measure
from pullwatch.tui.view import RepeatedImage


def _repeats(row: RepeatedImage) -> Text:
    """Cache hits and downloads among the completed repeat pulls of which the log tells."""
    if not row.known_repeats:
        return Text("-", style="dim")
    cached = row.known_repeats - row.fetched_repeats
    text = Text(f"{cached} cached, ")
    text.append(f"{row.fetched_repeats} downloaded", style="yellow" if row.fetched_repeats else "")
    return text


def _image(row: RepeatedImage) -> Text:
    """The image, and its node when pulls come from several (a repeat is per node)."""
    return cells.name_on(row.summary.image, row.node_shown)


def _outcomes(row: RepeatedImage) -> Text:
    text = Text(f"{row.summary.completed} / ")
    text.append(str(row.summary.failed), style="red" if row.summary.failed else "")
    return text


class RepeatedPane(RecordTable[RepeatedImage]):
    def __init__(self, *, id: str | None = "repeated") -> None:
        columns: list[Column[RepeatedImage]] = [
            Column("image", _image, sort_key=lambda r: (r.summary.image.lower(), r.node_shown or "")),
            measure("pulls", lambda r: r.summary.pulls, lambda n: Text(str(n)), 5),
            Column("ok / fail", _outcomes, 9, "right", sort_key=lambda r: r.summary.failed, descending=True),
            measure("size total", lambda r: r.summary.total_size_bytes, cells.size, 10, drop=3),
            Column(
                "fetched",
                lambda r: cells.size(r.summary.bytes_read if r.bytes_known else None),
                10,
                "right",
                sort_key=lambda r: r.summary.bytes_read,
                descending=True,
                drop=1,
            ),
            Column(
                "last pull",
                lambda r: cells.moment(r.summary.last_pull_at),
                cells.TIME_WIDTH,
                sort_key=lambda r: r.summary.last_pull_at,
                descending=True,
                drop=2,
            ),
            Column("repeat pulls", _repeats, 20, sort_key=lambda r: r.fetched_repeats, descending=True),
        ]
        super().__init__(
            columns,
            key=lambda r: (r.summary.node, r.summary.ref),
            sort_index=1,
            empty_text="no image pulled more than once",
            id=id,
        )
