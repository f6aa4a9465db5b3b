"""The monitor on a log holding every hostile line of issue 9 (in a real file, read by the real
replay feed): it loads to the end without the feed failing, counts what the headless commands
count, keeps answering keys, and no pane or detail view shows a control character."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from logfactory import Line, quote, render_text
from rich.console import Console
from test_hostile_cli import HOSTILE
from test_hostile_output import NAMES, T
from tuihelp import SAMPLE, SIZE, replay_app, rows_text, run_async, wait_loaded

from pullwatch.humanize import safe_text
from pullwatch.ingest import ingest
from pullwatch.sources.saved import read_saved
from pullwatch.store import PullStore
from pullwatch.tui.screens.detail import detail_renderable

pytestmark = pytest.mark.timeout(120)


def hostile_log(tmp_path: Path) -> Path:
    sample = SAMPLE.read_text(encoding="utf-8").splitlines()
    evil = [line for line, _ in HOSTILE.values()]
    evil += [render_text(Line(T, "info", f"PullImage {quote(name)}")) for name in NAMES]
    mixed = []
    for index, line in enumerate(sample):
        mixed.append(line)
        if index % 7 == 0 and evil:
            mixed.append(evil.pop())
    path = tmp_path / "hostile.log"
    path.write_text("\n".join(mixed + evil) + "\n", encoding="utf-8", errors="surrogatepass")
    return path


def shown(image: str, node: str | None) -> str:
    """An image cell as the panes write it: `image  @ node` when pulls come from several nodes."""
    return safe_text(image) if node is None else f"{safe_text(image)}  @ {safe_text(node)}"


def unsafe(text: str) -> list[str]:
    return sorted({c for c in text if not c.isprintable() and c != "\n"})


@run_async
async def test_monitor_on_hostile_lines(tmp_path: Path) -> None:
    path = hostile_log(tmp_path)
    headless = PullStore()
    for batch in read_saved([str(path)]):
        ingest(headless, batch)
    app = replay_app([path])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert app.feed_state.error is None
        store = app.view.store
        assert (store.stats.lines, store.stats.unparsed_lines) == (headless.stats.lines, headless.stats.unparsed_lines)
        assert len(store.pulls) == len(headless.pulls)
        main = app.main
        for pane in (main.in_progress, main.completed, main.repeated):
            for row in rows_text(pane):
                assert unsafe("".join(row)) == [], row
        console = Console(file=io.StringIO(), width=150, color_system=None)
        for ref in {record.ref for record in store.pulls}:
            console.print(detail_renderable(app.view, ref, None))
        assert unsafe(console.file.getvalue()) == []  # type: ignore[attr-defined]
        await pilot.press("slash", *"nginx")  # keys still answered: the filter narrows the panes
        assert app.focused is main.filter_bar.input
        several = len(headless.nodes()) > 1  # the hostile lines add journal hosts: each pull shows its node
        assert app.view.several_nodes is several
        expected = {shown(r.image, (r.node or "-") if several else None) for r in headless.pulls if "nginx" in r.ref}
        assert {row[0] for row in rows_text(main.completed)} <= expected
        await pilot.press("escape", "tab")
        assert main.filter_bar.input.value == ""
