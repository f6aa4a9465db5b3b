"""pullwatch_pull_failures_total{reason}: on real containerd logs each failed pull is counted under
the class its scenario caused, on every log the counts are report's `failure` field, and the sum
over reasons is pullwatch_pulls_total{status="failed"} label set by label set."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from clihelp import run
from logfactory import Pull, generate, pull_lines, render, write_log
from metricshelp import FAILURES, REASONS, expected_failures, failure_samples, failures_add_up, key, parse
from prometheus_client import CollectorRegistry, generate_latest

from pullwatch.metrics.collector import FAILURE_REASONS, PullCollector
from pullwatch.parsers import parse_batch
from pullwatch.parsers.refs import normalize
from pullwatch.store import PullStore

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
REALWHY = ROOT / "tests" / "realwhy"
VERSIONS = ["1.6.20", "1.7.24", "2.1.9"]
EXAMPLES = sorted(json.loads((ROOT / "examples" / "expected.json").read_text(encoding="utf-8")))
# What tests/realwhy/record.py made each failing pull meet (its docstring): https to a plain-http
# registry, a name that does not resolve, a closed port, an image the registry lacks, a 401
# registry pulled without credentials, an endpoint answering 429 / 403 to every request.
SCENARIO = {
    "tls.test/app:1": "tls",
    "dns.test/app:1": "dns",
    "down.test/app:1": "connection",
    "registry.test/nope:1": "not_found",
    "auth.test/app:1": "unauthorized",
    "limit.test/limited:1": "rate_limited",
    "deny.test/denied:1": "forbidden",
}


def textfile_samples(tmp_path: Path, *args: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = tmp_path / "pullwatch.prom"
    done = run(["metrics", *args, "--textfile", str(out)])
    assert done.returncode == 0, done.stderr
    return parse(out.read_text(encoding="utf-8"))


def report_pulls(path: Path) -> list[dict[str, object]]:
    done = run(["report", "--format", "json", str(path)])
    assert done.returncode == 0, done.stderr
    pulls: list[dict[str, object]] = json.loads(done.stdout)["pulls"]
    return pulls


def test_the_reasons_are_the_failure_classes() -> None:
    assert sorted(FAILURE_REASONS) == sorted(REASONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_real_failures_are_counted_under_what_their_scenario_caused(tmp_path: Path, version: str) -> None:
    answers = json.loads((REALWHY / f"containerd-{version}-why.json").read_text(encoding="utf-8"))
    pulls = [
        {"ref": normalize(p["image"]), "status": "completed" if p["ok"] else "failed", "image": p["image"]}
        for p in answers["pulls"]
    ]
    assert {p["image"] for p in pulls if p["status"] == "failed"} == set(SCENARIO)
    samples = textfile_samples(tmp_path, str(REALWHY / f"containerd-{version}-why.log"))
    assert failure_samples(samples) == expected_failures(pulls, lambda p: SCENARIO[p["image"]])
    assert samples[key(FAILURES, reason="rate_limited", registry="limit.test")] == 1
    assert failures_add_up(samples)


LOGS = [REALWHY / f"containerd-{v}-why.log" for v in VERSIONS] + [ROOT / "examples" / name for name in EXAMPLES]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_failures_by_reason_are_reports(tmp_path: Path, path: Path) -> None:
    pulls = report_pulls(path)
    assert any(p["status"] == "failed" for p in pulls)
    samples = textfile_samples(tmp_path, str(path))
    assert failure_samples(samples) == expected_failures(pulls, lambda p: p["failure"])
    assert failures_add_up(samples)


@pytest.mark.parametrize("path", [LOGS[1], ROOT / "examples" / "containerd-2.1-journal.json"], ids=lambda p: p.name)
def test_node_and_image_labels(tmp_path: Path, path: Path) -> None:
    """With --node-labels and --image-labels the failures are split as pullwatch_pulls_total is,
    and the counts by image are report's."""
    pulls = report_pulls(path)
    samples = textfile_samples(tmp_path, str(path), "--node-labels", "--image-labels")
    failures = failure_samples(samples)
    assert {name for _, labels in failures for name, _ in labels} == {"reason", "registry", "node", "image"}
    assert failures_add_up(samples)
    by_image: Counter[tuple[str, str]] = Counter()
    for (_, labels), value in failures.items():
        found = dict(labels)
        by_image[(found["image"], found["reason"])] += int(value)
    want = Counter((str(p["ref"]), str(p["failure"] or "unknown")) for p in pulls if p["status"] == "failed")
    assert +by_image == want


def test_generated_failures_add_up(tmp_path: Path) -> None:
    """Generated logs of each version (not-found failures and no-progress cancels)."""
    for version in ("1.5", "1.6", "1.7", "2.0", "2.1", "2.3"):
        log = generate(seed=5, pulls=40, version=version, envelope="journal-short")
        path = tmp_path / f"{version}.log"
        write_log(str(path), log)
        out = tmp_path / version
        out.mkdir()
        samples = textfile_samples(out, str(path))
        failed = sum(1 for p in log.expected if p["status"] == "failed")
        assert failed and sum(failure_samples(samples).values()) == failed, version
        assert failures_add_up(samples), version


def test_a_failure_of_no_known_class_is_unknown() -> None:
    start = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    lines = [
        render(line, "text") for line in pull_lines(Pull("nginx:1.25", start, 1.0, 10, 1, outcome="failed"), "1.7")
    ]
    store = PullStore()
    store.apply(parse_batch(lines))
    (record,) = store.pulls
    record.reasons.failure = None  # an error the log does not give (lines lost)
    registry = CollectorRegistry()
    registry.register(PullCollector(store, threading.Lock(), now=lambda: None, source_done=lambda: True))
    samples = parse(generate_latest(registry).decode())
    assert failure_samples(samples) == expected_failures(
        [{"ref": "docker.io/library/nginx:1.25", "status": "failed"}], lambda p: None
    )
    assert samples[key(FAILURES, reason="unknown", registry="docker.io")] == 1
