"""Clocks for "elapsed": the wall clock when watching live, the log's own clock when replaying.

A replay at --speed N runs a clock that starts at the first pull line's time and advances N log
seconds per real second, so in-progress pulls tick as they did on the node; at --speed max the
clock is the newest log time applied. Each clock can be paused (`p`) and takes its time source as
a parameter so that tests and screenshots are deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone


class Clock:
    """The base clock: the newest log time seen (what --speed max and frozen views use)."""

    paced = False  # whether the feed must wait for this clock before applying a line

    def __init__(self) -> None:
        self._position: datetime | None = None
        self.paused = False

    def now(self) -> datetime | None:
        return self._position

    def observe(self, moment: datetime | None) -> None:
        """A log time was applied (main thread)."""
        if moment is not None and (self._position is None or moment > self._position):
            self._position = moment

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def seconds_until(self, moment: datetime) -> float:
        """Real seconds to wait before a line logged at `moment` is due (0: due now)."""
        return 0.0

    def finish(self) -> None:
        """The source has ended: a replayed clock stops where the log stopped."""


class WallClock(Clock):
    """Real time, for live sources; pausing freezes what the panes show."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self._source = source or (lambda: datetime.now(timezone.utc))
        self._frozen: datetime | None = None

    def now(self) -> datetime | None:
        return self._frozen if self._frozen is not None else self._source()

    def pause(self) -> None:
        super().pause()
        self._frozen = self._source()

    def resume(self) -> None:
        super().resume()
        self._frozen = None


class ReplayClock(Clock):
    """The log's clock replayed `speed` times faster. Used from the feed thread (pacing) and the
    UI thread (elapsed, pause), hence the lock."""

    paced = True

    def __init__(self, speed: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._log_start: datetime | None = None
        self._real_start = 0.0
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._finished = False

    def _real_elapsed(self) -> float:
        end = self._paused_at if self._paused_at is not None else self._monotonic()
        return end - self._real_start - self._paused_total

    def now(self) -> datetime | None:
        with self._lock:
            if self._log_start is None:
                return None
            return self._log_start + timedelta(seconds=self._real_elapsed() * self.speed)

    def seconds_until(self, moment: datetime) -> float:
        with self._lock:
            if self._log_start is None:  # the first timed line starts the clock
                self._log_start = moment
                self._real_start = self._monotonic()
                if self._paused_at is not None:
                    self._paused_at = self._real_start
                return 0.0
            if self._paused_at is not None:
                return float("inf")
            ahead = (moment - self._log_start).total_seconds() / self.speed - self._real_elapsed()
            return max(ahead, 0.0)

    def pause(self) -> None:
        with self._lock:
            super().pause()
            if self._paused_at is None:
                self._paused_at = self._monotonic()

    def resume(self) -> None:
        with self._lock:
            super().resume()
            if self._paused_at is not None and not self._finished:
                self._paused_total += self._monotonic() - self._paused_at
                self._paused_at = None

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            if self._paused_at is None:
                self._paused_at = self._monotonic()
