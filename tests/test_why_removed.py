"""Who removed an image between two pulls (`removed_by`): kubelet's image GC or another client.

The containerd side is real: tests/realwhy's logs, where containerd 1.6.20 / 1.7.24 / 2.1.9 pulled
registry.test/app:1, was asked over CRI to RemoveImage it (record.py did that, as crictl rmi would),
logged its ImageDelete events (tag, digest and image id), and pulled it again. The kubelet side is
the test's own: the line kubelet's image GC logs just before it calls RemoveImage with the image id,
in each form kubelet's source writes it (pkg/kubelet/images/image_gc_manager.go):
`klog.InfoS("Removing image to free bytes", "imageID", …, "size", …)` (up to 1.28), the same with
`"runtimeHandler", …` (1.29+, freeImage), and glog's `[imageGCManager]: Removing image %q to free
%d bytes`. The expectation is what the test wrote (a GC line naming the id that containerd's first
pull returned, or none, or one naming another id) and what containerd did (a delete between the
pulls), never what pullwatch printed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from logfactory import quote
from textual.widgets import Static
from tuihelp import replay_app, run_async, wait_loaded, widget_text

from pullwatch.parsers.timestamps import parse_timestamp
from pullwatch.tui.screens.detail import DetailScreen

HERE = Path(__file__).resolve().parent / "realwhy"
VERSIONS = ["1.6.20", "1.7.24", "2.1.9"]
APP = "registry.test/app:1"
_RESULT = re.compile(
    r'time="([^"]+)".*msg="PullImage \\"registry\.test/app:1\\" returns image reference \\"(sha256:[0-9a-f]{64})'
)
_REMOVE = re.compile(r'time="([^"]+)".*msg="RemoveImage \\"registry\.test/app:1\\""')
OTHER_ID = "sha256:" + "0" * 64
# kubelet logs its line, then calls RemoveImage over the CRI socket, where containerd logs the call:
# well under a millisecond (the recordings' RemoveImage comes 1.5 ms after the pull's end on 1.6.20)
GC_BEFORE_REMOVE = timedelta(microseconds=200)


def real_log(version: str) -> tuple[list[str], str, datetime]:
    """The real log, the image id containerd returned for the first pull, and the time containerd
    logged the RemoveImage call."""
    lines = (HERE / f"containerd-{version}-why.log").read_text().splitlines()
    image_id = next(m.group(2) for line in lines if (m := _RESULT.search(line)))
    removed = next(parse_timestamp(m.group(1)) for line in lines if (m := _REMOVE.search(line)))
    assert removed is not None
    return lines, image_id, removed


def gc_line(moment: datetime, image_id: str, form: str) -> str:
    """kubelet's image GC line, as klog (or glog) writes it."""
    head = f"I{moment:%m%d %H:%M:%S.%f}    4242 image_gc_manager.go:389] "
    if form == "1.28":
        return head + f"{quote('Removing image to free bytes')} imageID={quote(image_id)} size=66303"
    if form == "1.29+":
        return head + f'{quote("Removing image to free bytes")} imageID={quote(image_id)} size=66303 runtimeHandler=""'
    return head + f"[imageGCManager]: Removing image {quote(image_id)} to free 66303 bytes"


def with_gc(tmp_path: Path, version: str, image_id: str | None, form: str = "1.29+", late: bool = False) -> Path:
    """The real log with a kubelet GC line just before containerd's RemoveImage (or, `late`, at the
    end of the input, as a kubelet.log read after containerd's log)."""
    lines, _, removed = real_log(version)
    merged = list(lines)
    if image_id is not None:
        line = gc_line(removed - GC_BEFORE_REMOVE, image_id, form)
        at = len(merged) if late else next(i for i, text in enumerate(lines) if _REMOVE.search(text))
        merged.insert(at, line)
    path = tmp_path / f"{version}-{form}-{late}.log"
    path.write_text("\n".join(merged) + "\n")
    return path


def app_pulls(path: Path) -> list[dict[str, Any]]:
    done = run(["report", "--format", "json", str(path)])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["stats"]["unparsed_lines"] == 0
    pulls = [p for p in report["pulls"] if p["image"] == APP]
    assert len(pulls) == 2
    return pulls


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("form", ["1.28", "1.29+", "glog"])
def test_a_kubelet_gc_line_for_the_image_id_names_kubelet(tmp_path: Path, version: str, form: str) -> None:
    _, image_id, _ = real_log(version)
    first, second = app_pulls(with_gc(tmp_path, version, image_id, form))
    assert (first["deleted_at"], first["removed_by"]) == (None, None)
    assert second["deleted_at"] is not None
    assert second["removed_by"] == "kubelet image GC"


@pytest.mark.parametrize("version", VERSIONS)
def test_without_a_gc_line_or_with_another_ids_it_is_a_client(tmp_path: Path, version: str) -> None:
    for image_id in (None, OTHER_ID):
        first, second = app_pulls(with_gc(tmp_path, version, image_id))
        assert first["removed_by"] is None
        assert second["deleted_at"] is not None and second["removed_by"] == "ImageDelete"


def test_a_gc_line_later_in_the_input_still_counts(tmp_path: Path) -> None:
    """kubelet.log given after containerd's log: the GC line is read after both pulls."""
    _, image_id, _ = real_log("1.7.24")
    _, second = app_pulls(with_gc(tmp_path, "1.7.24", image_id, late=True))
    assert second["removed_by"] == "kubelet image GC"


def test_journal_export_of_two_units_and_other_node(tmp_path: Path) -> None:
    """`journalctl -o json -u containerd -u kubelet`: kubelet's record on the same _HOSTNAME names
    the remover; the same line from another node does not."""
    lines, image_id, removed = real_log("2.1.9")

    def record(line: str, moment: datetime, host: str, unit: str) -> str:
        stamp = str(int(moment.timestamp() * 1e6))
        return json.dumps({"__REALTIME_TIMESTAMP": stamp, "_HOSTNAME": host, "_SYSTEMD_UNIT": unit, "MESSAGE": line})

    for gc_host, expected in (("node-1", "kubelet image GC"), ("node-2", "ImageDelete")):
        out = []
        for line in lines:
            moment = parse_timestamp(line.split('"', 2)[1])
            assert moment is not None
            if _REMOVE.search(line):
                gc_at = removed - GC_BEFORE_REMOVE
                out.append(record(gc_line(gc_at, image_id, "1.29+"), gc_at, gc_host, "kubelet.service"))
            out.append(record(line, moment, "node-1", "containerd.service"))
        path = tmp_path / f"journal-{gc_host}.json"
        path.write_text("\n".join(out) + "\n")
        _, second = app_pulls(path)
        assert (second["node"], second["removed_by"]) == ("node-1", expected)


def test_csv_and_events_carry_it(tmp_path: Path) -> None:
    _, image_id, _ = real_log("1.6.20")
    path = with_gc(tmp_path, "1.6.20", image_id)
    done = run(["report", "--format", "csv", str(path)])
    rows = [r for r in csv.DictReader(io.StringIO(done.stdout)) if r["image"] == APP]
    assert [r["removed_by"] for r in rows] == ["", "kubelet image GC"]
    done = run(["events", str(path)])
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    ends = [e for e in events if e["image"] == APP and e["kind"] == "result"]
    assert [e["removed_by"] for e in ends] == [None, "kubelet image GC"]


@run_async
async def test_detail_view_says_who_removed_it(tmp_path: Path) -> None:
    _, image_id, _ = real_log("1.7.24")
    app = replay_app([with_gc(tmp_path, "1.7.24", image_id)])
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_loaded(pilot)
        table = app.main.completed
        second = [i for i, r in enumerate(table.items) if r.image == APP][-1]
        table.move_cursor(second)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        body = widget_text(app.screen.query_one("#detail-body", Static))
        assert "before this pull, by kubelet's image GC" in body
