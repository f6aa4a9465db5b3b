"""A fast route for the pull lines that fill dense logs; `parse_line` stays the reference.

`fast_batch(lines, times, nodes, node)` reads a batch of candidate lines in one loop, each with
one compiled pattern per envelope: journald's short prefix or bare logrus text (one pattern, the
prefix optional), logrus JSON (containerd's keys, sorted), and `journalctl -o json` records
(json.loads, then the text pattern on a MESSAGE that is logrus text). Each pattern is the
envelope's head followed by one alternative per hot message (start, result, failed, snapshotter,
pulled, stop, cancel, image events, and any other msg, read by the reference's own decoders from
the fields), each alternative ending in an empty group: the match's `lastindex` tells which
message matched, and a prebuilt tuple of group numbers reads its fields in one call.

For each line it gives the event `parse_line` (then `parse_why_line`) would, or says it does not
know: a line that is not ASCII, longer than MAX_LINE_BYTES, with an escape other than `\\"` in the
parts it reads, whose node is not ASCII, or of any other shape. It never raises and never decides
that a line is unparsed or not a pull line: the reference does (tests/test_fastpath.py proves the
two equal). The events it gives are ASCII throughout, so they need no `_valid_text`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from pullwatch.parsers.durations import parse_go_duration
from pullwatch.parsers.envelope import LogEntry, _pairs, journal_host
from pullwatch.parsers.events import RAW_LINE_LIMIT, EventKind, PullEvent
from pullwatch.parsers.gostrings import unquote
from pullwatch.parsers.hosts import next_host_line
from pullwatch.parsers.messages import _DISPATCH, _IMAGE_ID, _MANAGED, _fetch, _progress, _sandbox, byte_count
from pullwatch.parsers.refs import normalize
from pullwatch.parsers.timestamps import (
    _FROMISOFORMAT_TAKES_Z,
    FIRST_YEAR,
    LAST_YEAR,
    from_epoch_micros,
    parse_timestamp,
)

# A pull line longer than this is counted as unparsed without being decoded: it bounds the work
# one line can cost. journald splits messages at LineMax (48 KiB by default), so a real pull line
# is far shorter, even as a `journalctl -o json` record whose MESSAGE is an array of byte values.
# (parsers.MAX_LINE_BYTES, defined here for both routes.)
MAX_LINE_BYTES: Final = 256 * 1024


class _Unknown:
    """The fast path's "don't know": the reference decides."""

    __slots__ = ()


UNKNOWN: Final = _Unknown()

_CTRL = r"\x00-\x1f\x7f"  # never read here: JSON refuses them raw, and `\s` differs
# `\s` (re.ASCII's) spelt out for character sets: a set is then one bitmap, not a bitmap and a category.
_S = r" \t\n\r\f\v"
# A Go/JSON string body with no escape but `\"`: decoded by replacing `\"` with `"`.
_BODY = r'[^"\\' + _CTRL + r']*(?:\\"[^"\\' + _CTRL + r"]*)*"
# The same with no escape at all.
_PLAIN = r'[^"\\' + _CTRL + r"]*"
# A quoted name inside a msg (`\"name\"` in the line), with no escape at all.
_Q = r'\\"(' + _PLAIN + r')\\"'
# A Go `\S+` run without quotes or backslashes.
_WORD = r"[^" + _S + r'"\\' + _CTRL + r"]+"
# logrus's UTC time, the shape timestamps.parse_timestamp hands to datetime.fromisoformat.
_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+Z|Z)"  # the optional fraction as an alternative: cheaper

# journalctl's short / short-precise prefix (envelope._JOURNAL_PREFIX with a month-day time) and
# its host: `Mmm dd hh:mm:ss[.us] host ident[pid]: ` (optional parts as alternatives: cheaper).
_SHORT_PREFIX = (
    r"[A-Z][a-z]{2} [ 0-9]?\d \d\d:\d\d:\d\d(?: |\.\d+ )(?P<host>[^" + _S + _CTRL + r"]+) "
    r"[^" + _S + r"\[\]=\"{:" + _CTRL + r"]+(?:\[\d+\]: |: )"
)
# Text: the head envelope._LOGRUS_HEAD reads (time, level, a quoted msg); after the msg, the
# fields (`rest`, read by the reference's pair reader when used).
_TEXT_HEAD = (
    r'time="(?:(?P<utc>' + _UTC + r")|(?P<time>" + _PLAIN + r'))" '
    r"level=(?P<level>" + _WORD[:-1].replace(_S, _S + "=") + r'+) msg="'
)
_TEXT_TAIL = r'"(?P<rest_@> .*|)'
# logrus JSON as containerd writes it: compact, keys sorted, an optional error first, then an
# optional host (the resolver's "trying next host" lines; `rest`, the fields after msg in text).
_JSON_HEAD = (
    r'\{(?:"error":"(?P<error>' + _BODY + r')",)?(?:"host":"(?P<rest>' + _PLAIN + r')",)?"level":"(?P<level>'
    + _PLAIN + r')","msg":"'
)
_JSON_TAIL = r'","time":"(?:(?P<utc_@>' + _UTC + r")|(?P<time_@>" + _BODY + r'))"\}'


def _q(name: str) -> str:
    """A quoted name inside a msg (`\"name\"` in the line), with no escape at all."""
    return r'\\"(?P<' + name + ">" + _PLAIN + r')\\"'


# The messages, on the msg as the line writes it (inner quotes as `\"`), as alternatives: each
# ends in its kind's `<tail:kind>` (the envelope's tail, then an empty group). The four PullImage
# messages share their start (one read of the name, not four).
_MESSAGES = (
    "PullImage " + _q("pull_image") + "(?:"
    + " returns image reference " + _q("result_id") + "<tail:result>"
    + "| failed<tail:failed>"
    + "| with snapshotter (?P<snapshotter_name>[^" + _S + r',"\\' + _CTRL + r']*),?(?P<snapshotter_tail>[^"\\' + _CTRL
    + r"]*)<tail:snapshotter>"
    + "|<tail:start>)",
    "Pulled image " + _q("pulled_image") + " with image id " + _q("pulled_id") + ", repo tag " + _q("pulled_tag")
    + ", repo digest " + _q("pulled_digest") + "(?:, size " + _q("pulled_size")
    + " in (?P<pulled_duration>" + _WORD + r"))?<tail:pulled>",
    "stop pulling image (?P<stop_image>" + _WORD + r"): active requests=(?P<stop_active>-?\d+), "
    r"bytes read=(?P<stop_read>\d+)<tail:stop>",
    "cancel pulling image (?P<cancel_image>" + _WORD + ") because of no progress in (?P<cancel_timeout>"
    + _WORD + ")<tail:cancel>",
    r"Image(?P<image_word>Create|Update|Delete) event (?:&Image(?:Create|Update|Delete)\{Name:(?P<image_gogo_name>"
    + r'[^,{}"\\' + _CTRL + "]*),(?P<image_gogo_tail>" + _BODY + r")\}|name:" + _q("image_name")
    + "(?P<image_tail>" + _BODY + "))<tail:image>",
    "(?P<other_body>" + _BODY + ")<tail:other>",  # any other msg: the reference's decoders, from the fields
    "(?!)(?P<nothing>)",  # never: the group that is always None (the fields an envelope has not)
)  # fmt: skip
# Each kind's fields (group names): what every tuple starts with (the envelope's), then the message's.
_ENVELOPE_FIELDS = ("host", "utc", "time", "level", "error", "rest")
_KINDS: dict[str, tuple[EventKind | None, tuple[str, ...]]] = {
    "start": (EventKind.START, ("pull_image",)),
    "result": (EventKind.RESULT, ("pull_image", "result_id")),
    "failed": (EventKind.FAILED, ("pull_image",)),
    "snapshotter": (EventKind.SNAPSHOTTER, ("pull_image", "snapshotter_name", "snapshotter_tail")),
    "pulled": (
        EventKind.PULLED,
        ("pulled_image", "pulled_id", "pulled_tag", "pulled_digest", "pulled_size", "pulled_duration"),
    ),
    "stop": (EventKind.STOP, ("stop_image", "stop_active", "stop_read")),
    "cancel": (EventKind.CANCEL, ("cancel_image", "cancel_timeout")),
    "image": (EventKind.IMAGE_CREATE, ("image_word", "image_gogo_name", "image_gogo_tail", "image_name", "image_tail")),
    "other": (None, ("other_body",)),
}
_WIDTH = len(_ENVELOPE_FIELDS) + max(len(fields) for _, fields in _KINDS.values())


class _Layout:
    """An envelope's pattern (its head, then the messages, each closed by an empty group) and, by
    that group's number (the match's lastindex), the message's kind and the group numbers of its
    fields (_ENVELOPE_FIELDS then the message's, padded to _WIDTH with the group that is always
    None). The text is ASCII: re.ASCII gives the same matches, faster."""

    def __init__(self, head: str, tail: str) -> None:
        self.json = "error" in head
        body = "|".join(_MESSAGES)
        for name in _KINDS:
            body = body.replace(f"<tail:{name}>", tail.replace("@", name) + f"(?P<end_{name}>)")
        self.pattern = re.compile(head + "(?:" + body + ")", re.DOTALL | re.ASCII)
        index = self.pattern.groupindex
        nothing = index["nothing"]
        self.specs: dict[int, tuple[EventKind | None, tuple[int, ...]]] = {}
        for name, (kind, fields) in _KINDS.items():
            numbers = [index.get(field) or index.get(f"{field}_{name}") or nothing for field in _ENVELOPE_FIELDS]
            numbers += [index[field] for field in fields]
            numbers += [nothing] * (_WIDTH - len(numbers))
            self.specs[index[f"end_{name}"]] = (kind, tuple(numbers))


_SHORT = _Layout(_SHORT_PREFIX + _TEXT_HEAD, _TEXT_TAIL)
_TEXT = _Layout(_TEXT_HEAD, _TEXT_TAIL)
_JSON = _Layout(_JSON_HEAD, _JSON_TAIL)


@lru_cache(maxsize=1024)
def _seconds(duration: str) -> float | None:
    seconds = parse_go_duration(duration)
    return seconds if seconds is not None and seconds >= 0 else None


# The kinds as plain globals: an Enum member's attribute lookup costs more than a global's.
_START, _RESULT, _FAILED, _SNAPSHOTTER = EventKind.START, EventKind.RESULT, EventKind.FAILED, EventKind.SNAPSHOTTER
_PULLED, _STOP, _CANCEL, _IMAGE_CREATE = EventKind.PULLED, EventKind.STOP, EventKind.CANCEL, EventKind.IMAGE_CREATE
_IMAGE_KINDS = {"Create": EventKind.IMAGE_CREATE, "Update": EventKind.IMAGE_UPDATE, "Delete": EventKind.IMAGE_DELETE}


def _compiled() -> Any:
    """The compiled first route (parsers/_fastline.c), configured; None where it was not built
    (it is optional: built where a C compiler is)."""
    try:
        module = importlib.import_module("pullwatch.parsers._fastline")
    except ImportError:
        return None
    module.configure(
        PullEvent, tuple(field.name for field in dataclasses.fields(PullEvent)),
        _START, _RESULT, _STOP, _PULLED, _FAILED, _CANCEL, normalize, _seconds,
        FIRST_YEAR, LAST_YEAR, RAW_LINE_LIMIT, MAX_LINE_BYTES,
        EventKind.IMAGE_CREATE, EventKind.IMAGE_UPDATE, EventKind.IMAGE_DELETE, EventKind.HOST, _MANAGED,
        next_host_line,
    )  # fmt: skip
    return module


COMPILED: Any = _compiled()
_SHORT_MATCH, _TEXT_MATCH, _JSON_MATCH = _SHORT.pattern.fullmatch, _TEXT.pattern.fullmatch, _JSON.pattern.fullmatch
_SHORT_SPECS, _TEXT_SPECS, _JSON_SPECS = _SHORT.specs, _TEXT.specs, _JSON.specs


def fast_batch(
    lines: Sequence[str | bytes],
    times: Sequence[datetime | None] | None = None,
    nodes: Sequence[str | None] | None = None,
    node: str | None = None,
    compiled: bool = True,
) -> tuple[list[PullEvent | None], list[int]]:
    """For each line (`times[i]` its fallback time, `nodes[i]` its node, else `node`, as in
    parsers.parse_batch) the event parse_line / parse_why_line give, or None where the fast route
    does not know; and the numbers of those lines, for the reference to read. The compiled route
    (_fastline.c, when built and `compiled`) reads the lines it is sure of first; this module's
    loop reads the others."""
    if COMPILED is None or not compiled:
        return _python_batch(lines, times, nodes, node)
    events: list[PullEvent | None]
    misses: list[int]
    events, misses = COMPILED.batch(lines, nodes, node)
    if not misses:
        return events, misses
    found, left = _python_batch(
        [lines[index] for index in misses],
        [times[index] for index in misses] if times else None,
        [nodes[index] for index in misses] if nodes else None,
        node,
    )
    for index, event in zip(misses, found, strict=True):
        events[index] = event
    return events, [misses[index] for index in left]


def _python_batch(
    lines: Sequence[str | bytes],
    times: Sequence[datetime | None] | None = None,
    nodes: Sequence[str | None] | None = None,
    node: str | None = None,
) -> tuple[list[PullEvent | None], list[int]]:
    """fast_batch's own loop: every line, one compiled pattern per envelope."""
    events: list[PullEvent | None] = []
    misses: list[int] = []
    add, miss = events.append, misses.append
    fromiso, takes_z, first_year, last_year = datetime.fromisoformat, _FROMISOFORMAT_TAKES_Z, FIRST_YEAR, LAST_YEAR
    short_match, text_match, json_match = _SHORT_MATCH, _TEXT_MATCH, _JSON_MATCH
    short_specs, text_specs, json_specs = _SHORT_SPECS, _TEXT_SPECS, _JSON_SPECS
    limit, raw_limit = MAX_LINE_BYTES, RAW_LINE_LIMIT
    batch_node_ascii = node is None or node.isascii()
    for index, line in enumerate(lines):
        if len(line) > limit or not line.isascii():
            add(None)
            miss(index)
            continue
        text = line.decode("ascii") if isinstance(line, bytes) else line
        if text.endswith(("\n", "\r")):
            text = text.rstrip("\r\n")
        raw = text[:raw_limit]
        record = False
        first = text[:1]
        if first == "{":
            if '"MESSAGE":"' in text:  # a journalctl -o json record
                found = _journal_record(text)
                if found is None:
                    add(None)
                    miss(index)
                    continue
                inner, host, stamp = found
                match = text_match(inner)
                record = True
                is_json = False
                specs = text_specs
            else:
                match = json_match(text)
                is_json = True
                specs = json_specs
        elif first == "t":
            match = text_match(text)
            is_json = False
            specs = text_specs
        else:
            match = short_match(text)
            is_json = False
            specs = short_specs
        if match is None:
            add(None)
            miss(index)
            continue
        kind, numbers = specs[match.lastindex]  # type: ignore[index]
        prefix_host, utc, other, level, error, rest, image, a, b, c, d, e = match.group(*numbers)
        if not record:
            host = prefix_host
        if host is None:
            host = nodes[index] if nodes else node
            if host is not None and not (host.isascii() if nodes else batch_node_ascii):
                add(None)  # a given node that is not ASCII: the reference escapes it
                miss(index)
                continue
        if utc is not None and takes_z:  # timestamps.parse_timestamp's fast route, inlined
            try:
                moment: datetime | None = fromiso(utc)
            except ValueError:
                moment = parse_timestamp(utc)
            else:
                if not first_year <= moment.year <= last_year:  # type: ignore[union-attr]
                    moment = None
        else:
            other = utc or other
            moment = parse_timestamp(other.replace('\\"', '"') if is_json else other) if other else None
        if moment is None:
            if record:
                moment = None if stamp is None else from_epoch_micros(stamp)
            else:
                moment = times[index] if times else None
        # The hot kinds' events are built with positional arguments (PullEvent's field order): cheaper.
        if kind is _START:
            event: PullEvent | None = PullEvent(
                kind, image, normalize(image), moment, level,
                None, None, None, None, None, None, None, None, None, None, None, False, host, raw,
            )  # fmt: skip
        elif kind is _STOP:
            read = int(b) if 0 < len(b) < 20 else byte_count(b)  # digits: fewer than 20 fit in a long
            event = PullEvent(
                kind, image, normalize(image), moment, level,
                None, None, None, None, None, read, None, None, None, None, None, False, host, raw,
            )  # fmt: skip
        elif kind is _PULLED:
            size_bytes = seconds = None
            if d is not None and e is not None:
                size_bytes = int(d) if 0 < len(d) < 20 and d.isdigit() else byte_count(d)
                seconds = _seconds(e)
            event = PullEvent(
                kind, image, normalize(image), moment, level, a or None, b or None, c or None,
                size_bytes, seconds, None, None, None, None, None, None, False, host, raw,
            )  # fmt: skip
        elif kind is _RESULT:
            event = PullEvent(
                kind, image, normalize(image), moment, level,
                a, None, None, None, None, None, None, None, None, None, None, False, host, raw,
            )  # fmt: skip
        elif kind is _FAILED:
            error = _fields(is_json, error, rest).get("error")
            event = PullEvent(kind, image, normalize(image), moment, level, error=error, node=host, raw=raw)
        elif kind is _SNAPSHOTTER:
            tail = (b or "").strip()
            method = tail[len("using ") :] if tail.startswith("using ") else None
            event = PullEvent(
                kind, image, normalize(image), moment, level, snapshotter=a, pull_method=method, node=host, raw=raw
            )
        elif kind is _CANCEL:
            event = PullEvent(
                kind, image, normalize(image), moment, level,
                timeout=a, error=f"cancelled: no progress in {a}", node=host, raw=raw,
            )  # fmt: skip
        elif kind is _IMAGE_CREATE:  # and update, delete: `image` is the word
            name, tail = (a, b) if a is not None else (c, d)
            name, tail = name or "", (tail or "").replace('\\"', '"')
            ref = name if _IMAGE_ID.fullmatch(name) else normalize(name)
            event = PullEvent(_IMAGE_KINDS[image], name, ref, moment, level, node=host, raw=raw)
            event.managed = any(label in tail for label in _MANAGED)
        else:
            event = _by_fields(is_json, error, rest, image, moment, level, host, raw, text)
            if event is None:
                add(None)
                miss(index)
                continue
        add(event)
    return events, misses


def fast_event(
    line: str | bytes, fallback_time: datetime | None = None, fallback_node: str | None = None
) -> PullEvent | _Unknown:
    """The event parse_line(line, fallback_time, fallback_node) gives (or parse_why_line's), or
    UNKNOWN (never None: whether a line is a pull line at all is left to the reference)."""
    events, _ = fast_batch((line,), (fallback_time,), None, fallback_node)
    event = events[0]
    return UNKNOWN if event is None else event


def _journal_record(text: str) -> tuple[str, str | None, str | None] | None:
    """A `journalctl -o json` record whose MESSAGE is a logrus text line: that line (stripped),
    the record's _HOSTNAME (None when not a non-empty string) and __REALTIME_TIMESTAMP; None for
    anything else."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    message = record.get("MESSAGE")
    if not isinstance(message, str):
        return None
    inner = message.strip()
    if not (inner.startswith('time="') and inner.isascii()):
        return None
    host = journal_host(record)  # None: the given node, as the reference does
    if host is not None and not host.isascii():
        return None
    stamp = record.get("__REALTIME_TIMESTAMP")
    return inner, host, stamp if isinstance(stamp, str) else None


def _fields(is_json: bool, error: str | None, rest: str | None) -> dict[str, str]:
    """The entry's fields other than time, level and msg, as the reference reads them."""
    if is_json:  # the two fields its pattern allows: error, and host as `rest`
        json_fields = {} if error is None else {"error": error.replace('\\"', '"')}
        if rest is not None:
            json_fields["host"] = rest
        return json_fields
    fields: dict[str, str] = {}
    if rest:
        for key, value in _pairs(rest, 0):
            if key not in fields:
                fields[key] = unquote(value) if value.startswith('"') else value
        for key in ("time", "level", "msg"):  # repeated keys: the first one counts
            fields.pop(key, None)
    return fields


def _by_fields(
    is_json: bool,
    error: str | None,
    rest: str | None,
    body: str,
    moment: datetime | None,
    level: str,
    node: str | None,
    raw: str,
    line: str,
) -> PullEvent | None:
    """Progress, layer fetch and sandbox lines by the reference's own decoders, and resolver
    lines (why lines: no pull message, so parse_why_line's) by its _why_event; None when not sure."""
    from pullwatch import parsers  # rare routes: the package is loaded by then

    msg = body.replace('\\"', '"')
    if msg.startswith(_DISPATCH_PREFIXES):  # a pull message: parse_line decides
        decoder = _BY_FIELDS.get(msg)
        if decoder is None and msg.startswith("RunPodSandbox for "):
            decoder = _sandbox
        if decoder is None or not any(keyword in line for keyword in parsers.PULL_KEYWORDS):
            return None  # parse_line reads only lines with a pull keyword (decoded text may add one)
        decoded = decoder(LogEntry(msg, moment, level, _fields(is_json, error, rest)), raw)
    else:  # parse_line gives None: parse_why_line decides
        if not any(keyword in line for keyword in parsers.WHY_KEYWORDS):
            return None
        decoded = parsers._why_event(LogEntry(msg, moment, level, _fields(is_json, error, rest)), raw)
    if decoded is None:
        return None
    decoded.node = node
    return decoded


# Messages read with the reference's decoders, from fields read as the reference reads them.
_BY_FIELDS = {
    "progress for image pull": _progress,
    "fetch response received": _fetch,
}
_DISPATCH_PREFIXES = tuple(prefix for prefix, _ in _DISPATCH)
