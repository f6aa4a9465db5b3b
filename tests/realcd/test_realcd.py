"""Real containerd (1.6.20, 1.7.24, 2.1.9 at info and debug) pulling from a real registry.

Every expectation comes from what the scenario did and what containerd's CRI answered
(scenarios.py); pullwatch's report and count of the recorded log are what is checked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import pullwatch
from scenarios import SANDBOX_IMAGE, Pull, Recording

pytestmark = pytest.mark.realcd

SLACK = timedelta(milliseconds=50)  # the log's clock and ours are one clock; this is write latency


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _by_image(pulls: list[Pull]) -> dict[str, list[Pull]]:
    out: dict[str, list[Pull]] = defaultdict(list)
    for pull in pulls:
        out[pull.normalized].append(pull)
    return out


def _reported(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pull in report["pulls"]:
        out[pull["ref"]].append(pull)
    for pulls in out.values():
        pulls.sort(key=lambda p: p["started_at"] or p["finished_at"] or "")
    return out


def _sandbox_gap(request: pytest.FixtureRequest, recording: Recording) -> None:
    """1.6 at info level logs a sandbox pull only as ImageCreate events (issue 14, part 3, not built yet)."""
    if recording.version.startswith("1.6") and recording.level == "info":
        request.applymarker(pytest.mark.xfail(strict=True, reason="issue 14 part 3: 1.6 info sandbox pulls"))


def test_every_pull_counted(request: pytest.FixtureRequest, recording: Recording) -> None:
    _sandbox_gap(request, recording)
    for image, pulls in _by_image(recording.pulls).items():
        done = pullwatch("count", image, str(recording.log))
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == len(pulls), (image, [p.scenario for p in pulls])


def test_nothing_else_reported(request: pytest.FixtureRequest, recording: Recording, report: dict[str, Any]) -> None:
    _sandbox_gap(request, recording)
    assert sorted(p["ref"] for p in report["pulls"]) == sorted(p.normalized for p in recording.pulls)
    assert report["stats"]["unparsed_lines"] == 0


def test_statuses_ids_and_errors(request: pytest.FixtureRequest, recording: Recording, report: dict[str, Any]) -> None:
    _sandbox_gap(request, recording)
    reported = _reported(report)
    for image, pulls in _by_image(recording.pulls).items():
        got = reported[image]
        assert sorted(p["status"] for p in got) == sorted("completed" if p.ok else "failed" for p in pulls), image
        for pull in got:
            if pull["status"] == "completed":
                assert pull["image_id"] == next(p.image_ref for p in pulls if p.ok), image
                assert pull["error"] is None
            else:
                assert pull["error"], image


def test_times_inside_the_calls(recording: Recording, report: dict[str, Any]) -> None:
    """A reported start/finish lies inside the gRPC call that made the pull."""
    reported = _reported(report)
    for image, pulls in _by_image(recording.pulls).items():
        for ours, theirs in zip(sorted(pulls, key=lambda p: p.started), reported[image], strict=False):
            low, high = _time(ours.started) - SLACK, _time(ours.finished) + SLACK
            for key in ("started_at", "finished_at"):
                if theirs[key] is not None:
                    assert low <= _time(theirs[key]) <= high, (image, key, theirs[key], ours.started, ours.finished)


def test_concurrent_pulls_overlap(recording: Recording, report: dict[str, Any]) -> None:
    """The throttled pulls really ran at the same time, and pullwatch kept them apart."""
    for scenario in ("concurrent-same", "concurrent-different"):
        ours = [p for p in recording.pulls if p.scenario == scenario]
        assert len(ours) == 2 and all(p.ok for p in ours)
        assert _time(ours[1].started) < _time(ours[0].finished)
        theirs = [p for p in report["pulls"] if p["ref"] in {o.normalized for o in ours}]
        assert len(theirs) == 2
        first, second = sorted(theirs, key=lambda p: p["started_at"])
        assert second["started_at"] < first["finished_at"], scenario


def test_no_progress_cancel(recording: Recording, report: dict[str, Any]) -> None:
    """A stalled layer: 1.7 cancels it after image_pull_progress_timeout (5s); 1.6 has no such
    timeout, and 2.1's transfer service never reports progress to the CRI's tracker (active
    requests stay 0), so on both only the client's deadline ends it."""
    (pull,) = [p for p in recording.pulls if p.scenario == "no-progress"]
    expected = "CANCELLED" if recording.version.startswith("1.7") else "DEADLINE_EXCEEDED"
    assert (pull.ok, pull.code) == (False, expected)
    (theirs,) = [p for p in report["pulls"] if p["ref"] == pull.normalized]
    assert theirs["status"] == "failed"
    if recording.version.startswith("1.7"):
        # checked every timeout/2 = 2.5s, cancelled once 5s passed without new bytes: 7.5-10s
        assert 7 <= _time(pull.finished).timestamp() - _time(pull.started).timestamp() <= 11
        assert theirs["duration_seconds"] is None or 7 <= theirs["duration_seconds"] <= 11


def test_client_cancel(recording: Recording, report: dict[str, Any]) -> None:
    (pull,) = [p for p in recording.pulls if p.scenario == "client-cancel"]
    assert (pull.ok, pull.code) == (False, "DEADLINE_EXCEEDED")
    (theirs,) = [p for p in report["pulls"] if p["ref"] == pull.normalized]
    assert theirs["status"] == "failed"


def test_sandbox_pull(request: pytest.FixtureRequest, recording: Recording) -> None:
    """RunPodSandbox without CNI: 1.x pulls the sandbox image before the network fails; 2.x sets up
    the network first, fails, and never pulls it."""
    _sandbox_gap(request, recording)
    sandbox = recording.sandbox
    assert sandbox["ok"] is False and "cni" in str(sandbox["details"])
    pulled = not recording.version.startswith("2.")
    assert sandbox["sandbox_image_present"] is pulled
    done = pullwatch("count", SANDBOX_IMAGE, str(recording.log), "--status", "completed")
    assert int(done.stdout) == (1 if pulled else 0)
