"""The scanning child is forked when no other thread runs here, spawned otherwise
(sources/scanproc.py): both read the same, and a forked child holds nothing of this process's
but the pipe it writes, takes signals as a spawned one does and reports its own failures.

Other tests leave threads in this process (a pool, a server), so the tests of a forked child ask
for one (`forking`); the choice itself is tested in a fresh interpreter."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import pytest
from logfactory import generate, write_log
from test_scan_child_parse import SAVED, flattened
from test_scan_parts import record_starts, started_and_waiting

from pullwatch.sources import LineBatch, SourceError, scanproc
from pullwatch.sources.children import Forked, end_children
from pullwatch.sources.saved import read_saved
from pullwatch.sources.scanproc import can_fork, scan_in_child


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fork") / "dense.log")
    write_log(path, generate(seed=29, pulls=200, version="1.7", debug=True, chatter=2))
    return path


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """The children are forked, whatever threads earlier tests left here."""
    monkeypatch.setattr(scanproc, "can_fork", lambda: True)


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


def test_a_process_without_other_threads_forks() -> None:
    code = (
        "import threading; from pullwatch.sources.scanproc import can_fork; print(can_fork()); "
        "threading.Thread(target=threading.Event().wait, args=(1,)).start(); print(can_fork())"
    )

    def asked(**env: str) -> str:
        command = [sys.executable, "-c", code]
        environment = {**os.environ, **env}
        done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, check=True)
        return done.stdout

    assert asked() == ("True\nFalse\n" if sys.platform == "linux" else "False\nFalse\n")
    assert asked(PULLWATCH_CHILD_START="spawn") == "False\nFalse\n"


@pytest.mark.usefixtures("forking")
@pytest.mark.parametrize("path", [*SAVED[:4], None], ids=lambda path: "dense" if path is None else path.name)
def test_forked_and_spawned_children_read_the_same(
    path: Path | None, dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_starts(monkeypatch)
    name = dense if path is None else str(path)
    forked = flattened(read_saved([name], 4096, in_child=True))
    assert started and all(isinstance(child, Forked) for child in started)
    monkeypatch.setattr(scanproc, "can_fork", lambda: False)
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


def _descriptors(pid: int) -> dict[int, str]:
    """What each open descriptor of `pid` names (the listing's own, gone once listed, is left out)."""
    fds = f"/proc/{pid}/fd"
    held = {}
    for fd in os.listdir(fds):
        with contextlib.suppress(FileNotFoundError):
            held[int(fd)] = os.readlink(f"{fds}/{fd}")
    return held


def _pipes() -> set[int]:
    """The pipes this process holds open, by descriptor."""
    return {fd for fd, target in _descriptors(os.getpid()).items() if target.startswith("pipe:")}


def _settled(child: Forked, path: str) -> bool:
    """Whether the child is past its start: the log open (after the inherited descriptors closed)."""
    return _descriptors(child.pid).get(3) == os.path.realpath(path)


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_a_forked_child_holds_only_its_pipe_and_its_file(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_starts(monkeypatch)
    monkeypatch.setattr(scanproc, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(scanproc, "_cores", lambda: 3)
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)  # the children wait, their files open
    extra = os.open(os.devnull, os.O_RDONLY)  # a descriptor of this process's own, not for a child
    batches = scan_in_child(dense, 4096)
    assert batches is not None
    next(batches)
    try:
        assert len(started) == 2 and all(isinstance(child, Forked) for child in started)
        for child in started:
            assert isinstance(child, Forked)
            deadline = time.monotonic() + 30
            while not _settled(child, dense) and time.monotonic() < deadline:
                time.sleep(0.01)
            held = _descriptors(child.pid)
            assert set(held) <= {0, 1, 2, 3}, held  # neither an earlier child's pipe nor `extra`
            assert held[0] == os.devnull
            assert stat.S_ISFIFO(os.stat(f"/proc/{child.pid}/fd/1").st_mode)
            assert held[3] == os.path.realpath(dense)
    finally:
        batches.close()
        os.close(extra)
    assert all(child.returncode is not None for child in started)


def _waiting_child(dense: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Generator[LineBatch, None, None], Forked]:
    """A forked child that has sent its first batch and now waits on a full pipe."""
    batches, started = started_and_waiting(dense, monkeypatch)
    child = started[0]
    assert isinstance(child, Forked)
    return batches, child


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_end_children_ends_a_forked_child_whatever_handler_this_process_set(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # pullwatch's own: it raises SystemExit
    try:
        batches, child = _waiting_child(dense, monkeypatch)
        end_children(grace=30)
        assert child.returncode == -signal.SIGTERM
        batches.close()
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("forking")
def test_a_bug_in_a_forked_child_is_one_line_and_a_failure(
    dense: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(argv: list[str]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(scanproc, "main", broken)  # the forked child runs this process's code
    with pytest.raises(SourceError, match="the scanning process failed"):
        flattened(read_saved([dense], 4096, in_child=True))
    assert capfd.readouterr().err.splitlines() == ["pullwatch: the scanning process: RuntimeError: boom"]


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_ctrl_c_ends_a_forked_child_and_is_reported(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batches, child = _waiting_child(dense, monkeypatch)
    os.kill(child.pid, signal.SIGINT)
    with pytest.raises(SourceError, match=r"exit status 130\)"):
        for _ in batches:
            pass


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_a_signal_ignored_here_stays_ignored_in_a_forked_child(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As across exec: `trap '' INT HUP` before pullwatch leaves its children deaf to them too."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        previous = signal.signal(signum, signal.SIG_IGN)
        try:
            batches, child = _waiting_child(dense, monkeypatch)
            os.kill(child.pid, signum)
            time.sleep(0.2)
            assert child.poll() is None
            rest = flattened(batches)
            assert child.returncode == 0
            assert rest[0]
        finally:
            signal.signal(signum, previous)


@pytest.mark.usefixtures("forking")
def test_forking_leaves_this_process_signals_as_they_were(dense: str) -> None:
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert flattened(read_saved([dense], 4096, in_child=True))[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers


@pytest.mark.usefixtures("forking")
def test_a_fork_that_fails_leaks_nothing_and_falls_back(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    held = _pipes()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    monkeypatch.setattr(os, "fork", refused)
    assert scan_in_child(dense, 4096) is None  # read_saved then reads in this process
    assert _pipes() <= held  # (not ==: a pipe another test left may be collected meanwhile)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask


def test_a_child_reaped_elsewhere_counts_as_ended() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # as with SIGCHLD ignored: the kernel reaps it, not pullwatch
    read_end, write_end = os.pipe()
    os.close(write_end)
    child = Forked(pid, os.fdopen(read_end, "rb"))
    assert child.poll() == 0 and child.wait() == 0
    child.terminate()  # no signal to a pid that may be another process's now
    assert child.stdout is not None
    child.stdout.close()


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_a_forked_child_never_read_is_ended_with_its_object(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error between the start and the first batch drops the generator unstarted: no orphan, no zombie."""
    started = record_starts(monkeypatch)
    monkeypatch.setattr(scanproc, "READ_AHEAD_BYTES", 100)
    batches = scan_in_child(dense, 4096)
    assert batches is not None
    child = started.pop()
    assert isinstance(child, Forked)
    pid = child.pid
    del child
    del batches
    gc.collect()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already


@pytest.mark.usefixtures("forking")
def test_output_cut_inside_a_frame_is_an_error(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def cut(argv: list[str]) -> None:
        os.write(1, b"12 3\nline one\nline t")

    monkeypatch.setattr(scanproc, "main", cut)
    with pytest.raises(SourceError, match="output was cut short"):
        flattened(read_saved([dense], 4096, in_child=True))
    monkeypatch.setattr(scanproc, "main", lambda argv: os.write(1, b"P 12"))
    with pytest.raises(SourceError, match="output was cut short"):
        flattened(read_saved([dense], 4096, in_child=True))


@pytest.mark.usefixtures("forking")
@pytest.mark.timeout(60)
def test_a_sigterm_during_the_fork_leaves_no_child_behind(dense: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGTERM that comes while the fork has the signals blocked runs pullwatch's handler once they
    are let through: the child has its object by then, so it is ended and reaped, its pipe closed."""
    real_fork = os.fork
    forked: list[int] = []

    def fork_then_sigterm() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
            os.kill(os.getpid(), signal.SIGTERM)  # pending: blocked until the fork is done
        return pid

    def exit_on_signal(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    monkeypatch.setattr(os, "fork", fork_then_sigterm)
    pipes_before = _pipes()
    previous = signal.signal(signal.SIGTERM, exit_on_signal)
    try:
        with pytest.raises(SystemExit):
            scan_in_child(dense, 4096)
    finally:
        signal.signal(signal.SIGTERM, previous)
    end_children(grace=30)
    gc.collect()
    assert forked
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)  # ended and reaped, not running on with nobody to read it
    pipes_after = _pipes()
    assert pipes_after <= pipes_before  # the write end was closed here, the read end with the child


@pytest.mark.usefixtures("forking")
def test_a_child_killed_between_frames_is_an_error_even_with_sigchld_ignored(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SIGCHLD ignored the kernel reaps the child and its status is lost (it reads as 0); a
    child killed (OOM, say) after a whole frame has still not sent the end frame."""

    def dies_between_frames(argv: list[str]) -> None:
        os.write(1, b"10 0\n")
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(scanproc, "main", dies_between_frames)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with pytest.raises(SourceError, match="output was cut short"):
            flattened(read_saved([dense], 4096, in_child=True))
    finally:
        signal.signal(signal.SIGCHLD, previous)


@pytest.mark.usefixtures("forking")
def test_a_handler_run_by_the_blocking_call_leaves_no_mask_and_no_pipe(
    dense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPython's pthread_sigmask runs a pending signal's handler after it has changed the mask: a
    SIGTERM that came just before the fork's SIG_BLOCK raises from that call."""
    real = signal.pthread_sigmask

    def sigmask(how: int, signals: Iterable[int]) -> object:
        signals = list(signals)
        previous = real(how, signals)
        if how == signal.SIG_BLOCK and set(signals) == set(scanproc._USER_SIGNALS):
            raise SystemExit(143)  # pullwatch's SIGTERM handler, run inside the call
        return previous

    held = _pipes()
    before = real(signal.SIG_BLOCK, [])
    monkeypatch.setattr(signal, "pthread_sigmask", sigmask)
    try:
        with pytest.raises(SystemExit):
            scan_in_child(dense, 4096)
    finally:
        after = real(signal.SIG_SETMASK, before)
        monkeypatch.undo()
    assert after == before
    assert _pipes() <= held
