"""The collector in process: a late bytes-read line never makes a counter go down, a missing one
becomes "unknown" only once it is settled, and hostile names cannot blow up the label sets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from logfactory import Pull, pull_lines, render
from metricshelp import key, parse
from prometheus_client import CollectorRegistry, generate_latest

from pullwatch.metrics.collector import MAX_REGISTRIES, SETTLE_SECONDS, PullCollector, registry_of
from pullwatch.parsers import parse_batch
from pullwatch.sources import LineBatch
from pullwatch.store import PullStore

START = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def collector_for(store: PullStore, clock: Clock, done: bool = False) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(
        PullCollector(store, threading.Lock(), now=lambda: None, source_done=lambda: done, settle_clock=clock)
    )
    return registry


def feed(store: PullStore, lines: list[str]) -> None:
    batch = parse_batch(lines)
    assert len(batch.events) == len(lines) and not batch.unparsed, lines
    store.apply(batch)


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return parse(generate_latest(registry).decode())


def lines_of(pull: Pull) -> list[str]:
    return [render(line, "text") for line in pull_lines(pull, "1.7")]


def test_a_late_bytes_read_line_is_counted_and_nothing_goes_down() -> None:
    first = lines_of(Pull("nginx:1.25", START, 4.0, 70_000_000, 5_000))
    again = lines_of(Pull("nginx:1.25", START + timedelta(seconds=10), 2.0, 70_000_000, 0))
    stop = next(line for line in again if "stop pulling" in line)
    store, clock = PullStore(), Clock()
    registry = collector_for(store, clock)
    feed(store, first)
    feed(store, [line for line in again if line is not stop])  # the repeat ended; its stop line is late
    before = scrape(registry)
    unknown = key("pullwatch_pulls_downloaded_unknown_total", registry="docker.io")
    assert before[unknown] == 0  # not settled yet: the line may still come
    assert before[key("pullwatch_downloaded_bytes_total", registry="docker.io")] == 5_000
    assert before[key("pullwatch_repeat_pulls_total", downloaded="unknown")] == 0
    clock.now += 1.0
    feed(store, [stop])
    after = scrape(registry)
    assert after[unknown] == 0
    assert after[key("pullwatch_repeat_pulls_total", downloaded="false")] == 1
    assert all(after.get(k, 0) >= v for k, v in before.items() if k[0].endswith("_total")), (before, after)


def test_a_bytes_read_line_that_never_comes_settles_as_unknown() -> None:
    lines = [line for line in lines_of(Pull("nginx:1.25", START, 4.0, 70_000_000, 5_000)) if "stop pulling" not in line]
    store, clock = PullStore(), Clock()
    registry = collector_for(store, clock)
    feed(store, lines)
    unknown = key("pullwatch_pulls_downloaded_unknown_total", registry="docker.io")
    assert scrape(registry)[unknown] == 0
    clock.now += SETTLE_SECONDS
    assert scrape(registry)[unknown] == 1
    assert key("pullwatch_downloaded_bytes_total", registry="docker.io") not in scrape(registry)


def test_a_later_pull_settles_an_earlier_one_by_log_time() -> None:
    store, clock = PullStore(), Clock()
    registry = collector_for(store, clock)
    early = [line for line in lines_of(Pull("busybox", START, 1.0, 1_000, 10)) if "stop pulling" not in line]
    later = lines_of(Pull("nginx:1.25", START + timedelta(seconds=30), 1.0, 1_000, 10))
    feed(store, early + later)
    assert scrape(registry)[key("pullwatch_pulls_downloaded_unknown_total", registry="docker.io")] == 1


def test_registries_beyond_the_cap_are_other() -> None:
    store, clock = PullStore(), Clock()
    registry = collector_for(store, clock, done=True)
    for index in range(MAX_REGISTRIES + 5):
        feed(store, lines_of(Pull(f"reg{index}.example:5000/app:1", START + timedelta(seconds=index), 1.0, 10, 1)))
    samples = scrape(registry)
    names = {dict(k[1])["registry"] for k in samples if k[0] == "pullwatch_pulls_total"}
    assert len(names) == MAX_REGISTRIES + 1 and "other" in names
    assert samples[key("pullwatch_pulls_total", status="completed", registry="other")] == 5


def test_registry_of() -> None:
    assert registry_of("docker.io/library/nginx:latest") == "docker.io"
    assert registry_of("localhost:5000/team/app:dev") == "localhost:5000"
    assert registry_of("sha256:" + "a" * 64) == "unknown"
    assert registry_of("Not A/Ref") == "unknown"


def test_the_exporter_publishes_once_the_history_is_read() -> None:
    """A live source yields its history, then an empty batch after a second of quiet: the
    numbers are published there, not before (a partial first scrape looks like a counter reset)."""
    from pullwatch.metrics.serve import Exporter

    history = [lines_of(Pull(f"app{i}.example/x:1", START + timedelta(seconds=9 * i), 2.0, 10, 1)) for i in range(3)]
    later = lines_of(Pull("nginx:1.25", START + timedelta(minutes=5), 2.0, 10, 1))
    seen_at_ready: list[int] = []

    def batches() -> Iterator[LineBatch]:
        for lines in history:
            yield LineBatch(lines=[line.encode() for line in lines], total=len(lines))
        yield LineBatch()  # quiet: the history is read
        yield LineBatch(lines=[line.encode() for line in later], total=len(later))

    exporter = Exporter(live=True, image_labels=False, max_images=50, process_metrics=False)
    exporter.feed(batches(), lambda: seen_at_ready.append(len(exporter.store.pulls)))
    assert seen_at_ready == [3]
    assert len(exporter.store.pulls) == 4

    saved = Exporter(live=False, image_labels=False, max_images=50, process_metrics=False)
    seen_at_ready.clear()
    saved.feed(batches(), lambda: seen_at_ready.append(len(saved.store.pulls)))
    assert seen_at_ready == [4]  # a saved log: at its end
