"""SVG snapshots of the monitor (pytest-textual-snapshot): the main screen, a filter, the detail
view and help. The replay is stopped at a fixed log time by a hand-driven clock, so elapsed times
and every other number are the same on every run. Update with `pytest --snapshot-update`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from tuihelp import SAMPLE_MIDDLE, SIZE, paced_app, replay_to

pytestmark = pytest.mark.timeout(60)


def mid_replay(*keys: str) -> tuple[Any, Callable[[Pilot[None]], Any]]:
    app, manual = paced_app(speed=60)

    async def run_before(pilot: Pilot[None]) -> None:
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        await pilot.press(*keys)
        await pilot.pause()

    return app, run_before


def test_main_screen(snap_compare: Any) -> None:
    app, run_before = mid_replay()
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_filtered_screen(snap_compare: Any) -> None:
    app, run_before = mid_replay("slash", *"nginx", "enter")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detail_view(snap_compare: Any) -> None:
    app, run_before = mid_replay("shift+tab", "enter")  # the longest-running pull in progress
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any) -> None:
    app, run_before = mid_replay("question_mark")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_no_color_marks_failures_in_words(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: Textual draws in greys, so a failure must read as FAILED (bold), not as red."""
    monkeypatch.setenv("NO_COLOR", "1")
    app, run_before = mid_replay()
    assert app.no_color
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
def test_small_terminal_shows_one_pane_under_tabs(snap_compare: Any, size: tuple[int, int]) -> None:
    app, run_before = mid_replay()
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help_screen_at_80x24(snap_compare: Any) -> None:
    app, run_before = mid_replay("question_mark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
