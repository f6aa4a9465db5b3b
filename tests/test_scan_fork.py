"""The scanning child is forked when no other thread runs here, spawned otherwise
(sources/scanproc.py): both read the same, and a forked child holds nothing of this process's
but the pipe it writes, takes signals as a spawned one does and reports its own failures."""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from logfactory import generate, write_log
from test_scan_child_parse import SAVED, flattened
from test_scan_parts import record_starts

from pullwatch.sources import SourceError, scanproc
from pullwatch.sources.children import Forked, end_children
from pullwatch.sources.saved import read_saved
from pullwatch.sources.scanproc import can_fork, scan_in_child


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fork") / "dense.log")
    write_log(path, generate(seed=29, pulls=200, version="1.7", debug=True, chatter=2))
    return path


@pytest.fixture
def another_thread() -> Iterator[None]:
    """A thread running beside the test, as the monitor's do."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize("path", [*SAVED[:4], None], ids=lambda path: "dense" if path is None else path.name)
def test_forked_and_spawned_children_read_the_same(
    path: Path | None, dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_starts(monkeypatch)
    name = dense if path is None else str(path)
    forked = flattened(read_saved([name], 4096, in_child=True))
    assert started and all(isinstance(child, Forked) for child in started)
    monkeypatch.setenv("PULLWATCH_CHILD_START", "spawn")
    spawned = flattened(read_saved([name], 4096, in_child=True))
    assert not any(isinstance(child, Forked) for child in started[-1:])
    assert forked == spawned
    assert forked[0] == flattened(read_saved([name], 4096, in_child=False))[0]


@pytest.mark.usefixtures("another_thread")
def test_a_child_is_spawned_while_another_thread_runs(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started = record_starts(monkeypatch)
    assert not can_fork()
    assert flattened(read_saved([dense], 4096, in_child=True))[0]
    assert started and not any(isinstance(child, Forked) for child in started)


@pytest.mark.timeout(60)
def test_a_forked_child_holds_only_its_pipe_and_its_file(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_starts(monkeypatch)
    monkeypatch.setattr(scanproc, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(scanproc, "_cores", lambda: 3)
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)  # the children wait, their files open
    batches = scan_in_child(dense, 4096)
    assert batches is not None
    next(batches)
    try:
        assert len(started) == 2 and all(isinstance(child, Forked) for child in started)
        for child in started:
            assert isinstance(child, Forked)
            fds = f"/proc/{child.pid}/fd"
            held = {int(fd): os.path.realpath(f"{fds}/{fd}") for fd in os.listdir(fds)}
            assert set(held) <= {0, 1, 2, 3}, held  # an earlier child's pipe is not among them
            assert held[0] == os.devnull
            assert stat.S_ISFIFO(os.stat(f"/proc/{child.pid}/fd/1").st_mode)
            assert held.get(3, dense) == os.path.realpath(dense)
    finally:
        batches.close()
    assert all(child.returncode is not None for child in started)


@pytest.mark.timeout(60)
def test_end_children_ends_a_forked_child_whatever_handler_this_process_set(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_starts(monkeypatch)
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # pullwatch's own: it raises SystemExit
    try:
        batches = scan_in_child(dense, 4096)
        assert batches is not None
        next(batches)  # the child now waits on a full pipe
        end_children()
        assert started[0].returncode == -signal.SIGTERM
        batches.close()
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_bug_in_a_forked_child_is_one_line_and_a_failure(
    dense: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(argv: list[str]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(scanproc, "main", broken)  # the forked child runs this process's code
    with pytest.raises(SourceError, match="the scanning process failed"):
        flattened(read_saved([dense], 4096, in_child=True))
    assert capfd.readouterr().err.splitlines() == ["pullwatch: the scanning process: RuntimeError: boom"]
