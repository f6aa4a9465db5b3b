"""The default `pullwatch report` table against `--format json` on the same generated log, as a
ratio (issue 10, item 7: the table was 6-9x slower than json and used 4x the memory).

Generates a seeded pull-heavy containerd 1.7 log (tests/logfactory.iter_big_log, 5% pull lines:
many pulls, so that output is a real share of the work) under bench/out/ once, then runs json,
the default table and `--all` alternately and prints each one's median time, its ratio to json
and its peak RSS (ru_maxrss of a run on its own).

    python bench/table_vs_json.py                  # 50 MB, 5 runs each
    python bench/table_vs_json.py --size 200M --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from logfactory import iter_big_log  # noqa: E402

VARIANTS = {"json": ["--format", "json"], "table": [], "table --all": ["--all"]}


def size_of(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def ensure_log(size: int) -> str:
    path = os.path.join(HERE, "out", f"table-{size}.log")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            for line in iter_big_log(seed=10, target_bytes=size, pull_ratio=0.05):
                handle.write(line + "\n")
        os.replace(path + ".tmp", path)
    return path


def run_once(command: list[str]) -> float:
    """Wall seconds (output to a pipe that is read and dropped)."""
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        while child.stdout.read(1 << 16):
            pass
    took = time.perf_counter() - started
    assert child.returncode == 0, command
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="50M")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pullwatch", default=shutil.which("pullwatch", path=os.path.dirname(sys.executable)))
    args = parser.parse_args()
    path = ensure_log(size_of(args.size))
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    peaks: dict[str, int] = {}
    for extra in VARIANTS.values():  # one warm-up each (page cache, .pyc)
        run_once([args.pullwatch, "report", path, *extra])
    for _ in range(args.runs):
        for name, extra in VARIANTS.items():
            times[name].append(run_once([args.pullwatch, "report", path, *extra]))
    for name, extra in VARIANTS.items():  # ru_maxrss of children is a running max: measure each alone
        peaks[name] = peak_of([args.pullwatch, "report", path, *extra])
    base = statistics.median(times["json"])
    print(f"{os.path.getsize(path) / 1e6:.0f} MB, {args.runs} runs each, median seconds")
    print("| output | seconds | ratio to json | peak RSS MB |")
    print("| --- | --- | --- | --- |")
    for name in VARIANTS:
        median = statistics.median(times[name])
        print(f"| {name} | {median:.2f} | {median / base:.2f} | {peaks[name] / 1024:.0f} |")
    return 0


def peak_of(command: list[str]) -> int:
    """Peak RSS (KiB) of one run, in a fresh process so that ru_maxrss is its own."""
    code = (
        "import resource,subprocess,sys;"
        "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, check=True)
    return int(done.stdout)


if __name__ == "__main__":
    sys.exit(main())
