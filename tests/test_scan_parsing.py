"""The parser shortcuts made for reading speed (bench/speed.py) change no result.

The Go-string pattern was unrolled and `unquote` handles the common `\\"` escape without a regex;
both are checked here against the plain forms they replaced, on random input.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.gostrings import _ESCAPE, QUOTED, _escaped_end, _replace, quote, unquote

PLAIN_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
UNROLLED_QUOTED = re.compile(QUOTED)
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
@given(st.text())
def test_unquote_inverts_quote(text: str) -> None:
    surrogate_free = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert unquote(quote(surrogate_free)) == surrogate_free


def plain_unquote(token: str) -> str:
    """`unquote` as it was: every escape through the regex decoder."""
    body = token[1:-1] if len(token) >= 2 and token.endswith('"') and not _escaped_end(token) else token[1:]
    return body if "\\" not in body else _ESCAPE.sub(_replace, body)


@settings(max_examples=1000)
@given(TRICKY)
def test_unquote_shortcut_equals_the_regex_decoder(body: str) -> None:
    for token in ('"' + body + '"', '"' + body):  # whole, and cut short as a truncated line is
        assert unquote(token) == plain_unquote(token)
