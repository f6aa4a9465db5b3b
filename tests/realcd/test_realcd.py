"""Real containerd (1.6.20, 1.7.24, 2.1.9 at info and debug) pulling from a real registry.

Every expectation comes from what the scenario did and what containerd's CRI answered
(scenarios.py); pullwatch's report and count of the recorded log are what is checked.
"""

from __future__ import annotations

import itertools
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


def test_every_pull_counted(recording: Recording) -> None:
    for image, pulls in _by_image(recording.pulls).items():
        done = pullwatch("count", image, str(recording.log))
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == len(pulls), (image, [p.scenario for p in pulls])


def test_nothing_else_reported(recording: Recording, report: dict[str, Any]) -> None:
    assert sorted(p["ref"] for p in report["pulls"]) == sorted(p.normalized for p in recording.pulls)
    assert report["stats"]["unparsed_lines"] == 0


def test_statuses_ids_and_errors(recording: Recording, report: dict[str, Any]) -> None:
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
    (theirs,) = [p for p in report["pulls"] if p["ref"] == pull.normalized]
    assert theirs["status"] == "failed"
    if not recording.version.startswith("1.7"):
        _ended_by_the_deadline(pull, theirs, seconds=8)
        assert "cancel pulling image" not in recording.log.read_text()  # no progress timeout fired
    else:
        assert (pull.ok, pull.code) == (False, "CANCELLED")
        # checked every timeout/2 = 2.5s, cancelled once 5s passed without new bytes: 7.5-10s
        assert 7 <= _time(pull.finished).timestamp() - _time(pull.started).timestamp() <= 11
        assert theirs["duration_seconds"] is None or 7 <= theirs["duration_seconds"] <= 11


def test_client_cancel(recording: Recording, report: dict[str, Any]) -> None:
    (pull,) = [p for p in recording.pulls if p.scenario == "client-cancel"]
    (theirs,) = [p for p in report["pulls"] if p["ref"] == pull.normalized]
    assert theirs["status"] == "failed"
    _ended_by_the_deadline(pull, theirs, seconds=1)


def _ended_by_the_deadline(pull: Pull, theirs: dict[str, Any], seconds: float) -> None:
    """The client's deadline ended the call. Its status is DEADLINE_EXCEEDED, or CANCELLED when
    containerd's copy of the deadline expired first: grpc-go then resets the stream (RST_STREAM
    CANCEL), and that can reach the client before its own timer fires."""
    assert not pull.ok and pull.code in {"DEADLINE_EXCEEDED", "CANCELLED"}, pull.code
    elapsed = _time(pull.finished).timestamp() - _time(pull.started).timestamp()
    assert seconds - 0.05 <= elapsed <= seconds + 2, elapsed  # not 1.7's progress timeout (7.5-10 s)
    # containerd logs whichever it saw: its own deadline, or the client's reset
    assert any(f"code = {code} desc" in theirs["error"] for code in ("DeadlineExceeded", "Canceled")), theirs


def test_sandbox_pull(recording: Recording) -> None:
    """RunPodSandbox without CNI: 1.x pulls the sandbox image before the network fails (1.6 at info
    logs that pull only as ImageCreate events); 2.x sets up the network first, fails, and never
    pulls it."""
    sandbox = recording.sandbox
    assert sandbox["ok"] is False and "cni" in str(sandbox["details"])
    pulled = not recording.version.startswith("2.")
    assert sandbox["sandbox_image_present"] is pulled
    done = pullwatch("count", SANDBOX_IMAGE, str(recording.log), "--status", "completed")
    assert int(done.stdout) == (1 if pulled else 0)


def _pairs(recording: Recording, report: dict[str, Any]) -> list[tuple[Pull, dict[str, Any]]]:
    """Each pull the test made with the pull pullwatch reported for it (same image, in start order)."""
    reported = _reported(report)
    pairs: list[tuple[Pull, dict[str, Any]]] = []
    for image, pulls in _by_image(recording.pulls).items():
        theirs = reported[image]
        assert len(theirs) == len(pulls), image
        pairs += zip(sorted(pulls, key=lambda p: p.started), theirs, strict=True)
    return pairs


def test_downloaded_per_pull(recording: Recording, report: dict[str, Any]) -> None:
    """`downloaded` is what the registry's access log says: it sent the image's layer or not. A
    completed pull is always told at info level already (image events); a failed one may be null.
    Of concurrent pulls of one image only the number of downloads is known: the sum must match."""
    groups: dict[str, list[tuple[Pull, dict[str, Any]]]] = defaultdict(list)
    for ours, theirs in _pairs(recording, report):
        if ours.downloaded is None:
            groups[ours.normalized].append((ours, theirs))
        elif ours.ok:
            assert theirs["downloaded"] is ours.downloaded, (ours.scenario, ours.image, theirs)
        else:
            assert theirs["downloaded"] in (None, ours.downloaded), (ours.scenario, ours.image, theirs)
    assert groups, "the concurrent pulls of one image overlapped and shared one download"
    for image, pairs in groups.items():
        assert sum(t["downloaded"] is True for _, t in pairs) == pairs[0][0].group_downloads, image
        assert all(t["downloaded"] is not None for _, t in pairs), image


def _possible(pulls: list[Pull]) -> tuple[set[int], set[int]]:
    """The downloads and cached repeats of one image's pulls that the registry's answers allow
    (concurrent pulls of one image: any of them may be the one that fetched)."""
    loose = [i for i, p in enumerate(pulls) if p.ok and p.downloaded is None]
    downloads, cached = set(), set()
    for chosen in itertools.product([True, False], repeat=len(loose)):
        flags = [p.downloaded for p in pulls]
        for index, flag in zip(loose, chosen, strict=True):
            flags[index] = flag
        if loose and sum(chosen) != pulls[loose[0]].group_downloads:
            continue
        downloads.add(sum(bool(f) for f, p in zip(flags, pulls, strict=True) if p.ok))
        cached.add(sum(not f for f, p in zip(flags[1:], pulls[1:], strict=True) if p.ok))
    return downloads, cached


def test_downloads_and_cached_repeats_per_image(recording: Recording, report: dict[str, Any]) -> None:
    images = {image["ref"]: image for image in report["images"]}
    for image, pulls in _by_image(recording.pulls).items():
        downloads, cached = _possible(sorted(pulls, key=lambda p: p.started))
        assert images[image]["downloads"] in downloads, (image, images[image])
        assert images[image]["cached_repeats"] in cached, (image, images[image])


def test_unknown_is_null_never_zero(recording: Recording, report: dict[str, Any]) -> None:
    """1.6 logs no sizes and no bytes read; 2.1's transfer service logs bytes read=0 for every
    pull, downloads included, so its figure is null; 1.7's counter is exact."""
    pairs = _pairs(recording, report)
    images = report["images"]
    if recording.version.startswith("1.6"):
        assert all(t["size_bytes"] is None and t["bytes_read"] is None for _, t in pairs)
        assert all(i["total_size_bytes"] is None and i["bytes_read"] is None for i in images)
    elif recording.version.startswith("2."):
        assert all(t["bytes_read"] is None for _, t in pairs)
        assert all(i["bytes_read"] is None for i in images)
    else:
        for ours, theirs in pairs:
            if ours.ok and ours.sent is not None:  # sequential pulls: what the registry sent in the call
                assert theirs["bytes_read"] == ours.sent, (ours.scenario, theirs)
    for ours, theirs in pairs:
        if ours.ok and not recording.version.startswith("1.6"):
            assert theirs["size_bytes"] == ours.size, (ours.scenario, theirs)


def test_redownload_explained_by_the_delete(recording: Recording, report: dict[str, Any]) -> None:
    """The pull after RemoveImage downloaded again, and says the image was deleted in between."""
    (removed,) = recording.removed
    pairs = [(o, t) for o, t in _pairs(recording, report) if o.scenario == "remove-then-pull"]
    (first, before), (second, after) = pairs
    assert (first.downloaded, second.downloaded) == (True, True)
    assert before["deleted_at"] is None
    assert after["deleted_at"] is not None
    # the event is logged asynchronously, around the end of the RemoveImage call, before the next pull
    assert removed["ok"] == "True"
    assert _time(first.finished) - SLACK <= _time(after["deleted_at"]) <= _time(second.started) + SLACK
    assert all(t["deleted_at"] is None for o, t in _pairs(recording, report) if o.scenario != "remove-then-pull")


def test_concurrent_pulls_of_one_image_share_one_download(recording: Recording, report: dict[str, Any]) -> None:
    """The registry sent the layer once for two concurrent pulls; 1.7 counts bytes per pull, so
    there the pull that read the layer is the one marked downloaded."""
    pairs = [(o, t) for o, t in _pairs(recording, report) if o.scenario == "concurrent-same"]
    assert [o.group_downloads for o, _ in pairs] == [1, 1]
    if recording.version.startswith("1.7"):
        assert sorted(t["bytes_read"] > 0 for _, t in pairs) == [False, True]
        assert all(t["downloaded"] is (t["bytes_read"] > 0) for _, t in pairs)
    else:
        assert all(t["bytes_read"] is None for _, t in pairs)  # 1.6: not logged; 2.1: the counter is idle
