"""The monitor while a saved log loads at --speed max: keys are answered before the load ends, the
cyclic collector is off until the log is in (as in the headless report's load), on again once
loaded (what was loaded frozen) or closed, and the end state is the headless one. Asserted by
state, never by timing: the test holds the source half-way."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from tuihelp import SAMPLE, SIZE, run_async, sample_store, wait_until

from pullwatch.sources import LineBatch
from pullwatch.tui.app import PullwatchApp
from pullwatch.tui.clock import Clock
from pullwatch.tui.source import FeedSpec

pytestmark = pytest.mark.timeout(60)


class HeldLog:
    """The sample in two batches; the second waits until the test lets it go."""

    def __init__(self) -> None:
        self.lines = SAMPLE.read_bytes().splitlines()
        self.half = len(self.lines) // 2
        self.release = threading.Event()

    def open(self) -> Iterator[LineBatch]:
        yield LineBatch(self.lines[: self.half], self.half)
        while not self.release.wait(0.05):
            pass
        yield LineBatch(self.lines[self.half :], len(self.lines) - self.half)

    def app(self, path: str = str(SAMPLE)) -> PullwatchApp:
        spec = FeedSpec(open=self.open, live=False, description="replay held.log", paths=(path,))
        return PullwatchApp(spec, Clock(), feed_interval=0)  # each batch posted as it is read


@pytest.fixture
def log() -> Iterator[HeldLog]:
    """A held log; whatever a test leaves, the source is let go and the collector restored."""
    held = HeldLog()
    try:
        yield held
    finally:
        held.release.set()
        gc.enable()
        gc.unfreeze()


@run_async
async def test_keys_pressed_while_the_log_loads_are_answered_before_it_ends(log: HeldLog) -> None:
    app = log.app()
    async with app.run_test(size=SIZE) as pilot:
        half_in = lambda: app.view.store.stats.lines == log.half and len(app.main.completed.items) > 2  # noqa: E731
        await wait_until(pilot, half_in)
        table = app.main.completed
        sort_before = table.sort_label
        await pilot.press("j", "j")
        assert table.cursor == 2
        await pilot.press("s")
        assert table.sort_label != sort_before
        assert not app.loaded and not gc.isenabled()  # still loading: the collector waits
        log.release.set()
        await wait_until(pilot, lambda: app.loaded)
        assert gc.isenabled() and gc.get_freeze_count() > 0  # what was loaded is frozen, not scanned
        app.redraw()
        expected = sample_store()
        assert app.view.store.stats == expected.stats
        assert len(app.main.completed.items) + len(app.main.in_progress.items) == len(expected.pulls)
        assert sorted(r.image for r in app.view.store.pulls) == sorted(r.image for r in expected.pulls)
    assert gc.get_freeze_count() == 0  # unfrozen when the app closed


@run_async
async def test_closing_the_monitor_while_it_loads_turns_the_collector_back_on(log: HeldLog) -> None:
    app = log.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.view.store.stats.lines == log.half)
        assert not gc.isenabled()
        await pilot.press("q")
        await pilot.pause()
    assert gc.isenabled()


@run_async
async def test_a_pipe_is_loaded_with_the_collector_on(log: HeldLog) -> None:
    """`journalctl -f | pullwatch replay -` may never end: the collector is not turned off for it."""
    app = log.app("-")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.view.store.stats.lines == log.half)
        assert gc.isenabled() and not app.loaded
        log.release.set()
        await wait_until(pilot, lambda: app.loaded)
        assert gc.isenabled() and gc.get_freeze_count() == 0

