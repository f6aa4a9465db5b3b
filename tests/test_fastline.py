"""The compiled first route (parsers/_fastline.c) and the compiled event codec (parsers/eventframes.py).

The compiled route may leave any line to the Python routes, but a line it reads must give exactly
the reference's event (every field, the time's zone included) and the pure-Python route's. The
lines: the hot messages in every envelope from logfactory and bench/density.py, hypothesis lines
built around the patterns' edges (names, times, levels, numbers, hosts, what follows the msg),
and mutations of real lines. The codec must give back equal events, whatever their values hold,
and refuse a cut frame with ValueError.
"""

from __future__ import annotations

import json
import pickle
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logfactory import ENVELOPES, VERSIONS, generate
from test_fastpath import FALLBACK, REAL, dense_lines, mutated, reference, same

from pullwatch.parsers import eventframes, fastpath, is_candidate, parse_batch
from pullwatch.parsers.events import EventKind, PullEvent
from pullwatch.parsers.hosts import HostEvent, HostEventKind
from pullwatch.parsers.timestamps import iso
from pullwatch.sources import scanproc

compiled = fastpath.COMPILED
HOT = {EventKind.START, EventKind.RESULT, EventKind.STOP, EventKind.PULLED, EventKind.FAILED, EventKind.CANCEL,
       EventKind.IMAGE_CREATE, EventKind.IMAGE_UPDATE, EventKind.IMAGE_DELETE, EventKind.HOST}  # fmt: skip


def test_the_compiled_route_is_built() -> None:
    """`pip install .` builds it where a C compiler is (scripts/test.sh has one): without it every
    test below would pass on the pure-Python route alone."""
    assert compiled is not None, "parsers/_fastline.c was not built: install with a C compiler (gcc)"


def compiled_check(lines: list[str] | list[bytes] | list[str | bytes], node: str | None = None) -> int:
    """Each line the compiled route reads equals the reference and the pure-Python route; how many."""
    assert compiled is not None
    events, misses = compiled.batch(lines, None, node)
    assert len(events) == len(lines) and all((events[i] is None) == (i in set(misses)) for i in range(len(lines)))
    python, _ = fastpath.fast_batch(lines, None, None, node, compiled=False)
    for line, event, pure in zip(lines, events, python, strict=True):
        if event is None:
            continue
        assert event.kind in HOT
        assert same(event, reference(line, None, node)), f"{line!r}\ncompiled: {event}"
        assert pure is not None and same(event, pure), f"{line!r}\ncompiled: {event}\npython: {pure}"
    return len(lines) - len(misses)


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("version", VERSIONS)
def test_logfactory_hot_lines(version: str, envelope: str) -> None:
    log = generate(seed=3, pulls=15, version=version, envelope=envelope, debug=True, chatter=2)
    lines: list[str | bytes] = [line.encode() for line in log.lines if is_candidate(line)]
    taken = compiled_check(lines)
    compiled_check(lines, "named-node")
    python, _ = fastpath.fast_batch(lines, compiled=False)
    hot = sum(1 for event in python if event is not None and event.kind in HOT)
    if envelope in ("journal-short", "text", "json", "journal-json") and version != "1.5":
        assert taken >= 0.9 * hot, f"the compiled route read {taken} of {hot} hot lines"


@pytest.mark.parametrize("envelope", ["journal-short", "text", "json", "journal-json"])
def test_dense_logs_take_the_compiled_route(envelope: str) -> None:
    """Fails when the compiled route silently stops applying to the lines that fill dense logs."""
    lines: list[str | bytes] = list(dense_lines(envelope))
    python, _ = fastpath.fast_batch(lines, compiled=False)
    hot = sum(1 for event in python if event is not None and event.kind in HOT)
    assert hot > 0.8 * len(lines)
    assert compiled_check(lines) == hot


# The patterns' edges: every piece a line is made of, most often one the patterns take (so that
# the compiled route reads a good share of the lines), else one at or past their borders.
_EDGY_NAME = st.text(st.sampled_from('ab:/.@-_ 1Z"\\\t\x7f\x1bé,{}'), max_size=12)
_NAME = st.one_of(st.from_regex(r"[a-z0-9./:@_-]{0,30}", fullmatch=True), _EDGY_NAME)
_DIGITS = st.one_of(st.integers(0, 10**18).map(str), st.text(st.sampled_from("0123456789"), max_size=24))
_FRACTION = st.one_of(st.just(""), st.text(st.sampled_from("0123456789"), max_size=12).map(lambda d: "." + d))
_YEAR = st.sampled_from([0, 1, 1969, 1970, 2000, 2024, 2026, 2100, 8999, 9000, 9999])
_GOOD_TIME = st.datetimes(datetime(1970, 1, 1), datetime(8999, 12, 31)).map(
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")
)
_EDGY_TIME = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}",
    _YEAR, st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
)  # fmt: skip
_TIME = st.one_of(
    st.builds(lambda t, f: t + f + "Z", _GOOD_TIME, _FRACTION),
    st.builds(lambda t, f, z: t + f + z, st.one_of(_GOOD_TIME, _EDGY_TIME), _FRACTION,
              st.sampled_from(["Z", "", "+02:00", "z", "Z "])),
    _EDGY_NAME,
)
_LEVEL = st.sampled_from(["info", "info", "debug", "", "in fo", "warn=", "é", 'a"b', "level=x"])
_AFTER = st.sampled_from(
    ["", "", "", " error=\"x\"", " x", "x", "\\", "\r\n", "\n", " \x1b[31m", ' error="rpc error: code = NotFound"',
     ' error="a \\"b\\" c"', ' error="a\\nb"', ' error="x" host=y', " error=EOF", ' error="', ' error=""',
     ' error="failed to do request: Head \\"https://m:5000/v2/library/nginx/manifests/1.25?ns=docker.io\\": x"'
     " host=m:5000", ' error="Get \\"https://h/v2/r/blobs/sha256:ab\\"" host=h', ' error="x" host=',
     ' error="x" host=a b', ' error="x" host="h"', ' host=h error="x"']
)  # fmt: skip
_JSON_ERROR = st.sampled_from(["", "", '"error":"rpc error: code = NotFound desc = x",', '"error":"a \\"b\\"",',
                               '"error":"a\\nb",', '"error":"",', '"error":"x","host":"h",', '"error":x,',
                               '"host":"h",', '"error":"Head \\"https://h/v2/a/manifests/b\\"","host":"h:1",',
                               '"host":"h\\"",', '"host":"",'])


@st.composite
def message(draw: st.DrawFn) -> str:
    """A msg as the line writes it (inner quotes as `\\"`)."""
    name = draw(_NAME)
    kind = draw(st.sampled_from(["start", "result", "pulled", "stop", "failed", "cancel", "image", "host", "other"]))
    if kind == "start":
        return f'PullImage \\"{name}\\"'
    if kind == "result":
        return f'PullImage \\"{name}\\" returns image reference \\"{draw(_NAME)}\\"'
    if kind == "pulled":
        text = (f'Pulled image \\"{name}\\" with image id \\"{draw(_NAME)}\\", repo tag \\"{draw(_NAME)}\\", '
                f'repo digest \\"{draw(_NAME)}\\"')  # fmt: skip
        if draw(st.booleans()):
            duration = draw(st.sampled_from(["1.5s", "12ms", "-1s", "x", "1h2m", "", "1 s", "9999999999h"]))
            text += f', size \\"{draw(st.one_of(_DIGITS, _NAME))}\\" in {duration}'
        return text
    if kind == "stop":
        read = draw(_DIGITS)
        active = draw(st.sampled_from(["0", "-1", "12", "", "x"]))
        return f"stop pulling image {name}: active requests={active}, bytes read={read}"
    if kind == "failed":
        return f'PullImage \\"{name}\\" failed'
    if kind == "cancel":
        timeout = draw(st.sampled_from(["1m0s", "30s", "", "1 m", 'a"b', "x\\y"]))
        return f"cancel pulling image {name} because of no progress in {timeout}"
    if kind == "image":
        word = draw(st.sampled_from(["Create", "Update", "Delete", "Created", "create"]))
        named = draw(st.one_of(_NAME, _IMAGE_ID))
        labels = draw(_IMAGE_LABELS)
        if draw(st.booleans()):  # 1.6's gogo text
            inner = draw(st.sampled_from([word, "Create", "Delete", "Pull"]))
            tail = draw(st.sampled_from(["}", "}", "", "}}", "},"]))
            return f"Image{word} event &Image{inner}{{Name:{named},Labels:map[string]string{{{labels}}},{tail}"
        return f'Image{word} event name:\\"{named}\\"{draw(st.sampled_from(["", "  ", "x"]))}{labels}'
    if kind == "host":
        return draw(st.sampled_from(["trying next host", "trying next host", "trying next hosts", "trying next host "]))
    return draw(st.sampled_from(["ImageCreate event name:\\\"a\\\"", "hello"]))


_IMAGE_ID = st.text(st.sampled_from("0123456789abcdefA"), min_size=63, max_size=65).map(lambda hex: "sha256:" + hex)
# As the line writes them (inner quotes as `\"`): 1.7+'s protobuf text, 1.6's Go map, and neither.
_IMAGE_LABELS = st.sampled_from(
    ['labels:{key:\\"io.cri-containerd.image\\"  value:\\"managed\\"}', 'labels:{key:\\"io.cri-containerd.image\\" '
     'value:\\"managed\\"}', "io.cri-containerd.image: managed,", 'labels:{key:\\"x\\" value:\\"y\\"}', "",
     "io.cri-containerd.image: managed\\n", "{}", "a,b"]
)  # fmt: skip


# A `journalctl -o json` record's parts: its _HOSTNAME, the other fields, the spacing, the MESSAGE's escapes.
_RECORD_HOST = st.sampled_from(
    ['"node-1"', '"node-1"', '""', "null", "[110,49]", '"n\\u00e9"', '"n\\u0041"', '"n\\"o"', '"n o"', "1", "true"]
)
_RECORD_FIELD = st.sampled_from(
    ['"PRIORITY":"6"', '"_PID":"812"', '"__REALTIME_TIMESTAMP":"1795503601308659"', '"X":null', '"X":[1,2]',
     '"X":[01]', '"X":{}', '"X":"\\ud800"', '"X":"a\tb"', '"X":"\\x"', '"MESSAGE":null', '"MESS\\u0041GE":"x"',
     '"_HOSTNAME":"other"', '"X":-1', '"X":"\\/"']
)  # fmt: skip
_SPACE = st.sampled_from(["", "", "", " ", "\t", "\n "])


def _json_quote(text: str, escapes: str) -> str:
    """A str as JSON, with one of the spellings json.loads reads the same."""
    body = json.dumps(text)[1:-1]
    if escapes == "slash":
        body = body.replace("/", "\\/")
    elif escapes == "unicode":
        body = body.replace("P", "\\u0050").replace(" ", "\\u0020")
    elif escapes == "ends":
        body = "\\n " + body + "\\t\\u001f"
    elif escapes == "control":
        body = body.replace(" ", "\\u0007", 1)
    return '"' + body + '"'


@st.composite
def record(draw: st.DrawFn, text: str) -> str:
    fields = [f'"MESSAGE":{_json_quote(text, draw(st.sampled_from(["", "", "slash", "unicode", "ends", "control"])))}']
    fields += [f'"_HOSTNAME":{draw(_RECORD_HOST)}'] if draw(st.booleans()) else []
    fields += draw(st.lists(_RECORD_FIELD, max_size=3))
    order = draw(st.permutations(fields))
    space = draw(_SPACE)
    head = draw(st.sampled_from(["{", "{", "{ ", "["]))
    tail = draw(st.sampled_from(["}", "}", "} ", "}x", "},"]))
    return head + ("," + space).join(order) + tail


@st.composite
def line(draw: st.DrawFn) -> str:
    msg, time, level, after = draw(message()), draw(_TIME), draw(_LEVEL), draw(_AFTER)
    envelope = draw(st.sampled_from(["short", "text", "json", "journal"]))
    if envelope == "journal":
        return draw(record(f'time="{time}" level={level} msg="{msg}"{after}'))
    if envelope == "json":
        head = "{" + draw(_JSON_ERROR) + '"level":"' + level
        return head + '","msg":"' + msg + '","time":"' + time + '"}' + after.strip(" ")
    text = f'time="{time}" level={level} msg="{msg}"{after}'
    if envelope == "short":
        day = draw(st.sampled_from(["01", " 1", "1", "28", "001", "x1"]))
        host = draw(st.sampled_from(["node-1", "node-1", 'n"o', "n\\o", "", "n o", "é", "n\x1bo"]))
        ident = draw(st.sampled_from(["containerd[812]", "containerd", "containerd", "c[x]", "c:", "[1]", "c{"]))
        stamp = draw(st.sampled_from(["00:00:00", "23:59:59.123", "00:00:00.", "0:00:00", "00:00:00 "]))
        text = f"Nov {day} {stamp} {host} {ident}: {text}"
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line(), min_size=1, max_size=6))
def test_hypothesis_lines_at_the_patterns_edges(lines: list[str]) -> None:
    compiled_check(list(lines))
    compiled_check([text.encode("utf-8", "surrogatepass") for text in lines], "node")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=8))
def test_hypothesis_mutations_of_real_lines(lines: list[str]) -> None:
    compiled_check(list(lines))


def test_the_real_recordings_take_the_compiled_route() -> None:
    taken = compiled_check(list(REAL))
    assert taken >= 0.2 * len(REAL)
    assert compiled is not None
    read = {event.kind for event in compiled.batch(list(REAL), None, None)[0] if event is not None}
    assert read >= HOT - {EventKind.CANCEL}, f"real lines of these kinds never take the compiled route: {HOT - read}"


_DURATION = st.builds(
    lambda whole, fraction, unit: whole + fraction + unit,
    st.text(st.sampled_from("0123456789"), min_size=0, max_size=8),
    st.one_of(st.just(""), st.text(st.sampled_from("0123456789"), max_size=11).map(lambda d: "." + d)),
    st.sampled_from(["s", "ms", "m", "h", "us", "ns", "", "sms"]),
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_DURATION, min_size=1, max_size=8))
def test_hypothesis_pull_durations(durations: list[str]) -> None:
    """The compiled route reads one-unit durations (s, ms) itself: the same float as Python's."""
    lines = [
        f'time="2026-11-27T08:00:27.886Z" level=info msg="Pulled image \\"a:1\\" with image id \\"sha256:1\\", '
        f'repo tag \\"a:1\\", repo digest \\"a@sha256:2\\", size \\"12\\" in {duration}"'
        for duration in durations
    ]
    compiled_check(lines)


def test_a_plain_duration_holds_no_reference_it_does_not_own() -> None:
    """Each Pulled line whose duration the compiled route reads itself leaves None's count as it was."""
    assert compiled is not None
    line = (
        'time="2026-11-27T08:00:27.886Z" level=info msg="Pulled image \\"a:1\\" with image id \\"sha256:1\\", '
        'repo tag \\"a:1\\", repo digest \\"a@sha256:2\\", size \\"12\\" in 1.5s"'
    )
    compiled.batch([line] * 5000, None, None)  # (the string caches settle; other tests' objects may die meanwhile)
    before = sys.getrefcount(None)
    events, misses = compiled.batch([line] * 5000, None, None)
    assert not misses and events[0].duration_seconds == 1.5
    del events
    assert sys.getrefcount(None) - before < 1000  # a leak per line: +5000


def test_nodes_per_line_and_fallback_times() -> None:
    """parse_batch's per-line nodes (a journal) and fallback times give the same batch either way."""
    lines = list(dense_lines("text"))[:400]
    nodes = [None if i % 3 == 0 else f"n{i % 5}" if i % 3 == 1 else "nœud" for i in range(len(lines))]
    times = [FALLBACK if i % 2 else None for i in range(len(lines))]
    fast = fastpath.fast_batch(lines, times, nodes, "given")
    pure = fastpath.fast_batch(lines, times, nodes, "given", compiled=False)
    assert fast[1] == pure[1] and len(fast[0]) == len(pure[0])
    assert all(a is b is None or (a is not None and same(a, b)) for a, b in zip(fast[0], pure[0], strict=True))
    assert any(event is not None and event.node == "n1" for event in fast[0])


def test_python_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PULLWATCH_PARSE=python: parse_batch leaves the compiled route out, and gets the same batch."""
    lines = list(dense_lines())[:300]
    fast = parse_batch(lines)
    assert compiled is not None
    monkeypatch.setattr(compiled, "batch", None)  # called: a TypeError
    with pytest.raises(TypeError):
        parse_batch(lines)
    monkeypatch.setenv("PULLWATCH_PARSE", "python")
    pure = parse_batch(lines)
    assert [e.to_json() for e in fast.events] == [e.to_json() for e in pure.events]


def test_configure_refuses_another_event_type() -> None:
    assert compiled is not None

    class Other:
        __slots__ = ("kind",)

    numbers = (1970, 8999, 4096, 1024)
    rest = (None, None, None, None, ("label",), None)
    with pytest.raises(ValueError, match="fields"):
        compiled.configure(Other, ("kind",), *([None] * 8), *numbers, *rest)
    names = tuple(f.name for f in PullEvent.__dataclass_fields__.values())
    with pytest.raises(ValueError, match="not a slot"):  # the same names, not a slots class
        compiled.configure(type("Plain", (), dict.fromkeys(names)), names, *([None] * 8), *numbers, *rest)
    for labels in (["label"], ("",), ("é",), (b"x",)):  # what it searches an image event's tail for: ASCII str
        with pytest.raises((TypeError, ValueError), match="label"):
            compiled.configure(PullEvent, names, *([None] * 8), *numbers, *rest[:4], labels, None)
    compiled_check(list(dense_lines())[:100])  # still configured as before


# ---- the codec


def odd_events() -> list[PullEvent]:
    """Events holding every kind of value a field may hold, the ones the codec has no tag for too."""
    base = list(dense_lines())[:50]
    events = [event for event in parse_batch(base).events]
    name = "a" * 5000
    events += [
        PullEvent(EventKind.HOST, "h", "h", None, None, detail=HostEvent(HostEventKind.RESOLVING, "h")),
        PullEvent(EventKind.START, "é\u202e", "n\udc80", datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5)))),
        PullEvent(EventKind.PULLED, name, name, datetime(2026, 1, 1, 1, 1, 1, 7), size_bytes=2**70, bytes_read=-3,
                  duration_seconds=float("inf")),
        PullEvent(EventKind.PULLED, "", "", datetime(2026, 1, 1, fold=1, tzinfo=timezone.utc), size_bytes=2**63 - 1,
                  duration_seconds=0.1, managed=True, node=""),
        PullEvent(EventKind.IMAGE_DELETE, "x", "x", datetime.max.replace(tzinfo=timezone.utc), level="info"),
    ]
    return events


def test_codec_round_trip() -> None:
    events = odd_events()
    for use_compiled in (True, False):
        data = eventframes.encode(events, use_compiled)
        assert data[:1] == (b"C" if use_compiled else b"K")
        back = eventframes.decode(data)
        assert len(back) == len(events)
        for a, b in zip(events, back, strict=True):
            assert same(a, b) or (a == b and a.time is b.time is None), f"{a}\n{b}"
            assert type(a.time) is type(b.time) and (a.time is None or a.time.fold == b.time.fold)  # type: ignore[union-attr]
    assert eventframes.decode(eventframes.encode([])) == []


def test_codec_frame_shares_repeated_strings() -> None:
    """A str that many events hold (the compiled route shares repeated names) is written once."""
    events = parse_batch(list(dense_lines())[:2000]).events
    image = "registry.example/some/image-name-of-some-length:1.2.3"
    many = [PullEvent(EventKind.START, image, image, raw=f"line {i}") for i in range(100)]
    data = eventframes.encode(events + many)
    # (the codec's table of strings written is direct-mapped: a raw line landing in the image's slot
    # makes it write the image once more, a few percent of runs; without sharing it is 100 times)
    assert data.count(image.encode()) <= 3
    back = eventframes.decode(data)
    assert [e.to_json() for e in back] == [e.to_json() for e in events + many]
    assert len({id(e.image) for e in back[len(events) :]}) <= 3


def test_codec_refuses_a_cut_or_foreign_frame() -> None:
    data = eventframes.encode(odd_events())
    for end in range(0, len(data), max(1, len(data) // 300)):
        with pytest.raises(ValueError):
            eventframes.decode(data[:end])
    with pytest.raises(ValueError):
        eventframes.decode(data + b"\x00")
    with pytest.raises(ValueError):
        eventframes.decode(b"X" + data[1:])
    with pytest.raises(ValueError):
        eventframes.decode(b"CPWE2" + data[5:])
    with pytest.raises(TypeError):
        eventframes.encode([object()])  # type: ignore[list-item]


def test_scanproc_frames_use_the_codec() -> None:
    """The child's P frames carry the compiled codec's bytes, and read back as the batch."""
    batch = parse_batch(list(dense_lines())[:100])
    data = scanproc.encode_parsed(batch)
    assert data.split(b"\n", 1)[1][:1] == b"C"
    back = scanproc.decode_parsed(data, batch.lines)
    assert (back.lines, back.unparsed) == (batch.lines, batch.unparsed)
    assert [e.to_json() for e in back.events] == [e.to_json() for e in batch.events]
    assert pickle.loads(pickle.dumps(back.events[0])) == back.events[0]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_iso_of_a_utc_time_is_the_references(moment: datetime) -> None:
    """timestamps.iso's compiled part: the `%`-format of a UTC time's fields, as isoformat has it."""
    assert compiled is not None
    expected = moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert compiled.iso_utc(moment) == expected == iso(moment)


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))), "2026-01-01", None],
)
def test_iso_leaves_other_times_to_python(moment: object) -> None:
    assert compiled is not None and compiled.iso_utc(moment) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"_HOSTNAME":"node-1","MESSAGE":"@"}',
        '{ "MESSAGE":"@" , "_HOSTNAME" : "node-1" , "PRIORITY":"6", "X":[104,105], "Y":null }',
        '{"__REALTIME_TIMESTAMP":"1795503601308659","MESSAGE":"@"}',  # no _HOSTNAME: the given node
        '{"_HOSTNAME":"","MESSAGE":"@"}',
        '{"_HOSTNAME":null,"MESSAGE":"@"} ',
        '{"MESSAGE":"\\n @\\t"}',  # str.strip's ends
        '{"MESSAGE":"@","X":"\\ud800\\/\\u0041"}',
    ],
)
def test_journal_records_take_the_compiled_route(text: str) -> None:
    """journalctl -o json records, spelt as json.loads reads them, whose MESSAGE is a hot line."""
    inner = json.dumps('time="2026-11-27T08:00:27.886000000Z" level=info msg="PullImage \\"nginx:1.25\\""')[1:-1]
    line = text.replace("@", inner.replace("/", "\\/") if "\\/" in text else inner)
    assert compiled_check([line], "given") == 1
    assert compiled_check([line.encode()]) == 1


def test_batch_holds_its_lines_while_python_code_runs() -> None:
    """A caller's list changed from Python code that runs during a batch (here a node lookup)
    changes nothing in it: the batch reads the lines it was given, and does not crash."""
    assert compiled is not None
    lines: list[bytes] = list(dense_lines())[:3]
    expected, expected_misses = compiled.batch(list(lines), None, None)
    assert len(expected_misses) < 3

    class Nodes:
        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> None:
            if index >= 3:
                raise IndexError(index)
            lines.clear()
            lines.extend([b"x" * 200] * 3)

    events, misses = compiled.batch(lines, Nodes(), None)
    assert misses == expected_misses
    assert [e and e.to_json() for e in events] == [e and e.to_json() for e in expected]


def test_batch_says_when_its_nodes_cannot_be_read() -> None:
    assert compiled is not None

    class Broken:
        def __bool__(self) -> bool:
            raise RuntimeError("no nodes")

    with pytest.raises(RuntimeError, match="no nodes"):
        compiled.batch(list(dense_lines())[:2], Broken(), None)


def test_a_frame_whose_value_fails_midway_is_a_value_error() -> None:
    """A pickled zone where a time's parts should be: one ValueError, no read after the failure."""
    import struct

    zone = pickle.dumps(timezone.utc, 5)
    frame = b"PWE1" + struct.pack("=I", 1) + bytes([9, 200]) + bytes([10]) + struct.pack("=I", len(zone)) + zone
    with pytest.raises(ValueError):
        eventframes.decode(b"C" + frame + bytes(18))
