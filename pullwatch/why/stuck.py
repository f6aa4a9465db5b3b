"""Stuck pulls: bytes that grow too slowly for too long, from debug `progress for image pull` lines.

containerd cancels a pull only when no byte at all arrived for image_pull_progress_timeout (5m;
1m on 1.7.0–1.7.9), so a trickle of a few bytes a second keeps a pull alive for hours. A pull is
flagged when, over the last WINDOW of its progress lines, it fetched less than MIN_RATE bytes per
second; the flag clears when it speeds up again. Progress lines come every 10s (reportInterval),
so at least WINDOW of them must be seen before anything is said.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW = timedelta(seconds=60)
MIN_RATE = 16 * 1024  # bytes per second


@dataclass(slots=True)
class StuckWatch:
    """One pull's recent progress samples and whether it is crawling."""

    window: timedelta = WINDOW
    min_rate: float = MIN_RATE
    stuck_since: datetime | None = None  # start of the slow stretch while it lasts
    _samples: deque[tuple[datetime, int]] = field(default_factory=deque)

    def sample(self, time: datetime | None, total_bytes: int | None) -> bool | None:
        """Add one progress line; returns whether the pull is stuck, None while it cannot tell."""
        if time is None or total_bytes is None:
            return self.stuck
        samples = self._samples
        if samples and time < samples[-1][0]:
            return self.stuck  # out of order: ignored
        samples.append((time, total_bytes))
        # keep exactly one sample at or before the window's start
        while len(samples) >= 2 and samples[1][0] <= time - self.window:
            samples.popleft()
        first_time, first_bytes = samples[0]
        span = (time - first_time).total_seconds()
        if span < self.window.total_seconds():
            return self.stuck
        rate = (total_bytes - first_bytes) / span
        if rate < self.min_rate:
            if self.stuck_since is None:
                self.stuck_since = first_time
        else:
            self.stuck_since = None
        return self.stuck

    @property
    def stuck(self) -> bool | None:
        """True: crawling now; False: enough samples and not crawling; None: too few to tell."""
        if self.stuck_since is not None:
            return True
        if len(self._samples) < 2:
            return None
        span = self._samples[-1][0] - self._samples[0][0]
        return False if span >= self.window else None


__all__ = ["MIN_RATE", "WINDOW", "StuckWatch"]
