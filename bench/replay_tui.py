"""How fast the monitor loads a big saved log at --speed max, against the headless report, and how
quickly it answers keys while it loads.

Generates a seeded containerd 1.7 journal log (about 0.5% pull lines) under bench/out/ once, warms
the page cache, then alternates, for each run:

    headless   `pullwatch report --format json FILE` in a fresh process (wall time to exit)
    tui        a fresh process that opens the monitor headless (App.run_test, 160x50) on
               `replay FILE --speed max` and exits once fully loaded (wall time to exit); while it
               loads it presses j / k / s every 100 ms and times each key until the screen shows it
               (the cursor moved or the sort column changed, then one screen refresh)

and prints medians, the ratio tui / headless (target: at most 2, issue 11) and the worst key latency.

    python bench/replay_tui.py                # 300 MB, 3 runs
    python bench/replay_tui.py --size-mb 100 --runs 5
    python bench/replay_tui.py --size-mb 100 --pull-ratio 0.2   # a pull-heavy log
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.pilot import Pilot

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

PULL_RATIO = 0.004  # iter_big_log's ratio that gives about 0.5% pull lines
TARGET_RATIO = 2.0
KEY_EVERY = 0.1


def log_path(size_mb: int, seed: int, pull_ratio: float) -> str:
    return os.path.join(OUT, f"tui-containerd-1.7-journal-short-{size_mb}MB-seed{seed}-p{pull_ratio:g}.log")


def ensure_log(size_mb: int, seed: int, pull_ratio: float = PULL_RATIO) -> str:
    path = log_path(size_mb, seed, pull_ratio)
    if os.path.exists(path):
        return path
    from logfactory import iter_big_log

    os.makedirs(OUT, exist_ok=True)
    print(f"generating {path} ({size_mb} MB, once)…", file=sys.stderr, flush=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        for line in iter_big_log(
            seed, size_mb * 1_000_000, version="1.7", envelope="journal-short", pull_ratio=pull_ratio
        ):
            handle.write(line + "\n")
    os.replace(partial, path)
    return path


def warm(path: str) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def headless_run(path: str) -> tuple[float, int]:
    seconds, out = timed([sys.executable, "-m", "pullwatch", "report", "--format", "json", path])
    return seconds, len(json.loads(out)["pulls"])


def tui_run(path: str) -> tuple[float, dict[str, float]]:
    seconds, out = timed([sys.executable, os.path.abspath(__file__), "--child", path])
    return seconds, json.loads(out.strip().splitlines()[-1])


# ---- the child: the monitor itself -------------------------------------------------------------
async def child(path: str) -> dict[str, float]:
    from pullwatch.tui.app import PullwatchApp
    from pullwatch.tui.clock import Clock
    from pullwatch.tui.source import replay_spec

    started = time.perf_counter()
    spec = replay_spec([path], "max")
    app = PullwatchApp(spec, Clock())
    latencies: list[float] = []
    handled: list[float] = []
    record_calls(app.main.completed, ("move_cursor", "cycle_sort"), handled)
    async with app.run_test(size=(160, 50)) as pilot:
        while not app.main.ready:  # keys from when the screen is up, as a person would press them
            await asyncio.sleep(0.01)
        keys = ("j", "k", "s")
        index = 0
        while not app.loaded:
            await asyncio.sleep(KEY_EVERY)
            latencies.append(await press_and_see(pilot, keys[index % len(keys)], handled))
            index += 1
        await pilot.pause()
        loaded = time.perf_counter() - started
        pulls = len(app.view.store.pulls)
        shown = len(app.main.completed.items) + len(app.main.in_progress.items)
        app.exit()
    assert pulls == shown, "the panes must list every pull once loaded"
    return {
        "loaded_seconds": loaded,
        "pulls": pulls,
        "keys": len(latencies),
        "worst_key_ms": max(latencies, default=0.0) * 1000,
        "median_key_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
    }


async def press_and_see(pilot: Pilot[Any], key: str, handled: list[float]) -> float:
    """Send one key as the terminal would; time it until its action ran and the screen refreshed."""
    from textual import events

    app = pilot.app
    count = len(handled)
    started = time.perf_counter()
    app.post_message(events.Key(key, key))
    while len(handled) == count:
        await asyncio.sleep(0.0005)
    refreshed = asyncio.Event()
    app.call_after_refresh(refreshed.set)
    await refreshed.wait()
    return time.perf_counter() - started


def record_calls(table: object, names: tuple[str, ...], handled: list[float]) -> None:
    """Note when the table runs a key's action (cursor move, sort)."""
    for name in names:
        original = getattr(table, name)

        def wrapper(*args: object, _original: object = original) -> None:
            _original(*args)  # type: ignore[operator]
            handled.append(time.perf_counter())

        setattr(table, name, wrapper)


# ---- the parent ---------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--pull-ratio", type=float, default=PULL_RATIO, help="iter_big_log's share of pulls (0.004: 0.5%% pull lines)"
    )
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child))))
        from pullwatch.tui.launch import end_frozen

        end_frozen()  # as `pullwatch replay` ends (tui/launch.py)
        return 0

    path = ensure_log(args.size_mb, args.seed, args.pull_ratio)
    warm(path)
    size = os.path.getsize(path) / 1e6
    headless: list[float] = []
    tui: list[float] = []
    loaded: list[float] = []
    worst: list[float] = []
    median_keys: list[float] = []
    for run in range(1, args.runs + 1):
        seconds, pulls = headless_run(path)
        headless.append(seconds)
        seconds, result = tui_run(path)
        tui.append(seconds)
        loaded.append(result["loaded_seconds"])
        worst.append(result["worst_key_ms"])
        median_keys.append(result["median_key_ms"])
        assert result["pulls"] == pulls, f"the monitor found {result['pulls']} pulls, the report {pulls}"
        print(
            f"run {run}: headless {headless[-1]:.2f} s · tui {tui[-1]:.2f} s (loaded at "
            f"{loaded[-1]:.2f} s) · {result['keys']:.0f} keys, worst {worst[-1]:.0f} ms, "
            f"median {median_keys[-1]:.1f} ms · {pulls} pulls",
            flush=True,
        )
    ratio = statistics.median(tui) / statistics.median(headless)
    print(f"\n{os.path.basename(path)}: {size:.0f} MB, {args.runs} runs, medians")
    print(f"  headless report --format json   {statistics.median(headless):6.2f} s")
    print(
        f"  tui replay --speed max loaded   {statistics.median(tui):6.2f} s  (process exit; loaded inside at "
        f"{statistics.median(loaded):.2f} s)"
    )
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"  ratio tui / headless            {ratio:6.2f}   (target ≤ {TARGET_RATIO:g}: {verdict})")
    print(
        f"  worst key latency while loading {statistics.median(worst):6.0f} ms  (max over runs {max(worst):.0f} ms; "
        f"median key {statistics.median(median_keys):.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
