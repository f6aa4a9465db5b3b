"""A big plain log is cut at line ends into parts, one scanning child each (sources/scanproc.py):
the batches still come in log order and say exactly what one child, or this process, reads."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from collections.abc import Generator
from pathlib import Path

import pytest
from logfactory import generate, write_log
from test_scan_child_parse import SAVED, flattened

from pullwatch.sources import LineBatch, SourceError, scanproc
from pullwatch.sources.children import Child
from pullwatch.sources.saved import read_saved
from pullwatch.sources.scanproc import scan_in_child, split_points


@pytest.fixture(autouse=True, params=[True, False], ids=["forked", "spawned"])
def split_small_files(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of a few bytes is split, into up to four parts, as on a machine of five cores;
    the children forked (the headless commands) or spawned (the monitor), whatever threads other
    tests left running (test_scan_fork tests that choice)."""
    monkeypatch.setattr(scanproc, "can_fork", lambda: request.param)
    monkeypatch.setattr(scanproc, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(scanproc, "_cores", lambda: 5)
    monkeypatch.setattr(scanproc, "PARSE_MIN_CANDIDATES", 1)


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("parts") / "dense.log")
    write_log(path, generate(seed=23, pulls=300, version="1.7", debug=True, chatter=2))
    return path


def assert_parts_read_the_same(path: str, block_size: int = 4096) -> None:
    alone = flattened(read_saved([path], block_size, in_child=False))
    parted = flattened(read_saved([path], block_size, in_child=True))
    assert parted[0] == alone[0]  # every event, every field, in log order
    assert parted[1:3] == alone[1:3]  # lines and unparsed lines


def test_parts_start_after_a_newline(dense: str) -> None:
    data = Path(dense).read_bytes()
    points = split_points(dense)
    assert len(points) == 4 and points[0] == 0
    assert points == sorted(set(points))
    assert all(data[point - 1 : point] == b"\n" for point in points[1:])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", SAVED, ids=lambda path: path.name)
def test_saved_logs_read_the_same_in_parts(path: Path) -> None:
    assert len(split_points(str(path))) > 1
    assert_parts_read_the_same(str(path))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("block_size", [4096, 512 * 1024])
def test_a_dense_log_reads_the_same_in_parts(dense: str, block_size: int) -> None:
    assert_parts_read_the_same(dense, block_size)


@pytest.mark.timeout(120)
def test_candidate_lines_come_through_the_read_ahead(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PULLWATCH_CHILD_PARSE=0: the parts send lines, read back across the read-ahead's chunks."""
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 1000)
    expected = [(batch.lines, batch.total) for batch in read_saved([dense], 4096, in_child=False)]
    batches = scan_in_child(dense, 4096, parse=False)
    assert batches is not None
    got = [(batch.lines, batch.total) for batch in batches]
    assert [line for lines, _ in got for line in lines] == [line for lines, _ in expected for line in lines]
    assert sum(total for _, total in got) == sum(total for _, total in expected)


@pytest.mark.timeout(120)
def test_a_read_ahead_that_fills_up_waits(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)  # every later part's thread waits for the reader
    assert_parts_read_the_same(dense)


def test_a_last_line_without_a_newline_is_read(dense: str, tmp_path: Path) -> None:
    path = tmp_path / "cut.log"
    path.write_bytes(Path(dense).read_bytes().rstrip(b"\n"))
    assert_parts_read_the_same(str(path))


def test_one_long_line_is_one_part(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"x" * 100_000 + b"\n" + b"short line\n" * 10)
    points = split_points(str(path))
    assert points[:2] == [0, 100_001] and len(points) > 2  # the next part starts after the long line
    assert_parts_read_the_same(str(path))
    path.write_bytes(b"short line\n" + b"x" * 100_000 + b"\n")
    assert split_points(str(path)) == [0]  # no line starts in the file's last three quarters
    path.write_bytes(b"x" * 100_000)
    assert split_points(str(path)) == [0]
    assert_parts_read_the_same(str(path))


def test_gzip_and_small_files_and_one_core_are_not_split(
    dense: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = tmp_path / "dense.log.gz"
    packed.write_bytes(gzip.compress(Path(dense).read_bytes()))
    assert split_points(str(packed)) == [0]
    assert_parts_read_the_same(str(packed))
    assert split_points("-") == [0]
    assert split_points(str(tmp_path / "missing.log")) == [0]
    monkeypatch.setattr(scanproc, "_cores", lambda: 1)
    assert split_points(dense) == [0]
    monkeypatch.setattr(scanproc, "_cores", lambda: 2)
    monkeypatch.setattr(scanproc, "can_fork", lambda: True)  # two forked children share the cores with this process
    assert len(split_points(dense)) == 2
    monkeypatch.setattr(scanproc, "can_fork", lambda: False)  # one core for this process, one for a spawned child
    assert split_points(dense) == [0]
    monkeypatch.setattr(scanproc, "_cores", lambda: 3)
    assert len(split_points(dense)) == 2
    monkeypatch.setattr(scanproc, "_cores", lambda: 5)
    monkeypatch.setattr(scanproc, "SPLIT_MIN_BYTES", Path(dense).stat().st_size + 1)
    assert split_points(dense) == [0]


def record_starts(monkeypatch: pytest.MonkeyPatch) -> list[Child]:
    """The children scan_in_child starts from now on, as they are started."""
    children: list[Child] = []
    start = scanproc._start_child

    def recorded(*args: object) -> Child:
        child = start(*args)  # type: ignore[arg-type]
        children.append(child)
        return child

    monkeypatch.setattr(scanproc, "_start_child", recorded)
    return children


def started_and_waiting(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Generator[LineBatch, None, None], list[Child]]:
    """A scan of `path` whose first batch is read, its children waiting on full pipes (the
    read-ahead holds 100 bytes), and those children."""
    started = record_starts(monkeypatch)
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)
    batches = scan_in_child(path, 4096)
    assert batches is not None
    next(batches)
    return batches, started


@pytest.mark.timeout(60)
def test_stopping_early_ends_every_child(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches, started = started_and_waiting(dense, monkeypatch)
    batches.close()  # `| head`, the monitor closed
    assert len(started) == 4 and all(child.returncode is not None for child in started)
    for thread in threading.enumerate():
        if thread.name == "pullwatch-read-ahead":
            thread.join(5)
    assert not any(thread.name == "pullwatch-read-ahead" for thread in threading.enumerate())


@pytest.mark.timeout(60)
def test_a_later_part_that_fails_is_reported_in_its_place(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    start = scanproc._start_child

    def failing_third(path: str, block_size: int, node: str | None, parse: bool, part: str) -> Child:
        if part.startswith(f"{split_points(path)[2]}:"):
            return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"], stdout=subprocess.PIPE)
        return start(path, block_size, node, parse, part)

    monkeypatch.setattr(scanproc, "_start_child", failing_third)
    batches = scan_in_child(dense, 4096)
    assert batches is not None
    read = 0
    with pytest.raises(SourceError, match="exit status 3"):
        for batch in batches:
            read += batch.total
    assert read == Path(dense).read_bytes()[: split_points(dense)[2]].count(b"\n")


def test_a_read_ahead_that_fails_is_an_error_not_an_end() -> None:
    """A later part's pipe that fails while read ahead must not look like the part's end: its
    remaining events would be lost without a word."""

    class Failing:
        def read1(self, size: int) -> bytes:
            raise OSError("Input/output error")

    class Child:
        stdout = Failing()

    reader = scanproc._ReadAhead(Child())  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="Input/output error"):
        reader.readline()
