"""Timestamps as containerd and journald print them, to timezone-aware datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s?(Z|z|[+-]\d\d:?\d\d)?")
_ZONES: dict[str, timezone] = {}


def parse_timestamp(text: str) -> datetime | None:
    """RFC 3339 with any number of fractional digits (logrus prints 9; Python keeps 6).
    A time without an offset is taken as UTC. Returns None for anything else."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, _zone(zone))
    except ValueError:
        return None


def from_epoch_micros(text: str) -> datetime | None:
    """journald's __REALTIME_TIMESTAMP (microseconds since the epoch, as a decimal string)."""
    try:
        return datetime.fromtimestamp(int(text) / 1e6, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _zone(text: str | None) -> timezone:
    if not text or text in "Zz":
        return timezone.utc
    zone = _ZONES.get(text)
    if zone is None:
        digits = text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        zone = timezone(-offset if text[0] == "-" else offset)
        _ZONES[text] = zone
    return zone
