"""A big log's child process parses what it scans: the same events and counts as parsing here.

`scan_in_child(..., parse=True)` (the default) sends each block's ParsedBatch as rows of
PullEvent slot values; `parse=False` sends the candidate lines, which this process parses. Both
must give the same events, event for event, and `report --format json` the same bytes, for the
test logs, examples/, tests/realwhy/, a dense generated log, gzip and stdin, and a node given by
--node-file.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from datetime import timezone
from pathlib import Path

import pytest
from logfactory import generate

from pullwatch.parsers import ParsedBatch
from pullwatch.parsers.events import EventKind
from pullwatch.sources import LineBatch
from pullwatch.sources.saved import read_saved
from pullwatch.sources.scanproc import decode_parsed, encode_parsed, scan_in_child

ROOT = Path(__file__).resolve().parent.parent
SAVED = sorted(
    str(path)
    for pattern in ("examples/*.log", "examples/*.json", "examples/real/*.log", "tests/realwhy/*.log")
    for path in ROOT.glob(pattern)
    if path.name != "expected.json"
)


def dense_log(pulls: int = 300) -> bytes:
    """Pull lines and the lines that tell why, with hardly any chatter: most lines are candidates."""
    log = generate(seed=21, pulls=pulls, version="1.7", envelope="journal-short", debug=True, chatter=1)
    return "".join(line + "\n" for line in log.lines).encode()


def parsed_both_ways(path: str, block_size: int, node: str | None = None) -> tuple[ParsedBatch, ParsedBatch]:
    in_child, here = ParsedBatch(), ParsedBatch()
    child = scan_in_child(path, block_size, node, parse=True)
    lines = scan_in_child(path, block_size, node, parse=False)
    assert child is not None and lines is not None
    for batch in child:
        assert batch.parsed is not None and batch.lines == []
        in_child.extend(batch.parse())
    for batch in lines:
        assert batch.parsed is None
        here.extend(batch.parse())
    return in_child, here


def assert_same(in_child: ParsedBatch, here: ParsedBatch) -> None:
    assert (in_child.lines, in_child.unparsed, len(in_child.events)) == (here.lines, here.unparsed, len(here.events))
    for got, want in zip(in_child.events, here.events, strict=True):
        assert got == want
        assert type(got.kind) is EventKind and type(got.detail) is type(want.detail)
        assert got.time == want.time and (got.time is None or got.time.tzinfo is not None)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", SAVED, ids=os.path.basename)
def test_saved_logs_parse_the_same_in_the_child(path: str) -> None:
    in_child, here = parsed_both_ways(path, 4096)
    assert here.events, "a log without events proves nothing"
    assert_same(in_child, here)


@pytest.mark.timeout(120)
def test_a_dense_log_gzip_and_a_node_parse_the_same_in_the_child(tmp_path: Path) -> None:
    data = dense_log()
    plain, packed = tmp_path / "dense.log", tmp_path / "dense.log.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    for path in (plain, packed):
        for block_size, node in ((4096, None), (1 << 20, None), (4096, "node-7")):
            in_child, here = parsed_both_ways(str(path), block_size, node)
            assert len(here.events) > here.lines / 2  # dense indeed
            assert any(event.detail is not None for event in here.events)  # why lines cross too
            assert_same(in_child, here)
    _, named = parsed_both_ways(str(plain), 4096, "node-7")
    assert {event.node for event in named.events} == {"node-1"}  # the lines name their host
    # a file whose lines name no host: the node given applies, in the child as here
    k3s = str(ROOT / "examples" / "containerd-2.0-k3s.log")
    in_child, here = parsed_both_ways(k3s, 4096, "node-7")
    assert_same(in_child, here)
    assert {event.node for event in in_child.events} == {"node-7"}


def test_rows_round_trip_every_field() -> None:
    data = dense_log(40).decode().splitlines()
    parsed = LineBatch([line.encode() for line in data], len(data)).parse()
    parsed.unparsed = 3
    assert any(event.detail is not None for event in parsed.events)  # a HostEvent or KubeletEvent
    decoded = decode_parsed(encode_parsed(parsed), parsed.lines)
    assert decoded == parsed
    assert all(event.time is None or event.time.tzinfo is not None for event in decoded.events)
    assert any(event.time is not None and event.time.tzinfo is timezone.utc for event in decoded.events)


def _report(arguments: list[str], child_parse: str, stdin: bytes | None = None) -> bytes:
    command = [shutil.which("pullwatch") or "pullwatch", "report", "--format", "json", *arguments]
    environment = {**os.environ, "PULLWATCH_CHILD_PARSE": child_parse}
    done = subprocess.run(command, input=stdin, capture_output=True, check=True, timeout=100, env=environment)
    assert done.stderr == b""
    return done.stdout


@pytest.mark.timeout(300)
def test_report_json_is_byte_identical_both_ways(tmp_path: Path) -> None:
    # stdin is always a pipe here, so always read by a child: parsing (1) or sending lines (0);
    # a small file is read in this process, the reference.
    dense = tmp_path / "dense.log"
    dense.write_bytes(dense_log())
    for path in [*SAVED, str(dense)]:
        data = Path(path).read_bytes()
        reference = _report([path], "1")
        assert _report(["-"], "1", data) == _report(["-"], "0", data) == reference, path
    data = dense.read_bytes()
    packed = gzip.compress(data)
    assert _report(["-"], "1", packed) == _report(["-"], "0", packed) == _report([str(dense)], "1")
    k3s = (ROOT / "examples" / "containerd-2.0-k3s.log").read_bytes()
    named = _report(["--node-file", "node-7=-"], "1", k3s)
    assert named == _report(["--node-file", "node-7=-"], "0", k3s)
    assert b'"node-7"' in named


def test_read_saved_gives_the_node_to_the_child(tmp_path: Path) -> None:
    path = ROOT / "examples" / "containerd-2.0-k3s.log"
    for in_child in (True, False):
        events = [e for b in read_saved([str(path)], in_child=in_child, node="node-7") for e in b.parse().events]
        assert events and {event.node for event in events} == {"node-7"}
