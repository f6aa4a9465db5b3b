"""Write the README's screenshots (screenshots/*.svg) from real runs of the monitor on the bundled
sample log. Re-run after any change to the screen:

    .venv/bin/python scripts/screenshots.py [--out screenshots]

(the venv's python: this script imports pullwatch and Textual.)

The replay runs at ×60 on a clock this script holds still at 06:27:27.3 log time of the sample (a
real containerd 1.7.24 recording, tests/realcd/record_sample.py), when four pulls are in progress
through a throttled registry, so that the pictures are the same on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

try:
    from textual.pilot import Pilot
except ImportError:
    raise SystemExit(
        "screenshots.py needs pullwatch's dependencies: run it with the venv's python, "
        ".venv/bin/python scripts/screenshots.py"
    ) from None

from pullwatch.parsers import parse_line  # noqa: E402
from pullwatch.sources.auto import sample_path  # noqa: E402
from pullwatch.sources.saved import read_saved  # noqa: E402
from pullwatch.tui.app import PullwatchApp  # noqa: E402
from pullwatch.tui.clock import ReplayClock  # noqa: E402
from pullwatch.tui.source import replay_spec  # noqa: E402

SIZE = (150, 44)
SPEED = 60.0
MOMENT = datetime(2026, 12, 2, 6, 27, 27, 300000, tzinfo=timezone.utc)
SMALL = (80, 24)
SHOTS: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "main": ((), SIZE),
    "filter": (("slash", *"nginx", "enter"), SIZE),
    "detail": (("shift+tab", "enter"), SIZE),  # the longest-running pull in progress
    "help": (("question_mark",), SIZE),
    "timeline": (("t",), SIZE),
    "small": ((), SMALL),  # below 100x30: one pane at a time, under tabs
}


class HeldTime:
    """A monotonic clock that moves only when told to."""

    value = 0.0

    def __call__(self) -> float:
        return self.value


async def until(ready: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: the replay did not reach its moment")
        await asyncio.sleep(0.02)


def first_pull_line_time(path: str) -> datetime:
    """Where a paced replay's clock starts: the log time of the first pull line."""
    for batch in read_saved([path]):
        for line in batch.lines:
            event = parse_line(line)
            if event is not None and event.time is not None:
                return event.time
    raise SystemExit(f"screenshots: {path} has no timed pull line")


async def shoot(name: str, keys: tuple[str, ...], size: tuple[int, int], out: str) -> str:
    held = HeldTime()
    first_pull = first_pull_line_time(sample_path())
    spec = replay_spec([sample_path()], str(SPEED))
    app = PullwatchApp(spec, ReplayClock(SPEED, monotonic=held))
    async with app.run_test(size=size) as pilot:
        await until(lambda: app.feed.waits >= 1)  # the clock started at the first pull line
        held.value = (MOMENT - first_pull).total_seconds() / SPEED
        await until(lambda: app.feed.waits >= 2 and app.feed.waiting.is_set() and app.feed_state.total_lines)
        await settle(pilot, app)
        await pilot.press(*keys)
        await settle(pilot, app)
        path = app.save_screenshot(filename=f"{name}.svg", path=out)
    return path


async def settle(pilot: Pilot[None], app: PullwatchApp) -> None:
    await pilot.pause()
    app.redraw()
    await pilot.pause()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "screenshots"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, (keys, size) in SHOTS.items():
        print(asyncio.run(shoot(name, keys, size, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
