"""A big saved log is parsed in the child process that scans it (sources/scanproc.py): what the
child sends is what this process would have parsed, event for event, with the same counts, and
the reports are byte-identical either way (files, .gz, stdin, a node given by --node-file)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from logfactory import ENVELOPES, generate, write_log

from pullwatch.parsers.events import EventKind, ParsedBatch, PullEvent
from pullwatch.parsers.hosts import HostEvent, HostEventKind
from pullwatch.sources import LineBatch, scanproc
from pullwatch.sources.options import SourceOptions, open_source
from pullwatch.sources.saved import read_saved
from pullwatch.sources.scanproc import decode_parsed, encode_parsed, scan_in_child

ROOT = Path(__file__).resolve().parent.parent
SAVED = sorted(
    [
        *(ROOT / "examples").glob("containerd-*"),
        *(ROOT / "examples" / "real").glob("*.log"),  # recorded from real containerd
        *(ROOT / "tests" / "realwhy").glob("*.log"),
    ],
    key=lambda path: path.name,
)


KUBELET = (
    'Dec 02 05:36:31 node1 kubelet[1234]: I1202 05:36:%02d.123456    1234 event.go:389] "Event occurred" '
    'object="default/web-%d" fieldPath="spec.containers{web}" kind="Pod" apiVersion="v1" type="Normal" '
    'reason="%s" message="Pulling image \\"nginx:1.%d\\""\n'
)


def flattened(batches: Iterable[LineBatch]) -> tuple[list[PullEvent], int, int, int]:
    """Every event in order, lines, unparsed lines, and how many batches came parsed."""
    events: list[PullEvent] = []
    lines = unparsed = came_parsed = 0
    for batch in batches:
        came_parsed += batch.parsed is not None
        parsed = batch.parse()
        events += parsed.events
        lines += parsed.lines
        unparsed += parsed.unparsed
    return events, lines, unparsed, came_parsed


def assert_same_both_ways(path: str, block_size: int = 512 * 1024, node: str | None = None) -> list[PullEvent]:
    events, lines, unparsed, came_parsed = flattened(read_saved([path], block_size, in_child=False, node=node))
    child = flattened(read_saved([path], block_size, in_child=True, node=node))
    assert child[0] == events  # dataclass equality: every field, details and aware times included
    assert child[1:3] == (lines, unparsed)
    assert came_parsed == 0 and child[3] > 0
    return events


@pytest.fixture(autouse=True)
def parse_every_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child parses even a block of one candidate line (sparse ones are tested aside)."""
    monkeypatch.setattr(scanproc, "PARSE_MIN_CANDIDATES", 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Generated logs of every envelope (debug: progress, resolver lines), a dense one, a .gz."""
    folder = tmp_path_factory.mktemp("logs")
    paths = {}
    for envelope in ENVELOPES:
        paths[envelope] = str(folder / f"{envelope}.log")
        write_log(paths[envelope], generate(seed=21, pulls=60, version="1.7", envelope=envelope, debug=True, chatter=4))
    paths["dense"] = str(folder / "dense.log")
    write_log(paths["dense"], generate(seed=22, pulls=400, version="2.1", debug=True, chatter=1))
    paths["kubelet"] = str(folder / "kubelet.log")
    with open(paths["kubelet"], "w", encoding="utf-8") as handle:
        for index in range(50):
            handle.write(KUBELET % (index, index, "Pulling" if index % 2 else "Pulled", index))
    paths["gz"] = str(folder / "dense.log.gz")
    with open(paths["dense"], "rb") as plain, gzip.open(paths["gz"], "wb") as packed:
        packed.write(plain.read())
    return paths


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", SAVED, ids=lambda path: path.name)
def test_saved_logs_parse_the_same_in_the_child(path: Path) -> None:
    assert assert_same_both_ways(str(path))


@pytest.mark.timeout(120)
def test_details_come_through_the_pipe(generated: dict[str, str]) -> None:
    paths = [str(path) for path in SAVED if "why" in path.name] + [generated["kubelet"]]
    events = [event for path in paths for event in assert_same_both_ways(path)]
    assert {EventKind.HOST, EventKind.KUBELET} <= {event.kind for event in events if event.detail is not None}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", [*ENVELOPES, "dense", "gz", "kubelet"])
def test_generated_logs_parse_the_same_in_the_child(generated: dict[str, str], name: str) -> None:
    assert assert_same_both_ways(generated[name], block_size=4096)  # many frames, lines across blocks


@pytest.mark.timeout(120)
def test_a_given_node_reaches_the_child(generated: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    events = assert_same_both_ways(generated["text"], node="node-7")  # logrus lines name no host
    assert events and all(event.node == "node-7" for event in events)
    monkeypatch.setattr("pullwatch.sources.scanproc.PROCESS_MIN_BYTES", 0)  # --node-file, every file in a child
    options = SourceOptions(node_files=(("node-7", generated["text"]),))
    from_child = flattened(open_source(options, follow=False))
    assert from_child[3] > 0 and from_child[0] == events


@pytest.mark.timeout(60)
def test_the_child_still_sends_lines_when_asked(generated: dict[str, str]) -> None:
    batches = scan_in_child(generated["dense"], 4096, parse=False)
    assert batches is not None
    lines = [line for batch in batches if not batch.parsed for line in batch.lines]
    assert lines and all(isinstance(line, bytes) for line in lines)


def test_rows_round_trip_every_field() -> None:
    moment = datetime(2026, 11, 1, 0, 0, 5, 849000, tzinfo=timezone.utc)
    host = HostEvent(HostEventKind.RESOLVED, host="registry-1.docker.io", blob=True)
    events = [
        PullEvent(EventKind.START, "redis:7.2", "docker.io/library/redis:7.2", moment, "info", raw="l1", node="n"),
        PullEvent(EventKind.HOST, "", "", moment, "debug", raw="l2", detail=host),
        PullEvent(EventKind.PULLED, "x", "y", None, size_bytes=12, duration_seconds=1.5, managed=True, error="é"),
    ]
    back = decode_parsed(encode_parsed(ParsedBatch(events, 99, 3)), 99)
    assert back == ParsedBatch(events, 99, 3)
    assert back.events[0].time is not None and back.events[0].time.tzinfo is timezone.utc


def pullwatch(*arguments: str, stdin: bytes | None = None, child_parses: bool = True) -> tuple[bytes, bytes]:
    """Its output and its warnings (a log without pull lines is told so)."""
    env = dict(os.environ, PULLWATCH_CHILD_PARSE="1" if child_parses else "0")
    command = [shutil.which("pullwatch") or "pullwatch", *arguments]
    done = subprocess.run(command, input=stdin, capture_output=True, check=True, env=env, timeout=100)
    return done.stdout, done.stderr


@pytest.mark.timeout(300)
def test_reports_are_byte_identical_both_ways(generated: dict[str, str]) -> None:
    """A small file is read in this process; the same bytes on a pipe go through a child, which
    parses them, or with PULLWATCH_CHILD_PARSE=0 only scans them."""
    for path in [*map(str, SAVED), generated["dense"], generated["gz"], generated["kubelet"]]:
        data = Path(path).read_bytes()
        in_process, _ = pullwatch("report", "--format", "json", path)
        in_child = pullwatch("report", "--format", "json", "-", stdin=data)
        assert in_child[0] == in_process, path
        assert pullwatch("report", "--format", "json", "-", stdin=data, child_parses=False) == in_child, path
    data = Path(generated["text"]).read_bytes()
    named = pullwatch("report", "--format", "json", f"--node-file=node-7={generated['text']}")
    assert b'"node-7"' in named[0]
    assert pullwatch("report", "--format", "json", "--node-file=node-7=-", stdin=data) == named
    events = pullwatch("events", generated["dense"])
    assert pullwatch("events", "-", stdin=Path(generated["dense"]).read_bytes()) == events


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fewest", [8, 10**9])
def test_sparse_blocks_come_as_lines_and_parse_the_same(
    generated: dict[str, str], monkeypatch: pytest.MonkeyPatch, fewest: int
) -> None:
    monkeypatch.setattr(scanproc, "PARSE_MIN_CANDIDATES", fewest)
    events = flattened(read_saved([generated["text"]], 4096, in_child=False, node="n"))
    batches = list(read_saved([generated["text"]], 4096, in_child=True, node="n"))
    came_as_lines = [batch for batch in batches if batch.parsed is None and batch.lines]
    assert came_as_lines and all(batch.node == "n" for batch in came_as_lines)
    assert any(batch.parsed is not None for batch in batches) == (fewest == 8)
    assert flattened(batches)[:3] == events[:3]
