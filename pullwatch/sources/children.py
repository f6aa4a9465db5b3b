"""The child processes sources start (the scanning child, journalctl), so that a command ending on
a signal or an error ends them too: a child blocked on a quiet pipe or journal would otherwise
outlive pullwatch until it next writes (seconds, or forever for `journalctl -f`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable
from types import FrameType
from typing import IO, Any, Protocol, TypeVar


class Child(Protocol):
    """What pullwatch uses of a child process: subprocess.Popen's, or a Forked one's."""

    @property
    def stdout(self) -> IO[bytes] | None: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...
    def terminate(self) -> None: ...


class Forked:
    """A child made by os.fork (no new interpreter, no imports: it starts at once), with the part
    of Popen's interface that pullwatch uses. Its pid stays its own until `wait` or `poll` reaps
    it, so a signal never reaches another process."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def _reap(self, options: int) -> None:
        """Take the child's exit status if it has one (waitpid with `options`)."""
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): as Popen, a success
            self.returncode = 0
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            if self.returncode is None:
                self._reap(0)
            assert self.returncode is not None
            return self.returncode
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.005)
        return code

    def __del__(self) -> None:
        if self.returncode is None:  # never read to its end nor stopped: no orphan, no zombie
            with contextlib.suppress(OSError):
                self.kill()
                self.wait()

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)


_CHILDREN: weakref.WeakSet[Child] = weakref.WeakSet()


_C = TypeVar("_C", bound=Child)


def track(child: _C) -> _C:
    _CHILDREN.add(child)
    return child


def end_children(grace: float = 1.0) -> None:
    """Terminate every tracked child still running; kill one that outlasts `grace` seconds."""
    running = [child for child in list(_CHILDREN) if child.poll() is None]
    for child in running:
        child.terminate()
    for child in running:
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


_Handler = Callable[[int, FrameType | None], object]
_Previous = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None  # what signal.signal returns


def handle_unless_ignored(signums: Iterable[int], handler: _Handler) -> dict[int, _Previous]:
    """Put `handler` in place for each of `signums` this process was not started with ignored
    (`nohup`, `trap '' HUP`: an ignored signal stays ignored, as across exec); returns the
    handlers it replaced, by signal, to be put back."""
    return {signum: signal.signal(signum, handler) for signum in signums if signal.getsignal(signum) != signal.SIG_IGN}
