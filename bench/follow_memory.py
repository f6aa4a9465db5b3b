"""Memory of a long-running `pullwatch events --follow FILE`: its resident set after a warm-up
batch of pulls (the baseline, same process, same run) and after each further batch. A follower that
kept every pull record (and its raw lines) grew by about 2 KB per pull (issue 9); one that keeps
only what can still be matched stays flat: the ratio to the baseline stays near 1.

The pulls are written by the test suite's log generator (tests/logfactory.py, 1.7, k3s file
layout), appended in batches; after each batch the bench waits until every event of it has been
printed, then reads VmRSS from /proc.

    python bench/follow_memory.py                    # 5 batches of 4000 pulls
    python bench/follow_memory.py --batches 3 --pulls 1000   # quick
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from logfactory import generate  # noqa: E402

from pullwatch.parsers import parse_batch  # noqa: E402


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--batches", type=int, default=5, help="batches after the warm-up one")
    options.add_argument("--pulls", type=int, default=4000, help="pulls per batch")
    args = options.parse_args()
    command = shutil.which("pullwatch")
    if command is None:
        print("the pullwatch command is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "containerd.log")
        open(path, "w").close()
        process = subprocess.Popen([command, "events", "--follow", path], stdout=subprocess.PIPE)
        printed = 0
        changed = threading.Condition()

        def count() -> None:
            nonlocal printed
            assert process.stdout is not None
            for _ in process.stdout:
                with changed:
                    printed += 1
                    changed.notify_all()

        threading.Thread(target=count, daemon=True).start()
        expected = 0
        start = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
        rows: list[tuple[int, int]] = []
        try:
            for index in range(args.batches + 1):
                log = generate(
                    seed=100 + index, pulls=args.pulls, envelope="k3s", chatter=1, start=start + timedelta(days=index)
                )
                expected += len(parse_batch(log.lines).events)
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write("".join(line + "\n" for line in log.lines))
                deadline = time.monotonic() + 300
                with changed:
                    while printed < expected:
                        if time.monotonic() > deadline or process.poll() is not None:
                            raise RuntimeError(f"only {printed} of {expected} events printed")
                        changed.wait(0.5)
                time.sleep(0.5)  # let the follower settle between batches
                rows.append(((index + 1) * args.pulls, rss_kib(process.pid)))
        finally:
            process.terminate()
            process.wait(10)
    baseline = rows[0][1]
    print(f"{'pulls':>8} {'RSS KiB':>9} {'ratio':>6} {'bytes/pull since warm-up':>25}")
    for pulls, rss in rows:
        growth = (rss - baseline) * 1024 / max(pulls - rows[0][0], 1) if pulls > rows[0][0] else 0.0
        print(f"{pulls:>8} {rss:>9} {rss / baseline:>6.2f} {growth:>25.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
