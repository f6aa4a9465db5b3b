"""Fixtures of the realcd suite: one recording per containerd version and log level.

The six recordings (3 versions × info/debug) run concurrently the first time any test asks for
one: each has its own registry, proxies and containerd, and most of their time is spent waiting
on throttled or stalled transfers, so running them together keeps the suite's time near that of
the slowest. A missing containerd build is an error, not a skip: scripts/realcd-setup.sh fetches them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

# the shared helpers of tests/ (journald.py, followhelp.py), also when only tests/realcd is run
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from containerd import SUITES, binary, have
from scenarios import Recording, record

VERSIONS = [v for v in SUITES if v in os.environ.get("REALCD_VERSIONS", " ".join(SUITES)).split()]
LEVELS = ["info", "debug"]
COMBOS = [(v, level) for v in VERSIONS for level in LEVELS]

_pool = ThreadPoolExecutor(max_workers=len(COMBOS) or 1)
_futures: dict[tuple[str, str], Future[Recording]] = {}


def _start_all(base: Path) -> None:
    if _futures:
        return
    missing = [v for v in VERSIONS if not have(v)]
    if missing:
        raise pytest.UsageError(f"containerd {', '.join(missing)} not found ({binary(missing[0])}): "
                                "run scripts/realcd-setup.sh as root first")
    for version, level in COMBOS:
        _futures[(version, level)] = _pool.submit(record, version, level, base / f"{version}-{level}")


@pytest.fixture(scope="session", params=COMBOS, ids=[f"{v}-{level}" for v, level in COMBOS])
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    _start_all(tmp_path_factory.getbasetemp() / "realcd")
    done = _futures[request.param].result(timeout=240)
    if all(future.done() for future in _futures.values()):
        _pool.shutdown()  # its idle threads would stay to the session's end
    return done


def pullwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pullwatch", *args], capture_output=True, text=True, timeout=60, check=False)


_reports: dict[Path, dict[str, Any]] = {}


@pytest.fixture
def report(recording: Recording) -> dict[str, Any]:
    """`pullwatch report --format json` of the recording's log (once per log)."""
    if recording.log not in _reports:
        done = pullwatch("report", "--format", "json", str(recording.log))
        assert done.returncode == 0, done.stderr
        _reports[recording.log] = json.loads(done.stdout)
    return _reports[recording.log]
