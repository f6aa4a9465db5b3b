"""The fast parse route (pullwatch/parsers/fastpath.py) against the reference, line by line.

The reference is parse_line then parse_why_line (what parse_batch did alone before, and still
does with PULLWATCH_PARSE=reference). For every line the fast route either says it does not know
(and the reference decides) or gives exactly the reference's event: every field, the time's
tzinfo included. Inputs: every log under tests/ and examples/, logfactory output for every
version x envelope x level, the hostile inputs, and hypothesis mutations of real lines.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logfactory import ENVELOPES, VERSIONS, generate
from test_hostile_fuzz import CORPUS, FRAGMENTS, mutate
from test_hostile_parsing import ADVERSARIES

from pullwatch import parsers
from pullwatch.parsers import UnparsedLine, is_candidate, parse_batch, parse_line, parse_why_line
from pullwatch.parsers.events import PullEvent
from pullwatch.parsers.fastpath import UNKNOWN, fast_batch, fast_event

ROOT = Path(__file__).resolve().parent.parent
FALLBACK = datetime(2026, 11, 27, 9, 0, 0, tzinfo=timezone(timedelta(hours=2)))


def reference(line: str | bytes, fallback: datetime | None, node: str | None) -> PullEvent | str | None:
    try:
        return parse_line(line, fallback, node) or parse_why_line(line, fallback, node)
    except UnparsedLine:
        return "unparsed"


def same(fast: PullEvent, ref: object) -> bool:
    """Every field equal, and the time in the same zone (aware datetimes compare by instant)."""
    if not isinstance(ref, PullEvent) or fast != ref:
        return False
    if fast.time is None or ref.time is None:
        return fast.time is ref.time
    return fast.time.utcoffset() == ref.time.utcoffset() and fast.time.tzinfo == ref.time.tzinfo


def check(lines: Sequence[str | bytes], fallback: datetime | None = None, node: str | None = None) -> int:
    """Asserts fast == reference for each line that the fast route reads; returns how many."""
    taken = 0
    for line in lines:
        found = fast_event(line, fallback, node)
        if found is UNKNOWN:
            continue
        taken += 1
        ref = reference(line, fallback, node)
        assert isinstance(found, PullEvent)
        if found.node is not None and not found.node.isascii():
            parsers._valid_text(found)  # as parse_batch does: only a given node may need it
        assert same(found, ref), f"{line!r}\nfast: {found}\nreference: {ref}"
    return taken


def check_batch(lines: Sequence[str | bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_batch gives the same batch either way (events, counts)."""
    times = [FALLBACK if i % 2 else None for i in range(len(lines))]
    nodes = [f"node-{i % 3}" if i % 3 else None for i in range(len(lines))]
    fast = parse_batch(lines, times, None, nodes)
    monkeypatch.setenv("PULLWATCH_PARSE", "reference")
    ref = parse_batch(lines, times, None, nodes)
    monkeypatch.delenv("PULLWATCH_PARSE")
    assert (fast.lines, fast.unparsed, len(fast.events)) == (ref.lines, ref.unparsed, len(ref.events))
    for a, b in zip(fast.events, ref.events, strict=True):
        assert same(a, b), f"fast: {a}\nreference: {b}"


def log_files() -> list[Path]:
    found = [
        path
        for base in (ROOT / "tests", ROOT / "examples")
        for path in sorted(base.rglob("*"))
        if path.is_file() and path.suffix in (".log", ".json") and "__snapshots__" not in path.parts
    ]
    assert len(found) >= 15
    return found


def file_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if is_candidate(line)]


@pytest.mark.parametrize("path", log_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_log_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = file_lines(path)
    check(lines)
    check(lines, FALLBACK, "named-node")
    check([line.decode("utf-8", "backslashreplace") for line in lines])
    check_batch(lines, monkeypatch)


def test_the_real_recordings_take_the_fast_route() -> None:
    """containerd's own logs (examples/real, tests/realwhy) are what the patterns were fitted to."""
    lines = [line for path in log_files() if "real" in str(path) for line in file_lines(path)]
    assert check(lines) >= len(lines) // 2


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
def test_logfactory(version: str, envelope: str, debug: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    log = generate(seed=7, pulls=12, version=version, envelope=envelope, debug=debug, chatter=3)
    lines = [line.encode() for line in log.lines if is_candidate(line)]
    check(lines)
    check(lines, FALLBACK, "fallback")
    check_batch(lines, monkeypatch)
    zoned = generate(seed=8, pulls=4, version=version, envelope=envelope, debug=debug, chatter=1,
                     tz=timezone(timedelta(hours=-5)))  # fmt: skip
    check([line for line in zoned.lines if is_candidate(line)])


def test_hostile_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str | bytes] = [make(n) for make in ADVERSARIES.values() for n in (1, 50, 3000)]
    lines += [fragment.join(("", line[:80], line[80:])) for line in CORPUS[:200] for fragment in FRAGMENTS]
    rng = random.Random(11)
    lines += [mutate(rng.choice(CORPUS), rng) for _ in range(3000)]
    lines += [line.encode("utf-8", "surrogatepass") for line in lines[:500] if isinstance(line, str)]
    lines += [b"x" * (parsers.MAX_LINE_BYTES + 1) + b" PullImage", b"PullImage \xff\xfe", b""]
    check(lines)
    check(lines, FALLBACK, "n\udc80de")
    check_batch(lines, monkeypatch)


def _json_reordered(line: str, seed: int) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    items = list(record.items())
    random.Random(seed).shuffle(items)
    return json.dumps(dict(items), separators=(",", ":"))


_EDITS = st.sampled_from(
    ['\\"', "\\\\", "\\n", "\\x41", "\\u00e9", "é", "\u202e", "\x00", "\x1b", "\t", '"', " ", "=",
     ' msg="x"', ' error="e"', " level=debug", ' time="2026-01-01T00:00:00Z"', '"error":"e",', "\r"]
)  # fmt: skip


def _real_lines() -> list[str]:
    lines: list[str] = []
    for path in log_files():
        lines += [line.decode("utf-8", "backslashreplace") for line in file_lines(path)[:60]]
    return lines


REAL = _real_lines()


@st.composite
def mutated(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(REAL))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(line)))
        action = draw(st.sampled_from(["cut", "insert", "duplicate", "reorder"]))
        if action == "cut":
            line = line[:where]
        elif action == "insert":
            line = line[:where] + draw(_EDITS) + line[where:]
        elif action == "duplicate":
            end = min(len(line), where + draw(st.integers(1, 60)))
            line = line[:end] + " " + line[where:end] + line[end:]
        else:
            line = _json_reordered(line, where)
    return line


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=8))
def test_hypothesis_mutations_of_real_lines(lines: list[str]) -> None:
    check(lines)
    check([line.encode("utf-8", "surrogatepass") for line in lines], FALLBACK, "named")


def dense_lines(envelope: str = "journal-short") -> Iterator[bytes]:
    """Candidate lines of a dense (10% pull lines) log, made as bench/density.py does."""
    sys.path[:0] = [str(ROOT / "bench")]
    try:
        density = importlib.import_module("density")
    finally:
        del sys.path[0]
    base: list[str] = density.base_lines(envelope, 10, 300_000)
    for line in base:
        if is_candidate(line):
            yield line.encode()


@pytest.mark.parametrize("envelope", ["journal-short", "text", "json", "journal-json"])
def test_most_dense_candidate_lines_take_the_fast_route(envelope: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails when the fast route silently stops applying (a changed envelope, a new field)."""
    lines = list(dense_lines(envelope))
    assert len(lines) > 50
    taken = check(lines)
    assert taken >= 0.95 * len(lines), f"{taken} of {len(lines)} candidate lines took the fast route"
    _, misses = fast_batch(lines)  # the batch route too (parse_batch's)
    assert len(misses) <= 0.05 * len(lines)
    check_batch(lines, monkeypatch)


def test_reference_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PULLWATCH_PARSE=reference: parse_batch never calls the fast route."""
    lines = list(dense_lines())[:200]
    fast = parse_batch(lines)

    def refuse(*_: object) -> object:
        raise AssertionError("fast route used")

    monkeypatch.setattr(parsers, "fast_batch", refuse)
    monkeypatch.setenv("PULLWATCH_PARSE", "reference")
    ref = parse_batch(lines)
    assert [e.to_json() for e in fast.events] == [e.to_json() for e in ref.events]
    assert os.environ["PULLWATCH_PARSE"] == "reference"
