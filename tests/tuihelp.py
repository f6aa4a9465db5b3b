"""Helpers for the TUI tests: apps on the bundled sample, a hand-driven clock, and waits that
poll the app's own state instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import functools
import io
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from pullwatch.ingest import ingest
from pullwatch.parsers import parse_line
from pullwatch.sources import LineBatch
from pullwatch.sources.saved import read_saved
from pullwatch.store import PullStore
from pullwatch.tui.app import PullwatchApp
from pullwatch.tui.clock import Clock, ReplayClock
from pullwatch.tui.source import replay_spec
from pullwatch.tui.table import RecordTable

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "pullwatch" / "sample" / "containerd-1.7-journal.log"
# A moment of the sample's log time when several pulls run (six, through a throttled registry) and
# the sandbox pull has completed: the paced tests and the snapshots stop there.
SAMPLE_MIDDLE = datetime(2026, 12, 2, 6, 27, 25, 0, tzinfo=timezone.utc)
SIZE = (150, 46)


def logged_at(line: bytes) -> datetime | None:
    """The log time of a pull line (None for a candidate line that is no pull event)."""
    event = parse_line(line)
    return None if event is None else event.time


@functools.cache
def sample_store(until: datetime | None = None) -> PullStore:
    """The sample as the headless commands read it (read_saved + ingest): what the panes must
    show. With `until`, only the pull lines logged up to that moment: what a paced replay has
    applied when its clock stands there (it holds back the first later pull line). Read only."""
    store = PullStore()
    for batch in read_saved([str(SAMPLE)]):
        if until is not None:
            kept = [line for line in batch.lines if (moment := logged_at(line)) is None or moment <= until]
            batch = LineBatch(kept, batch.total)
        ingest(store, batch)
    return store


def _first_pull_line_time() -> datetime:
    lines = [line for batch in read_saved([str(SAMPLE)]) for line in batch.lines]
    return next(moment for line in lines if (moment := logged_at(line)) is not None)


# The sample's first pull line: a paced replay's clock starts there.
SAMPLE_FIRST_PULL = _first_pull_line_time()


class ManualTime:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


def replay_app(
    paths: list[str | Path] | None = None, speed: str = "max", image: str = "", clock: Clock | None = None
) -> PullwatchApp:
    spec = replay_spec([str(p) for p in (paths or [SAMPLE])], speed)
    if clock is None:
        clock = Clock() if spec.speed is None else ReplayClock(spec.speed)
    return PullwatchApp(spec, clock, image_filter=image)


def paced_app(speed: float = 60.0, image: str = "") -> tuple[PullwatchApp, ManualTime]:
    """A replay whose clock the test moves (speed N, real time frozen until advanced)."""
    manual = ManualTime()
    app = replay_app(speed=str(speed), image=image, clock=ReplayClock(speed, monotonic=manual))
    return app, manual


async def wait_until(pilot: Pilot[None], ready: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await asyncio.sleep(0.02)
    await pilot.pause()


async def wait_loaded(pilot: Pilot[None]) -> None:
    """The feed has ended and every message is applied and drawn."""
    app = pilot.app
    assert isinstance(app, PullwatchApp)
    await wait_until(pilot, lambda: app.loaded and app.feed_state.total_lines is not None)
    app.redraw()
    await pilot.pause()


async def replay_to(pilot: Pilot[None], manual: ManualTime, moment: datetime) -> None:
    """Move a paced replay's clock to `moment` and wait until the feed has applied every line up
    to it (it then waits for the next pull line, which is later)."""
    app = pilot.app
    assert isinstance(app, PullwatchApp)
    await wait_until(pilot, lambda: app.feed.waits >= 1)  # anchored at the first pull line
    before = app.feed.waits
    clock = app.clock
    assert isinstance(clock, ReplayClock)
    manual.value = (moment - SAMPLE_FIRST_PULL).total_seconds() / clock.speed
    await wait_until(
        pilot,
        lambda: app.feed.waits > before and app.feed.waiting.is_set() and app.feed_state.total_lines is not None,
    )
    await pilot.pause()
    app.redraw()
    await pilot.pause()


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in its own event loop (no pytest asyncio plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def widget_text(widget: Static) -> str:
    """What a Static shows, as plain text (long lines are not wrapped away)."""
    console = Console(width=400, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def palette_ready(app: PullwatchApp) -> bool:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    return bool(lists) and lists.first().option_count > 0


def rows_text(table: RecordTable[Any]) -> list[list[str]]:
    """The plain text of a pane's rows, cell by cell, in the order shown."""
    return [[column.cell(item).plain for column in table.columns] for item in table.items]
