"""The feed: a thread that reads a source, parses its lines and posts events to the app.

Sources block while they wait for new lines, and parsing a large log takes seconds, so neither
may run on the UI thread. The feed only parses (`LineBatch.parse`, that is `parse_batch`:
parsers have no state; a big saved log's batches come parsed by the child that scanned it,
sources/scanproc.py); the app applies the parsed batches to the store on its own thread, so the
store is never changed while a pane reads it. Events are posted in time-batched messages (at
most one per `interval`, as toolong does) so that the screen is neither flooded nor starved. A
replay at --speed N holds each event until the replay clock reaches its log time.

It is a daemon thread rather than a Textual worker: a journal or file follower may block forever
waiting for a line, and quitting must not wait for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from textual.message import Message

from pullwatch.parsers import ParsedBatch
from pullwatch.parsers.events import PULL_KINDS
from pullwatch.sources import LineBatch, SourceError
from pullwatch.tui.clock import Clock
from pullwatch.tui.messages import FeedBatch, FeedDone, FeedFailed, FeedStarted
from pullwatch.tui.source import FeedSpec

POST_INTERVAL = 0.25  # seconds between messages: at most four screen updates a second
# A saved log at --speed max: the app applies what the feed sends while the scanning child goes on
# (redraws stay at most four a second); at 0.25 s the last message held up to two thirds of a
# 300 MB log's events, applied only after the child had finished.
LOAD_POST_INTERVAL = 0.05
POLL = 0.05  # how often a paced or paused feed looks at its clock and its stop flag


class _Stopped(Exception):
    """The app is closing: leave the source."""


class Feed:
    """Reads `spec` in a thread and posts FeedStarted (saved files: their line count), FeedBatch…,
    then FeedDone or FeedFailed."""

    def __init__(
        self,
        spec: FeedSpec,
        clock: Clock,
        post: Callable[[Message], object],
        interval: float = POST_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self._post = post
        self._interval = interval
        self._monotonic = monotonic
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._stopping = threading.Event()
        self.done = threading.Event()  # set when the thread has posted its last message
        self.waiting = threading.Event()  # set while a paced replay waits for its clock
        self.waits = 0  # waits begun so far (tests step a replay from one wait to the next)
        self._thread: threading.Thread | None = None
        self._parsed = ParsedBatch()  # read, not posted yet
        self._last_post = 0.0

    # ---- control (UI thread) ----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="pullwatch-feed", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self._stopping.set()
        self._running.set()

    # ---- the thread ---------------------------------------------------------------------------
    def run(self) -> None:
        try:
            counted = self.spec.count_lines()
            if counted is not None:
                self._post(FeedStarted(*counted))
            self._last_post = self._monotonic()
            for batch in self.spec.open():
                self._read(batch)
                self._gate()
                if self.spec.live:
                    self._flush_soon()
                elif self._due():
                    self._flush()
            self._flush()
            self._post(FeedDone())
        except _Stopped:
            pass
        except SourceError as error:
            self._flush()
            self._post(FeedFailed(str(error)))
        except Exception as error:  # a bug must not leave a traceback over the screen
            self._flush()
            self._post(FeedFailed(f"source stopped: {type(error).__name__}: {error}"))
        finally:
            self.done.set()

    def _read(self, batch: LineBatch) -> None:
        if self.clock.paced:
            self._read_paced(batch)
        else:
            self._parsed.extend(batch.parse())
        if self._stopping.is_set():
            raise _Stopped

    def _read_paced(self, batch: LineBatch) -> None:
        """An event at a time: each pull line waits for the replay clock to reach its log time,
        and the lines before it are counted as it is reached (interpolated by its place among
        the batch's events: a batch parsed by the scanning child carries no lines)."""
        parsed = batch.parse()
        self._parsed.unparsed += parsed.unparsed
        events = parsed.events
        count = len(events)
        credited = 0  # lines of this batch already counted
        for index, event in enumerate(events):
            # pull lines pace the replay; the lines that tell why ride along with them
            if event.kind in PULL_KINDS and event.time is not None and self.clock.seconds_until(event.time) > 0:
                share = parsed.lines * index // count  # about how far into the batch this event is
                self._parsed.lines += share - credited
                credited = share
                self._wait_for(event.time)
            self._parsed.events.append(event)
            if self._stopping.is_set():
                raise _Stopped
        self._parsed.lines += parsed.lines - credited

    def _wait_for(self, moment: datetime) -> None:
        """Hold a paced replay until its clock reaches `moment`."""
        self._flush()  # show everything before the wait
        self.waits += 1
        self.waiting.set()
        try:
            while (wait := self.clock.seconds_until(moment)) > 0:
                if self._stopping.wait(min(wait, POLL)):
                    raise _Stopped
        finally:
            self.waiting.clear()

    def _gate(self) -> None:
        """Block while paused, holding what was read: the screen stays as it was (a replay stops
        reading; a live source keeps its new lines until resumed)."""
        if self._running.is_set():
            if self._stopping.is_set():
                raise _Stopped
            return
        while not self._running.wait(POLL):
            pass
        if self._stopping.is_set():
            raise _Stopped

    def _due(self) -> bool:
        return self._monotonic() - self._last_post >= self._interval

    def _flush_soon(self) -> None:
        """Live sources: post now, or when the interval is up (the source may block for long)."""
        remaining = self._interval - (self._monotonic() - self._last_post)
        if remaining > 0 and self._stopping.wait(remaining):
            raise _Stopped
        self._flush()

    def _flush(self) -> None:
        parsed = self._parsed
        if parsed.events or parsed.lines or parsed.unparsed:
            self._post(FeedBatch(parsed))
            self._parsed = ParsedBatch()
        self._last_post = self._monotonic()
