"""The timeline (`t`: pulls as bars over log time) and the header's bytes/s sparkline while pulls
run. Expected rows come from the sample read headlessly up to the replay's log time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tuihelp import (
    SAMPLE_MIDDLE,
    SIZE,
    paced_app,
    replay_app,
    replay_to,
    run_async,
    sample_store,
    wait_loaded,
    widget_text,
)

from pullwatch.records import PullRecord, PullStatus
from pullwatch.tui.rates import BUCKET, BUCKETS, byte_rates, sparkline
from pullwatch.tui.screens.timeline import TimelineScreen

pytestmark = pytest.mark.timeout(60)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
MIB = 1 << 20


@run_async
async def test_t_draws_a_bar_per_pull_marking_failures_running_pulls_and_repeats() -> None:
    pulls = sample_store(SAMPLE_MIDDLE).pulls
    app, manual = paced_app(speed=60)
    async with app.run_test(size=SIZE) as pilot:
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TimelineScreen)
        body = widget_text(app.screen.query_one("#timeline-body", Static)).splitlines()
        rows = body[1 : 1 + len(pulls)]  # under the time axis, one per pull, in start order
        assert body[1 + len(pulls)].startswith("running")
        assert sum(row.rstrip().endswith("▶") for row in rows) == sum(r.status is PullStatus.IN_PROGRESS for r in pulls)
        assert sum(row.rstrip().endswith("✗") for row in rows) == sum(r.status is PullStatus.FAILED for r in pulls)
        repeats = len(pulls) - len({r.ref for r in pulls})
        assert sum(" #" in row[:31] for row in rows) == repeats
        assert body[0].rstrip().endswith(SAMPLE_MIDDLE.strftime("%H:%M:%S"))  # the axis ends at the replay's log time
        await pilot.press("t")
        assert not isinstance(app.screen, TimelineScreen)


def timeline_snapshot(pilot_keys: tuple[str, ...]) -> tuple[Any, Any]:
    app, manual = paced_app(speed=60)

    async def run_before(pilot: Pilot[None]) -> None:
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        await pilot.press(*pilot_keys)
        await pilot.pause()

    return app, run_before


def test_timeline_snapshot(snap_compare: Any) -> None:
    app, run_before = timeline_snapshot(("t",))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@run_async
async def test_the_header_sparkline_shows_while_pulls_run_and_not_after() -> None:
    app, manual = paced_app(speed=60)
    async with app.run_test(size=SIZE) as pilot:
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        assert app.main.rate_line.display
        line = widget_text(app.main.rate_line)
        assert line.startswith("fetched/s ") and any(block in line for block in "▂▃▄▅▆▇█")
        assert "running: no bytes yet" in line  # the sample is info level: no "now 0 B/s"
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert not app.main.rate_line.display  # nothing runs at the end of the sample


def record(status: PullStatus, start: datetime, end: datetime | None, read: int | None) -> PullRecord:
    return PullRecord(1, "img", "docker.io/library/img:latest", status, start, end, bytes_read=read)


def test_byte_rates_spread_each_pulls_bytes_over_its_run() -> None:
    start = NOW - 12 * BUCKET
    done = record(PullStatus.COMPLETED, start, start + 6 * BUCKET, 60 * MIB)
    unknown = record(PullStatus.COMPLETED, start, NOW, None)
    rates = byte_rates([done, unknown], NOW)
    per_second = 60 * MIB / (6 * BUCKET.total_seconds())
    assert rates[BUCKETS - 12 : BUCKETS - 6] == pytest.approx([per_second] * 6)
    assert rates[: BUCKETS - 12] == [0.0] * (BUCKETS - 12) and rates[BUCKETS - 6 :] == [0.0] * 6
    line = sparkline([0, 1, 2, 4, 8])
    assert line[0] == "▁" and line[-1] == "█" and list(line) == sorted(line) and len(set(line)) == 5
    assert sparkline([0, 0]) == "▁▁"
    running = PullRecord(2, "img", "x", PullStatus.IN_PROGRESS, NOW - timedelta(seconds=20), progress_bytes=20 * MIB)
    assert sum(byte_rates([running], NOW)) * BUCKET.total_seconds() == pytest.approx(20 * MIB)
