"""Helpers for the live-source tests: a `pullwatch events --follow` process read as it prints,
an in-process follower, and the events a list of log lines must produce."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pullwatch.output import event_items
from pullwatch.parsers import UnparsedLine, is_candidate, parse_line, parse_why_line
from pullwatch.parsers.events import ParsedBatch
from pullwatch.sources import LineBatch
from pullwatch.store import PullStore


def expected_events(lines: Sequence[str | bytes], node: str | None = None) -> list[dict[str, Any]]:
    """The JSON events `pullwatch events` prints for `lines`, each line read once, in order
    (with the store's `downloaded` verdict, which does not depend on how lines are batched;
    `node`: the host a journal records them under)."""
    events = []
    for line in lines:
        try:
            event = parse_line(line, fallback_node=node) or parse_why_line(line, fallback_node=node)
        except UnparsedLine:
            continue
        if event is not None:
            events.append(event)
    items = event_items(PullStore(keep_lines=0), ParsedBatch(events, len(lines)))
    return [json.loads(json.dumps(item, ensure_ascii=False)) for item in items]


def candidates(lines: Sequence[str]) -> list[bytes]:
    return [line.encode() for line in lines if is_candidate(line)]


class EventStream:
    """A running `pullwatch events --follow …`: its JSON lines collected by a thread as printed."""

    def __init__(self, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.events: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # time.monotonic() when each event was read
        self.stderr = b""
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.events.append(json.loads(line))
                self.arrivals.append(time.monotonic())
                self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.stderr += line
                self._changed.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 10) -> None:
        """Until `text` has been printed on stderr (a start-up message, whatever the machine's load)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text.encode() not in self.stderr:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"expected {text!r} on stderr, got {self.stderr.decode()!r}")
                self._changed.wait(min(left, 0.1))

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The first `count` events, once printed; fails with what came when they do not come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"expected {count} events, got {len(self.events)}; stderr: {self.stderr.decode()!r}"
                    )
                self._changed.wait(min(left, 0.1))
            return list(self.events[:count])

    def children(self) -> list[int]:
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as handle:
            return [int(pid) for pid in handle.read().split()]

    def stop(self, how: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        """SIGTERM (a service manager) or SIGINT (Ctrl-C); returns the exit status and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            status = self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        for thread in self._threads:
            thread.join(5)
        return status, self.stderr.decode(errors="replace")


class InProcessFollower:
    """Consumes a source's batches on a thread, as the TUI does, until closed."""

    def __init__(self, source: Iterator[LineBatch]) -> None:
        self.source = source
        self.batches: list[LineBatch] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for batch in self.source:
                with self._changed:
                    self.batches.append(batch)
                    self._changed.notify_all()
                if self._stop.is_set():
                    break
        except BaseException as error:  # reported by wait_total / close
            self.error = error
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()

    @property
    def total(self) -> int:
        with self._changed:
            return sum(batch.total for batch in self.batches)

    @property
    def lines(self) -> list[bytes]:
        with self._changed:
            return [line for batch in self.batches for line in batch.lines]

    def events(self) -> list[dict[str, Any]]:
        with self._changed:
            batches = list(self.batches)
        store = PullStore(keep_lines=0)
        items = [item for batch in batches for item in event_items(store, batch.parse())]
        return [json.loads(json.dumps(item, ensure_ascii=False)) for item in items]

    def wait_total(self, count: int, timeout: float = 10) -> None:
        """Until `count` lines have been read (more is a failure the caller's asserts catch)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(batch.total for batch in self.batches) < count:
                if self.error is not None:
                    raise self.error
                left = deadline - time.monotonic()
                if left <= 0:
                    got = sum(batch.total for batch in self.batches)
                    raise AssertionError(f"expected {count} lines read, got {got}")
                self._changed.wait(min(left, 0.1))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "the follower did not stop"
        if self.error is not None:
            raise self.error
