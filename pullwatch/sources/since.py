"""`--since` as journalctl users write it: `1h`, `30m`, `2d`, `1h30m ago`, `-15m`, `today`,
`yesterday`, `now`, `boot` (the default: the current boot), or an ISO time.

Both journal backends are given the same absolute time, so they read the same entries.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pullwatch.sources import SourceError

BOOT = "boot"
_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+")


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """The moment `text` names (timezone-aware), or None for the current boot."""
    if text is None or text.strip().lower() in (BOOT, "-b", ""):
        return None
    now = now or datetime.now().astimezone()
    word = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": now, "today": midnight, "yesterday": midnight - timedelta(days=1)}
    if word in named:
        return named[word]
    ago = word.removeprefix("-").removesuffix("ago").strip()
    if _DURATION.fullmatch(ago):
        seconds = 0.0
        for number, unit in _PART.findall(ago):
            if unit not in _UNITS:
                raise _unreadable(text)
            seconds += float(number) * _UNITS[unit]
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise _unreadable(text) from None
    return moment if moment.tzinfo else moment.astimezone()  # a time without offset is local, as in journalctl


def _unreadable(text: str) -> SourceError:
    return SourceError(
        f"--since {text!r}: not a time (use 1h, 30m, 2d, today, yesterday, boot, or an ISO time like 2026-11-27T08:00)"
    )
