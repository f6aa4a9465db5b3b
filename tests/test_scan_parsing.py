"""The parser shortcuts made for reading speed (bench/speed.py) change no result.

The Go-string pattern was unrolled, `unquote` handles the common `\\"` escape without a regex,
containerd's UTC times are read by `datetime.fromisoformat` and the usual logrus line start by one
regex; each is checked here against the plain form it replaced, on random input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from logfactory import quote

from pullwatch.parsers.envelope import EnvelopeError, LogEntry, _decode_text, _pairs
from pullwatch.parsers.gostrings import _ESCAPE, QUOTED, _escaped_end, _replace, is_terminated, unquote
from pullwatch.parsers.timestamps import _parse_rfc3339, parse_timestamp

PLAIN_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
UNROLLED_QUOTED = re.compile(QUOTED)
# The key=value pattern as it was before _pairs (quadratic on a long token without `=`, fine here).
OLD_PAIR = re.compile(r'([^\s="]+)=(' + QUOTED + r'|"[^"\\]*(?:\\.[^"\\]*)*\\?$|[^\s"]*)')
# Text rich in the characters that matter: quotes, backslashes, escape letters, newlines.
TRICKY = st.text(st.sampled_from('ab"\\\\nxu0\n\t\x00é☃'), max_size=40)


@settings(max_examples=500)
@given(TRICKY)
def test_unrolled_pattern_matches_what_the_plain_one_matches(text: str) -> None:
    for start in range(len(text)):
        plain = PLAIN_QUOTED.match(text, start)
        unrolled = UNROLLED_QUOTED.match(text, start)
        assert (plain and plain.group()) == (unrolled and unrolled.group())


@settings(max_examples=500)
@given(st.text(st.sampled_from('k=" \\\\a.\t'), max_size=30))
def test_pairs_finds_what_the_old_pattern_found(text: str) -> None:
    assert list(_pairs(text, 0)) == [(m.group(1), m.group(2)) for m in OLD_PAIR.finditer(text)]


@settings(max_examples=500)
@given(st.text())
def test_unquote_inverts_quote(text: str) -> None:
    surrogate_free = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert unquote(quote(surrogate_free)) == surrogate_free


def plain_escaped_end(token: str) -> bool:
    backslashes = len(token) - 1 - len(token[:-1].rstrip("\\"))
    return backslashes % 2 == 1


def plain_unquote(token: str) -> str:
    """`unquote` as it was: every escape through the regex decoder."""
    body = token[1:-1] if len(token) >= 2 and token.endswith('"') and not plain_escaped_end(token) else token[1:]
    return body if "\\" not in body else _ESCAPE.sub(_replace, body)


@settings(max_examples=1000)
@given(TRICKY)
def test_unquote_shortcut_equals_the_regex_decoder(body: str) -> None:
    for token in ('"' + body + '"', '"' + body):  # whole, and cut short as a truncated line is
        assert unquote(token) == plain_unquote(token)
        assert _escaped_end(token) == plain_escaped_end(token)
        assert is_terminated(token) == (len(token) >= 2 and token.endswith('"') and not plain_escaped_end(token))


# Timestamps shaped like containerd's, mostly well formed, with every position free to go wrong.
def _mostly(valid: str, *wrong: str) -> st.SearchStrategy[str]:
    return st.sampled_from([valid] * 8 + list(wrong))


def _number(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda value: str(value).zfill(width))


STAMP_PARTS = st.tuples(
    _number(0, 9999, 4),
    _mostly("-", "W", "1"),
    _number(0, 13, 2),
    _mostly("-", "0"),
    _number(0, 32, 2),
    _mostly("T", " ", "t"),
    _number(0, 25, 2),
    _mostly(":", "0"),
    _number(0, 61, 2),
    _mostly(":", "."),
    _number(0, 61, 2),
    st.one_of(st.text("0123456789", max_size=12).map(lambda digits: "." + digits), st.text(".,0123456789 +-:Za٣")),
    _mostly("Z", "z", "", "+02:00", " Z", "ZZ"),
)


@settings(max_examples=2000)
@given(STAMP_PARTS)
def test_fast_timestamps_equal_the_regex_reading(parts: tuple[str, ...]) -> None:
    text = "".join(parts)
    fast, plain = parse_timestamp(text), _parse_rfc3339(text)
    assert fast == plain
    assert fast is None or (fast.tzinfo, fast.isoformat()) == (plain.tzinfo, plain.isoformat())  # type: ignore[union-attr]


def test_fast_timestamps_are_taken_for_containerd_times() -> None:
    assert parse_timestamp("2026-11-01T00:00:05.849999999Z") == _parse_rfc3339("2026-11-01T00:00:05.849999999Z")
    assert parse_timestamp("2026-11-01T00:00:05.849999999Z").microsecond == 849999  # type: ignore[union-attr]
    assert parse_timestamp("2026-02-30T00:00:00Z") is None  # fromisoformat refuses it, so does the regex


def plain_decode_text(text: str, fallback: datetime | None) -> LogEntry:
    """`_decode_text` as it was: every key=value pair through the general loop."""
    fields: dict[str, str] = {}
    for match in OLD_PAIR.finditer(text):
        key, value = match.group(1), match.group(2)
        if key not in fields:
            if key == "msg" and value.startswith('"') and not is_terminated(value):
                raise EnvelopeError("line cut inside msg")
            fields[key] = unquote(value) if value.startswith('"') else value
    msg = fields.pop("msg", None)
    if msg is None:
        raise EnvelopeError("logrus line without msg")
    time_text = fields.pop("time", None)
    moment = parse_timestamp(time_text) if time_text else None
    return LogEntry(msg, moment or fallback, fields.pop("level", None), fields)


def outcome(decode: Callable[[str, datetime | None], LogEntry], text: str) -> object:
    try:
        return decode(text, FALLBACK)
    except EnvelopeError as error:
        return str(error)


FALLBACK = datetime(2026, 1, 1, tzinfo=timezone.utc)
VALUES = st.sampled_from(
    ['"2026-11-01T00:00:05.849000000Z"', '""', "info", '"PullImage \\"nginx\\""', "bare", '"a b"', '"cut', '"x\\"']
)
PAIRS = st.tuples(st.sampled_from(["time", "level", "msg", "error", "ref", "x="]), VALUES)
SEPARATORS = st.sampled_from([" ", " ", "  ", "\t", "", "\n"])


@settings(max_examples=1500)
@given(st.lists(st.tuples(PAIRS, SEPARATORS), max_size=6), st.booleans(), VALUES, VALUES, VALUES)
def test_logrus_head_shortcut_equals_the_general_loop(
    pairs: list[tuple[tuple[str, str], str]], usual: bool, stamp: str, level: str, msg: str
) -> None:
    body = "".join(f"{key}={value}{separator}" for (key, value), separator in pairs).rstrip(" ")
    head = f"time={stamp} level={level} msg={msg}"  # the usual start, with odd values too
    text = head + (" " + body if body else "") if usual else body
    assert outcome(_decode_text, text) == outcome(plain_decode_text, text)
