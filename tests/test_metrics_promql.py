"""The README's PromQL answers, run on a real Prometheus scraping two nodes' agents: each query
returns the nodes and values that the test made those nodes' logs say."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from logfactory import Pull, pull_lines, render
from metricshelp import MetricsServer
from prometheus import Prometheus

pytestmark = pytest.mark.timeout(180)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
NGINX = "docker.io/library/nginx:1.25"
REPULLED = (
    'sum by (node, downloaded) (increase(pullwatch_repeat_pulls_total{image="docker.io/library/nginx:1.25"}[24h])) > 0'
)
P90 = (
    "histogram_quantile(0.9, sum by (le) "
    '(increase(pullwatch_pull_duration_seconds_bucket{image="docker.io/library/nginx:1.25"}[1h])))'
)
MEAN = (
    'sum(increase(pullwatch_pull_duration_seconds_sum{image="docker.io/library/nginx:1.25"}[1h])) / '
    'sum(increase(pullwatch_pull_duration_seconds_count{image="docker.io/library/nginx:1.25"}[1h]))'
)
STUCK = "max by (node) (pullwatch_oldest_pull_in_progress_seconds) > 300"
RATE_LIMITED = 'sum by (registry) (increase(pullwatch_pull_failures_total{reason="rate_limited"}[1h]))'
REALWHY = Path(__file__).resolve().parent / "realwhy" / "containerd-1.7.24-why.log"
FAILED = (
    'sum by (node, registry) (increase(pullwatch_pulls_total{status="failed"}[1h]) > 0 or '
    '(pullwatch_pulls_total{status="failed"} unless pullwatch_pulls_total{status="failed"} offset 1h)) > 0'
)


def lines(*pulls: Pull) -> list[str]:
    timed = [(line.time, i, j, line) for i, pull in enumerate(pulls) for j, line in enumerate(pull_lines(pull, "1.7"))]
    return [render(line, "k3s") for *_, line in sorted(timed, key=lambda item: item[:3])]


def append(path: Path, new: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in new))
        handle.flush()
        os.fsync(handle.fileno())


def rate_limited_pull(at: datetime) -> list[str]:
    """The start and failure lines of the real 429 pull of tests/realwhy (containerd 1.7.24),
    moved to `at`."""
    wanted = ('msg="PullImage \\"limit.test/limited:1\\""', 'msg="PullImage \\"limit.test/limited:1\\" failed"')
    found = [line for line in REALWHY.read_text(encoding="utf-8").splitlines() if any(w in line for w in wanted)]
    assert len(found) == 2, found
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [re.sub(r'^time="[^"]+"', f'time="{stamp}"', line) for line in found]


def test_the_readme_queries_answer_the_questions(tmp_path: Path) -> None:
    for query in (REPULLED, P90, MEAN, STUCK, FAILED, RATE_LIMITED):
        assert query in README, query
    now = datetime.now(timezone.utc)
    # history, before the agents start: both nodes pulled nginx; node b began busybox 10 min ago
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    log_a.write_text("\n".join(lines(Pull("nginx:1.25", now - timedelta(minutes=30), 40.0, 70_000_000, 9_000))) + "\n")
    busybox = Pull("busybox", now - timedelta(minutes=10), 1.0, 1_000, 1)
    stuck_start = [render(line, "k3s") for line in pull_lines(busybox, "1.7")][:1]  # it never ends
    history_b = lines(
        Pull("nginx:1.25", now - timedelta(minutes=31), 35.0, 70_000_000, 8_000),
        Pull("limit.test/limited:1", now - timedelta(minutes=20), 1.0, 1_000, 1),  # its registry served it then
    )
    log_b.write_text("\n".join(history_b + stuck_start) + "\n")
    agents = {"a": MetricsServer(["--file", str(log_a), "--image-labels"]),
              "b": MetricsServer(["--file", str(log_b), "--image-labels"])}
    prometheus = Prometheus(
        tmp_path / "prometheus",
        {name: f"127.0.0.1:{agent.port}" for name, agent in agents.items()},
        labels={name: {"node": name} for name in agents},
    )
    try:
        scraped = "count_over_time(pullwatch_pulls_in_progress[1m]) >= 3"
        assert len(prometheus.wait_for(scraped, lambda v: len(v) == 2, "node")) == 2
        # live: node a pulls nginx again (from its content store: 0 bytes) and fails a quay.io
        # pull; node b pulls redis for the first time
        live = datetime.now(timezone.utc)
        append(log_a, lines(
            Pull("nginx:1.25", live - timedelta(seconds=2), 2.0, 70_000_000, 0),
            Pull("quay.io/team/tool:1", live - timedelta(seconds=1), 1.0, 5_000, 10, outcome="failed"),
        ))
        # and node b is refused by limit.test (HTTP 429), as in the real recording
        append(log_b, lines(Pull("redis:7.2", live - timedelta(seconds=3), 3.0, 600_000_000, 1_000)))
        append(log_b, rate_limited_pull(live - timedelta(seconds=1)))
        ended = 'sum by (node) (pullwatch_pulls_total{status=~"completed|failed"})'
        assert prometheus.wait_for(ended, lambda v: v == {("a",): 3.0, ("b",): 4.0}, "node") == {
            ("a",): 3.0,
            ("b",): 4.0,
        }
        prometheus.wait_for("count_over_time(up[1m])", lambda v: min(v.values()) >= 6, "node")  # more scrapes

        repulled = prometheus.values(REPULLED, "node", "downloaded")
        assert list(repulled) == [("a", "false")] and repulled[("a", "false")] > 0
        p90 = prometheus.values(P90)[()]
        assert 1.0 < p90 <= 2.5  # the only pull of it in the last hour took 2 s: bucket (1, 2.5]
        assert prometheus.values(MEAN)[()] == pytest.approx(2.0)
        stuck = prometheus.values(STUCK, "node")
        assert list(stuck) == [("b",)] and 590 < stuck[("b",)] < 700
        failed = prometheus.values(FAILED, "node", "registry")
        assert sorted(failed) == [("a", "quay.io"), ("b", "limit.test")]
        limited = {k: v for k, v in prometheus.values(RATE_LIMITED, "registry").items() if v > 0}
        assert list(limited) == [("limit.test",)]  # quay.io's failure is not_found
    finally:
        prometheus.stop()
        for agent in agents.values():
            agent.stop()
