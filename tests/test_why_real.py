"""The "why" parsers on real containerd logs (tests/realwhy, recorded by tests/realwhy/record.py).

Each log is one real containerd (1.6.20, 1.7.24, 2.1.9, Debian builds) at debug level, pulling
through registry host configurations that fail in known ways; the JSON beside it holds the gRPC
answers and the ports. The expected classes and hosts are what record.py set up, not pullwatch's
output: docker.io's first mirror is a closed port, its second an empty registry (404), then the
registry that has the image; tls.test speaks https to plain http; dns.test does not resolve;
down.test is a closed port; registry.test/nope:1 does not exist; auth.test wants credentials;
limit.test answers 429 and deny.test 403.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pullwatch.parsers import parse_line
from pullwatch.parsers.envelope import EnvelopeError, decode_envelope
from pullwatch.parsers.events import EventKind
from pullwatch.parsers.failures import FailureKind, classify
from pullwatch.parsers.hosts import decode_host_message
from pullwatch.reasons import HostAttempt, Reasons
from pullwatch.why.hosts import HostTracker, merge

HERE = Path(__file__).resolve().parent / "realwhy"
VERSIONS = ["1.6.20", "1.7.24", "2.1.9"]
EXPECTED_FAILURE = {
    "tls.test/app:1": FailureKind.TLS,
    "dns.test/app:1": FailureKind.DNS,
    "down.test/app:1": FailureKind.CONNECTION,
    "registry.test/nope:1": FailureKind.NOT_FOUND,
    "auth.test/app:1": FailureKind.UNAUTHORIZED,
    "limit.test/limited:1": FailureKind.RATE_LIMITED,
    "deny.test/denied:1": FailureKind.FORBIDDEN,
}


def load(version: str) -> tuple[list[str], dict[str, object]]:
    lines = (HERE / f"containerd-{version}-why.log").read_text().splitlines()
    answers = json.loads((HERE / f"containerd-{version}-why.json").read_text())
    return lines, answers


@pytest.mark.parametrize("version", VERSIONS)
def test_failures_of_real_pulls(version: str) -> None:
    lines, answers = load(version)
    failed = {}
    for text in lines:
        event = parse_line(text)
        if event is not None and event.kind is EventKind.FAILED:
            failed[event.image] = event.error
    assert set(failed) == set(EXPECTED_FAILURE)
    pulls = answers["pulls"]
    assert isinstance(pulls, list)
    for pull in pulls:
        if pull["ok"]:
            continue
        error = failed[pull["image"]]
        assert error is not None and pull["details"] in error
        failure = classify(error)
        assert failure is not None
        assert failure.kind is EXPECTED_FAILURE[pull["image"]], error
        assert failure.stage == "resolve"
        # 1.x logs unclassified errors without a gRPC status; 2.x with code = Unknown
        expected_code = {"NOT_FOUND": "NotFound", "UNKNOWN": "Unknown" if version.startswith("2.") else None}
        assert failure.code == expected_code[pull["code"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_mirrors_skipped_and_host_that_served(version: str) -> None:
    lines, answers = load(version)
    hosts = answers["hosts"]
    assert isinstance(hosts, dict)
    tracker = HostTracker()
    attempts: dict[str, list[HostAttempt]] = {}
    for text in lines:
        try:
            entry = decode_envelope(text)
        except EnvelopeError:
            continue
        event = decode_host_message(entry)
        if event is None:
            continue
        note = tracker.feed(event, entry.time)
        if note is not None:
            merge(attempts.setdefault(note.ref, []), note)
    beta = attempts["docker.io/library/beta:2.0"]
    assert [(a.host, a.outcome) for a in beta] == [
        (hosts["dead_mirror"], "failed"),
        (hosts["empty_mirror"], "failed"),
        (hosts["registry"], "served"),
    ]
    assert beta[0].error is not None and beta[0].error.endswith("connect: connection refused")
    assert beta[1].status == "404 Not Found"
    assert Reasons(hosts=beta).served_by == hosts["registry"]
    assert [a.host for a in (Reasons(hosts=beta).mirrors_skipped(completed=True) or [])] == [
        hosts["dead_mirror"],
        hosts["empty_mirror"],
    ]
    assert all(a.mirror_for == "docker.io" for a in beta)  # every host here stands in for docker.io
    # the failed pulls' hosts all failed, the good one was served by the registry
    for image, ref in [("down.test/app:1", "down.test/app:1"), ("tls.test/app:1", "tls.test/app:1")]:
        assert {a.outcome for a in attempts[ref]} == {"failed"}, image
        assert Reasons(hosts=attempts[ref]).served_by is None
    assert Reasons(hosts=attempts["registry.test/app:1"]).served_by == hosts["registry"]
    assert tracker.unattributed == 0  # one pull at a time: every host line has its image
