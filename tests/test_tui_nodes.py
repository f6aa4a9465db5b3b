"""The monitor on two nodes' log: "Pulled more than once" is per node (a pull on node-b is not a
repeat of node-a's), and every row says its node when there are several (none when one)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fleethelp import fleet
from logfactory import render
from tuihelp import replay_app, rows_text, run_async, wait_loaded


@run_async
async def test_repeated_images_are_per_node(tmp_path: Path) -> None:
    logs = fleet()
    timed = [(line.time, host, order, line) for host, log in logs.items() for order, line in enumerate(log.lines)]
    timed.sort(key=lambda item: item[:3])
    path = tmp_path / "fleet.log"
    path.write_text("".join(render(line, "journal-short", host=host) + "\n" for _, host, _, line in timed))
    wanted = set()
    for host, log in logs.items():
        refs = [p["image"] for p in log.expected]
        wanted |= {(image, host, refs.count(image)) for image in refs if refs.count(image) > 1}
    assert len(wanted) > 2
    app = replay_app([path])
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_loaded(pilot)
        rows = rows_text(app.main.repeated)
        completed = [row[0] for row in rows_text(app.main.completed)]
    shown = {(row[0].split("  @ ")[0], row[0].split("  @ ")[1], int(row[1])) for row in rows}
    assert shown == wanted
    ended = Counter(f"{p['image']}  @ {host}" for host, log in logs.items() for p in log.expected)
    assert Counter(completed) == ended


@run_async
async def test_one_node_shows_no_node(tmp_path: Path) -> None:
    log = fleet()["node-a"]
    path = tmp_path / "one.log"
    path.write_text("".join(render(line, "journal-short", host="node-a") + "\n" for line in log.lines))
    app = replay_app([path])
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_loaded(pilot)
        cells = [row[0] for pane in (app.main.completed, app.main.repeated) for row in rows_text(pane)]
    assert cells and not any("  @ " in cell for cell in cells)
