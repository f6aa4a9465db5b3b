"""Line-to-event latency of `pullwatch events --follow`, and the CPU a follower uses while idle,
each against a baseline measured in the same run: `tail -F` for a file, `journalctl -f` for the
journal.

Latency: a writer logs one containerd "PullImage" line at a time (random gaps of 20-200 ms,
so that lines land at every phase of a follower's timers) and notes time.monotonic() just before
the write; a thread per follower notes when that line's event (or, for a baseline, the line)
comes out. Every line names its own image tag, so arrivals are matched to writes. Sources:

    file     a file in a temp directory, appended to            pullwatch events --follow FILE
    journal  a private systemd-journald (tests/journald.py),    pullwatch events --follow --journal
             written by one long-running systemd-cat            (systemd-python, and journalctl fallback)

Idle CPU: then every follower sits idle for --idle seconds; utime+stime of its process and
children (/proc/<pid>/stat) before and after.

Targets (issue 4): p99 under 250 ms; idle CPU ~0. Needs root (private journald).

    python bench/latency.py                      # 200 lines per source, 30 s idle
    python bench/latency.py --lines 50 --idle 5  # quick
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from journald import PrivateJournald, unique_name  # noqa: E402

TAG = re.compile(rb"bench:t(\d+)")
TICK = os.sysconf("SC_CLK_TCK")


def pull_line(number: int) -> bytes:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f'time="{stamp}" level=info msg="PullImage \\"registry.local/bench:t{number}\\""\n'.encode()


@dataclass
class Follower:
    """A following process whose output names the tags it has seen."""

    name: str
    command: list[str]
    env: dict[str, str] | None = None
    arrivals: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=self.env
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = TAG.search(line)
            if match:
                self.arrivals.setdefault(int(match.group(1)), time.monotonic())

    def cpu_seconds(self) -> float:
        """utime+stime of the process and its descendants (journalctl, for the fallback)."""
        total = 0
        for pid in descendants(self.process.pid):
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total / TICK

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def descendants(pid: int) -> list[int]:
    found = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    found += descendants(int(child))
        except OSError:
            pass
    return found


def measure(write: Callable[[bytes], object], followers: list[Follower], lines: int) -> dict[int, float]:
    """Start the followers, wait until each has seen a first line, then write `lines` lines;
    returns when each line was written."""
    for follower in followers:
        follower.start()
    deadline = time.monotonic() + 30
    while not all(0 in f.arrivals for f in followers):
        if time.monotonic() > deadline:
            raise SystemExit(f"followers not ready: {[f.name for f in followers if 0 not in f.arrivals]}")
        write(pull_line(0))
        time.sleep(0.5)
    written: dict[int, float] = {}
    for number in range(1, lines + 1):
        time.sleep(random.uniform(0.02, 0.2))
        line = pull_line(number)
        written[number] = time.monotonic()
        write(line)
    time.sleep(1.5)
    return written


def latency_row(follower: Follower, written: dict[int, float]) -> tuple[float, float, float, int]:
    """Median, p99 and worst delay in ms, and how many lines never came out."""
    delays = sorted((follower.arrivals[n] - t) * 1000 for n, t in written.items() if n in follower.arrivals)
    p99 = delays[min(len(delays) - 1, round(len(delays) * 0.99) - 1)]
    return statistics.median(delays), p99, delays[-1], len(written) - len(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200, help="lines written per source")
    parser.add_argument("--idle", type=float, default=30, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    pullwatch = shutil.which("pullwatch")
    if pullwatch is None:
        raise SystemExit("pullwatch is not installed (pip install -e .)")
    random.seed(4)
    workdir = tempfile.mkdtemp(prefix="pullwatch-latency-")
    path = os.path.join(workdir, "containerd.log")
    open(path, "wb").close()

    with open(path, "ab", buffering=0) as log:
        file_followers = [
            Follower("file: pullwatch events --follow", [pullwatch, "events", "--follow", path]),
            Follower("file: tail -F (baseline)", ["tail", "-F", "-n", "0", path]),
        ]
        print(f"file: {args.lines} lines ...", file=sys.stderr)
        file_written = measure(log.write, file_followers, args.lines)

    journald = PrivateJournald()
    ident = unique_name("bench")
    writer = subprocess.Popen(journald.command(["systemd-cat", "-t", ident]), stdin=subprocess.PIPE)
    assert writer.stdin is not None

    def journal_write(line: bytes) -> None:
        writer.stdin.write(line)  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]

    journal_write(pull_line(0))
    journald.wait_for(ident, 1)
    follow_journal = [pullwatch, "events", "--follow", "--journal", "--identifier", ident]
    journal_followers = [
        Follower(
            "journal: pullwatch (systemd-python)",
            journald.command(follow_journal),
            {**os.environ, "PULLWATCH_JOURNAL_BACKEND": "systemd"},
        ),
        Follower(
            "journal: pullwatch (journalctl fallback)",
            journald.command(follow_journal),
            {**os.environ, "PULLWATCH_JOURNAL_BACKEND": "journalctl"},
        ),
        Follower(
            "journal: journalctl -f (baseline)",
            journald.command(["journalctl", "-f", "-n", "0", "-o", "cat", f"SYSLOG_IDENTIFIER={ident}"]),
        ),
    ]
    print(f"journal: {args.lines} lines ...", file=sys.stderr)
    journal_written = measure(journal_write, journal_followers, args.lines)

    followers = file_followers + journal_followers
    print(f"idle: {args.idle:g} s ...", file=sys.stderr)
    before = [f.cpu_seconds() for f in followers]
    time.sleep(args.idle)
    after = [f.cpu_seconds() for f in followers]

    print(f"\nline-to-event latency, {args.lines} lines per source (ms; ratio: median / the baseline's median)")
    print(f"{'follower':44} {'median':>8} {'p99':>8} {'max':>8} {'missed':>7} {'ratio':>7}")
    for group, written in ((file_followers, file_written), (journal_followers, journal_written)):
        baseline = latency_row(group[-1], written)[0]
        for follower in group:
            median, p99, worst, missed = latency_row(follower, written)
            print(f"{follower.name:44} {median:8.1f} {p99:8.1f} {worst:8.1f} {missed:7d} {median / baseline:7.2f}")
    print(f"\nidle CPU over {args.idle:g} s (clock tick {1000 / TICK:g} ms)")
    print(f"{'follower':44} {'CPU ms':>8} {'% of a core':>12}")
    for follower, start, end in zip(followers, before, after, strict=True):
        used = end - start
        print(f"{follower.name:44} {used * 1000:8.0f} {100 * used / args.idle:12.3f}")

    for follower in followers:
        follower.stop()
    writer.stdin.close()
    writer.wait(10)
    journald.stop()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
