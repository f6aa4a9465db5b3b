"""The block scanner gives exactly what the line-by-line reference gives, on every kind of input.

`scan_blocks` (what `read_saved` uses) is compared with `scan_stream` (one line at a time, the
obvious code): the same candidate lines in the same order and the same line count, for both
search back ends, with blocks small enough that lines straddle block boundaries.
"""

from __future__ import annotations

import gzip
import io
import json
import select
import subprocess
import sys
import time
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logfactory import ENVELOPES, generate

from pullwatch.ingest import ingest
from pullwatch.output import report_json
from pullwatch.parsers import KEYWORDS_BYTES, is_candidate
from pullwatch.sources import BATCH_LINES, LineBatch, SourceError
from pullwatch.sources.saved import READ_ERRORS, read_saved
from pullwatch.sources.scan import (
    ANCHORS,
    BLOCK_SIZE,
    GATED,
    JOURNAL_JSON_GATE,
    STDLIB,
    UNGATED,
    Search,
    _stringzilla,
    anchors_for,
    scan_blocks,
)
from pullwatch.sources.scanproc import PROCESS_MIN_BYTES, scan_in_child, worth_a_process
from pullwatch.store import PullStore


def scan_stream(stream: BinaryIO, name: str = "-") -> Iterator[LineBatch]:
    """The straightforward line-by-line scan: keep lines that contain a pull keyword."""
    batch = LineBatch()
    try:
        for line in stream:
            batch.total += 1
            if is_candidate(line):
                batch.lines.append(line.rstrip(b"\r\n"))
                if len(batch.lines) >= BATCH_LINES:
                    yield batch
                    batch = LineBatch()
    except READ_ERRORS as error:
        if batch.total or batch.lines:
            yield batch
        raise SourceError(f"{name}: read failed: {error}") from None
    if batch.total:
        yield batch


SIMD = _stringzilla()
SEARCHES = [STDLIB, SIMD] if SIMD is not None else [STDLIB]
SEARCH_IDS = [s.name for s in SEARCHES]

PULL = (
    b'Nov 01 00:00:05 node-1 containerd[812]: time="2026-11-01T00:00:05.849000000Z" level=info '
    b'msg="PullImage \\"docker.io/library/redis:7.2\\""'
)
CHATTER = (
    b'Nov 01 00:00:05 node-1 containerd[812]: time="2026-11-01T00:00:05.900000000Z" level=info '
    b'msg="StartContainer for \\"5b35b769\\" returns successfully"'
)


class Trickle(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read, as a pipe does."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._step, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def collect(batches: object) -> tuple[list[bytes], int]:
    lines: list[bytes] = []
    total = 0
    for batch in batches:  # type: ignore[attr-defined]
        assert isinstance(batch, LineBatch)
        assert all(isinstance(line, bytes) for line in batch.lines)
        lines.extend(batch.lines)
        total += batch.total
    return lines, total


def reference(data: bytes) -> tuple[list[bytes], int]:
    return collect(scan_stream(io.BytesIO(data)))


def fast(data: bytes, block_size: int, search: Search, step: int | None = None) -> tuple[list[bytes], int]:
    stream = Trickle(data, step) if step else io.BytesIO(data)
    return collect(scan_blocks(stream, block_size, search))


def report_of(batches: object) -> dict[str, object]:
    store = PullStore()
    for batch in batches:  # type: ignore[attr-defined]
        ingest(store, batch)
    return report_json(store, lambda image, ref: True)


def log_bytes(envelope: str, seed: int = 3, pulls: int = 25) -> bytes:
    log = generate(seed=seed, pulls=pulls, version="1.7", envelope=envelope, debug=True, chatter=6)
    return "".join(line + "\n" for line in log.lines).encode()


def test_stringzilla_is_used_when_installed() -> None:
    # It is a declared dependency: a silent fall back to the slow searches would go unnoticed.
    assert SIMD is not None


def test_every_keyword_contains_an_anchor() -> None:
    assert all(any(anchor in keyword for anchor in ANCHORS) for keyword in KEYWORDS_BYTES)
    assert len(ANCHORS) < len(KEYWORDS_BYTES)  # the shared anchor does save passes
    assert sorted(UNGATED + GATED) == sorted(ANCHORS)
    assert all(JOURNAL_JSON_GATE in anchor for anchor in GATED)


@given(st.lists(st.text("abc image", min_size=1, max_size=12), min_size=1, max_size=6))
def test_anchors_cover_any_keywords(words: list[str]) -> None:
    keywords = tuple(word.encode() for word in words)
    anchors = anchors_for(keywords)
    assert all(any(anchor in keyword for anchor in anchors) for keyword in keywords)


@pytest.mark.parametrize("search", SEARCHES, ids=SEARCH_IDS)
@pytest.mark.parametrize("envelope", ENVELOPES)
def test_generated_logs_of_every_envelope(envelope: str, search: Search) -> None:
    data = log_bytes(envelope)
    expected = reference(data)
    assert expected[0], "the generated log has pull lines"
    for block_size in (97, 1000, 64 * 1024):
        assert fast(data, block_size, search) == expected
    assert fast(data, 4096, search, step=777) == expected


@pytest.mark.parametrize("search", SEARCHES, ids=SEARCH_IDS)
def test_pull_line_straddling_a_block_boundary(search: Search) -> None:
    block_size = 256
    for cut in range(0, len(PULL) + 1, 7):  # the boundary falls at every place in the pull line
        head = b"x" * (block_size - cut - 1) + b"\n"
        data = head + PULL + b"\n" + CHATTER + b"\n"
        assert fast(data, block_size, search) == reference(data) == ([PULL], 3)


EDGE_CASES = {
    "empty": b"",
    "only newlines": b"\n" * 1000,
    "no trailing newline": CHATTER + b"\n" + PULL,
    "no trailing newline, not a candidate": PULL + b"\n" + CHATTER,
    "crlf": (PULL + b"\r\n" + CHATTER + b"\r\n") * 50,
    "lone carriage returns": PULL + b"\r\r\n\r" + PULL + b"\r",
    "invalid utf-8": b"\xff\xfe" + PULL + b"\x80\n" + b"\xc3(" + CHATTER + b"\n",
    "nul bytes": b"\x00" * 300 + PULL + b"\x00\n\x00\n" + CHATTER,
    "line longer than the block": CHATTER * 40 + PULL + CHATTER * 40 + b"\n" + PULL + b"\n",
    "keyword across lines": b"Pull\nImage pulling\n image\n",
    "every keyword": b"\n".join(KEYWORDS_BYTES) + b"\n" + b"".join(KEYWORDS_BYTES),
    "anchor but no keyword": b" image x\nPullImag\n" + PULL + b"\n",
}


@pytest.mark.parametrize("search", SEARCHES, ids=SEARCH_IDS)
@pytest.mark.parametrize("case", EDGE_CASES, ids=list(EDGE_CASES))
def test_edge_cases(case: str, search: Search) -> None:
    data = EDGE_CASES[case]
    expected = reference(data)
    for block_size in (1, 2, 5, 64, 1000, 128 * 1024):
        assert fast(data, block_size, search) == expected, block_size
        assert fast(data, block_size, search, step=3) == expected, block_size


@pytest.mark.parametrize("search", SEARCHES, ids=SEARCH_IDS)
def test_five_megabyte_lines(search: Search) -> None:
    huge_pull = PULL + b" " + b"y" * 5_000_000
    huge_chatter = CHATTER + b" " + b"z" * 5_000_000
    data = CHATTER + b"\n" + huge_chatter + b"\n" + huge_pull + b"\n" + PULL + b"\n" + huge_pull
    expected = reference(data)
    assert expected[1] == 5
    assert [len(line) for line in expected[0]] == [len(huge_pull), len(PULL), len(huge_pull)]
    assert fast(data, 128 * 1024, search) == expected


# Lines drawn from pieces that matter to the scanner: keywords and anchors (whole and cut),
# line ends of every kind, and bytes that are not UTF-8.
PIECES = st.sampled_from(
    [*KEYWORDS_BYTES, *ANCHORS, b"Pull", b"Image", b" imag", b"e", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"x" * 40]
)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(PIECES, max_size=60),
    block_size=st.integers(1, 300),
    step=st.one_of(st.none(), st.integers(1, 50)),
    search=st.sampled_from(SEARCHES),
)
def test_random_line_mixes(pieces: list[bytes], block_size: int, step: int | None, search: Search) -> None:
    data = b"".join(pieces)
    assert fast(data, block_size, search, step) == reference(data)


def write_log(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_read_saved_reports_what_the_reference_reports(tmp_path: Path) -> None:
    data = log_bytes("journal-short", pulls=60)
    path = write_log(tmp_path, "containerd.log", data)
    with open(path, "rb") as handle:
        expected = report_of(scan_stream(handle))
    assert expected["pulls"]
    assert report_of(read_saved([path], block_size=1000)) == expected
    assert report_of(read_saved([path])) == expected


def test_gzip_and_multi_member_gzip(tmp_path: Path) -> None:
    first, second = log_bytes("json", seed=5), log_bytes("journal-short", seed=6)
    plain = write_log(tmp_path, "both.log", first + second)
    single = write_log(tmp_path, "single.log.1", gzip.compress(first + second))  # by content, not name
    multi = write_log(tmp_path, "multi.gz", gzip.compress(first) + gzip.compress(second) + b"\x00" * 8)
    expected = collect(read_saved([plain]))
    assert collect(read_saved([single], block_size=4096)) == expected
    assert collect(read_saved([multi], block_size=4096)) == expected
    assert collect(read_saved([plain, multi])) == (expected[0] * 2, expected[1] * 2)


def test_truncated_and_corrupt_gzip_are_one_line_errors(tmp_path: Path) -> None:
    data = log_bytes("journal-short", pulls=80)
    packed = gzip.compress(data)
    truncated = write_log(tmp_path, "cut.gz", packed[: len(packed) // 2])
    seen: list[LineBatch] = []
    with pytest.raises(SourceError, match=r"cut\.gz: read failed"):
        for batch in read_saved([truncated], block_size=4096):
            seen.append(batch)
    assert 0 < sum(b.total for b in seen) < data.count(b"\n")  # what came before the cut is kept

    corrupt = bytearray(packed)
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 64] = bytes(64)
    broken = write_log(tmp_path, "corrupt.gz", bytes(corrupt))
    with pytest.raises(SourceError, match=r"corrupt\.gz: read failed"):
        collect(read_saved([broken]))
    with pytest.raises((zlib.error, EOFError, OSError)):
        gzip.decompress(bytes(corrupt))  # the damage is real


@pytest.mark.timeout(60)
def test_stdin_gives_the_same_report_as_the_file(tmp_path: Path) -> None:
    data = log_bytes("journal-short", seed=8, pulls=40) + b"\r\n" + PULL  # and an unfinished last line
    path = write_log(tmp_path, "containerd.log", data)
    command = [sys.executable, "-m", "pullwatch", "report", "--format", "json"]
    from_file = subprocess.run([*command, path], capture_output=True, check=True, timeout=50)
    from_stdin = subprocess.run([*command, "-"], input=data, capture_output=True, check=True, timeout=50)
    report = json.loads(from_stdin.stdout)
    assert report == json.loads(from_file.stdout)
    assert report["stats"]["lines"] == data.count(b"\n") + 1
    with open(path, "rb") as handle:
        assert report == json.loads(json.dumps(report_of(scan_stream(handle))))


@pytest.mark.timeout(60)
def test_child_process_scan_equals_in_process_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULLWATCH_CHILD_PARSE", "0")  # lines, not parsed batches (test_scan_child_parse.py)
    first, second = log_bytes("journal-json", seed=9), log_bytes("journal-short", seed=10) + PULL
    plain = write_log(tmp_path, "plain.log", first + second)
    multi = write_log(tmp_path, "multi.gz", gzip.compress(first) + gzip.compress(second))
    expected = collect(scan_stream(io.BytesIO(first + second)))
    assert expected[0]
    for path in (plain, multi):  # the child that sends candidate lines (it parses by default)
        assert collect(scan_in_child(path, 4096, parse=False)) == expected
        assert collect(scan_in_child(path, BLOCK_SIZE, parse=False)) == expected


@pytest.mark.timeout(60)
def test_child_process_read_errors_are_the_same_one_line_errors(tmp_path: Path) -> None:
    packed = gzip.compress(log_bytes("journal-short", pulls=80))
    truncated = write_log(tmp_path, "cut.gz", packed[: len(packed) // 2])
    for in_child in (False, True):
        with pytest.raises(SourceError, match=r"cut\.gz: read failed: Compressed file ended"):
            collect(read_saved([truncated], in_child=in_child))
    with pytest.raises(SourceError, match="no such file"):
        collect(read_saved([str(tmp_path / "absent.log")], in_child=True))


@pytest.mark.timeout(60)
def test_stopping_early_ends_the_child(tmp_path: Path) -> None:
    path = write_log(tmp_path, "big.log", log_bytes("journal-short", pulls=200) * 20)
    batches = read_saved([path], block_size=1024, in_child=True)
    assert isinstance(batches, Generator)
    assert next(batches).total > 0
    batches.close()  # must neither hang nor leave the child running (the timeout would catch a hang)


def test_which_inputs_get_a_child(tmp_path: Path) -> None:
    small = write_log(tmp_path, "small.log", PULL)
    big = tmp_path / "big.log"
    with open(big, "wb") as handle:
        handle.truncate(PROCESS_MIN_BYTES)
    assert not worth_a_process(small)
    assert worth_a_process(str(big))
    assert not worth_a_process(str(tmp_path / "absent.log"))
    assert not worth_a_process(str(tmp_path))


@pytest.mark.timeout(60)
def test_lines_on_a_pipe_are_passed_on_as_they_come() -> None:
    # `journalctl -f | pullwatch events -f -`: a line must not wait for a block to fill up.
    command = [sys.executable, "-m", "pullwatch", "events", "--follow", "-"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(CHATTER + b"\n" + PULL + b"\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no event within 30 s although the pipe is still open"
        event = json.loads(proc.stdout.readline())
        assert (event["kind"], event["ref"]) == ("start", "docker.io/library/redis:7.2")
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_a_line_is_passed_on_while_the_writer_stalls_inside_the_next() -> None:
    # `tail -f` copies a line containerd is still writing: the complete line before it must not
    # wait in the scanning child's buffer for the rest to come.
    command = [sys.executable, "-m", "pullwatch", "events", "--follow", "-"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(CHATTER + b"\n" + PULL + b"\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)  # the first line, sent on its own
        assert ready, "no event within 30 s although the pipe is still open"
        events = [json.loads(proc.stdout.readline())]
        # A block's worth that ends with a complete pull line, then the head of one more: the
        # child may read the head on its own after the block, and must send the block before it
        # waits for the rest.
        filler = (CHATTER + b"\n") * ((BLOCK_SIZE - len(PULL) - 1) // (len(CHATTER) + 1))
        proc.stdin.write(filler + PULL + b"\n" + PULL[:20])
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while len(events) < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if ready:
                events.append(json.loads(proc.stdout.readline()))
        assert len(events) == 2, "a complete line waited for the line being written after it"
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
