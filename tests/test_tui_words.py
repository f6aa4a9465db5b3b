"""Words that misled a new user (issue 10, item 9), as the monitor now puts them: an empty filter
result names the filter, completed and failed are counted apart, one way of writing durations, no
toast over the panes, the palette without Textual's own Quit/Keys and a Screenshot that works
without ~/Downloads, and the footer's enter says what it does in the filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast
from tuihelp import replay_app, run_async, sample_store, wait_loaded

from pullwatch.records import PullStatus
from pullwatch.tui.app import PullwatchApp

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parent.parent


def footer_keys(app: PullwatchApp) -> dict[str, str]:
    return {key.key: key.description for key in app.screen.query(FooterKey)}


@run_async
async def test_a_filter_matching_nothing_says_so() -> None:
    app = replay_app(image="no-such-image")
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert not app.main.completed.items
        assert app.main.completed.empty_text == "no pull matches 'no-such-image'"
        assert app.main.in_progress.empty_text == "no pull matches 'no-such-image'"


@run_async
async def test_completed_title_counts_completed_and_failed_as_the_header_does() -> None:
    pulls = sample_store().pulls
    ok = sum(r.status is PullStatus.COMPLETED for r in pulls)
    failed = sum(r.status is PullStatus.FAILED for r in pulls)
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert app.main.completed.border_title == f"Completed · {ok} · failed {failed}"
        header = str(app.main.summary_line.content)
        assert f"{ok} completed" in header and f"{failed} failed" in header


@run_async
async def test_the_timeout_the_log_gives_is_written_as_other_durations() -> None:
    # a 1.7.0-1.7.9 log: its cancel line gives containerd's one-minute timeout as Go writes it
    app = replay_app([ROOT / "examples" / "containerd-1.7-journal.log"])
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert app.view.timeout_text == "1m0s"
        subtitle = str(app.main.in_progress.border_subtitle)
        assert "no-progress timeout 1m00s (from the log)" in subtitle and "1m0s" not in subtitle


@run_async
async def test_no_start_toast_and_the_note_is_in_the_status_line() -> None:
    from pullwatch.tui.source import sample_spec

    app = PullwatchApp(sample_spec("no containerd journal or log on this machine"), replay_app().clock)
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert not app.screen.query(Toast)
        assert "no containerd journal or log" in str(app.main.status_line.content)


@run_async
async def test_palette_has_no_second_quit_or_keys_and_screenshots_into_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    monkeypatch.chdir(tmp_path)
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Quit" not in commands and "Keys" not in commands
        commands["Screenshot"].callback()
        await pilot.pause()
        assert [path.suffix for path in tmp_path.iterdir() if path.is_file()] == [".svg"]


@run_async
async def test_the_footer_says_what_enter_does_in_the_filter() -> None:
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        assert footer_keys(app)["enter"] == "detail"
        await pilot.press("slash")
        await pilot.pause()
        assert footer_keys(app)["enter"] == "back to panes"
        await pilot.press(*"nginx", "enter")  # enter in the filter: back to the panes
        await pilot.pause()
        assert app.focused is app.main.completed and footer_keys(app)["enter"] == "detail"
        assert app.view.pattern == "nginx"


@run_async
async def test_watch_file_of_a_missing_file_says_it_waits_for_it(tmp_path: Path) -> None:
    from pullwatch.sources.options import SourceOptions
    from pullwatch.tui.clock import WallClock
    from pullwatch.tui.source import watch_spec

    missing = tmp_path / "containerd.log"
    app = PullwatchApp(watch_spec(SourceOptions(paths=(str(missing),))), WallClock())
    async with app.run_test(size=(150, 46)) as pilot:
        await pilot.pause()
        app.redraw()
        await pilot.pause()
        status = str(app.main.status_line.content)
        assert f"{missing} does not exist (yet): waiting for it to be created" in status


@run_async
async def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    """Moving between panes shows the same keys: the footer keeps its key widgets (Textual's own
    Footer mounted new ones on every focus change); the filter's enter still changes it."""
    app = replay_app()
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        shown = set(app.screen.query(FooterKey))
        await pilot.press("tab", "tab", "shift+tab")
        await pilot.pause()
        assert app.focused is app.main.repeated
        assert set(app.screen.query(FooterKey)) == shown
        await pilot.press("slash")
        await pilot.pause()
        assert footer_keys(app)["enter"] == "back to panes"
        assert not set(app.screen.query(FooterKey)) & shown
