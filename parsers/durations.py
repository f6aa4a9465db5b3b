"""Go `time.Duration` strings (`850.5ms`, `2m3.1s`, `950µs`) to seconds.

Accepts what Go's time.ParseDuration accepts: an optional sign, then one or more decimal numbers
each with a unit (ns, us, µs, μs, ms, s, m, h), or a bare "0".
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN, what Go prints
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU, also accepted by Go
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# The longest time.Duration (an int64 of nanoseconds): 2562047h47m16.854775807s.
MAX_SECONDS = (2**63 - 1) / 1e9
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_WHOLE = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")


def parse_go_duration(text: str) -> float | None:
    """Seconds for a Go duration string, or None when it is not one or is longer than Go's
    longest (never raises).
    Rounded to the nanosecond, Go's resolution, so `1m44.96s` is 104.96, not 104.96000000000001."""
    if text in ("0", "+0", "-0"):
        return 0.0
    if not _WHOLE.fullmatch(text):
        return None
    total = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
    if total > MAX_SECONDS:
        return None  # Go refuses it too ("invalid duration"); it would overflow datetime sums
    total = round(total, 9)
    return -total if text.startswith("-") else total
