"""Helpers for the metrics tests: Prometheus text read into {(name, labels): value}, the values a
list of pulls (report JSON, or a generated log's known answers) must give, and a running
`pullwatch metrics --listen` process."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from clihelp import PULLWATCH
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]
BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
FAILURES = "pullwatch_pull_failures_total"
# the failure classes of docs/why.md, and "unknown" for a failed pull the log gives no class for
REASONS = (
    "not_found", "unauthorized", "forbidden", "rate_limited", "tls", "dns", "connection", "timeout",
    "no_progress", "canceled", "disk", "other", "unknown",
)  # fmt: skip


def key(name: str, **labels: str) -> Key:
    return name, frozenset(labels.items())


def parse(text: str, prefix: str = "pullwatch_") -> dict[Key, float]:
    """Every sample whose name starts with `prefix`."""
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(prefix):
                samples[key(sample.name, **sample.labels)] = sample.value
    return samples


def registry(ref: str) -> str:
    """The host part of a normalised reference: the examples' references are all normalised."""
    return ref.split("/", 1)[0]


def expected_samples(pulls: Sequence[Mapping[str, Any]]) -> tuple[dict[Key, float], dict[Key, float]]:
    """What pullwatch_* must say for `pulls` (dicts with ref, status, size_bytes, bytes_read,
    duration_seconds; in start order): exact samples, and duration sums (compared approximately)."""
    exact: Counter[Key] = Counter()
    sums: Counter[Key] = Counter()
    exact[key("pullwatch_pulls_in_progress")] = sum(1 for p in pulls if p["status"] == "in_progress")
    earlier: set[str] = set()
    for pull in pulls:
        reg = registry(pull["ref"])
        repeat = pull["ref"] in earlier
        earlier.add(pull["ref"])
        # counts exist at 0 from the first pull of a registry on (byte sums only once known)
        for status in ("completed", "failed"):
            exact[key("pullwatch_pulls_total", status=status, registry=reg)] += 0
        for name in ("pullwatch_pulls_size_unknown_total", "pullwatch_pulls_downloaded_unknown_total"):
            exact[key(name, registry=reg)] += 0
        exact[key("pullwatch_pull_duration_seconds_count", registry=reg)] += 0
        sums[key("pullwatch_pull_duration_seconds_sum", registry=reg)] += 0
        for le in (*map(str, BUCKETS), "+Inf"):
            exact[key("pullwatch_pull_duration_seconds_bucket", registry=reg, le=le)] += 0
        for downloaded in ("true", "false", "unknown"):
            exact[key("pullwatch_repeat_pulls_total", downloaded=downloaded)] += 0
        if pull["status"] == "in_progress":
            continue
        exact[key("pullwatch_pulls_total", status=pull["status"], registry=reg)] += 1
        if pull["status"] == "completed":
            if pull["size_bytes"] is None:
                exact[key("pullwatch_pulls_size_unknown_total", registry=reg)] += 1
            else:
                exact[key("pullwatch_pulled_bytes_total", registry=reg)] += pull["size_bytes"]
            duration = pull["duration_seconds"]
            if duration is not None:
                exact[key("pullwatch_pull_duration_seconds_count", registry=reg)] += 1
                sums[key("pullwatch_pull_duration_seconds_sum", registry=reg)] += duration
                for bound in BUCKETS:
                    exact[key("pullwatch_pull_duration_seconds_bucket", registry=reg, le=str(bound))] += (
                        duration <= bound
                    )
                exact[key("pullwatch_pull_duration_seconds_bucket", registry=reg, le="+Inf")] += 1
        if pull["bytes_read"] is None:
            exact[key("pullwatch_pulls_downloaded_unknown_total", registry=reg)] += 1
        else:
            exact[key("pullwatch_downloaded_bytes_total", registry=reg)] += pull["bytes_read"]
        if repeat:
            downloaded = "unknown" if pull["bytes_read"] is None else str(pull["bytes_read"] > 0).lower()
            exact[key("pullwatch_repeat_pulls_total", downloaded=downloaded)] += 1
    return {k: float(v) for k, v in exact.items()}, {k: float(v) for k, v in sums.items()}


def expected_failures(
    pulls: Sequence[Mapping[str, Any]], failure: Callable[[Mapping[str, Any]], str | None]
) -> dict[Key, float]:
    """What pullwatch_pull_failures_total must say for `pulls` (dicts with ref and status), the
    class of each failed pull given by `failure` (None: unknown): every reason at 0 from the first
    pull of a registry on."""
    exact: Counter[Key] = Counter()
    for pull in pulls:
        reg = registry(pull["ref"])
        for reason in REASONS:
            exact[key(FAILURES, reason=reason, registry=reg)] += 0
        if pull["status"] == "failed":
            exact[key(FAILURES, reason=failure(pull) or "unknown", registry=reg)] += 1
    return {k: float(v) for k, v in exact.items()}


def failure_samples(samples: Mapping[Key, float]) -> dict[Key, float]:
    return {k: v for k, v in samples.items() if k[0] == FAILURES}


def failures_add_up(samples: Mapping[Key, float]) -> bool:
    """Summed over reasons, pullwatch_pull_failures_total is pullwatch_pulls_total{status="failed"}
    for every other label set (registry, and node and image when they are labels), and the two
    have the same label sets."""
    failed = {
        labels - {("status", "failed")}: v
        for (name, labels), v in samples.items()
        if name == "pullwatch_pulls_total" and ("status", "failed") in labels
    }
    summed: dict[frozenset[tuple[str, str]], float] = {}
    for (_, labels), v in failure_samples(samples).items():
        rest = frozenset(item for item in labels if item[0] != "reason")
        summed[rest] = summed.get(rest, 0.0) + v
    return bool(failed) and dict(summed) == failed


def pull_samples(samples: Mapping[Key, float]) -> dict[Key, float]:
    """The samples expected_samples describes (not the line counters, the oldest pull's age, or
    the failures by reason: expected_failures)."""
    skip = ("pullwatch_log_lines_read_total", "pullwatch_unparsed_lines_total", "pullwatch_oldest_pull", FAILURES)
    return {k: v for k, v in samples.items() if not k[0].startswith(skip) and not k[0].endswith("_sum")}


def sums_of(samples: Mapping[Key, float]) -> dict[Key, float]:
    return {k: v for k, v in samples.items() if k[0].endswith("_sum")}


class MetricsServer:
    """`pullwatch metrics ARGS --listen 127.0.0.1:0`: the port it chose, read from its stderr."""

    def __init__(
        self,
        args: Iterable[str],
        env: Mapping[str, str] | None = None,
        wrap: Callable[[list[str]], list[str]] = list,
    ) -> None:
        """`wrap`: what runs the command (e.g. inside a private journald's namespace)."""
        assert PULLWATCH, "the pullwatch command is not installed (pip install -e .)"
        self.process = subprocess.Popen(
            wrap([PULLWATCH, "metrics", *args, "--listen", "127.0.0.1:0"]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if env is None else dict(env),
        )
        assert self.process.stderr is not None
        said: list[str] = []
        found = None
        while found is None and len(said) < 5:  # a note (e.g. the journal backend) may come first
            said.append(self.process.stderr.readline())
            found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", said[-1])
            if not said[-1]:
                break
        if found is None:
            self.process.kill()
            raise AssertionError(f"no address announced: {said!r} {self.process.stderr.read()!r}")
        self.said = said
        self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}/metrics"

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            return str(response.read().decode("utf-8"))

    def wait_for(self, predicate: Any, timeout: float = 20) -> dict[Key, float]:
        """Scrape until `predicate(samples)` holds; the last samples either way."""
        deadline = time.monotonic() + timeout
        while True:
            samples = parse(self.scrape())
            if predicate(samples) or time.monotonic() > deadline:
                return samples
            time.sleep(0.1)

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a pod stopping gets: its exit status and the rest of its stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err
