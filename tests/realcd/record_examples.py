"""Record the real containerd logs in examples/real/ and their answers in examples/real/expected.json.

    .venv/bin/python tests/realcd/record_examples.py        # as root, after scripts/realcd-setup.sh

Each log is containerd's own stderr from one run of every scenario (scenarios.py); expected.json
holds, per log, what each call did and what containerd answered: the ground truth of the tests.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from containerd import SUITES
from scenarios import record, save

OUT = Path(__file__).resolve().parents[2] / "examples" / "real"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="realcd-record-"))
    combos = [(v, level) for v in SUITES for level in ("info", "debug")]
    try:
        with ThreadPoolExecutor(len(combos)) as pool:
            futures = [pool.submit(record, v, level, work / f"{v}-{level}", work / f"containerd-{v}-{level}.log")
                       for v, level in combos]
            recordings = [f.result() for f in futures]
        for rec in recordings:
            shutil.copyfile(rec.log, OUT / rec.log.name)
        save(recordings, OUT / "expected.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for rec in recordings:
        print(OUT / rec.log.name, len(rec.pulls), "pulls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
