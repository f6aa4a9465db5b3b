"""`pullwatch report` end to end: the installed command on generated multi-version logs whose
answers are known (tests/logfactory.py), in every output format, from files, .gz and stdin."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from logfactory import GeneratedLog, Line, generate, quote, render_text, write_log

from pullwatch.output import LAST_PULLS
from pullwatch.parsers import parse_line

pytestmark = pytest.mark.timeout(120)

PULL_FIELDS = [
    "image",
    "ref",
    "status",
    "started_at",
    "finished_at",
    "duration_seconds",
    "size_bytes",
    "bytes_read",
    "image_id",
    "repo_tag",
    "repo_digest",
    "snapshotter",
    "error",
    "downloaded",
    "deleted_at",
    "removed_by",
    # why (docs/why.md)
    "failure",
    "failure_code",
    "hosts",
    "served_by",
    "mirrors_skipped",
    "pod",
    "namespace",
    "pods",
    "stuck",
    "stuck_since",
    "node",
]
IMAGE_FIELDS = {
    "ref",
    "pulls",
    "completed",
    "failed",
    "in_progress",
    "total_size_bytes",
    "first_pull_at",
    "last_pull_at",
}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
COMPARED = ("image", "ref", "status", "size_bytes", "bytes_read")
K3S_ZONE = timezone(timedelta(hours=2))


def comparable(pull: dict[str, Any]) -> dict[str, Any]:
    got = {key: pull[key] for key in COMPARED}
    seconds = pull["duration_seconds"]
    got["duration_seconds"] = None if seconds is None else round(seconds, 3)
    return got


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, GeneratedLog]]:
    """A log per containerd line, each in an envelope it is really found in."""
    folder = tmp_path_factory.mktemp("logs")
    plan = {
        "1.6": ("journal-short", timezone.utc, datetime(2026, 11, 25, 8, tzinfo=timezone.utc)),
        "1.7": ("journal-json", timezone.utc, datetime(2026, 11, 26, 8, tzinfo=timezone.utc)),
        "2.0": ("k3s", K3S_ZONE, datetime(2026, 11, 27, 8, tzinfo=timezone.utc)),
        "2.1": ("text", timezone.utc, datetime(2026, 11, 28, 8, tzinfo=timezone.utc)),
    }
    made = {}
    for version, (envelope, zone, start) in plan.items():
        log = generate(seed=7, pulls=30, version=version, envelope=envelope, chatter=5, tz=zone, start=start)
        path = folder / f"containerd-{version}.log"
        write_log(str(path), log)
        made[version] = (path, log)
    return made


def report_json(*args: str, stdin: bytes | None = None) -> dict[str, Any]:
    done = run(["report", "--format", "json", *args], stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.parametrize("version", ["1.6", "1.7", "2.0", "2.1"])
def test_json_schema_and_known_answers(logs: dict[str, Any], version: str) -> None:
    path, log = logs[version]
    report = report_json(str(path))
    assert list(report) == ["pulls", "images", "stats"]
    stats = report["stats"]
    assert list(stats) == ["lines", "pull_lines", "unparsed_lines"]
    assert (stats["lines"], stats["unparsed_lines"]) == (len(log.lines), 0)
    assert stats["pull_lines"] == sum(1 for line in log.lines if parse_line(line) is not None)
    for pull in report["pulls"]:
        assert list(pull) == PULL_FIELDS
        assert pull["status"] in ("in_progress", "completed", "failed")
        for key in ("started_at", "finished_at"):
            assert pull[key] is None or RFC3339.fullmatch(pull[key]), pull[key]
        for key, kind in (("duration_seconds", float), ("size_bytes", int), ("bytes_read", int)):
            assert pull[key] is None or isinstance(pull[key], kind | int), (key, pull[key])
        for key in ("image", "ref"):
            assert isinstance(pull[key], str)
        for key in ("image_id", "repo_tag", "repo_digest", "snapshotter", "error"):
            assert pull[key] is None or isinstance(pull[key], str)
    assert [comparable(p) for p in report["pulls"]] == log.expected
    moments = [datetime.fromisoformat(p["started_at"] or p["finished_at"]) for p in report["pulls"]]
    assert moments == sorted(moments)  # ordered by start (or first sighting)


@pytest.mark.parametrize("version", ["1.6", "2.0"])
def test_json_images_aggregate_the_pulls(logs: dict[str, Any], version: str) -> None:
    path, log = logs[version]
    report = report_json(str(path))
    for image in report["images"]:
        assert set(image) >= IMAGE_FIELDS
        mine = [p for p in log.expected if p["ref"] == image["ref"]]
        assert image["pulls"] == len(mine)
        assert image["completed"] == sum(p["status"] == "completed" for p in mine)
        assert image["failed"] == sum(p["status"] == "failed" for p in mine)
        assert image["in_progress"] == 0
        sizes = [p["size_bytes"] for p in mine if p["status"] == "completed"]
        # unknown is not zero: no total when a size is not logged (1.6) or nothing completed
        assert image["total_size_bytes"] == (None if not sizes or None in sizes else sum(sizes))
        pulls = [p for p in report["pulls"] if p["ref"] == image["ref"]]
        firsts = [p["started_at"] or p["finished_at"] for p in pulls]
        assert (image["first_pull_at"], image["last_pull_at"]) == (firsts[0], firsts[-1])
    assert sorted(i["ref"] for i in report["images"]) == sorted({p["ref"] for p in log.expected})


def test_k3s_times_keep_the_node_offset(logs: dict[str, Any]) -> None:
    report = report_json(str(logs["2.0"][0]))
    started = [p["started_at"] for p in report["pulls"] if p["started_at"]]
    assert started and all(s.endswith("+02:00") for s in started)
    first = datetime.fromisoformat(started[0])
    assert first.astimezone(timezone.utc).date() == datetime(2026, 11, 27).date()


def test_csv_has_the_header_and_one_row_per_pull(logs: dict[str, Any]) -> None:
    path = str(logs["1.7"][0])
    done = run(["report", "--format", "csv", path])
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == PULL_FIELDS
    pulls = report_json(path)["pulls"]
    assert len(rows) - 1 == len(pulls)
    for row, pull in zip(rows[1:], pulls, strict=True):
        assert row == [_cell(pull[key]) for key in PULL_FIELDS]


def _cell(value: Any) -> str:
    """A report value as CSV writes it: lists joined by spaces (hosts as host=outcome), null empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(f"{v['host']}={v['outcome'] or '-'}" if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def test_table_is_readable(logs: dict[str, Any]) -> None:
    path, log = logs["1.7"]
    done = run(["report", str(path), "--all"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    report = report_json(str(path))
    failed = sum(p["status"] == "failed" for p in report["pulls"])
    assert out.startswith(f"{len(log.pulls)} pulls: {len(log.pulls) - failed} completed, {failed} failed, ")
    assert out.splitlines()[1].split() == ["#", "image", "status", "started", "duration", "size", "fetched"]
    rows = out.splitlines()[2 : 2 + len(log.pulls)]
    assert [row.split()[0] for row in rows] == [str(n) for n in range(1, len(log.pulls) + 1)]
    for row, pull in zip(rows, report["pulls"], strict=True):
        assert row.split()[1] == pull["image"]  # whole names: not a terminal, no width limit
        assert ("FAILED" in row.split()) == (pull["status"] == "failed")  # failures read without colour
    assert "errors (by #)" in out and f"{len(report['images'])} images, " in out
    stats = report["stats"]
    assert out.rstrip().endswith(f"{stats['lines']} lines read, {stats['pull_lines']} pull lines, 0 unparsed")
    assert not any(line.endswith(" ") for line in out.splitlines())


def test_default_table_is_a_summary_and_the_last_pulls(tmp_path: Path) -> None:
    """Bounded by default (as fast as json on a big log, bench/table_vs_json.py); --all for every row."""
    log = generate(seed=3, pulls=80, version="1.7", chatter=2)
    path = tmp_path / "many.log"
    write_log(str(path), log)
    pulls = report_json(str(path))["pulls"]
    assert len(pulls) > LAST_PULLS
    out = run(["report", str(path)]).stdout.splitlines()
    assert out[0].startswith(f"{len(pulls)} pulls: ")
    assert out[1] == f"the last {LAST_PULLS} pulls (--all: every one)"
    rows = out[3 : 3 + LAST_PULLS]
    first = len(pulls) - LAST_PULLS + 1
    assert [row.split()[0] for row in rows] == [str(n) for n in range(first, len(pulls) + 1)]
    assert [row.split()[1] for row in rows] == [p["image"] for p in pulls[-LAST_PULLS:]]
    every = run(["report", str(path), "--all"]).stdout.splitlines()
    assert every[2].split()[0] == "1" and every[1 + len(pulls)].split()[0] == str(len(pulls))


def test_long_names_are_whole_off_a_terminal_whatever_columns_says(tmp_path: Path) -> None:
    name = "registry.example.com:5000/" + "team/" * 30 + "app:v1"
    lines = [render_text(Line(datetime(2026, 1, 1, tzinfo=timezone.utc), "info", f"PullImage {quote(name)}"))]
    path = tmp_path / "long.log"
    path.write_text("\n".join(lines) + "\n")
    done = run(["report", str(path)], env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert any(line.split()[1:2] == [name] for line in done.stdout.splitlines())


def test_image_filter(logs: dict[str, Any]) -> None:
    path, log = logs["1.7"]
    redis = report_json(str(path), "--image", "*redis*")
    assert {p["ref"] for p in redis["pulls"]} == {"docker.io/library/redis:7.2"}
    assert len(redis["pulls"]) == sum(p["ref"] == "docker.io/library/redis:7.2" for p in log.expected)
    assert [i["ref"] for i in redis["images"]] == ["docker.io/library/redis:7.2"]
    assert redis["stats"]["lines"] == len(log.lines)  # stats describe the whole log
    k8s = report_json(str(path), "--image", "re:^registry\\.k8s\\.io/")
    assert k8s["pulls"] and all(p["ref"].startswith("registry.k8s.io/") for p in k8s["pulls"])
    assert report_json(str(path), "--image", "NGINX")["pulls"]  # substrings ignore case


def test_several_files_in_one_run(logs: dict[str, Any]) -> None:
    paths = [str(logs[v][0]) for v in ("1.6", "1.7", "2.1")]
    report = report_json(*paths)
    expected = [pull for v in ("1.6", "1.7", "2.1") for pull in logs[v][1].expected]
    assert [comparable(p) for p in report["pulls"]] == expected
    assert report["stats"]["lines"] == sum(len(logs[v][1].lines) for v in ("1.6", "1.7", "2.1"))


def test_a_log_split_in_two_reads_like_the_whole(logs: dict[str, Any], tmp_path: Path) -> None:
    """Files are read in the order given, so a pull that spans a rotation is still one pull."""
    path, log = logs["2.1"]
    middle = len(log.lines) // 2
    older, newer = tmp_path / "containerd.log.1", tmp_path / "containerd.log"
    older.write_text("".join(line + "\n" for line in log.lines[:middle]))
    newer.write_text("".join(line + "\n" for line in log.lines[middle:]))
    assert report_json(str(older), str(newer)) == report_json(str(path))


def test_gzip_file(logs: dict[str, Any], tmp_path: Path) -> None:
    path, _ = logs["2.0"]
    packed = tmp_path / "containerd-2026-11-27T08-00-00.000.log.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert report_json(str(packed)) == report_json(str(path))


def test_rotated_gzip_then_live_file(logs: dict[str, Any], tmp_path: Path) -> None:
    path, log = logs["1.7"]
    middle = len(log.lines) // 3
    rotated, live = tmp_path / "containerd-old.log.gz", tmp_path / "containerd.log"
    rotated.write_bytes(gzip.compress("".join(line + "\n" for line in log.lines[:middle]).encode()))
    live.write_text("".join(line + "\n" for line in log.lines[middle:]))
    assert report_json(str(rotated), str(live)) == report_json(str(path))


def test_stdin(logs: dict[str, Any]) -> None:
    path, _ = logs["1.6"]
    whole = report_json(str(path))
    assert report_json("-", stdin=path.read_bytes()) == whole
    assert report_json(stdin=path.read_bytes()) == whole  # no PATH: stdin


def test_stdin_between_files(logs: dict[str, Any]) -> None:
    first, second = logs["1.6"][0], logs["1.7"][0]
    together = report_json(str(first), "-", stdin=second.read_bytes())
    assert together == report_json(str(first), str(second))
