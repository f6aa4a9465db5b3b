"""Timestamps as containerd and journald print them, to timezone-aware datetimes."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s?(Z|z|[+-]\d\d:?\d\d)?")
_ZONES: dict[str, timezone] = {}


# Log times outside these years are taken as no time (a forged or broken clock): within them, a
# time minus or plus any Go duration (at most ~292 years) is still a datetime, so the store and
# the monitor never meet an OverflowError ("date value out of range") on a year-1 time.
FIRST_YEAR = 1970
LAST_YEAR = 8999


def parse_timestamp(text: str) -> datetime | None:
    """RFC 3339 with any number of fractional digits (logrus prints 9; Python keeps 6).
    A time without an offset is taken as UTC. Returns None for anything else, and for a time
    outside FIRST_YEAR..LAST_YEAR."""
    if _FROMISOFORMAT_TAKES_Z and _looks_like_logrus_utc(text):
        # Every line has a time: the C parser is ten times faster than the regex below and
        # gives the same result for this shape (tests/test_scan_parsing.py).
        try:
            return _in_range(datetime.fromisoformat(text))
        except ValueError:
            pass
    return _parse_rfc3339(text)


def _in_range(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and FIRST_YEAR <= moment.year <= LAST_YEAR else None


# Python 3.11+ reads "Z" and any number of fractional digits.
_FROMISOFORMAT_TAKES_Z = sys.version_info >= (3, 11)


def _looks_like_logrus_utc(text: str) -> bool:
    """YYYY-MM-DDTHH:MM:SS[.digits]Z in ASCII (what containerd writes in UTC), by position;
    fromisoformat checks the digits. (It also takes "SS:1" for "SS.1": hence the strict tail.)"""
    return (
        len(text) >= 20
        and text.isascii()
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
        and (text[19:] == "Z" or (text[19] == "." and text[-1] == "Z" and text[20:-1].isdigit()))
    )


def _parse_rfc3339(text: str) -> datetime | None:
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, _zone(zone))
    except ValueError:  # month 13, hour 24, an offset of 24h or more
        return None
    return _in_range(moment)


def from_epoch_micros(text: str) -> datetime | None:
    """journald's __REALTIME_TIMESTAMP (microseconds since the epoch, as a decimal string)."""
    try:
        return _in_range(datetime.fromtimestamp(int(text) / 1e6, timezone.utc))
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


def _compiled_iso() -> Callable[[datetime], str | None] | None:
    try:
        return importlib.import_module("pullwatch.parsers._fastline").iso_utc  # type: ignore[no-any-return]
    except ImportError:
        return None


_ISO_UTC = _compiled_iso()


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 with the offset the log used, always with six fractional digits (microseconds,
    Python's limit) so that every time has the same width and sorts as text."""
    if moment is None:
        return None
    if moment.tzinfo is timezone.utc:
        if _ISO_UTC is not None:  # the compiled core's (parsers/_fastline.c), where built
            text: str | None = _ISO_UTC(moment)
            if text is not None:
                return text
        # most log times: one %-format of the fields, half the time of isoformat (or of an f-string,
        # which formats each field on its own); a report writes two or three per pull
        m = moment
        fields = (m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond)
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % fields  # noqa: UP031
    text = moment.isoformat(timespec="microseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
