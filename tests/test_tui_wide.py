"""Names in the monitor: a narrow pane gives them room (other columns go first, then the registry
part of a name), and the wide view (`w`) shows every column and whole names, scrolled with ←/→."""

from __future__ import annotations

from typing import Any

import pytest
from tuihelp import replay_app, run_async, sample_store, wait_loaded

from pullwatch.tui.table import RecordTable

pytestmark = pytest.mark.timeout(60)
LONGEST_NAME = max((r.image for r in sample_store().pulls), key=len)  # the sample's longest name


def lines(pane: RecordTable[Any]) -> list[str]:
    return [pane.render_line(y).text for y in range(pane.scrollable_content_region.height)]


@run_async
async def test_a_narrow_pane_drops_columns_then_registries_before_cutting_names() -> None:
    app = replay_app()
    async with app.run_test(size=(84, 40)) as pilot:
        await wait_loaded(pilot)
        shown = lines(app.main.completed)
        assert "MiB/s" not in shown[0] and "image" in shown[0]  # a rate gave way to the names
        assert any("…/kube-apiserver:v1.34.2 " in line for line in shown)  # registry gone, name whole
        assert not any("kube-apiserve…" in line for line in shown)


@run_async
async def test_w_shows_whole_names_and_every_column_scrolling_sideways() -> None:
    app = replay_app()
    async with app.run_test(size=(104, 40)) as pilot:
        await wait_loaded(pilot)
        pane = app.main.completed
        await pilot.press("w")
        assert pane.wide and pane.virtual_size.width > pane.size.width
        shown = lines(pane)
        assert "downloaded" not in shown[0]  # off to the right: the line is wider than the pane
        row = next(line for line in shown if line.startswith(LONGEST_NAME[:30]))
        assert "…" not in row
        for _ in range(30):
            await pilot.press("right")
        assert pane.scroll_x > 0
        shown = lines(pane)
        assert "status" in shown[0] and "downloaded" in shown[0]
        await pilot.press("w")
        assert not pane.wide and pane.scroll_x == 0
