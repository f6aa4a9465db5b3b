"""In progress: pulls started and not yet ended, longest running first, with how much of
containerd's no-progress timeout each has used (a pull that makes no progress for that long is
cancelled), yellow past half of it and red past 80%."""

from __future__ import annotations

from rich.text import Text

from pullwatch.records import PullRecord
from pullwatch.tui import cells
from pullwatch.tui.table import Column, RecordTable, measure
from pullwatch.tui.view import StoreView

URGENCY_STYLES = {"warn": "yellow", "late": "bold red"}


class InProgressPane(RecordTable[PullRecord]):
    def __init__(self, view: StoreView, *, id: str | None = "in-progress") -> None:
        self.view = view
        columns: list[Column[PullRecord]] = [
            Column("image", lambda r: cells.name_on(r.image, view.node_of(r)), sort_key=lambda r: r.image.lower()),
            Column(
                "started",
                lambda r: cells.moment(r.started_at),
                cells.TIME_WIDTH,
                sort_key=lambda r: r.started_at,
                drop=1,
            ),
            measure("elapsed", view.elapsed, cells.duration, 9),
            measure("fetched", lambda r: r.progress_bytes, cells.size, 10, drop=2),
            Column("timeout", self._timeout_used, 8, "right", sort_key=view.timeout_share, descending=True),
        ]
        super().__init__(
            columns,
            key=lambda r: r.id,
            row_style=lambda r: URGENCY_STYLES.get(view.urgency(r), ""),
            sort_index=2,
            empty_text="no pull in progress",
            id=id,
        )

    def _timeout_used(self, record: PullRecord) -> Text:
        """Share of the no-progress timeout used since the last progress line (or the start);
        "passed" once the pull outlived it (containerd saw progress, or it would have cancelled)."""
        share = self.view.timeout_share(record)
        if share is None:
            return Text("-")
        if share >= 1:
            return Text("passed", style="dim")
        return Text(f"{share:.0%}")
