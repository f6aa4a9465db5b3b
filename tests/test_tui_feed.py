"""The monitor's parts without a screen: clocks, the feed thread, the store view, source choice."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from logfactory import generate, write_log
from tuihelp import SAMPLE, SAMPLE_FIRST_PULL, ManualTime, sample_store

from pullwatch.parsers.events import EventKind, ParsedBatch, PullEvent
from pullwatch.records import PullStatus
from pullwatch.sources import LineBatch, SourceError
from pullwatch.store import PullStore
from pullwatch.tui.clock import Clock, ReplayClock, WallClock
from pullwatch.tui.feed import Feed
from pullwatch.tui.messages import FeedBatch, FeedDone, FeedFailed, FeedStarted
from pullwatch.tui.source import SAMPLE_SPEED, FeedSpec, auto_spec, parse_speed, replay_spec
from pullwatch.tui.view import StoreView

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)


# ---- clocks ------------------------------------------------------------------------------------
def test_replay_clock_runs_speed_times_faster_from_the_first_line_and_pauses() -> None:
    manual = ManualTime()
    clock = ReplayClock(10, monotonic=manual)
    assert clock.now() is None
    assert clock.seconds_until(T0) == 0  # the first timed line starts the clock
    assert clock.seconds_until(T0 + timedelta(seconds=50)) == pytest.approx(5.0)
    manual.value = 2
    assert clock.now() == T0 + timedelta(seconds=20)
    assert clock.seconds_until(T0 + timedelta(seconds=50)) == pytest.approx(3.0)
    clock.pause()
    manual.value = 100
    assert clock.now() == T0 + timedelta(seconds=20)
    assert clock.seconds_until(T0 + timedelta(seconds=50)) == float("inf")
    clock.resume()
    assert clock.now() == T0 + timedelta(seconds=20)  # the paused 98 s do not count
    manual.value = 101
    clock.finish()  # the log ended: the clock stops there, even after a resume
    manual.value = 200
    clock.pause()
    clock.resume()
    assert clock.now() == T0 + timedelta(seconds=30)


def test_max_speed_clock_is_the_newest_log_time_and_wall_clock_freezes_when_paused() -> None:
    clock = Clock()
    clock.observe(T0 + timedelta(seconds=5))
    clock.observe(T0)
    assert clock.now() == T0 + timedelta(seconds=5)
    now = [T0]
    wall = WallClock(lambda: now[0])
    wall.pause()
    now[0] = T0 + timedelta(hours=1)
    assert wall.now() == T0
    wall.resume()
    assert wall.now() == T0 + timedelta(hours=1)
    with pytest.raises(ValueError):
        ReplayClock(0)


# ---- the feed ----------------------------------------------------------------------------------
def sample_batches() -> list[LineBatch]:
    lines = SAMPLE.read_bytes().splitlines()
    half = len(lines) // 2
    return [LineBatch(lines[:half], half), LineBatch(lines[half:], len(lines) - half)]


def run_feed(spec: FeedSpec, clock: Clock | None = None, interval: float = 0.25) -> list[object]:
    posted: list[object] = []
    feed = Feed(spec, clock or Clock(), posted.append, interval=interval)
    feed.run()
    return posted


def applied(posted: list[object]) -> PullStore:
    store = PullStore()
    view = StoreView(store, Clock())
    for message in posted:
        if isinstance(message, FeedBatch):
            view.apply(message.batch)
    return store


def test_feed_posts_every_line_and_event_in_time_batches() -> None:
    spec = FeedSpec(open=lambda: iter(sample_batches()), live=False, description="t")
    one_batch = run_feed(spec, interval=3600)  # nothing is due before the end: a single message
    assert isinstance(one_batch[-1], FeedDone)
    assert sum(isinstance(m, FeedBatch) for m in one_batch) == 1
    each = run_feed(spec, interval=0)  # always due: one message per source batch
    assert sum(isinstance(m, FeedBatch) for m in each) == 2
    headless = sample_store()  # read_saved + consume, as the headless commands read it
    for posted in (one_batch, each):
        store = applied(posted)
        assert store.stats == headless.stats and headless.stats.pull_lines > 0
        assert len(store.pulls) == len(headless.pulls) > 0


def test_feed_counts_the_saved_files_lines_aside_for_the_progress() -> None:
    spec = FeedSpec(open=lambda: iter(sample_batches()), live=False, description="t", paths=[str(SAMPLE)])
    posted: list[object] = []
    counted = threading.Event()

    def post(message: object) -> None:
        posted.append(message)
        if isinstance(message, FeedStarted):
            counted.set()

    Feed(spec, Clock(), post).run()
    assert counted.wait(5)
    lines = len(SAMPLE.read_bytes().splitlines())
    assert lines == sample_store().stats.lines
    assert [(m.total_lines, m.exact) for m in posted if isinstance(m, FeedStarted)] == [(lines, True)]


def test_a_big_files_line_count_is_estimated_from_its_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pullwatch.tui.source

    path = tmp_path / "big.log"
    write_log(str(path), generate(seed=5, pulls=40, chatter=20))
    lines = len(path.read_bytes().splitlines())
    monkeypatch.setattr(pullwatch.tui.source, "SAMPLE_BYTES", 16384)
    counted = replay_spec([str(path)], "max").count_lines()
    assert counted is not None and counted[1] is False
    assert abs(counted[0] - lines) < lines * 0.1


def test_feed_counts_unparsed_lines_and_reports_a_source_error_after_what_it_read() -> None:
    def broken() -> Iterator[LineBatch]:
        yield LineBatch([b'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"cut'], 5)
        raise SourceError("node.log: read failed: disk on fire")

    posted = run_feed(FeedSpec(open=broken, live=False, description="t"))
    assert isinstance(posted[-1], FeedFailed) and posted[-1].error == "node.log: read failed: disk on fire"
    store = applied(posted)
    assert (store.stats.lines, store.stats.unparsed_lines) == (5, 1)


def test_feed_turns_an_unexpected_error_into_one_line() -> None:
    def buggy() -> Iterator[LineBatch]:
        raise RuntimeError("boom")
        yield LineBatch()

    posted = run_feed(FeedSpec(open=buggy, live=False, description="t"))
    assert isinstance(posted[-1], FeedFailed) and posted[-1].error == "source stopped: RuntimeError: boom"


def test_live_feed_posts_a_batch_while_the_source_waits_and_stops_when_asked() -> None:
    release = threading.Event()
    lines = SAMPLE.read_bytes().splitlines()[:40]

    def follow() -> Iterator[LineBatch]:
        yield LineBatch(lines, len(lines))
        release.wait(10)  # a follower blocks until the log grows

    got_batch = threading.Event()
    posted: list[object] = []

    def post(message: object) -> None:
        posted.append(message)
        if isinstance(message, FeedBatch):
            got_batch.set()

    feed = Feed(FeedSpec(open=follow, live=True, description="t"), WallClock(), post, interval=0.05)
    feed.start()
    assert got_batch.wait(5), "the lines read before the source blocked were held back"
    assert sum(m.batch.lines for m in posted if isinstance(m, FeedBatch)) == 40
    feed.stop()
    release.set()
    assert feed.done.wait(5)


def test_paced_feed_holds_lines_until_the_replay_clock_reaches_them() -> None:
    manual = ManualTime()
    clock = ReplayClock(60, monotonic=manual)
    posted: list[object] = []
    feed = Feed(FeedSpec(open=lambda: iter(sample_batches()), live=False, description="t"), clock, posted.append)
    feed.start()
    try:
        deadline = threading.Event()
        while feed.waits < 1 and not deadline.wait(0.01):
            pass
        store = applied(posted)
        first = sample_store(SAMPLE_FIRST_PULL).pulls  # what the first pull line alone makes
        assert len(first) == 1
        assert [r.image for r in store.pulls] == [first[0].image]  # the first pull only
        manual.value = 10_000  # far past the end of the log
        assert feed.done.wait(10)
    finally:
        feed.stop()
    store = applied(posted)
    headless = sample_store()
    assert store.stats.lines == headless.stats.lines  # interpolated line counts add up
    assert len(store.pulls) == len(headless.pulls)
    assert isinstance(posted[-1], FeedDone)


def test_paced_feed_of_batches_parsed_by_the_scanning_child() -> None:
    # a big saved log's batches come parsed, without lines (sources/scanproc.py)
    parsed = [LineBatch([], batch.total, parsed=batch.parse()) for batch in sample_batches()]
    manual = ManualTime()
    posted: list[object] = []
    spec = FeedSpec(open=lambda: iter(parsed), live=False, description="t")
    feed = Feed(spec, ReplayClock(60, monotonic=manual), posted.append)
    feed.start()
    try:
        deadline = threading.Event()
        while feed.waits < 1 and not deadline.wait(0.01):
            pass
        assert [r.image for r in applied(posted).pulls] == [sample_store(SAMPLE_FIRST_PULL).pulls[0].image]
        manual.value = 10_000
        assert feed.done.wait(10)
    finally:
        feed.stop()
    store, headless = applied(posted), sample_store()
    assert store.stats == headless.stats and len(store.pulls) == len(headless.pulls)


def test_paused_feed_shows_and_reads_nothing_more_until_resumed() -> None:
    posted: list[object] = []
    gate = threading.Event()

    def source() -> Iterator[LineBatch]:
        yield from sample_batches()[:1]
        gate.set()
        yield from sample_batches()[1:]

    feed = Feed(FeedSpec(open=source, live=False, description="t"), Clock(), posted.append, interval=0)
    feed.pause()
    feed.start()
    assert not gate.wait(0.3)  # paused after the first batch: the source is not asked for more
    assert not feed.done.is_set()
    assert not any(isinstance(m, FeedBatch) for m in posted)  # and what it read is held back
    feed.resume()
    assert feed.done.wait(5)
    assert applied(posted).stats == sample_store().stats


# ---- the store view ----------------------------------------------------------------------------
def event(kind: EventKind, moment: datetime, **fields: object) -> PullEvent:
    return PullEvent(kind=kind, image="nginx", ref="docker.io/library/nginx:latest", time=moment, **fields)  # type: ignore[arg-type]


def test_urgency_counts_from_the_last_progress_line_against_the_learned_timeout() -> None:
    now = [T0 + timedelta(seconds=200)]
    view = StoreView(PullStore(), WallClock(lambda: now[0]))
    view.apply(ParsedBatch([event(EventKind.START, T0)], lines=1))
    record = view.store.pulls[0]
    assert view.timeout_seconds == 300 and view.urgency(record) == "warn"  # 200 s of 300
    now[0] = T0 + timedelta(seconds=250)
    assert view.urgency(record) == "late"  # 250 s of 300
    view.apply(ParsedBatch([event(EventKind.PROGRESS, T0 + timedelta(seconds=200), bytes_read=1000)], 1))
    assert view.quiet(record) == 50 and view.urgency(record) == ""
    assert record.progress_bytes == 1000
    other = event(EventKind.START, T0 + timedelta(seconds=200))
    other.ref = other.image = "busybox"
    view.apply(ParsedBatch([other, event(EventKind.CANCEL, T0 + timedelta(seconds=249), timeout="1m0s")], 2))
    assert view.timeout_seconds == 60 and view.timeout_text == "1m0s"
    assert view.urgency(view.store.pulls[1]) == "late"  # 50 s without progress, timeout 60 s
    now[0] = T0 + timedelta(seconds=300)  # outlived the timeout uncancelled: it is progressing
    assert view.timeout_share(view.store.pulls[1]) == pytest.approx(100 / 60)
    assert view.urgency(view.store.pulls[1]) == ""


def test_snapshot_filters_every_list_and_totals() -> None:
    store = PullStore()
    view = StoreView(store, Clock())
    log = generate(seed=3, pulls=25, version="1.7", envelope="text", chatter=1)
    from pullwatch.parsers import parse_batch

    view.apply(parse_batch(log.lines))
    snap = view.snapshot()
    assert snap.totals.pulls == snap.all_pulls == 25
    assert snap.totals.failed == sum(r.status is PullStatus.FAILED for r in store.pulls)
    view.set_filter("redis")
    snap = view.snapshot()
    assert snap.totals.pulls == sum("redis" in r.ref for r in store.pulls) > 0
    assert all("redis" in r.ref for r in snap.finished + snap.in_progress)
    assert all("redis" in row.summary.ref for row in snap.repeated)


# ---- choosing the source -----------------------------------------------------------------------
def test_parse_speed() -> None:
    assert parse_speed("max") is None and parse_speed("MAX") is None
    assert parse_speed("10") == 10.0 and parse_speed("0.5") == 0.5
    for bad in ("0", "-2", "fast", "inf", "nan", ""):
        with pytest.raises(SourceError, match="--speed takes a positive number or max"):
            parse_speed(bad)


def test_replay_spec_checks_files_and_counts_lines(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        replay_spec([str(tmp_path / "missing.log")], "max")
    plain = tmp_path / "a.log"
    write_log(str(plain), generate(seed=1, pulls=3, chatter=2))
    spec = replay_spec([str(plain), str(plain)], "4")
    lines = len(plain.read_text().splitlines())
    assert spec.speed == 4 and spec.count_lines() == (2 * lines, True)
    packed = tmp_path / "a.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert replay_spec([str(packed)], "max").count_lines() is None


def test_watch_without_a_source_replays_the_sample_with_the_note(monkeypatch: pytest.MonkeyPatch) -> None:
    from pullwatch.sources import auto

    real = auto.pick_source

    def nothing() -> auto.PickedSource:
        return real(embedded_logs=(), embedded_units=(), probe=lambda units: SourceError("no journal here"))

    monkeypatch.setattr(auto, "pick_source", nothing)
    spec = auto_spec()
    assert not spec.live and spec.speed == SAMPLE_SPEED
    assert spec.note and "bundled sample" in spec.note
    headless = sample_store()
    assert spec.count_lines() == (headless.stats.lines, True)
    store = applied(run_feed(FeedSpec(open=spec.open, live=False, description="t")))
    assert len(store.pulls) == len(headless.pulls) > 0


# ---- the command line --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "/nonexistent/containerd.log"], "pullwatch: /nonexistent/containerd.log: no such file\n"),
        (["replay", str(SAMPLE), "--speed", "fast"], "pullwatch: --speed takes a positive number or max, not 'fast'\n"),
        (["replay", str(SAMPLE), "--image", "re:("], "pullwatch: bad regular expression '(': "),
    ],
)
def test_replay_errors_are_one_line_before_the_screen_opens(argv: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pullwatch", *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_headless_commands_do_not_import_textual() -> None:
    code = "import sys, pullwatch.cli, tui; assert 'textual' not in sys.modules, 'textual imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
