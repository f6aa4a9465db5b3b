"""Go time.Duration strings, as containerd prints them in "Pulled image … in D"."""

from __future__ import annotations

import pytest
from logfactory import go_duration

from pullwatch.parsers.durations import parse_go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("850.5ms", 0.8505),
        ("2m3.1s", 123.1),
        ("950µs", 0.00095),  # U+00B5 MICRO SIGN, what Go prints
        ("950μs", 0.00095),  # U+03BC GREEK SMALL LETTER MU
        ("950us", 0.00095),
        ("1h2m3.004s", 3723.004),
        ("0s", 0.0),
        ("0", 0.0),
        ("-1.5s", -1.5),
        ("+2s", 2.0),
        ("1.067043121s", 1.067043121),
        ("2m3.123456789s", 123.123456789),
        ("12ns", 12e-9),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("1m44.96s", 104.96),  # exactly, not 104.96000000000001
        ("3h0m0s", 10800.0),
    ],
)
def test_parses_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "garbage", "1", "1.5", "s", "ms", "1d", "1 s", "1s ", "--1s", "1s2", "µs", "1e3s"]
)
def test_rejects_what_go_rejects(text: str) -> None:
    assert parse_go_duration(text) is None


@pytest.mark.parametrize("seconds", [0.000_000_5, 0.000_95, 0.8505, 1.067043121, 59.999, 123.1, 3723.004, 86400.0])
def test_round_trips_the_factory_formatter(seconds: float) -> None:
    """logfactory.go_duration mirrors Go's Duration.String(); parsing it gives the value back."""
    assert parse_go_duration(go_duration(seconds)) == pytest.approx(seconds, abs=1e-9)
