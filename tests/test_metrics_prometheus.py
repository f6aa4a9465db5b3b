"""A real Prometheus scrapes `pullwatch metrics`: what its query API answers is what `report`
says about the same log, and a pull followed live shows in progress, then completed."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from clihelp import run
from logfactory import Pull, pull_lines, render
from metricshelp import MetricsServer
from prometheus import Prometheus

pytestmark = pytest.mark.timeout(180)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "containerd-1.7-journal.log"


def test_prometheus_answers_what_report_says(tmp_path: Path) -> None:
    report = json.loads(run(["report", "--format", "json", str(EXAMPLE)]).stdout)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    live_pull = Pull(image="nginx:1.25", start=start, seconds=2.0, size=70_000_000, bytes_read=4321)
    live_lines = [render(line, "k3s") for line in pull_lines(live_pull, "1.7")]
    live_log = tmp_path / "containerd.log"
    live_log.write_text(live_lines[0] + "\n", encoding="utf-8")

    saved = MetricsServer([str(EXAMPLE), "--image-labels"])
    live = MetricsServer(["--file", str(live_log)])
    targets = {"saved": f"127.0.0.1:{saved.port}", "live": f"127.0.0.1:{live.port}"}
    prometheus = Prometheus(tmp_path / "prometheus", targets)
    try:
        ended = [p for p in report["pulls"] if p["status"] != "in_progress"]
        want_pulls = Counter((p["status"], p["ref"].split("/")[0]) for p in ended)
        query = 'sum by (status, registry) (pullwatch_pulls_total{job="saved"})'
        got = prometheus.wait_for(query, bool, "status", "registry")
        assert {k: v for k, v in got.items() if v} == {k: float(v) for k, v in want_pulls.items()}
        registries = {p["ref"].split("/")[0] for p in report["pulls"]}
        assert set(got) == {(status, r) for status in ("completed", "failed") for r in registries}  # zeros too

        by_image = prometheus.values('sum by (image) (pullwatch_pulls_total{job="saved"})', "image")
        assert by_image == {(ref,): float(n) for ref, n in Counter(p["ref"] for p in ended).items()}

        sizes: Counter[str] = Counter()
        for p in ended:
            if p["status"] == "completed" and p["size_bytes"] is not None:
                sizes[p["ref"].split("/")[0]] += p["size_bytes"]
        assert prometheus.values(
            'sum by (registry) (pullwatch_pulled_bytes_total{job="saved"})', "registry"
        ) == {(k,): float(v) for k, v in sizes.items()}

        fetched = sum(image["bytes_read"] for image in report["images"])
        assert prometheus.values('sum(pullwatch_downloaded_bytes_total{job="saved"})') == {(): float(fetched)}

        completed_pulls = [p for p in ended if p["status"] == "completed"]
        timed = [p["duration_seconds"] for p in completed_pulls if p["duration_seconds"] is not None]
        count = prometheus.values('sum(pullwatch_pull_duration_seconds_count{job="saved"})')
        assert count == {(): float(len(timed))}
        total = prometheus.values('sum(pullwatch_pull_duration_seconds_sum{job="saved"})')[()]
        assert total == pytest.approx(sum(timed))

        cached = sum(image["cached_repeats"] for image in report["images"])
        repeats = prometheus.values('sum by (downloaded) (pullwatch_repeat_pulls_total{job="saved"})', "downloaded")
        assert repeats.get(("false",), 0.0) == cached
        assert sum(repeats.values()) == sum(image["pulls"] - 1 for image in report["images"])

        # live: the pull is in progress, its age grows, and "is any node stuck" finds it past 1 s
        assert prometheus.wait_for('pullwatch_pulls_in_progress{job="live"}', lambda v: v == {(): 1.0}) == {(): 1.0}
        stuck = prometheus.wait_for('pullwatch_oldest_pull_in_progress_seconds{job="live"} > 1', bool, "instance")
        assert list(stuck) == [(f"127.0.0.1:{live.port}",)]
        with open(live_log, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in live_lines[1:]))
            handle.flush()
            os.fsync(handle.fileno())
        completed = 'pullwatch_pulls_total{job="live",status="completed"}'
        assert prometheus.wait_for(completed, lambda v: v == {(): 1.0}) == {(): 1.0}
        assert prometheus.values('pullwatch_pulls_in_progress{job="live"}') == {(): 0.0}
        assert prometheus.wait_for('pullwatch_oldest_pull_in_progress_seconds{job="live"}', lambda v: not v) == {}
        assert prometheus.values('pullwatch_downloaded_bytes_total{job="live"}') == {(): 4321.0}
    finally:
        prometheus.stop()
        saved_status, saved_err = saved.stop()
        live_status, live_err = live.stop()
    assert saved_status == live_status == 128 + 15, (saved_err, live_err)
