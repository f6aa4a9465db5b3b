"""A Prometheus collector computed from the store at each scrape.

Why a custom collector and not counters incremented as events arrive: the store may change what
it knows about a pull after the fact (a "stop pulling" line gives the bytes read seconds after the
pull ended), and every number here must be the one `report` gives on the same input. Reading the
records at scrape time gives exactly the report's answer, at a cost linear in the number of pulls
(thousands on a busy node: milliseconds), never in the number of log lines.

Unknown is not zero. A value the log does not give is never added as 0:
- a completed pull without a logged size (containerd 1.5/1.6) adds nothing to
  pullwatch_pulled_bytes_total and one to pullwatch_pulls_size_unknown_total;
- a pull that ended without a "stop pulling … bytes read" line (info level before 1.7, or lines
  lost) adds nothing to pullwatch_downloaded_bytes_total and one to
  pullwatch_pulls_downloaded_unknown_total, and a repeat pull of it counts as downloaded="unknown".
Because that line may come up to STOP_LINE_GRACE after the pull's end, a pull without it is
counted as unknown only once it is settled (see `_Settling`), so that no counter ever goes down.

Label cardinality is bounded: `registry` keeps the first MAX_REGISTRIES registries seen and puts
later ones in "other"; `image` exists only with image_labels and keeps the first `max_images`
images seen, the rest in "other". First-seen order never changes, so a pull never moves between
label sets and every counter only grows. `reason` of pullwatch_pull_failures_total is one of the
fixed FAILURE_REASONS; its sum over reasons is pullwatch_pulls_total{status="failed"} of the same
labels.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from pullwatch.humanize import safe_text
from pullwatch.parsers.failures import FailureKind
from pullwatch.parsers.refs import normalize
from pullwatch.records import PullRecord, PullStatus
from pullwatch.store import STOP_LINE_GRACE, PullStore

# Pull durations run from a cache hit (under a second) to containerd's no-progress timeout and beyond.
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
MAX_REGISTRIES = 32
DEFAULT_MAX_IMAGES = 50
OTHER = "other"
UNKNOWN_REGISTRY = "unknown"  # a reference that does not parse has no registry to name
UNKNOWN_NODE = "unknown"  # with node labels: lines that name no node
UNKNOWN_REASON = "unknown"  # a failed pull whose error the log does not give or no class fits
# Every failure class (parsers/failures.py) and "unknown": a fixed set, so the reason label is bounded.
FAILURE_REASONS = (*(kind.value for kind in FailureKind), UNKNOWN_REASON)
# Wall-clock time after which a pull seen ended without a bytes-read line is settled as unknown:
# containerd logs that line within STOP_LINE_GRACE of the end, journald delivers it within a second.
SETTLE_SECONDS = STOP_LINE_GRACE.total_seconds() + 5.0


# A normalised reference: host[:port]/path[:tag][@digest]. normalize() returns what it cannot
# parse unchanged, so "is its own normal form" alone does not tell a reference from junk.
_NORMAL_REFERENCE = re.compile(
    r"(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)/[a-z0-9._/-]+"
    r"(?::\w[\w.-]{0,127})?(?:@[A-Za-z0-9+._-]+:[0-9a-fA-F]{32,})?",
    re.ASCII,
)


def registry_of(ref: str) -> str:
    """The registry host of a normalised reference (docker.io for nginx), else "unknown"."""
    match = _NORMAL_REFERENCE.fullmatch(ref)
    if match is None or normalize(ref) != ref:
        return UNKNOWN_REGISTRY
    return match.group("host")


def _ended(record: PullRecord) -> bool:
    return record.status is not PullStatus.IN_PROGRESS


@dataclass
class _Settling:
    """When "no bytes-read line" becomes final for an ended pull: when the source has ended, when
    a later pull ended more than STOP_LINE_GRACE after it (log time), or SETTLE_SECONDS of wall
    clock after a scrape first saw it waiting. Once settled it stays settled."""

    clock: Callable[[], float] = time.monotonic
    first_seen: dict[int, float] = field(default_factory=dict)
    settled: set[int] = field(default_factory=set)

    def is_settled(self, record: PullRecord, source_done: bool, newest_end: datetime | None) -> bool:
        if record.id in self.settled:
            return True
        now = self.clock()
        seen = self.first_seen.setdefault(record.id, now)
        late = (
            newest_end is not None
            and record.finished_at is not None
            and newest_end - record.finished_at > STOP_LINE_GRACE
        )
        if source_done or late or now - seen >= SETTLE_SECONDS:
            self.settled.add(record.id)
            del self.first_seen[record.id]
            return True
        return False


@dataclass
class _Tally:
    """One scrape's sums, keyed by label values."""

    pulls: Counter[tuple[str, ...]] = field(default_factory=Counter)
    pulled_bytes: Counter[tuple[str, ...]] = field(default_factory=Counter)
    size_unknown: Counter[tuple[str, ...]] = field(default_factory=Counter)
    downloaded_bytes: Counter[tuple[str, ...]] = field(default_factory=Counter)
    downloaded_unknown: Counter[tuple[str, ...]] = field(default_factory=Counter)
    repeats: Counter[tuple[str, ...]] = field(default_factory=Counter)
    failures: Counter[tuple[str, ...]] = field(default_factory=Counter)  # by (reason, *key)
    durations: dict[tuple[str, ...], list[float]] = field(default_factory=dict)
    in_progress: Counter[tuple[str, ...]] = field(default_factory=Counter)  # by node (or ())
    oldest_start: dict[tuple[str, ...], datetime] = field(default_factory=dict)  # by node (or ())


class PullCollector:
    """Reads `store` under `lock` (the feeding thread holds it while it applies a batch)."""

    def __init__(
        self,
        store: PullStore,
        lock: threading.Lock,
        now: Callable[[], datetime | None],
        source_done: Callable[[], bool],
        image_labels: bool = False,
        max_images: int = DEFAULT_MAX_IMAGES,
        settle_clock: Callable[[], float] = time.monotonic,
        node_labels: bool = False,
    ) -> None:
        """`now`: the moment in-progress ages are measured at (the wall clock on a live source,
        the newest log time on a saved one); `source_done`: the source has no more lines;
        `node_labels`: a `node` label on everything (an agent reading several nodes' journals)."""
        self.node_labels = node_labels
        self.store = store
        self.lock = lock
        self.now = now
        self.source_done = source_done
        self.image_labels = image_labels
        self.max_images = max_images
        self._settling = _Settling(clock=settle_clock)

    def describe(self) -> list[Metric]:
        return []  # no fixed set to check against other collectors: the labels depend on the log

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            tally = self._tally()
            stats = (self.store.stats.lines, self.store.stats.unparsed_lines)
            now = self.now()
        yield from self._families(tally, stats, now)

    # ---- reading the store -------------------------------------------------------------------
    def _tally(self) -> _Tally:
        tally = _Tally()
        registries: dict[str, str] = {}  # ref → its registry label
        hosts: set[str] = set()  # registries with a label of their own
        images = self._image_names()
        seen: set[tuple[str | None, str]] = set()
        keys: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()  # (key, its labels beside downloaded)
        done = self.source_done()
        newest_end = max((r.finished_at for r in self.store.pulls if r.finished_at is not None), default=None)
        for record in self.store.pulls:
            registry = registries.get(record.ref)
            if registry is None:
                host = registry_of(record.ref)
                if host not in hosts and len(hosts) < MAX_REGISTRIES:
                    hosts.add(host)
                registry = host if host in hosts else OTHER
                registries[record.ref] = registry
            node = (safe_text(record.node) if record.node else UNKNOWN_NODE,) if self.node_labels else ()
            image = (images[record.ref],) if self.image_labels else ()
            key = (*node, registry, *image)
            beside = (*node, *image)  # a repeat's labels beside `downloaded`
            repeat = (record.node, record.ref) in seen  # a repeat is per node
            seen.add((record.node, record.ref))
            keys.add((key, beside))
            tally.in_progress[node] += 0
            if not _ended(record):
                tally.in_progress[node] += 1
                oldest = tally.oldest_start.get(node)
                if record.started_at is not None and (oldest is None or record.started_at < oldest):
                    tally.oldest_start[node] = record.started_at
                continue
            tally.pulls[(record.status.value, *key)] += 1
            if record.status is PullStatus.FAILED:
                reason = record.reasons.failure
                tally.failures[(reason if reason is not None else UNKNOWN_REASON, *key)] += 1
            if record.status is PullStatus.COMPLETED:
                if record.size_bytes is not None:
                    tally.pulled_bytes[key] += record.size_bytes
                else:
                    tally.size_unknown[key] += 1
                if record.duration_seconds is not None:
                    tally.durations.setdefault(key, []).append(record.duration_seconds)
            settled = record.bytes_read is not None or self._settling.is_settled(record, done, newest_end)
            if record.bytes_read is not None:
                tally.downloaded_bytes[key] += record.bytes_read
            elif settled:
                tally.downloaded_unknown[key] += 1
            if repeat and settled:
                downloaded = "unknown" if record.bytes_read is None else str(record.bytes_read > 0).lower()
                tally.repeats[(downloaded, *beside)] += 1
        _zeros(tally, keys)
        return tally

    def _image_names(self) -> dict[str, str]:
        """Each image's label value: its reference for the first max_images seen, else "other".
        Names come from logs: control characters are shown escaped (\\x1b), never passed on."""
        return {
            ref: safe_text(ref) if index < self.max_images else OTHER
            for index, ref in enumerate(self.store.image_refs())
        }

    # ---- families ------------------------------------------------------------------------------
    def _families(self, tally: _Tally, stats: tuple[int, int], now: datetime | None) -> Iterator[Metric]:
        node = ["node"] if self.node_labels else []
        image = ["image"] if self.image_labels else []
        base = [*node, "registry", *image]
        yield _counter(
            "pullwatch_pulls_total",
            "Pulls that ended, by outcome: completed or failed.",
            ["status", *base],
            tally.pulls,
        )
        yield _counter(
            "pullwatch_pull_failures_total",
            "Failed pulls, by failure class (unknown: the log does not tell); the sum over reasons is "
            'pullwatch_pulls_total{status="failed"}.',
            ["reason", *base],
            tally.failures,
        )
        in_progress = GaugeMetricFamily("pullwatch_pulls_in_progress", "Pulls started and not yet ended.", labels=node)
        counts = tally.in_progress if tally.in_progress or self.node_labels else Counter({(): 0})
        for labels, number in counts.items():
            in_progress.add_metric(list(labels), number)
        yield in_progress
        oldest = GaugeMetricFamily(
            "pullwatch_oldest_pull_in_progress_seconds",
            "Age of the oldest pull in progress (absent when no pull in progress has a known start).",
            labels=node,
        )
        for labels, started in tally.oldest_start.items():
            if now is not None:
                oldest.add_metric(list(labels), max((now - started).total_seconds(), 0.0))
        yield oldest
        yield _histogram(
            "pullwatch_pull_duration_seconds", "Duration of completed pulls whose duration is known.", base, tally
        )
        yield _counter(
            "pullwatch_pulled_bytes_total",
            "Unpacked size of completed pulls, summed over those whose size the log gives.",
            base,
            tally.pulled_bytes,
        )
        yield _counter(
            "pullwatch_pulls_size_unknown_total",
            "Completed pulls whose size the log does not give (not added to pulled_bytes).",
            base,
            tally.size_unknown,
        )
        yield _counter(
            "pullwatch_downloaded_bytes_total",
            "Bytes fetched from the registry (containerd's 'bytes read'), summed over pulls that log it.",
            base,
            tally.downloaded_bytes,
        )
        yield _counter(
            "pullwatch_pulls_downloaded_unknown_total",
            "Ended pulls whose bytes fetched the log does not give (not added to downloaded_bytes).",
            base,
            tally.downloaded_unknown,
        )
        yield _counter(
            "pullwatch_repeat_pulls_total",
            "Ended pulls of an image already pulled before: downloaded=true fetched bytes, false was "
            "served from the local content store, unknown the log does not say.",
            ["downloaded", *node, *image],
            tally.repeats,
        )
        lines = CounterMetricFamily("pullwatch_log_lines_read", "Log lines read.")
        lines.add_metric([], stats[0])
        yield lines
        unparsed = CounterMetricFamily(
            "pullwatch_unparsed_lines", "Lines that look like pull lines but could not be decoded (skipped)."
        )
        unparsed.add_metric([], stats[1])
        yield unparsed


def _zeros(tally: _Tally, keys: set[tuple[tuple[str, ...], tuple[str, ...]]]) -> None:
    """Every count exists at 0 from the first pull of its labels on: a series that appears with
    its first increment is invisible to increase() and rate(), so the first failure or repeat of
    an image would be missed. Byte sums are not: a sum of no known value is unknown, not 0."""
    for key, beside in keys:
        for status in ("completed", "failed"):
            tally.pulls[(status, *key)] += 0
        for reason in FAILURE_REASONS:
            tally.failures[(reason, *key)] += 0
        tally.size_unknown[key] += 0
        tally.downloaded_unknown[key] += 0
        tally.durations.setdefault(key, [])
        for downloaded in ("true", "false", "unknown"):
            tally.repeats[(downloaded, *beside)] += 0


def _counter(name: str, doc: str, labels: list[str], values: Counter[tuple[str, ...]]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


def _histogram(name: str, doc: str, labels: list[str], tally: _Tally) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, durations in tally.durations.items():
        buckets: list[tuple[str, float]] = [
            (repr(bound), float(sum(1 for d in durations if d <= bound))) for bound in DURATION_BUCKETS
        ]
        buckets.append(("+Inf", float(len(durations))))
        family.add_metric(list(key), buckets, sum_value=sum(durations))
    return family
