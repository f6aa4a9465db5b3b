"""Image names come from logs: the monitor shows them as written, never as Rich markup, and
neutralises escape sequences (a log line must not be able to restyle or move the terminal)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from logfactory import Line, Pull, pull_lines, quote, render
from textual.widgets import Static
from tuihelp import SIZE, palette_ready, replay_app, rows_text, run_async, wait_loaded, wait_until, widget_text

from pullwatch.tui.screens.detail import DetailScreen

pytestmark = pytest.mark.timeout(60)

MARKUP = "[bold]x[/]"
ESCAPE = "evil\x1b[31mred"
SHOWN_ESCAPE = "evil\\x1b[31mred"  # what safe_text makes of it
BEGIN = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)


def hostile_log(path: Path) -> Path:
    lines: list[Line] = []
    for index, name in enumerate((MARKUP, ESCAPE, MARKUP, ESCAPE)):
        pull = Pull(image=name, start=BEGIN + timedelta(seconds=10 * index), seconds=4, size=4096, bytes_read=index)
        lines += pull_lines(pull, "1.7")
    lines.append(Line(BEGIN + timedelta(seconds=60), "info", f"PullImage {quote(ESCAPE)}"))  # still running
    lines.sort(key=lambda line: line.time)
    path.write_text("".join(render(line, "text") + "\n" for line in lines))
    return path


@run_async
async def test_markup_and_escapes_in_image_names_are_shown_literally(tmp_path: Path) -> None:
    app = replay_app([hostile_log(tmp_path / "hostile.log")])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        main = app.main
        assert {row[0] for row in rows_text(main.completed)} == {MARKUP, SHOWN_ESCAPE}
        assert [row[0] for row in rows_text(main.in_progress)] == [SHOWN_ESCAPE]
        assert {row[0] for row in rows_text(main.repeated)} == {MARKUP, SHOWN_ESCAPE}

        drawn = [main.completed.render_line(y) for y in range(1, 5)]
        texts = [strip.text for strip in drawn]
        assert any(text.startswith(MARKUP) for text in texts)
        assert all("\x1b" not in text for text in texts)
        # the markup did not turn into a style: it is one piece of text, and off the cursor row
        # (which is bold by design) nothing is bold
        assert any(MARKUP in segment.text for strip in drawn for segment in strip)
        for row, strip in enumerate(drawn):
            if row != main.completed.cursor:
                assert not any(segment.style and segment.style.bold for segment in strip)

        screen = app.export_screenshot()
        assert MARKUP in screen and SHOWN_ESCAPE in screen
        assert "\x1b" not in screen

        await pilot.press("slash", *"bold]x", "enter")  # the filter takes the name as text too
        assert {row[0] for row in rows_text(main.completed)} == {MARKUP}
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        body = widget_text(app.screen.query_one("#detail-body", Static))
        assert MARKUP in body and "\x1b" not in body
        await pilot.press("q", "escape")

        await pilot.press("ctrl+p", *"filter: evil")
        await wait_until(pilot, lambda: palette_ready(app))
        assert "\x1b" not in app.export_screenshot()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.view.pattern == ESCAPE)
        assert {row[0] for row in rows_text(main.completed)} == {SHOWN_ESCAPE}


def test_parsed_names_really_hold_the_hostile_text(tmp_path: Path) -> None:
    """Guard against a vacuous test: the parser hands the TUI the raw name, ESC included."""
    from pullwatch.ingest import load
    from pullwatch.sources.options import SourceOptions

    store = load(SourceOptions(paths=(str(hostile_log(tmp_path / "h.log")),)))
    assert {record.image for record in store.pulls} == {MARKUP, ESCAPE}
