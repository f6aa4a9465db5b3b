"""Small terminals: below 100x30 the panes become tabs (one pane, whole, and a line naming all
three); the footer still shows `?` and `q`; no screen-level scrollbar; the help fits 80x24."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey
from tuihelp import replay_app, run_async, sample_store, wait_loaded, widget_text

from pullwatch.records import PullStatus

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
@run_async
async def test_a_small_terminal_shows_one_pane_under_tabs(size: tuple[int, int]) -> None:
    app = replay_app()
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        main = app.main
        assert main.has_class("-compact")
        shown = [pane for pane in main.panes if pane.display]
        assert shown == [main.completed] and main.completed.region.height >= 8
        assert main.max_scroll_y == 0  # everything fits: no screen-level scrollbar
        pulls = sample_store().pulls
        ok = sum(r.status is PullStatus.COMPLETED for r in pulls)
        failed = sum(r.status is PullStatus.FAILED for r in pulls)
        tabs = widget_text(main.tabs)
        assert "In progress 0" in tabs and f"Completed {ok}, {failed} failed" in tabs
        keys = {key.key: key.region for key in main.query(FooterKey)}
        for key in ("question_mark", "q"):
            assert keys[key].width and keys[key].right <= size[0], key  # on screen, not cut off
        await pilot.press("tab")
        assert [pane for pane in main.panes if pane.display] == [main.repeated]


@run_async
async def test_a_big_terminal_shows_every_pane() -> None:
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert not app.main.has_class("-compact")
        assert all(pane.display and pane.region.height > 2 for pane in app.main.panes)
        assert not app.main.tabs.display


@run_async
async def test_the_help_fits_80x24_without_scrolling() -> None:
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y == 0 and box.region.bottom <= 24
