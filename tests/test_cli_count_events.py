"""`pullwatch count` and `pullwatch events` end to end, on generated logs with known answers."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from logfactory import IMAGES, SANDBOX_IMAGE, GeneratedLog, generate, write_log

from pullwatch.parsers import parse_line, parse_why_line
from pullwatch.parsers.refs import normalize

pytestmark = pytest.mark.timeout(120)

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")
EVENT_FIELDS = [
    "kind",
    "time",
    "image",
    "ref",
    "level",
    "image_id",
    "repo_tag",
    "repo_digest",
    "size_bytes",
    "duration_seconds",
    "bytes_read",
    "snapshotter",
    "error",
    "digest",
    "failure",
    "detail",
    "node",
    "downloaded",
    "removed_by",
]
KINDS = {"start", "result", "failed", "pulled", "snapshotter", "progress", "stop", "cancel", "sandbox_failed",
         "image_create", "image_update", "image_delete", "layer_fetch"}
WHY_KINDS = {"host", "kubelet", "removal"}  # lines that tell why (docs/why.md), with their `detail`


@pytest.fixture(scope="module", params=["1.6", "1.7", "2.3"])
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GeneratedLog]:
    version = request.param
    generated = generate(
        seed=23, pulls=40, version=version, envelope="journal-short", chatter=4, debug=version == "2.3"
    )
    path = tmp_path_factory.mktemp("count") / f"containerd-{version}.log"
    write_log(str(path), generated)
    return path, generated


def count(*args: str) -> int:
    done = run(["count", *args])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return int(done.stdout)


@pytest.mark.parametrize("image", [IMAGES[0], IMAGES[1], IMAGES[5], SANDBOX_IMAGE, "docker.io/library/never-pulled:1"])
def test_count_each_image(log: tuple[Path, GeneratedLog], image: str) -> None:
    path, generated = log
    mine = [p for p in generated.expected if p["ref"] == normalize(image)]
    assert count(image, str(path)) == len(mine)
    assert count(image, str(path), "--status", "completed") == sum(p["status"] == "completed" for p in mine)
    assert count(image, str(path), "--status", "failed") == sum(p["status"] == "failed" for p in mine)
    assert count(image, str(path), "--status", "in_progress") == 0


def test_count_finds_the_image_by_any_spelling(log: tuple[Path, GeneratedLog]) -> None:
    path, generated = log
    redis = sum(p["ref"] == "docker.io/library/redis:7.2" for p in generated.expected)
    assert redis > 1
    for spelling in ("redis:7.2", "library/redis:7.2", "docker.io/redis:7.2", "index.docker.io/library/redis:7.2"):
        assert count(spelling, str(path)) == redis
    assert count("redis", str(path)) == 0  # redis means redis:latest
    assert count("*redis*", str(path)) == redis  # a glob matches names instead
    assert count("re:redis:7\\.2$", str(path)) == redis


def test_count_expect_is_what_a_test_suite_calls(log: tuple[Path, GeneratedLog]) -> None:
    path, generated = log
    nginx = sum(p["ref"] == "docker.io/library/nginx:1.25" for p in generated.expected)
    ok = run(["count", "nginx:1.25", str(path), "--expect", str(nginx)])
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"{nginx}\n", "")
    wrong = run(["count", "nginx:1.25", str(path), "--expect", str(nginx + 1)])
    assert (wrong.returncode, wrong.stdout) == (1, f"{nginx}\n")
    assert wrong.stderr == (
        f"pullwatch: expected {nginx + 1} pulls of nginx:1.25 (docker.io/library/nginx:1.25), found {nginx}\n"
    )


def test_count_reads_stdin(log: tuple[Path, GeneratedLog]) -> None:
    path, generated = log
    done = run(["count", "registry.k8s.io/kube-apiserver:v1.34.2", "-"], stdin=path.read_bytes())
    assert int(done.stdout) == sum(p["ref"] == "registry.k8s.io/kube-apiserver:v1.34.2" for p in generated.expected)


def events_of(*args: str, stdin: bytes | None = None) -> list[dict[str, Any]]:
    done = run(["events", *args], stdin=stdin)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_events_are_json_lines_one_per_pull_line_in_log_order(log: tuple[Path, GeneratedLog]) -> None:
    path, generated = log
    events = events_of(str(path))
    wanted = [e for e in (parse_line(line) or parse_why_line(line) for line in generated.lines) if e is not None]
    assert len(events) == len(wanted)
    for event, parsed in zip(events, wanted, strict=True):
        assert list(event) == EVENT_FIELDS
        assert event["kind"] in KINDS | WHY_KINDS
        assert (event["detail"] is not None) == (event["kind"] in WHY_KINDS)
        assert (event["kind"], event["image"], event["ref"]) == (parsed.kind.value, parsed.image, parsed.ref)
        assert event["time"] is None or RFC3339.fullmatch(event["time"]), event["time"]
    times = [datetime.fromisoformat(e["time"]) for e in events]
    assert times == sorted(times)
    starts = [e for e in events if e["kind"] == "start"]
    assert len(starts) == sum(not p.sandbox for p in generated.pulls)


def test_events_carry_what_each_line_says(log: tuple[Path, GeneratedLog]) -> None:
    path, generated = log
    events = events_of(str(path))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    assert all(e["image_id"] and e["image_id"].startswith("sha256:") for e in by_kind["result"])
    assert all(e["error"] for e in by_kind.get("failed", []) + by_kind.get("sandbox_failed", []))
    if "pulled" in by_kind and by_kind["pulled"][0]["level"] == "info":  # 1.7+: size and duration
        sizes = {p.image: p.size for p in generated.pulls}
        assert all(e["size_bytes"] == sizes[e["image"]] and e["duration_seconds"] > 0 for e in by_kind["pulled"])
    for event in by_kind.get("stop", []):
        assert event["bytes_read"] is not None and event["image"] == event["ref"]


def test_events_from_several_files_and_stdin(log: tuple[Path, GeneratedLog], tmp_path: Path) -> None:
    path, generated = log
    lines = generated.lines
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text("".join(line + "\n" for line in lines[: len(lines) // 2]))
    second.write_text("".join(line + "\n" for line in lines[len(lines) // 2 :]))
    whole = events_of(str(path))
    assert events_of(str(first), str(second)) == whole
    assert events_of(str(first), "-", stdin=second.read_bytes()) == whole


def test_events_of_a_k3s_log_with_an_offset(tmp_path: Path) -> None:
    from datetime import timedelta

    zone = timezone(timedelta(hours=-7))
    generated = generate(seed=5, pulls=5, version="2.0", envelope="k3s", chatter=1, tz=zone)
    path = tmp_path / "containerd.log"
    write_log(str(path), generated)
    events = events_of(str(path))
    assert events and all(e["time"].endswith("-07:00") for e in events)
