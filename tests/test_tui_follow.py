"""The Completed pane follows the newest pull like `tail -f` until the user moves; then it keeps
the user's row, counts the pulls that ended since ("n new ↑"), and `f` or `g` follow again.
The expected rows are the sample's own pulls, read headlessly up to the replay's log time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tuihelp import SAMPLE_MIDDLE, paced_app, replay_app, replay_to, run_async, sample_store, wait_loaded

from pullwatch.records import PullRecord, PullStatus

pytestmark = pytest.mark.timeout(60)


def ended_by(moment: datetime | None) -> list[PullRecord]:
    """The sample's pulls that ended by `moment`, newest first (what the pane lists)."""
    pulls = [r for r in sample_store(moment).pulls if r.status is not PullStatus.IN_PROGRESS]
    return sorted(pulls, key=lambda r: r.finished_at or datetime.min, reverse=True)


def key(record: PullRecord | None) -> tuple[str, datetime | None]:
    assert record is not None
    return record.image, record.finished_at


@run_async
async def test_after_a_full_replay_the_newest_completion_is_selected_and_in_view() -> None:
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        pane = app.main.completed
        assert key(pane.selected) == key(ended_by(None)[0])
        assert pane.cursor == 0 and pane.scroll_y == 0 and pane.following


@run_async
async def test_completed_follows_until_moved_then_counts_new_rows_and_f_or_g_resume() -> None:
    app, manual = paced_app(speed=60)
    async with app.run_test(size=(150, 46)) as pilot:
        pane = app.main.completed
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        assert key(pane.selected) == key(ended_by(SAMPLE_MIDDLE)[0])
        later = SAMPLE_MIDDLE + timedelta(seconds=15)
        await replay_to(pilot, manual, later)
        newest = ended_by(later)
        assert len(newest) > len(ended_by(SAMPLE_MIDDLE))  # pulls ended meanwhile
        assert key(pane.selected) == key(newest[0]) and pane.scroll_y == 0
        assert "following newest" in str(pane.border_subtitle)

        await pilot.press("j")  # the user moves: the pane stops following
        assert not pane.following and key(pane.selected) == key(newest[1])
        assert "f: follow newest" in str(pane.border_subtitle)
        even_later = later + timedelta(seconds=30)  # before the sample's last pull line
        await replay_to(pilot, manual, even_later)
        arrived = len(ended_by(even_later)) - len(newest)
        assert arrived >= 2
        assert key(pane.selected) == key(newest[1])  # still the row the user chose
        assert f"{arrived} new ↑" in str(pane.border_title)

        await pilot.press("f")
        assert pane.following and key(pane.selected) == key(ended_by(even_later)[0])
        assert "new ↑" not in str(pane.border_title)

        await pilot.press("G")
        assert not pane.following and key(pane.selected) == key(ended_by(even_later)[-1])
        await pilot.press("g")
        assert pane.following and pane.cursor == 0
