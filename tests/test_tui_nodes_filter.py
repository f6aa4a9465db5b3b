"""The monitor's node filter on two hosts' journal lines: `/node:NAME` (a name or a glob, alone or
with an image pattern) and the palette's "Filter node: NAME" narrow every pane and the header to
that node's pulls. What they must show comes from the headless path (read_saved + ingest) on the
same log, filtered by node: never from the monitor itself."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fleethelp import fleet
from logfactory import render
from tuihelp import palette_ready, replay_app, rows_text, run_async, wait_loaded, wait_until, widget_text

from pullwatch.filtering import image_matcher, node_matcher, split_node_words
from pullwatch.ingest import ingest
from pullwatch.records import PullStatus
from pullwatch.sources.saved import read_saved
from pullwatch.store import PullStore
from pullwatch.tui.app import PullwatchApp

SIZE = (160, 50)


def two_hosts(tmp_path: Path) -> Path:
    """node-a's and node-b's journal short lines (each carries its host), merged in time order."""
    logs = fleet()
    timed = [(line.time, host, order, line) for host, log in logs.items() for order, line in enumerate(log.lines)]
    timed.sort(key=lambda item: item[:3])
    path = tmp_path / "fleet.log"
    path.write_text("".join(render(line, "journal-short", host=host) + "\n" for _, host, _, line in timed))
    return path


def headless(path: Path) -> PullStore:
    store = PullStore()
    for batch in read_saved([str(path)]):
        ingest(store, batch)
    return store


def expected_panes(store: PullStore, node: str, image: str = "") -> tuple[Counter[str], Counter[str], set[str], int]:
    """The headless answer for one node: ended pulls, running pulls, repeated images (per node),
    and how many pulls the header counts."""
    matches = image_matcher(image)
    pulls = [r for r in store.pulls if r.node == node and matches(r.image, r.ref)]
    ended = Counter(f"{r.image}  @ {node}" for r in pulls if r.status is not PullStatus.IN_PROGRESS)
    running = Counter(f"{r.image}  @ {node}" for r in pulls if r.status is PullStatus.IN_PROGRESS)
    refs = Counter(r.ref for r in pulls)
    repeated = {s.ref for s in store.repeated() if s.node == node and refs[s.ref] > 1}
    return ended, running, repeated, len(pulls)


def shown_panes(app: PullwatchApp) -> tuple[Counter[str], Counter[str], set[str], str]:
    main = app.main
    ended = Counter(row[0] for row in rows_text(main.completed))
    running = Counter(row[0] for row in rows_text(main.in_progress))
    repeated = {item.summary.ref for item in main.repeated.items}
    return ended, running, repeated, widget_text(main.summary_line)


def test_node_words_split_from_the_image_pattern() -> None:
    assert split_node_words("node:worker-2 nginx") == (["worker-2"], "nginx")
    assert split_node_words("nginx node:b") == (["b"], "nginx")
    assert split_node_words("node:") == ([], "")
    assert split_node_words("re:ngin.x") == ([], "re:ngin.x")
    one = node_matcher(["worker-2"])
    assert one("worker-2") and one("WORKER-2") and not one("worker-20") and not one(None)
    glob = node_matcher(["worker-*"])
    assert glob("worker-20") and not glob("node-a")
    assert node_matcher(["-"])(None) and node_matcher([])("anything")


@run_async
async def test_slash_node_filters_every_pane_and_the_header(tmp_path: Path) -> None:
    path = two_hosts(tmp_path)
    store = headless(path)
    assert {r.node for r in store.pulls} == {"node-a", "node-b"}
    ended, running, repeated, pulls = expected_panes(store, "node-b")
    assert ended and repeated and pulls < len(store.pulls)
    image = next(r.ref for r in store.pulls if r.node == "node-b")
    app = replay_app([path])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash", *"node:node-b")
        await wait_until(pilot, lambda: app.view.pattern == "node:node-b")
        got = shown_panes(app)
        assert got[:3] == (ended, running, repeated)
        assert "node node-b" in got[3] and f"{pulls} of {len(store.pulls)} pulls" in got[3]
        # a glob of node names, and a node with an image pattern
        await pilot.press("escape", "slash", *"node:*-b")
        await wait_until(pilot, lambda: app.view.pattern == "node:*-b")
        assert shown_panes(app)[:3] == (ended, running, repeated)
        await pilot.press("escape", "slash", *f"node:node-b {image}")
        await wait_until(pilot, lambda: app.view.pattern == f"node:node-b {image}")
        ended_one, running_one, repeated_one, pulls_one = expected_panes(store, "node-b", image)
        got = shown_panes(app)
        assert got[:3] == (ended_one, running_one, repeated_one) and ended_one
        assert f"filter {image} node node-b {pulls_one} of {len(store.pulls)} pulls" in got[3]


@run_async
async def test_palette_lists_each_node_and_filters_by_it(tmp_path: Path) -> None:
    path = two_hosts(tmp_path)
    store = headless(path)
    ended, running, repeated, pulls = expected_panes(store, "node-a")
    app = replay_app([path])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("ctrl+p", *"filter node: node-a")
        await wait_until(pilot, lambda: palette_ready(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.view.pattern == "node:node-a")
        got = shown_panes(app)
        assert got[:3] == (ended, running, repeated)
        assert f"node node-a {pulls} of {len(store.pulls)} pulls" in got[3]


@run_async
async def test_one_node_gets_no_node_entries_in_the_palette(tmp_path: Path) -> None:
    from textual.command import CommandList

    log = fleet()["node-a"]
    path = tmp_path / "one.log"
    path.write_text("".join(render(line, "journal-short", host="node-a") + "\n" for line in log.lines))
    app = replay_app([path])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("ctrl+p", *"filter")
        await wait_until(pilot, lambda: palette_ready(app))
        options = app.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    assert any(p.startswith("Filter: ") for p in prompts)
    assert not any(p.startswith("Filter node") for p in prompts)
