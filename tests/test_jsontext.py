"""The compiled JSON writer (pullwatch/_jsontext.c) against humanize.json_text_python, the reference.

Where the compiled writer takes a value, its text must be the reference's, character for character,
at every indent and level a report uses: hypothesis values of every JSON type with text of every
kind (controls, DEL, C1, bidi, tag and unassigned characters, lone surrogates, astral ones), floats
at their edges, big ints, and real reports. What it declines (subclasses, other key types, deep
nesting, an int too long to print) is written by the reference, errors included.
"""

from __future__ import annotations

import enum
import json
import math
import sys
from pathlib import Path

import pytest
from clihelp import run
from hypothesis import given, settings
from hypothesis import strategies as st

from pullwatch import humanize
from pullwatch.humanize import json_text, json_text_python

compiled = humanize.COMPILED
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_compiled_writer_is_built() -> None:
    """`pip install .` builds it where a C compiler is: without it these tests prove nothing."""
    assert compiled is not None, "pullwatch/_jsontext.c was not built: install with a C compiler (gcc)"


def same(value: object, indent: int | None, level: int) -> None:
    assert compiled is not None
    text = compiled.json_text(value, indent, level)
    assert text is not None, value
    assert text == json_text_python(value, indent, level)


# Text from every corner: what a terminal acts on, what str.isprintable refuses, and plain names.
ODD = ["\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u200b", "\u202e", "\u2028", "\ufeff", "\U000e0041", "\U0010ffff"]
ODD += ["\ud800", "\udc80", "\udfff", "\u0378", '"', "\\", "\n", "\r", "\t", "\b", "\f", "é", "漢", "\U0001f600"]
TEXT = st.text(st.one_of(st.characters(), st.sampled_from(ODD)), max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e300, 5e-324, 1e16, 0.1, 2.5]),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(TEXT, inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(VALUES, st.sampled_from([None, 0, 1, 2, 4]), st.integers(min_value=0, max_value=3))
def test_any_value_is_written_as_the_reference_writes_it(value: object, indent: int | None, level: int) -> None:
    same(value, indent, level)


@pytest.mark.parametrize("indent", [None, 2])
def test_text_of_every_code_point_is_the_references(indent: int | None) -> None:
    """Every code point, 4,096 to a string: the printable test is str.isprintable's own."""
    for start in range(0, sys.maxunicode + 1, 4096):
        chunk = "".join(map(chr, range(start, min(start + 4096, sys.maxunicode + 1))))
        same({"k" + chunk[:3]: chunk, "n": [chunk[::-1]]}, indent, 2)
        if start + 4096 <= 0xD800 or start >= 0xE000:  # (lone surrogates side by side read back as one character)
            assert json.loads(json_text(chunk, indent)) == chunk


DEEP: list[object] = ["deep"]
for _ in range(70):
    DEEP = [DEEP]


class Status(str, enum.Enum):
    DONE = "done"


class Number(int):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {"status": Status.DONE},  # a str subclass: json writes its value
        {"n": Number(3)},
        {1: "a", None: "b", False: "c", 2.5: "d"},  # keys json turns into text
        {"set": {1}},  # not JSON: json's TypeError
        DEEP,
        {"big": 10**5000},  # longer than int's print limit: json's ValueError
    ],
)
def test_what_it_declines_is_the_references(value: object) -> None:
    assert compiled is not None
    for indent in (None, 2):
        assert compiled.json_text(value, indent, 1) is None
        try:
            expected: str | type[Exception] = json_text_python(value, indent, 1)
        except (TypeError, ValueError) as error:
            expected = type(error)
        if isinstance(expected, str):
            assert json_text(value, indent, 1) == expected
        else:
            with pytest.raises(expected):
                json_text(value, indent, 1)


def test_a_list_that_holds_itself_is_declined_not_followed() -> None:
    loop: list[object] = []
    loop.append(loop)
    assert compiled is not None and compiled.json_text({"loop": loop}, 2, 0) is None
    with pytest.raises(ValueError):
        json_text({"loop": loop}, 2, 0)


def test_floats_are_json_floats() -> None:
    text = json_text([math.nan, math.inf, -math.inf, -0.0, 1e300, 0.1], None)
    assert text == "[NaN, Infinity, -Infinity, -0.0, 1e+300, 0.1]"


@pytest.mark.parametrize("log", sorted(p.name for p in EXAMPLES.glob("containerd-*")))
@pytest.mark.parametrize("args", [["report", "--format", "json"], ["events"]])
def test_reports_are_the_same_with_the_python_writer(log: str, args: list[str]) -> None:
    """The installed command, compiled writer against PULLWATCH_JSON=python, on every example log."""
    compiled_run = run([*args, str(EXAMPLES / log)])
    python_run = run([*args, str(EXAMPLES / log)], env={"PULLWATCH_JSON": "python"})
    assert compiled_run.returncode == python_run.returncode == 0, compiled_run.stderr
    assert compiled_run.stdout == python_run.stdout
    assert compiled_run.stdout.strip()
