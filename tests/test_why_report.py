""" "Why" end to end: `pullwatch report` / `events` on real containerd logs (tests/realwhy), with
kubelet lines the test writes next to them, and the monitor's detail view.

The real logs are what record.py made containerd 1.6.20 / 1.7.24 / 2.1.9 do (see its docstring);
the kubelet lines are the test's own: it says which pod asked for which image when, in kubelet's
klog format (client-go's "Event occurred", pod_workers' "Error syncing pod"), so what is expected
is what the test wrote, never what pullwatch printed.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from logfactory import klog_line, kubelet_pulling, quote
from textual.widgets import Static
from tuihelp import replay_app, run_async, wait_loaded, widget_text

from pullwatch.parsers import parse_line
from pullwatch.parsers.events import EventKind
from pullwatch.tui.screens.detail import DetailScreen

HERE = Path(__file__).resolve().parent / "realwhy"
VERSIONS = ["1.6.20", "1.7.24", "2.1.9"]
FAILURES = {
    "tls.test/app:1": "tls",
    "dns.test/app:1": "dns",
    "down.test/app:1": "connection",
    "registry.test/nope:1": "not_found",
    "auth.test/app:1": "unauthorized",
    "limit.test/limited:1": "rate_limited",
    "deny.test/denied:1": "forbidden",
}


def report(*paths: Path | str) -> dict[str, Any]:
    done = run(["report", "--format", "json", *map(str, paths)])
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def answers(version: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((HERE / f"containerd-{version}-why.json").read_text())
    return result


@pytest.mark.parametrize("version", VERSIONS)
def test_report_says_why_each_real_pull_failed_and_who_served(version: str) -> None:
    pulls = report(HERE / f"containerd-{version}-why.log")["pulls"]
    hosts = answers(version)["hosts"]
    assert {p["image"]: p["failure"] for p in pulls if p["status"] == "failed"} == FAILURES
    assert all(p["failure"] is None for p in pulls if p["status"] == "completed")
    beta = next(p for p in pulls if p["image"] == "beta:2.0")
    assert beta["served_by"] == hosts["registry"]
    assert beta["mirrors_skipped"] == [hosts["dead_mirror"], hosts["empty_mirror"]]
    assert [(h["host"], h["outcome"]) for h in beta["hosts"]] == [
        (hosts["dead_mirror"], "failed"),
        (hosts["empty_mirror"], "failed"),
        (hosts["registry"], "served"),
    ]
    down = next(p for p in pulls if p["image"] == "down.test/app:1")
    assert down["served_by"] is None and down["mirrors_skipped"] == []  # the last host failed: not a skip
    for pull in pulls:  # no kubelet lines, no long pulls: the log cannot tell
        assert (pull["pods"], pull["pod"], pull["namespace"], pull["stuck"]) == (None, None, None, None)


def test_table_and_csv_carry_the_reasons() -> None:
    path = HERE / "containerd-1.7.24-why.log"
    hosts = answers("1.7.24")["hosts"]
    table = run(["report", str(path)]).stdout
    assert "[tls] failed to pull and unpack image" in table
    assert "mirrors skipped (by #)" in table
    assert f"{hosts['dead_mirror']} (connection refused), {hosts['empty_mirror']} (404 Not Found)" in table
    assert f"served by {hosts['registry']}" in table
    rows = list(csv.DictReader(io.StringIO(run(["report", "--format", "csv", str(path)]).stdout)))
    beta = next(r for r in rows if r["image"] == "beta:2.0")
    assert beta["hosts"] == f"{hosts['dead_mirror']}=failed {hosts['empty_mirror']}=failed {hosts['registry']}=served"
    assert beta["mirrors_skipped"] == f"{hosts['dead_mirror']} {hosts['empty_mirror']}"
    assert beta["failure"] == "" and beta["pods"] == ""


def test_events_carry_failure_and_host_detail() -> None:
    done = run(["events", str(HERE / "containerd-2.1.9-why.log")])
    events = [json.loads(line) for line in done.stdout.splitlines()]
    failed = {e["image"]: e["failure"] for e in events if e["kind"] == "failed"}
    assert failed == FAILURES
    hosts = [e for e in events if e["kind"] == "host"]
    assert hosts and all(e["detail"]["host"] or e["detail"]["url"] for e in hosts)
    assert {e["detail"]["kind"] for e in hosts} >= {"resolving", "request", "resolved", "next_host"}


# ---- pods: kubelet lines written by the test next to a real containerd log ----


pulling = kubelet_pulling


def sync_error(moment: datetime, pod: str, cri_error: str) -> str:
    err = 'failed to "StartContainer" for "app" with ErrImagePull: ' + quote(cri_error)
    return klog_line(moment, "pod_workers.go:1301", "Error syncing pod, skipping", ("err", err), ("pod", pod))


def with_kubelet(tmp_path: Path, version: str) -> tuple[Path, dict[str, Any]]:
    """The real log with kubelet lines merged in by time, as `journalctl -u kubelet -u containerd`
    would give them: web-0 asks for beta:2.0, batch-a and batch-b ask for registry.test/app:1 at
    the same moment, batch-c for it again later, and nope-0's registry.test/nope:1 fails."""
    lines = (HERE / f"containerd-{version}-why.log").read_text().splitlines()
    starts: dict[str, list[datetime]] = {}
    failures: dict[str, tuple[datetime, str]] = {}
    for line in lines:
        event = parse_line(line)
        if event is None or event.time is None:
            continue
        if event.kind is EventKind.START:
            starts.setdefault(event.image, []).append(event.time)
        elif event.kind is EventKind.FAILED and event.error:
            failures[event.image] = (event.time, event.error)
    first_app, second_app = starts["registry.test/app:1"]
    nope_at, nope_error = failures["registry.test/nope:1"]
    kubelet = [
        (
            starts["beta:2.0"][0] - timedelta(milliseconds=3),
            pulling(starts["beta:2.0"][0], "default/web-0", "beta:2.0"),
        ),
        (first_app, pulling(first_app - timedelta(milliseconds=2), "jobs/batch-a", "registry.test/app:1")),
        (first_app, pulling(first_app - timedelta(milliseconds=1), "jobs/batch-b", "registry.test/app:1")),
        (second_app, pulling(second_app - timedelta(milliseconds=1), "jobs/batch-c", "registry.test/app:1")),
        (nope_at, sync_error(nope_at + timedelta(milliseconds=40), "default/nope-0", nope_error)),
    ]
    merged: list[str] = []
    pending = sorted(kubelet, key=lambda item: item[0])
    for line in lines:
        event = parse_line(line)
        while pending and event is not None and event.time is not None and pending[0][0] <= event.time:
            merged.append(pending.pop(0)[1])
        merged.append(line)
    merged += [text for _, text in pending]
    path = tmp_path / f"node-{version}.log"
    path.write_text("\n".join(merged) + "\n")
    return path, {"app": (first_app, second_app)}


@pytest.mark.parametrize("version", VERSIONS)
def test_pods_from_kubelet_lines_and_both_listed_when_two_pods_fit(tmp_path: Path, version: str) -> None:
    path, _ = with_kubelet(tmp_path, version)
    pulls = report(path)["pulls"]
    by_image: dict[str, list[dict[str, Any]]] = {}
    for pull in pulls:
        by_image.setdefault(pull["image"], []).append(pull)
    beta = by_image["beta:2.0"][0]
    assert (beta["namespace"], beta["pod"], beta["pods"]) == ("default", "web-0", ["default/web-0"])
    first, second = by_image["registry.test/app:1"]
    assert first["pods"] == ["jobs/batch-a", "jobs/batch-b"]
    assert (first["pod"], first["namespace"]) == (None, None)  # two fit: never a guess
    assert (second["namespace"], second["pod"]) == ("jobs", "batch-c")
    nope = by_image["registry.test/nope:1"][0]
    assert (nope["namespace"], nope["pod"], nope["failure"]) == ("default", "nope-0", "not_found")
    for image in ("tls.test/app:1", "dns.test/app:1", "down.test/app:1", "registry.test/first:1"):
        for pull in by_image.get(image, []):
            assert pull["pods"] is None  # no kubelet line for them
    assert report(path)["stats"]["unparsed_lines"] == 0  # kubelet's lines are not unparsed pull lines


def test_kubelet_lines_in_a_journal_json_export(tmp_path: Path) -> None:
    """`journalctl -o json -u kubelet -u containerd`: kubelet's MESSAGE is klog text; its time is
    the record's __REALTIME_TIMESTAMP."""
    moment = datetime.fromisoformat("2026-12-02T05:00:00.500000+00:00")
    start = {
        "__REALTIME_TIMESTAMP": str(int(moment.timestamp() * 1e6)),
        "_SYSTEMD_UNIT": "containerd.service",
        "MESSAGE": 'time="2026-12-02T05:00:00.500000000Z" level=info msg="PullImage \\"nginx:1.25\\""',
    }
    later = moment + timedelta(milliseconds=300)
    kubelet = {
        "__REALTIME_TIMESTAMP": str(int(later.timestamp() * 1e6)),
        "_SYSTEMD_UNIT": "kubelet.service",
        "MESSAGE": pulling(later, "shop/cart-1", "nginx:1.25"),
    }
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(start) + "\n" + json.dumps(kubelet) + "\n")
    (pull,) = report(path)["pulls"]
    assert (pull["namespace"], pull["pod"], pull["status"]) == ("shop", "cart-1", "in_progress")


# ---- stuck: progress lines of a pull that trickles ----


def test_a_trickling_pull_is_flagged_stuck_and_a_fast_one_is_not(tmp_path: Path) -> None:
    """Debug progress lines as 1.7.10+ writes them every 10 s (reportInterval): one pull gains
    1 KiB/s for 90 s (alive to containerd, crawling to anyone waiting), the other 10 MiB/s."""
    t0 = datetime.fromisoformat("2026-12-02T05:00:00+00:00")

    def logrus(at: float, level: str, msg: str, fields: str = "") -> str:
        stamp = (t0 + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
        return f'time="{stamp}" level={level} msg={msg} {fields}'.rstrip()

    lines = [
        logrus(0, "info", quote("PullImage " + quote("slow.test/big:1"))),
        logrus(0, "info", quote("PullImage " + quote("fast.test/big:1"))),
    ]
    for step in range(1, 10):
        for ref, rate in (("slow.test/big:1", 1024), ("fast.test/big:1", 10 * 1024 * 1024)):
            lines.append(
                logrus(
                    step * 10,
                    "debug",
                    '"progress for image pull"',
                    f"activeReqs=1 ref={ref} totalBytesRead={rate * step * 10} reportInterval=10s",
                )
            )
    path = tmp_path / "trickle.log"
    path.write_text("\n".join(lines) + "\n")
    pulls = {p["image"]: p for p in report(path)["pulls"]}
    slow, fast = pulls["slow.test/big:1"], pulls["fast.test/big:1"]
    assert (slow["stuck"], slow["stuck_since"]) == (True, "2026-12-02T05:00:10.000000Z")
    assert (fast["stuck"], fast["stuck_since"]) == (False, None)


# ---- the monitor's detail view ----


@run_async
async def test_detail_view_shows_failure_hosts_and_mirrors() -> None:
    hosts = answers("1.7.24")["hosts"]
    app = replay_app([HERE / "containerd-1.7.24-why.log"])
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_loaded(pilot)
        table = app.main.completed
        beta = next(i for i, r in enumerate(table.items) if r.image == "beta:2.0")
        table.move_cursor(beta)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        body = widget_text(app.screen.query_one("#detail-body", Static))
        assert f"served by  {hosts['registry']}" in body
        assert f"mirror skipped  {hosts['dead_mirror']}, {hosts['empty_mirror']}" in body
        await pilot.press("q")
        tls = next(i for i, r in enumerate(table.items) if r.image == "tls.test/app:1")
        table.move_cursor(tls)
        await pilot.press("enter")
        body = widget_text(app.screen.query_one("#detail-body", Static))
        assert "failure  tls" in body
