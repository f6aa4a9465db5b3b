"""Go `time.Duration` strings (`850.5ms`, `2m3.1s`, `950µs`) to seconds."""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN, what Go prints
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU, what people paste
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_WHOLE = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")


def parse_go_duration(text: str) -> float | None:
    """Seconds for a Go duration string, or None when it is not one (never raises)."""
    if text == "0":
        return 0.0
    if not _WHOLE.fullmatch(text):
        return None
    total = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
    return -total if text.startswith("-") else total
