"""Envelopes: the same containerd line, however it is wrapped, gives the same pull event.

Hand-written lines check each envelope's details (prefixes, times, offsets, JSON quirks); a
matrix then renders every pull-path line of every containerd version in every envelope the
fixture generator knows and requires the event to equal the one from the plain logrus text line.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from logfactory import ENVELOPES, VERSIONS, Line, Pull, journal_json, pull_lines, render

from pullwatch.parsers import UnparsedLine, parse_line
from pullwatch.parsers.events import PULL_KINDS, EventKind, PullEvent

UTC = timezone.utc
K3S_ZONE = timezone(timedelta(hours=2))
T0 = datetime(2026, 11, 27, 8, 0, 1, 123456, tzinfo=UTC)
START_TEXT = 'time="2026-11-27T08:00:01.123456789Z" level=info msg="PullImage \\"nginx:1.25\\""'
IMAGE_ID = "sha256:" + "5f" * 32


def start_event(line: str) -> PullEvent:
    event = parse_line(line)
    assert event is not None
    assert event.kind is EventKind.START
    assert event.image == "nginx:1.25"
    assert event.ref == "docker.io/library/nginx:1.25"
    return event


# ---- each envelope, by hand ---------------------------------------------------------------------


def test_logrus_text() -> None:
    event = start_event(START_TEXT)
    assert event.time == T0  # nine fractional digits cut to Python's six
    assert event.level == "info"
    assert event.raw == START_TEXT


def test_logrus_json() -> None:
    event = start_event('{"level":"info","msg":"PullImage \\"nginx:1.25\\"","time":"2026-11-27T08:00:01.123456789Z"}')
    assert (event.time, event.level) == (T0, "info")


def test_logrus_json_fields_keep_html_escapes_decoded() -> None:
    """logrus JSON escapes & < > as \\u0026 \\u003c \\u003e; json.loads gives them back."""
    line = (
        '{"error":"failed to fetch anonymous token: Get \\"https://auth.docker.io/token?scope=repository%3Ax'
        '\\u0026service=registry.docker.io\\": \\u003ctimeout\\u003e","level":"error",'
        '"msg":"PullImage \\"nginx:1.25\\" failed","time":"2026-11-27T08:00:01.123456789Z"}'
    )
    event = parse_line(line)
    assert event is not None and event.kind is EventKind.FAILED
    assert event.error is not None
    assert "&service=registry.docker.io" in event.error and "<timeout>" in event.error


def test_tty_layout_message_is_raw_and_padded() -> None:
    msg = 'PullImage "nginx:1.25"'
    line = f"INFO[2026-11-27T08:00:01.123456789Z] {msg:<44} "
    event = start_event(line)
    assert (event.time, event.level) == (T0, "info")


def test_tty_layout_fields_after_two_spaces() -> None:
    msg = 'PullImage "nginx:1.25" failed'
    line = f'ERRO[2026-11-27T08:00:01.123456789Z] {msg:<44}  error="rpc error: code = NotFound desc = not found"'
    event = parse_line(line)
    assert event is not None and event.kind is EventKind.FAILED
    assert (event.level, event.error) == ("error", "rpc error: code = NotFound desc = not found")


def test_tty_layout_stop_line_equals_signs_are_message_text() -> None:
    msg = "stop pulling image docker.io/library/nginx:1.25: active requests=0, bytes read=1234"
    event = parse_line(f"INFO[2026-11-27T08:00:01.123456789Z] {msg} ")
    assert event is not None and event.kind is EventKind.STOP
    assert event.bytes_read == 1234


@pytest.mark.parametrize(
    "prefix",
    [
        "Nov 27 08:00:01 node-1 containerd[812]: ",  # journalctl (-o short)
        "Nov 27 08:00:01.123456 node-1 containerd[812]: ",  # -o short-precise
        "Nov  7 08:00:01 node-1 containerd[812]: ",  # single-digit day, space padded
        "2026-11-27T08:00:01+0000 node-1 containerd[812]: ",  # -o short-iso
        "2026-11-27T08:00:01.123456+00:00 node-1 containerd[812]: ",  # -o short-iso-precise
        "containerd[812]: ",  # pasted with the date and host cut off
        "Nov 27 08:00:01 node-1 env[651820]: ",  # Flatcar runs containerd through env
        "Nov 27 08:00:01 node-1 k3s[1234]: ",  # k3s --debug used to log containerd into its own unit
    ],
)
def test_journal_prefixes(prefix: str) -> None:
    event = start_event(prefix + START_TEXT)
    assert event.time == T0  # the time= field wins over the prefix (which has no year)


def test_short_iso_prefix_gives_the_time_when_the_line_has_none() -> None:
    event = start_event('2026-11-27T10:00:01+0200 node-1 containerd[812]: level=info msg="PullImage \\"nginx:1.25\\""')
    assert event.time == datetime(2026, 11, 27, 8, 0, 1, tzinfo=UTC)


def test_short_prefix_without_time_field_leaves_the_time_unknown() -> None:
    """The short prefix has no year (and is in the viewer's zone): not a time to compute with."""
    event = start_event('Nov 27 08:00:01 node-1 containerd[812]: level=info msg="PullImage \\"nginx:1.25\\""')
    assert event.time is None


@pytest.mark.parametrize(
    "line",
    [
        'level=info msg="PullImage \\"nginx:1.25\\""',
        'msg="PullImage \\"nginx:1.25\\""',
        'containerd[812]: level=info msg="PullImage \\"nginx:1.25\\""',
    ],
)
def test_lines_without_time_still_parse(line: str) -> None:
    assert start_event(line).time is None


def test_k3s_file_keeps_the_local_offset() -> None:
    line = 'time="2026-11-27T10:00:01.123456789+02:00" level=info msg="PullImage \\"nginx:1.25\\""'
    event = start_event(line)
    assert event.time == T0
    assert event.time is not None and event.time.utcoffset() == timedelta(hours=2)


def test_journal_json_message_string() -> None:
    event = start_event(journal_json(START_TEXT, T0))
    assert event.time == T0


def test_journal_json_message_byte_array() -> None:
    event = start_event(journal_json(list(START_TEXT.encode()), T0))
    assert event.time == T0


def test_journal_json_byte_array_with_invalid_utf8_is_decoded_not_refused() -> None:
    data = list((START_TEXT + ' note="\xff"').encode("latin-1"))
    assert start_event(journal_json(data, T0)).image == "nginx:1.25"


def test_journal_json_message_holding_logrus_json() -> None:
    """containerd with [debug] format = "json" under journald: JSON text inside MESSAGE."""
    inner = '{"level":"info","msg":"PullImage \\"nginx:1.25\\"","time":"2026-11-27T08:00:01.123456789Z"}'
    assert start_event(journal_json(inner, T0)).time == T0


def test_journal_json_message_without_time_field_uses_the_journal_time() -> None:
    moment = datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC)
    event = start_event(journal_json('level=info msg="PullImage \\"nginx:1.25\\""', moment))
    assert event.time == moment


@pytest.mark.parametrize(
    "line",
    [
        journal_json(None, T0),  # journalctl without -a: fields over 4096 bytes become null
        journal_json([300, 1], T0),  # not bytes
        journal_json(["a"], T0),
        journal_json({"not": "PullImage"}, T0),
        '["PullImage \\"nginx\\""]',  # JSON, but not an object
        '"PullImage \\"nginx\\""',
        '{"msg": 12, "note": "PullImage"}',  # an object without a string msg
        '{"msg":"PullImage \\"nginx\\""',  # cut JSON
    ],
    ids=["null", "big-ints", "strings", "object", "array", "string", "msg-not-text", "cut"],
)
def test_bad_journal_and_json_records_are_unparsed(line: str) -> None:
    with pytest.raises(UnparsedLine):
        parse_line(line)


def test_json_values_of_other_types_become_text() -> None:
    line = json.dumps(
        {
            "activeReqs": 1,
            "level": "debug",
            "msg": "progress for image pull",
            "ref": "docker.io/library/nginx:1.25",
            "reportInterval": 10000000000,
            "totalBytesRead": 5242880,
        }
    )
    event = parse_line(line)
    assert event is not None and event.kind is EventKind.PROGRESS
    assert event.bytes_read == 5242880 and event.time is None


# ---- every envelope × every pull-path line of every version ----------------------------------


def _lines_of_every_kind(version: str) -> list[Line]:
    """Every pull-path line `version` writes: completed, failed, cancelled and sandbox pulls at debug."""
    pulls = [
        Pull("nginx:1.25", T0, 25.5, 70_000_000, 69_000_000, image_id=IMAGE_ID),
        Pull("quay.io/team/app:v1", T0, 3.25, 1_000, 900, outcome="failed", image_id=IMAGE_ID),
        Pull("busybox", T0, 61.0, 1_000, 10, outcome="cancelled", image_id=IMAGE_ID),
        Pull("registry.k8s.io/pause:3.9", T0, 0.85, 300_000, 0, sandbox=True, image_id=IMAGE_ID),
        Pull("registry.k8s.io/pause:3.9", T0, 0.85, 300_000, 0, outcome="failed", sandbox=True, image_id=IMAGE_ID),
        Pull(f"gcr.io/distroless/static@sha256:{'ab' * 32}", T0, 1.5, 2_000, 2_000, image_id=IMAGE_ID),
    ]
    lines = [line for pull in pulls for line in pull_lines(pull, version, debug=True)]
    lines += _image_store_lines(version)
    return [line for line in lines if parse_line(render(line, "text")) is not None]


def _image_store_lines(version: str) -> list[Line]:
    """The CRI's image events and a debug layer fetch, as real 1.6.20 / 1.7.24 / 2.1.9 write them
    (examples/real/): 1.6 prints the gogo struct, 1.7+ the protobuf text."""
    managed = (
        "Labels:map[string]string{io.cri-containerd.image: managed,},XXX_unrecognized:[],"
        if version in ("1.5", "1.6")
        else 'labels:{key:"io.cri-containerd.image"  value:"managed"}'
    )
    lines = []
    for word, name in (("Create", "docker.io/library/nginx:1.25"), ("Update", IMAGE_ID), ("Delete", IMAGE_ID)):
        if version in ("1.5", "1.6"):
            tail = f",{managed}" if word != "Delete" else ",XXX_unrecognized:[],"
            lines.append(Line(T0, "info", f"Image{word} event &Image{word}{{Name:{name}{tail}}}"))
        else:
            tail = f"  {managed}" if word != "Delete" else ""
            lines.append(Line(T0, "info", f'Image{word} event name:"{name}"{tail}'))
    layer = "application/vnd.oci.image.layer.v1.tar+gzip"
    fetch = {"digest": IMAGE_ID, "mediatype": layer, "response.status": "200 OK"}
    lines.append(Line(T0, "debug", "fetch response received", fetch))
    return lines


MATRIX = [(version, index) for version in VERSIONS for index in range(len(_lines_of_every_kind(version)))]


@pytest.mark.parametrize("envelope", [e for e in ENVELOPES if e != "text"])
@pytest.mark.parametrize(("version", "index"), MATRIX, ids=[f"{v}-{i}" for v, i in MATRIX])
def test_every_envelope_gives_the_text_lines_event(version: str, index: int, envelope: str) -> None:
    line = _lines_of_every_kind(version)[index]
    expected = parse_line(render(line, "text"))
    got = parse_line(render(line, envelope, host="node-7"))
    assert expected is not None and got is not None
    assert got.time == line.time
    # the node: the host of a journal prefix or record, none where the envelope names none
    assert got.node == ("node-7" if envelope.startswith("journal-") and envelope != "journal-trimmed" else None)
    got.raw = expected.raw = ""
    got.node = None
    assert got == expected


@pytest.mark.parametrize(("version", "index"), MATRIX, ids=[f"{v}-{i}" for v, i in MATRIX])
def test_k3s_lines_at_a_local_offset(version: str, index: int) -> None:
    line = _lines_of_every_kind(version)[index]
    local = Line(line.time.astimezone(K3S_ZONE), line.level, line.msg, line.fields)
    rendered = render(local, "k3s")
    assert '+02:00"' in rendered
    expected, got = parse_line(render(line, "text")), parse_line(rendered)
    assert expected is not None and got is not None
    assert got.time is not None and got.time.utcoffset() == timedelta(hours=2)
    got.raw = expected.raw = ""
    assert got == expected  # the same instant


@pytest.mark.parametrize(("version", "index"), MATRIX, ids=[f"{v}-{i}" for v, i in MATRIX])
def test_lines_without_time_field(version: str, index: int) -> None:
    """People paste lines with the time cut off: the same event, with no time."""
    line = _lines_of_every_kind(version)[index]
    rendered = render(line, "text")
    cut = rendered[rendered.index("level=") :]
    expected, got = parse_line(rendered), parse_line(cut)
    assert expected is not None and got is not None
    assert got.time is None
    expected.time = None
    got.raw = expected.raw = ""
    assert got == expected


def test_the_matrix_covers_every_kind_of_pull_line() -> None:
    kinds = {parse_line(render(line, "text")).kind for v in VERSIONS for line in _lines_of_every_kind(v)}  # type: ignore[union-attr]
    assert kinds == PULL_KINDS  # the why kinds (host, kubelet, removal) are tested in test_hosts_kubelet.py
