"""Correlation: which log lines belong to which pull, in the cases that make it hard.

Lines are written as containerd writes them (logrus text) at chosen times and fed one at a time,
the way every source feeds the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from logfactory import Line, go_duration, quote, render_text

from pullwatch.parsers import ParsedBatch, parse_line
from pullwatch.parsers.events import PullEvent
from pullwatch.records import PullRecord, PullStatus
from pullwatch.store import PullStore

T0 = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)
ID_A = "sha256:" + "aa" * 32
ID_B = "sha256:" + "bb" * 32


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def start(image: str, t: float) -> str:
    return render_text(Line(at(t), "info", f"PullImage {quote(image)}"))


def result(image: str, t: float, image_id: str = ID_A) -> str:
    return render_text(Line(at(t), "info", f"PullImage {quote(image)} returns image reference {quote(image_id)}"))


def failed(image: str, t: float, error: str = "rpc error: code = NotFound desc = not found") -> str:
    return render_text(Line(at(t), "error", f"PullImage {quote(image)} failed", {"error": error}))


def pulled(image: str, t: float, seconds: float | None, size: int = 1000, image_id: str = ID_A) -> str:
    msg = f'Pulled image {quote(image)} with image id {quote(image_id)}, repo tag "", repo digest ""'
    if seconds is not None:
        msg += f", size {quote(str(size))} in {go_duration(seconds)}"
    return render_text(Line(at(t), "info" if seconds is not None else "debug", msg))


def stop(ref: str, t: float, bytes_read: int) -> str:
    return render_text(Line(at(t), "info", f"stop pulling image {ref}: active requests=0, bytes read={bytes_read}"))


def cancel(ref: str, t: float) -> str:
    return render_text(Line(at(t), "error", f"cancel pulling image {ref} because of no progress in 1m0s"))


def snapshotter(ref: str, t: float, name: str = "overlayfs") -> str:
    return render_text(Line(at(t), "debug", f"PullImage {quote(ref)} with snapshotter {name}"))


def sandbox_failed(image: str, t: float) -> str:
    error = f'failed to get sandbox image "{image}": failed to pull image "{image}": not found'
    msg = "RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:1,Namespace:default,Attempt:0,} failed, error"
    return render_text(Line(at(t), "error", msg, {"error": error}))


def feed(*lines: str) -> PullStore:
    store = PullStore()
    for line in lines:
        event = parse_line(line)
        assert event is not None, line
        add(store, event)
    return store


def add(store: PullStore, event: PullEvent | None) -> None:
    """One line's event, applied as every source applies a batch."""
    assert event is not None
    store.apply(ParsedBatch([event], lines=1))


def only(store: PullStore) -> PullRecord:
    assert len(store.pulls) == 1, [r.to_json() for r in store.pulls]
    return store.pulls[0]


NGINX = "docker.io/library/nginx:latest"
REDIS = "docker.io/library/redis:7.2"


def test_interleaved_pulls_of_different_images() -> None:
    store = feed(
        start("nginx", 0),
        start("redis:7.2", 1),
        stop(REDIS, 5, 20),
        pulled("redis:7.2", 5, 4.0, size=200, image_id=ID_B),
        result("redis:7.2", 5, ID_B),
        stop(NGINX, 9, 10),
        pulled("nginx", 9, 9.0, size=100),
        result("nginx", 9),
    )
    nginx, redis = store.pulls
    assert (nginx.ref, nginx.started_at, nginx.finished_at, nginx.size_bytes, nginx.bytes_read) == (
        NGINX,
        at(0),
        at(9),
        100,
        10,
    )
    assert (redis.ref, redis.started_at, redis.finished_at, redis.size_bytes, redis.bytes_read) == (
        REDIS,
        at(1),
        at(5),
        200,
        20,
    )
    assert redis.image_id == ID_B and nginx.image_id == ID_A


def test_end_lines_naming_the_image_differently_still_match() -> None:
    """Start and result use the request string, stop/cancel and the error text the normalised one."""
    store = feed(
        start("index.docker.io/library/nginx", 0),
        stop(NGINX, 2, 5),
        pulled("index.docker.io/library/nginx", 2, 2.0),
        result("index.docker.io/library/nginx", 2),
        start("nginx", 10),
        stop(NGINX, 11, 0),
        pulled("docker.io/library/nginx:latest", 11, 1.0),
        result("docker.io/library/nginx:latest", 11),
    )
    first, second = store.pulls
    assert [r.status for r in store.pulls] == [PullStatus.COMPLETED, PullStatus.COMPLETED]
    assert (first.image, first.bytes_read, second.image, second.bytes_read) == (
        "index.docker.io/library/nginx",
        5,
        "nginx",
        0,
    )
    assert store.images()[0].pulls == 2 and store.images()[0].ref == NGINX


def test_identical_concurrent_pulls_are_told_apart_by_duration() -> None:
    """Two pulls of nginx start at 0 s and 1 s; the one that started first finishes last."""
    store = feed(
        start("nginx", 0),
        start("nginx", 1),
        pulled("nginx", 3, 2.0, size=11),  # began at 1 s: the second pull
        result("nginx", 3),
        pulled("nginx", 10, 10.0, size=22),  # began at 0 s: the first pull
        result("nginx", 10),
    )
    first, second = store.pulls
    assert (first.started_at, first.finished_at, first.duration_seconds, first.size_bytes) == (at(0), at(10), 10.0, 22)
    assert (second.started_at, second.finished_at, second.duration_seconds, second.size_bytes) == (
        at(1),
        at(3),
        2.0,
        11,
    )


def test_identical_concurrent_failures_go_oldest_first() -> None:
    """A failure line has no duration: the oldest open pull of that image fails first (documented)."""
    store = feed(start("nginx", 0), start("nginx", 1), failed("nginx", 2), failed("nginx", 3, error="second"))
    first, second = store.pulls
    assert (first.finished_at, second.finished_at, second.error) == (at(2), at(3), "second")


def test_pull_begun_before_the_log_gets_its_start_from_the_duration() -> None:
    store = feed(stop(NGINX, 30, 1234), pulled("nginx", 30, 12.5, size=99), result("nginx", 30))
    record = only(store)
    assert record.status is PullStatus.COMPLETED
    assert (record.started_at, record.finished_at, record.duration_seconds) == (at(17.5), at(30), 12.5)
    assert (record.has_start, record.size_bytes, record.bytes_read, record.image_id) == (False, 99, 1234, ID_A)


def test_pull_begun_before_the_log_does_not_take_a_later_start() -> None:
    """A start at 5 s cannot be the start of a pull that took 20 s and ended at 10 s."""
    store = feed(
        start("nginx", 5),
        pulled("nginx", 10, 20.0, size=1),
        result("nginx", 10),
        pulled("nginx", 12, 7.0, size=2),
        result("nginx", 12),
    )
    early, later = sorted(store.pulls, key=lambda r: r.started_at or T0)
    assert (early.has_start, early.started_at, early.finished_at, early.size_bytes) == (False, at(-10), at(10), 1)
    assert (later.has_start, later.started_at, later.finished_at, later.size_bytes) == (True, at(5), at(12), 2)
    assert not store.in_progress()


def test_pull_begun_before_a_1_6_log_has_no_start() -> None:
    record = only(feed(result("nginx", 4)))
    assert (record.status, record.started_at, record.finished_at, record.duration_seconds) == (
        PullStatus.COMPLETED,
        None,
        at(4),
        None,
    )


def test_duration_from_timestamps_on_1_6() -> None:
    record = only(feed(start("nginx", 0), result("nginx", 42.25)))
    assert (record.duration_seconds, record.size_bytes, record.bytes_read) == (42.25, None, None)


def test_debug_pulled_line_of_1_6_does_not_double_the_record() -> None:
    record = only(feed(start("nginx", 0), pulled("nginx", 3, None), result("nginx", 3)))
    assert (record.status, record.duration_seconds, record.image_id) == (PullStatus.COMPLETED, 3.0, ID_A)


def test_stop_line_before_the_outcome() -> None:
    record = only(feed(start("nginx", 0), stop(NGINX, 4, 77), pulled("nginx", 4.001, 4.0), result("nginx", 4.001)))
    assert record.bytes_read == 77


def test_stop_line_after_the_outcome() -> None:
    record = only(feed(start("nginx", 0), pulled("nginx", 4, 4.0), result("nginx", 4), stop(NGINX, 4.002, 88)))
    assert record.bytes_read == 88


def test_stop_line_after_a_failure() -> None:
    record = only(feed(start("nginx", 0), failed("nginx", 4), stop(NGINX, 4.5, 9)))
    assert (record.status, record.bytes_read) == (PullStatus.FAILED, 9)


def test_stop_line_long_after_a_pull_is_not_its_own() -> None:
    store = feed(start("nginx", 0), pulled("nginx", 4, 4.0), result("nginx", 4), stop(NGINX, 60, 5))
    assert only(store).bytes_read is None


def test_cancel_then_failed() -> None:
    error = f'rpc error: code = Canceled desc = failed to pull and unpack image "{NGINX}": context canceled'
    record = only(feed(start("nginx", 0), cancel(NGINX, 61), stop(NGINX, 61, 3), failed("nginx", 61, error)))
    assert record.status is PullStatus.FAILED
    assert record.error == f"cancelled: no progress in 1m0s; {error}"
    assert record.bytes_read == 3


def test_cancellation_fails_the_cancelled_pull_not_the_oldest() -> None:
    error = "rpc error: code = Canceled desc = context canceled"
    store = feed(start("nginx", 0), start("nginx", 1), cancel(NGINX, 61), failed("nginx", 61, "other failure"))
    # The cancel line marks the oldest open pull; a non-cancel failure then takes the other one.
    first, second = store.pulls
    assert (first.status, second.status, second.error) == (PullStatus.IN_PROGRESS, PullStatus.FAILED, "other failure")
    add(store, parse_line(failed("nginx", 62, error)))
    assert first.status is PullStatus.FAILED and first.error is not None and first.error.startswith("cancelled")


def test_sandbox_pull_success_has_no_start_line() -> None:
    pause = "registry.k8s.io/pause:3.9"
    record = only(feed(snapshotter(pause, 0.1), stop(pause, 0.9, 321), pulled(pause, 0.9, 0.85, size=300)))
    assert (record.status, record.image, record.has_start, record.snapshotter, record.bytes_read) == (
        PullStatus.COMPLETED,
        pause,
        False,
        "overlayfs",
        321,
    )
    assert record.started_at == at(0.05) and record.duration_seconds == 0.85


def test_sandbox_pull_failure_via_run_pod_sandbox() -> None:
    pause = "registry.k8s.io/pause:3.9"
    record = only(feed(cancel(pause, 60), stop(pause, 60, 4), sandbox_failed(pause, 60.01)))
    assert (record.status, record.image, record.bytes_read, record.started_at, record.duration_seconds) == (
        PullStatus.FAILED,
        pause,
        4,
        None,
        None,
    )
    assert record.error is not None and record.error.startswith("cancelled: no progress in 1m0s; failed to get sandbox")


def test_sandbox_pull_next_to_an_open_pull_of_the_same_image() -> None:
    """kubelet pulls pause at 0 s; a sandbox pull of it (no start line) ends first, at 5 s after 0.5 s."""
    pause = "registry.k8s.io/pause:3.9"
    store = feed(start(pause, 0), pulled(pause, 5, 0.5, size=5), pulled(pause, 9, 9.0, size=5), result(pause, 9))
    cri, sandbox = sorted(store.pulls, key=lambda r: r.has_start, reverse=True)
    assert (cri.started_at, cri.finished_at, cri.has_result) == (at(0), at(9), True)
    assert (sandbox.has_start, sandbox.started_at, sandbox.finished_at) == (False, at(4.5), at(5))


def test_pulls_still_in_progress_at_the_end_of_the_log() -> None:
    store = feed(start("nginx", 0), start("redis:7.2", 1), pulled("redis:7.2", 2, 1.0), result("redis:7.2", 2))
    [open_pull] = store.in_progress()
    assert (open_pull.ref, open_pull.status, open_pull.finished_at, open_pull.duration_seconds) == (
        NGINX,
        PullStatus.IN_PROGRESS,
        None,
        None,
    )
    assert store.summary(NGINX).in_progress == 1


def test_zero_bytes_read_is_a_cached_repeat() -> None:
    store = feed(
        start("nginx", 0),
        stop(NGINX, 5, 1000),
        pulled("nginx", 5, 5.0),
        result("nginx", 5),
        start("nginx", 10),
        stop(NGINX, 10.5, 0),
        pulled("nginx", 10.5, 0.5),
        result("nginx", 10.5),
    )
    summary = store.summary(NGINX)
    assert (summary.pulls, summary.completed, summary.cached_repeats, summary.bytes_read) == (2, 2, 1, 1000)
    assert [s.ref for s in store.repeated()] == [NGINX]


def test_summary_aggregates() -> None:
    store = feed(
        start("nginx", 0),
        pulled("nginx", 5, 5.0, size=100),
        result("nginx", 5),
        start("nginx", 6),
        failed("nginx", 7),
        start("nginx", 8),
    )
    summary = store.summary(NGINX)
    assert (summary.pulls, summary.completed, summary.failed, summary.in_progress) == (3, 1, 1, 1)
    assert (summary.total_size_bytes, summary.first_pull_at, summary.last_pull_at) == (100, at(0), at(8))


def test_lines_without_time_still_count() -> None:
    store = PullStore()
    for line in (
        'level=info msg="PullImage \\"nginx\\""',
        f'level=info msg="PullImage \\"nginx\\" returns image reference \\"{ID_A}\\""',
    ):
        add(store, parse_line(line))
    record = only(store)
    assert (record.status, record.started_at, record.duration_seconds, record.image_id) == (
        PullStatus.COMPLETED,
        None,
        None,
        ID_A,
    )


def test_every_event_is_kept_on_its_record_and_revisions_grow() -> None:
    store = feed(
        start("nginx", 0), snapshotter(NGINX, 0.1), stop(NGINX, 5, 1), pulled("nginx", 5, 5.0), result("nginx", 5)
    )
    record = only(store)
    assert len(record.lines) == 5  # the stop line, kept while pending, included
    assert record.revision == store.revision == 4  # the stop line changed it with the outcome
    assert store.changed_since(3) == [record] and store.changed_since(4) == []


def test_result_of_a_pull_begun_before_the_log_is_not_given_to_an_old_sandbox_pull() -> None:
    """A sandbox pull of pause ended long ago (no result line); the log then holds only the
    result line of a pull whose other lines came before the log (rotation): a record of its own."""
    pause = "registry.k8s.io/pause:3.9"
    store = feed(pulled(pause, 5, 0.5), result(pause, 600))
    sandbox, cri = store.pulls
    assert (sandbox.has_result, sandbox.finished_at) == (False, at(5))
    assert (cri.has_result, cri.finished_at, cri.status) == (True, at(600), PullStatus.COMPLETED)
