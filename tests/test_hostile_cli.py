"""Hostile log lines through the installed command (issue 9): each line sits between two complete
pulls; every headless command must exit 0 quickly, without a traceback, keep both pulls, and
write output its consumer can read (JSON that loads, CSV with one row per pull, UTF-8 text)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from clihelp import run
from logfactory import Line, render_text

pytestmark = pytest.mark.timeout(120)

T = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)
ID = "sha256:" + "1f" * 32
START = render_text(Line(T, "info", 'PullImage "nginx:1.25"'))
RESULT = render_text(Line(T, "info", f'PullImage "nginx:1.25" returns image reference "{ID}"'))
HEAD = 'time="2026-11-27T08:00:01Z" level=info '
PULLED = (
    HEAD
    + 'msg="Pulled image \\"redis\\" with image id \\"sha256:2e\\", repo tag \\"docker.io/library/redis:latest\\", '
    'repo digest \\"docker.io/library/redis@sha256:3d\\", size \\"{size}\\" in {duration}"'
)

# name -> (line, how many of its pull lines are counted as unparsed)
HOSTILE: dict[str, tuple[str, int]] = {
    "tty fields blow-up": ('INFO[2026-11-27T08:00:01Z] PullImage "x"  ' + "k=" * 200 + '"', 1),
    "long unquoted token": (HEAD + 'msg="PullImage \\"redis\\"" ' + "a" * 200_000, 0),
    "bytes read of 5000 digits": (
        HEAD
        + 'msg="stop pulling image docker.io/library/redis:latest: active requests=0, bytes read='
        + "9" * 5000
        + '"',
        0,
    ),
    "size of 5000 digits": (PULLED.format(size="9" * 5000, duration="1s"), 0),
    "totalBytesRead of 5000 digits": (HEAD + 'msg="progress for image pull" ref=redis totalBytesRead=' + "9" * 5000, 0),
    "duration of 20000000h": (PULLED.format(size="12", duration="20000000h"), 0),
    "year-1 time": ('time="0001-01-01T00:00:00Z" level=info msg="PullImage \\"redis\\""', 0),
    "year-1 time with a duration": (
        PULLED.format(size="12", duration="2562047h").replace("2026-11-27", "0001-01-01"),
        0,
    ),
    "lone surrogate in a Go literal": (HEAD + 'msg="PullImage \\"re\\ud800dis\\""', 0),
    "lone surrogate in JSON": ('{"level":"info","msg":"PullImage \\"re\\udfffdis\\" failed","error":"\\ud800"}', 0),
    "nested JSON": ('{"msg":"PullImage \\"x\\"","a":' + "[" * 100_000 + "}", 1),
    "line over the limit": (HEAD + 'msg="PullImage \\"redis\\"" pad=' + "p" * 300_000, 1),
}


@pytest.fixture(params=list(HOSTILE), ids=list(HOSTILE))
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, int]:
    line, unparsed = HOSTILE[request.param]
    good = f"{START}\n{RESULT}\n"
    path = tmp_path / "hostile.log"
    path.write_text(good + line + "\n" + good, encoding="utf-8", errors="surrogatepass")
    return path, unparsed


def ok(args: list[str]) -> str:
    done = run(args, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stderr == ""
    done.stdout.encode("utf-8")  # valid text: no lone surrogate reached the output
    return done.stdout


def test_report_json(hostile: tuple[Path, int]) -> None:
    path, unparsed = hostile
    report = json.loads(ok(["report", "--format", "json", str(path)]))
    assert report["stats"]["lines"] == 5 and report["stats"]["unparsed_lines"] == unparsed
    nginx = [p for p in report["pulls"] if p["image"] == "nginx:1.25"]
    assert [p["status"] for p in nginx] == ["completed", "completed"]
    for pull in report["pulls"]:
        assert pull["size_bytes"] is None or pull["size_bytes"] < 2**64
        assert pull["duration_seconds"] is None or pull["duration_seconds"] < 2**63 / 1e9


def test_report_csv_one_row_per_pull(hostile: tuple[Path, int]) -> None:
    path, _ = hostile
    pulls = json.loads(ok(["report", "--format", "json", str(path)]))["pulls"]
    rows = list(csv.DictReader(io.StringIO(ok(["report", "--format", "csv", str(path)]))))
    assert len(rows) == len(pulls)


def test_report_table_and_count(hostile: tuple[Path, int]) -> None:
    path, _ = hostile
    assert "nginx:1.25" in ok(["report", str(path)])
    assert ok(["count", "nginx:1.25", str(path), "--expect", "2"]) == "2\n"


def test_events(hostile: tuple[Path, int]) -> None:
    path, _ = hostile
    events = [json.loads(line) for line in ok(["events", str(path)]).splitlines()]
    assert [e["kind"] for e in events if e["image"] == "nginx:1.25"] == ["start", "result", "start", "result"]
