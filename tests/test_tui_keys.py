"""Pilot tests: every key of the monitor, asserted on what the panes contain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Static
from tuihelp import (
    SAMPLE_MIDDLE,
    SIZE,
    paced_app,
    palette_ready,
    replay_app,
    replay_to,
    rows_text,
    run_async,
    sample_store,
    wait_loaded,
    wait_until,
    widget_text,
)

from pullwatch.filtering import image_matcher
from pullwatch.humanize import human_duration
from pullwatch.records import PullRecord, PullStatus
from pullwatch.tui.app import PullwatchApp
from pullwatch.tui.screens.detail import DetailScreen
from pullwatch.tui.screens.help import HelpScreen
from pullwatch.tui.summary import SummaryLine
from pullwatch.tui.view import RepeatedImage

pytestmark = pytest.mark.timeout(60)


def images(rows: list[list[str]]) -> set[str]:
    return {row[0] for row in rows}


def summary(app: PullwatchApp) -> str:
    return widget_text(app.main.query_one(SummaryLine))


def finished(records: list[PullRecord]) -> list[PullRecord]:
    return [r for r in records if r.status is not PullStatus.IN_PROGRESS]


def sample_matching(pattern: str) -> list[PullRecord]:
    """The sample's pulls that `report --image PATTERN` would list."""
    matches = image_matcher(pattern)
    return [r for r in sample_store().pulls if matches(r.image, r.ref)]


def repeat_pulls_text(records: list[PullRecord]) -> str | None:
    """The "repeat pulls" cell for an image's pulls, from the store's verdicts on its completed
    repeat pulls (None: the log tells of none)."""
    known = [r.downloaded for r in records[1:] if r.status is PullStatus.COMPLETED and r.downloaded is not None]
    fetched = sum(known)
    return f"{len(known) - fetched} cached, {fetched} downloaded" if known else None


@run_async
async def test_replay_at_max_fills_every_pane() -> None:
    store = sample_store()  # what the headless commands know of the sample
    ended = finished(store.pulls)
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        main = app.main
        assert len(main.completed.items) == len(ended) > 0
        assert main.in_progress.items == [] and store.in_progress() == []
        repeated = {row[0]: row for row in rows_text(main.repeated)}
        expected_repeated = store.repeated()
        assert len(expected_repeated) > 1  # the sample pulls several images more than once
        assert set(repeated) == {image.image for image in expected_repeated}
        assert len(repeated) == len(expected_repeated)
        repeat_cells = []
        for image in expected_repeated:
            assert repeated[image.image][1] == str(image.pulls)
            expected_cell = repeat_pulls_text(store.pulls_of(image.ref))
            if expected_cell is not None:
                assert repeated[image.image][6] == expected_cell
                repeat_cells.append(expected_cell)
        assert any(cell.endswith(" 0 downloaded") and not cell.startswith("0 ") for cell in repeat_cells)  # cache hits
        newest = rows_text(main.completed)[0]
        latest = max(ended, key=lambda r: r.finished_at)  # type: ignore[arg-type,return-value]
        assert newest[:2] == [latest.image, f"{latest.finished_at:%m-%d %H:%M:%S}"]
        failed = [r for r in main.completed.items if r.status is PullStatus.FAILED]
        expected_failed = sum(r.status is PullStatus.FAILED for r in store.pulls)
        assert len(failed) == expected_failed > 0
        text = summary(app)
        assert f"{len(store.pulls)} pulls" in text and f"{expected_failed} failed" in text
        assert f"{store.stats.lines:,} lines" in text and f"{store.stats.unparsed_lines:,} unparsed" in text


@run_async
async def test_slash_filters_every_pane_as_you_type_and_escape_clears() -> None:
    store = sample_store()
    redis = sample_matching("redis")
    assert len(redis) > 1 and len(redis) < len(store.pulls)  # the sample pulls redis, and other images
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        main = app.main
        await pilot.press("slash", *"redis")
        assert app.focused is main.filter_bar.input
        assert images(rows_text(main.completed)) == {r.image for r in redis}
        assert len(main.completed.items) == len(finished(redis))
        assert images(rows_text(main.repeated)) == {i.image for i in store.repeated() if "redis" in i.ref}
        assert f"filter redis {len(redis)} of {len(store.pulls)} pulls" in summary(app)
        await pilot.press("escape")
        assert len(main.completed.items) == len(finished(store.pulls))
        assert main.filter_bar.input.value == ""
        assert app.focused is main.completed  # type: ignore[comparison-overlap]  # narrowed before an await


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*nginx*", {"nginx:1.25"}),
        ("registry.k8s.io/co*", {"registry.k8s.io/coredns/coredns:v1.11.1"}),
        ("re:^(quay|localhost)", {"quay.io/prometheus/node-exporter:v1.8.1", "localhost:5000/team/app:dev"}),
    ],
)
@run_async
async def test_filter_takes_globs_and_regexes(pattern: str, expected: set[str]) -> None:
    assert expected <= {r.image for r in sample_store().pulls}  # images the sample pulls
    assert {r.image for r in sample_matching(pattern)} == expected  # and all that `report --image` lists
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash", *pattern, "enter")
        assert images(rows_text(app.main.completed)) == expected
        assert app.focused is app.main.completed  # enter goes back to the panes


@run_async
async def test_bad_regex_shows_an_error_and_keeps_the_last_filter() -> None:
    flux = {"ghcr.io/fluxcd/source-controller:v1.3.0"}
    assert {r.image for r in sample_matching("re:flux")} == flux  # the sample pulls it, and no other flux image
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        bar = app.main.filter_bar
        await pilot.press("slash", *"re:flux")
        assert images(rows_text(app.main.completed)) == flux
        await pilot.press(*"(")
        assert "bad regular expression" in widget_text(bar.query_one("#filter-error", Static))
        assert bar.input.has_class("-invalid")
        assert images(rows_text(app.main.completed)) == flux
        await pilot.press("backspace")
        assert not bar.input.has_class("-invalid")
        assert app.is_running


@run_async
async def test_image_option_prefills_the_filter() -> None:
    app = replay_app(image="nginx")
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert app.main.filter_bar.input.value == "nginx"
        assert images(rows_text(app.main.completed)) == {"nginx:1.25"}


@run_async
async def test_tab_and_shift_tab_move_between_panes() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        main = app.main
        assert app.focused is main.completed
        await pilot.press("tab")
        assert app.focused is main.repeated  # type: ignore[comparison-overlap]  # narrowed before an await
        await pilot.press("tab")
        assert app.focused is main.in_progress  # type: ignore[comparison-overlap]  # narrowed before an await
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is main.completed
        await pilot.press("slash", "tab")  # from the filter, tab returns to the panes
        assert app.focused is main.completed


@run_async
async def test_cursor_keys_move_the_selection() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = app.main.completed
        assert table.cursor == 0
        await pilot.press("j", "j", "down")
        assert table.cursor == 3
        await pilot.press("k", "up")
        assert table.cursor == 1
        await pilot.press("G")
        assert table.cursor == len(finished(sample_store().pulls)) - 1
        assert table.selected is table.items[-1]
        assert table.scroll_y > 0  # the last row was scrolled into view
        await pilot.press("g")
        assert table.cursor == 0 and table.scroll_y == 0


@run_async
async def test_enter_opens_the_pull_detail_and_q_closes_it() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = app.main.completed
        failed = next(i for i, r in enumerate(table.items) if r.error and "no progress" in r.error)
        table.move_cursor(failed)
        chosen = table.selected
        assert isinstance(chosen, PullRecord)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = widget_text(screen.query_one("#detail-body", Static))
        assert f"▶ pull #{chosen.id}" in body
        assert "cancelled: no progress in 10s" in body  # the sample's image_pull_progress_timeout
        assert chosen.lines[0] in body  # the raw log lines that made it
        assert body.count("pull #") == len(sample_store().pulls_of(chosen.ref)) > 1  # every pull of the image
        await pilot.press("q")
        assert app.screen is app.main and app.is_running
        await pilot.press("enter", "escape")
        assert app.screen is app.main


@run_async
async def test_enter_on_a_repeated_image_lists_all_its_pulls() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("tab")
        row = app.main.repeated.selected
        assert isinstance(row, RepeatedImage)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        body = widget_text(app.screen.query_one("#detail-body", Static))
        assert body.count("pull #") == row.summary.pulls
        assert "▶" not in body  # an image, no single pull chosen


@run_async
async def test_s_cycles_the_sort_column_and_shift_s_reverses() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = app.main.completed
        assert table.sort_label == "finished ▼"
        await pilot.press("s")
        assert table.sort_label == "duration ▼"
        durations = [r.duration_seconds for r in table.items if r.duration_seconds is not None]
        assert durations == sorted(durations, reverse=True)
        await pilot.press("S")
        assert table.sort_label == "duration ▲"
        durations = [r.duration_seconds for r in table.items if r.duration_seconds is not None]
        assert durations == sorted(durations)
        for _ in range(6):
            await pilot.press("s")
        assert table.sort_label == "image ▲"  # wrapped around
        names = [r.image.lower() for r in table.items]
        assert names == sorted(names)
        assert "sort image ▲" in str(table.border_subtitle)


@run_async
async def test_paced_replay_ticks_on_the_log_clock_and_p_pauses_it() -> None:
    running_then = sample_store(SAMPLE_MIDDLE).in_progress()  # the pulls logged as running by then
    assert len(running_then) >= 3
    longest = min(running_then, key=lambda r: r.started_at)  # type: ignore[arg-type,return-value]
    assert longest.started_at is not None
    longest_elapsed = human_duration((SAMPLE_MIDDLE - longest.started_at).total_seconds())
    app, manual = paced_app(speed=60)
    async with app.run_test(size=SIZE) as pilot:
        await replay_to(pilot, manual, SAMPLE_MIDDLE)
        running = {row[0]: row for row in rows_text(app.main.in_progress)}
        assert set(running) == {r.image for r in running_then}
        assert len(app.main.in_progress.items) == len(running_then)
        assert running[longest.image][2] == longest_elapsed  # elapsed by the replay clock
        assert rows_text(app.main.in_progress)[0][0] == longest.image  # longest running first
        assert f"log time {SAMPLE_MIDDLE:%Y-%m-%d %H:%M:%S}" in widget_text(app.main.query_one("#status", Static))
        stats = app.view.store.stats
        pulls_before, lines_before = len(app.view.store.pulls), stats.pull_lines

        await pilot.press("p")
        assert app.feed.paused and app.clock.paused
        assert "paused" in widget_text(app.main.query_one("#status", Static))
        manual.value += 60  # an hour of log time at ×60: nothing moves while paused
        await pilot.pause(0.3)
        app.redraw()
        assert len(app.view.store.pulls) == pulls_before and stats.pull_lines == lines_before
        assert {row[0]: row for row in rows_text(app.main.in_progress)}[longest.image][2] == longest_elapsed

        await pilot.press("p")
        assert not app.feed.paused
        manual.value += 1  # one real second = one log minute
        await wait_until(pilot, lambda: stats.pull_lines > lines_before)
        app.redraw()
        await pilot.pause()
        assert "paused" not in widget_text(app.main.query_one("#status", Static))


@run_async
async def test_question_mark_shows_help_and_closes_it() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = widget_text(app.screen.query_one(Static))
        for key in ("/", "esc", "enter", "tab / shift+tab", "j k", "g G", "s / S", "p", "ctrl+p", "q"):
            assert key in text
        await pilot.press("q")  # closes help, does not quit
        assert app.screen is app.main and app.is_running  # type: ignore[comparison-overlap]  # narrowed before an await
        await pilot.press("question_mark", "question_mark")
        assert app.screen is app.main  # type: ignore[comparison-overlap]  # narrowed before an await


@run_async
async def test_q_quits_with_status_zero() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code in (0, None)
    assert app.feed.done.wait(5)


@run_async
async def test_command_palette_runs_the_same_actions() -> None:
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("ctrl+p", *"pause or resume")
        await wait_until(pilot, lambda: palette_ready(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.feed_state.paused)
        await pilot.press("ctrl+p", *"filter: redis")
        await wait_until(pilot, lambda: palette_ready(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.view.pattern == "docker.io/library/redis:7.2")
        assert images(rows_text(app.main.completed)) == {"docker.io/library/redis:7.2"}
        await pilot.press("ctrl+p", *"show the keys")
        await wait_until(pilot, lambda: palette_ready(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))


@run_async
async def test_p_holds_a_live_source_and_resumes_without_losing_lines() -> None:
    import queue

    from tuihelp import SAMPLE

    from pullwatch.sources import LineBatch
    from pullwatch.tui.app import PullwatchApp
    from pullwatch.tui.clock import WallClock
    from pullwatch.tui.source import FeedSpec

    lines = SAMPLE.read_bytes().splitlines()
    arriving: queue.Queue[LineBatch | None] = queue.Queue()

    def follow() -> Iterator[LineBatch]:  # a followed log: blocks until lines are appended
        while (batch := arriving.get()) is not None:
            yield batch

    app = PullwatchApp(FeedSpec(open=follow, live=True, description="following test.log"), WallClock())
    async with app.run_test(size=SIZE) as pilot:
        arriving.put(LineBatch(lines[:100], 100))
        await wait_until(pilot, lambda: app.view.store.stats.lines == 100)
        await pilot.press("p")
        assert "paused" in widget_text(app.main.query_one("#status", Static))
        arriving.put(LineBatch(lines[100:], len(lines) - 100))
        await pilot.pause(0.6)
        assert app.view.store.stats.lines == 100  # held while paused
        await pilot.press("p")
        await wait_until(pilot, lambda: app.view.store.stats.lines == len(lines))
        assert len(app.view.store.pulls) == len(sample_store().pulls)
        app.redraw()
        assert "● following" in widget_text(app.main.query_one("#status", Static))
        arriving.put(None)


@run_async
async def test_big_batches_are_applied_in_slices_in_feed_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuihelp import SAMPLE

    import pullwatch.tui.app
    from pullwatch.ingest import load
    from pullwatch.sources import LineBatch
    from pullwatch.sources.options import SourceOptions
    from pullwatch.tui.app import PullwatchApp
    from pullwatch.tui.clock import Clock
    from pullwatch.tui.source import FeedSpec

    monkeypatch.setattr(pullwatch.tui.app, "APPLY_SLICE_SECONDS", 0.0)  # one chunk per turn, the rest queued
    monkeypatch.setattr(pullwatch.tui.app, "APPLY_CHUNK", 3)
    lines = SAMPLE.read_bytes().splitlines()

    def small_batches() -> Iterator[LineBatch]:  # many messages, so later batches arrive while earlier ones are applied
        for start in range(0, len(lines), 20):
            yield LineBatch(lines[start : start + 20], len(lines[start : start + 20]))

    spec = FeedSpec(open=small_batches, live=False, description="t")
    app = PullwatchApp(spec, Clock(), feed_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded)
        assert app.feed_state.done and not app._pending
        stats = app.view.store.stats
        expected = load(SourceOptions(paths=(str(SAMPLE),)))
        assert stats == expected.stats  # lines, pull lines, unparsed lines
        assert expected.stats.lines == len(lines) and expected.stats.pull_lines > 0
        got = [(r.image, r.status, r.bytes_read, r.finished_at) for r in app.view.store.pulls]
        assert got == [(r.image, r.status, r.bytes_read, r.finished_at) for r in expected.pulls]


def test_help_and_palette_cover_every_main_screen_key() -> None:
    """The footer, the help and the palette come from one table (tui/keys.py): a key added there
    without a help line fails here, and every binding of the screen is one of the table's."""
    from pullwatch.tui.keys import HELP_ROWS, MAIN_KEYS, help_rows
    from pullwatch.tui.main_screen import MainScreen

    actions = [key.action for key in MAIN_KEYS]
    assert [binding.action for binding in MainScreen.BINDINGS] == actions  # type: ignore[union-attr]
    assert sorted(action for row in HELP_ROWS for action in row.actions) == sorted(actions)
    shown = dict(help_rows())
    assert shown["tab / shift+tab"] == "next / previous pane" and shown["/"].startswith("filter images")
    assert all(key.palette and key.shown in key.palette_hint for key in MAIN_KEYS)
