"""json_text writes indented JSON of a flat dict with json's C encoder (for speed): the text must
be json.dumps's own."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from pullwatch.humanize import json_text
from pullwatch.parsers.timestamps import iso

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_KEYS = st.text(max_size=5) | st.integers() | st.booleans() | st.none()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8) | _VALUES, st.sampled_from([1, 2, 4]))
def test_indented_json_is_json_dumps_text(value: object, indent: int) -> None:
    expected = json.dumps(value, indent=indent, ensure_ascii=False)
    text = json_text(value, indent=indent)
    if all(line.isprintable() for line in expected.split("\n")):
        assert text == expected  # nothing to escape: the very text of json.dumps
    assert json.loads(text) == json.loads(expected)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8) | _VALUES, st.sampled_from([1, 2, 4]), st.integers(0, 3))
def test_nested_json_is_json_dumps_text_indented(value: object, indent: int, level: int) -> None:
    """`level` deep (a streamed report's pulls): json.dumps's text with each later line indented
    `level` * `indent` more, as the report's whole document would have it."""
    expected = json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + " " * (indent * level))
    text = json_text(value, indent=indent, level=level)
    if all(line.isprintable() for line in expected.split("\n")):
        assert text == expected
    assert json.loads(text) == json.loads(expected)


@settings(max_examples=500, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(0)), timezone(timedelta(hours=-5))])))
def test_iso_is_isoformat_text(moment: datetime) -> None:
    """iso formats UTC times itself (for speed): the text of isoformat, `Z` for `+00:00`."""
    text = moment.isoformat(timespec="microseconds")
    assert iso(moment) == (text[:-6] + "Z" if text.endswith("+00:00") else text)
