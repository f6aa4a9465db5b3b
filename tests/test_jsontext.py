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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from clihelp import run
from hypothesis import given, settings
from hypothesis import strategies as st

from pullwatch import humanize, ingest, output
from pullwatch.humanize import json_text, json_text_python
from pullwatch.reasons import HostAttempt, Reasons
from pullwatch.records import PullRecord, PullStatus
from pullwatch.sources.options import SourceOptions

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


# ---- a pull record's JSON straight from its slots (output.pull_json_text)

_UTC_TIMES = st.datetimes(timezones=st.just(timezone.utc))
TIMES = st.one_of(  # mostly what the compiled writer takes (None, UTC), else what it leaves to iso()
    st.none(),
    _UTC_TIMES,
    _UTC_TIMES,
    _UTC_TIMES,
    _UTC_TIMES,
    _UTC_TIMES,
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=2)), timezone(timedelta(0))])),
    st.datetimes(),
)
NAMES = st.one_of(st.none(), TEXT)
PODS = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["default/web-1", "web", "/web", "ns/", "a/b/c", "", "kube-system/é\u202e"]), max_size=3),
    st.lists(TEXT, max_size=2),
)


@st.composite
def records(draw: st.DrawFn) -> PullRecord:
    record = PullRecord(draw(st.integers(0, 10**6)), draw(TEXT), draw(TEXT), status=draw(st.sampled_from(PullStatus)))
    for name in ("started_at", "finished_at", "deleted_at"):
        setattr(record, name, draw(TIMES))
    for name in ("size_bytes", "bytes_read"):
        setattr(record, name, draw(st.one_of(st.none(), st.integers(), st.integers(-(10**40), 10**40))))
    record.duration_seconds = draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
    for name in ("image_id", "repo_tag", "repo_digest", "snapshotter", "error", "removed_by", "node"):
        setattr(record, name, draw(NAMES))
    record.downloaded = draw(st.sampled_from([None, True, False]))
    reasons = record.reasons
    reasons.failure, reasons.failure_code = draw(NAMES), draw(NAMES)
    reasons.pods = draw(PODS)
    reasons.stuck = draw(st.sampled_from([None, True, False]))
    reasons.stuck_since = draw(TIMES)
    if draw(st.integers(0, 5)) == 0:
        reasons.hosts = [HostAttempt(draw(TEXT), draw(st.sampled_from([None, "served", "failed"])))]
    return record


def record_same(record: PullRecord) -> bool:
    """record_text's text is json_text_python(to_json()); whether the compiled writer took it."""
    assert compiled is not None
    text = compiled.record_text(record, 2, 2)
    reference = json_text_python(record.to_json(), 2, 2)
    assert output.pull_json_text(record) == reference
    if text is not None:
        assert text == reference
        for indent, level in ((None, 0), (0, 0), (4, 1), (2, 0)):
            assert compiled.record_text(record, indent, level) == json_text_python(record.to_json(), indent, level)
    return text is not None


def test_the_report_writes_records_with_the_compiled_writer() -> None:
    assert output._RECORD_TEXT is not None, "configure_records refused PullRecord.to_json's keys"


@settings(max_examples=500, deadline=None)
@given(records())
def test_any_record_is_written_as_to_json_is(record: PullRecord) -> None:
    record_same(record)


def test_the_records_of_real_logs_are_written_as_to_json_is() -> None:
    """Every pull of the example logs and the real why recordings (hosts, pods, failures)."""
    taken = total = 0
    for log in [*EXAMPLES.glob("containerd-*"), *(EXAMPLES.parent / "tests" / "realwhy").glob("*.log")]:
        for record in ingest.load(SourceOptions(paths=(str(log),))).pulls:
            taken += record_same(record)
            total += 1
    assert total > 50 and taken > total // 2


def test_what_record_text_declines() -> None:
    """Another type, hosts (served_by, mirrors_skipped are worked out), a time not in UTC."""
    assert compiled is not None
    assert compiled.record_text(object(), 2, 2) is None
    assert compiled.record_text(PullRecord(1, "a", "a"), 2, 2) is not None
    with_hosts = PullRecord(1, "a", "a")
    with_hosts.reasons.hosts = []
    local = PullRecord(1, "a", "a", started_at=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    for record in (with_hosts, local):
        assert compiled.record_text(record, 2, 2) is None
        record_same(record)
    assert compiled.record_text(PullRecord(1, "a", "a"), 64, 60) is None  # beyond its prefixes
    assert compiled.record_text(PullRecord(1, "a", "a"), 2, 2**62) is None  # (no overflow of the product)


def test_configure_records_refuses_other_keys() -> None:
    assert compiled is not None
    keys = tuple(PullRecord(0, "", "").to_json())
    texts = {status: status.value for status in PullStatus}
    for wrong in (keys[:-1], (*keys[:-1], "host"), tuple(reversed(keys))):
        with pytest.raises(ValueError, match="key"):
            compiled.configure_records(PullRecord, Reasons, texts, wrong, timezone.utc)
    assert compiled.record_text(PullRecord(1, "a", "a"), 2, 2) is not None  # still configured as before
