"""A fast route for the pull lines that fill dense logs; `parse_line` stays the reference.

`fast_event(line, fallback_time, fallback_node)` reads one candidate line with a few compiled
patterns fitted to how containerd writes its hot messages (start, result, failed, pulled, stop,
cancel, snapshotter, image events, and progress / layer fetch / sandbox lines through the
reference's own decoders) in the envelopes that carry them: journald's short prefix, bare
logrus text, logrus JSON (containerd's keys, sorted) and `journalctl -o json` records whose
MESSAGE is logrus text. It returns the event `parse_line` would, or UNKNOWN when it is not sure:
a line that is not printable ASCII, longer than MAX_LINE_BYTES, with an escape other than `\\"`
in the parts it reads, or of any other shape. It never raises and never decides that a line is
unparsed or not a pull line: the reference does (tests/test_fastpath.py proves the two equal).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Final

from pullwatch.parsers.durations import parse_go_duration
from pullwatch.parsers.envelope import LogEntry, _pairs, journal_host
from pullwatch.parsers.events import RAW_LINE_LIMIT, EventKind, PullEvent
from pullwatch.parsers.gostrings import unquote
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
# A Go/JSON string body with no escape but `\"`: decoded by replacing `\"` with `"`.
_BODY = r'[^"\\' + _CTRL + r']*(?:\\"[^"\\' + _CTRL + r"]*)*"
# A quoted name inside a msg (`\"name\"` in the line), with no escape at all.
_Q = r'\\"([^"\\' + _CTRL + r']*)\\"'
# A Go `\S+` run without quotes or backslashes.
_WORD = r'[^\s"\\' + _CTRL + r"]+"
# logrus's UTC time, the shape timestamps.parse_timestamp hands to datetime.fromisoformat.
_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"

# The envelopes, around a msg pattern. Text: the head envelope._LOGRUS_HEAD reads (time, level,
# a quoted msg) and the fields after it (`rest`, read by the reference's pair reader when used).
_TEXT_HEAD = (
    r'time="(?:(?P<utc>'
    + _UTC
    + r')|(?P<time>[^"\\'
    + _CTRL
    + r']*))" level=(?P<level>'
    + _WORD[:-1].replace(r"\s", r"\s=")
    + r'+) msg="'
)
_TEXT_TAIL = r'"(?P<rest> .*|)'
# journalctl's short / short-precise prefix (envelope._JOURNAL_PREFIX with a month-day time): what
# comes before `: time="`, and its host.
_SHORT_PREFIX = re.compile(
    r"[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? ([^\s" + _CTRL + r"]+) "
    r"[^\s\[\]=\"{:" + _CTRL + r"]+(?:\[\d+\])?"
)
# The usual prefix, `Mmm dd hh:mm:ss ` then `host ident[pid]`, is read in two cached parts: the
# time (the same for every line of a second) and the rest (the same for every line of a node).
_SHORT_TIME = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d")
_SHORT_REST = re.compile(r"([^\s" + _CTRL + r"]+) [^\s\[\]=\"{:" + _CTRL + r"]+(?:\[\d+\])?")
_SHORT_TIMES: set[str] = set()
_SHORT_HOSTS: dict[str, str] = {}
_CACHED = 4096  # entries of each cache, at most
# logrus JSON as containerd writes it: compact, keys sorted, an optional error first.
_JSON_HEAD = r'\{(?:"error":"(?P<error>' + _BODY + r')",)?"level":"(?P<level>' + _BODY + r')","msg":"'
_JSON_TAIL = r'","time":"(?:(?P<utc>' + _UTC + r")|(?P<time>" + _BODY + r'))"\}'

# The messages, on the msg as the line writes it (inner quotes as `\"`).
_MESSAGES = {
    EventKind.START: r"PullImage " + _Q,
    EventKind.RESULT: r"PullImage " + _Q + r" returns image reference " + _Q,
    EventKind.FAILED: r"PullImage " + _Q + r" failed",
    EventKind.SNAPSHOTTER: (
        r"PullImage " + _Q + r' with snapshotter ([^\s,"\\' + _CTRL + r']*),?([^"\\' + _CTRL + r"]*)"
    ),
    EventKind.PULLED: (
        r"Pulled image " + _Q + r" with image id " + _Q + r", repo tag " + _Q + r", repo digest " + _Q
        + r"(?:, size " + _Q + r" in (" + _WORD + r"))?"
    ),
    EventKind.STOP: r"stop pulling image (" + _WORD + r"): active requests=(-?\d+), bytes read=(\d+)",
    EventKind.CANCEL: r"cancel pulling image (" + _WORD + r") because of no progress in (" + _WORD + r")",
    EventKind.IMAGE_CREATE: (
        r"Image(Create|Update|Delete) event (?:&Image(?:Create|Update|Delete)\{Name:([^,{}\"\\" + _CTRL + r"]*),("
        + _BODY + r")\}|name:" + _Q + "(" + _BODY + r"))"
    ),
    None: "(" + _BODY + ")",  # any other message: the reference's decoders, from the fields
}  # fmt: skip
_IMAGE_KINDS = {"Create": EventKind.IMAGE_CREATE, "Update": EventKind.IMAGE_UPDATE, "Delete": EventKind.IMAGE_DELETE}
# Messages read with the reference's decoders, from fields read as the reference reads them.
_BY_FIELDS = {
    "progress for image pull": _progress,
    "fetch response received": _fetch,
}


class _Shape:
    """One compiled pattern (an envelope around a message) and where its groups are."""

    __slots__ = ("error", "level", "message", "pattern", "rest", "time", "utc")

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern, re.DOTALL)
        index = self.pattern.groupindex
        self.error, self.utc, self.time, self.rest = (
            index.get(name, 0) - 1 for name in ("error", "utc", "time", "rest")
        )
        self.level = index["level"] - 1
        self.message = index["level"]  # the message's groups follow level's


class _Layout:
    """An envelope: one shape per message."""

    def __init__(self, head: str, tail: str) -> None:
        self.shapes = {kind: _Shape(head + message + tail) for kind, message in _MESSAGES.items()}
        self.json = "error" in self.shapes[None].pattern.groupindex


_TEXT = _Layout(_TEXT_HEAD, _TEXT_TAIL)
_JSON = _Layout(_JSON_HEAD, _JSON_TAIL)


@lru_cache(maxsize=1024)
def _seconds(duration: str) -> float | None:
    seconds = parse_go_duration(duration)
    return seconds if seconds is not None and seconds >= 0 else None


def fast_event(
    line: str | bytes, fallback_time: datetime | None = None, fallback_node: str | None = None
) -> PullEvent | _Unknown:
    """The event parse_line(line, fallback_time, fallback_node) gives, or UNKNOWN
    (never None: whether a line is a pull line at all is left to the reference)."""
    if len(line) > MAX_LINE_BYTES or not line.isascii():
        return UNKNOWN
    text = line.decode("ascii") if isinstance(line, bytes) else line
    if text.endswith(("\n", "\r")):
        text = text.rstrip("\r\n")
    first = text[:1]
    if first == "{":
        if '"MESSAGE":"' in text:
            return _journal_record(text, fallback_node)
        at = text.find('"msg":"') + 7
        if at < 7:
            return UNKNOWN
        return _decode(_JSON, text, 0, text, at, fallback_time, fallback_node)
    at = text.find(' msg="') + 6
    if at < 6:
        return UNKNOWN
    if first == "t":
        return _decode(_TEXT, text, 0, text, at, fallback_time, fallback_node)
    end = text.find(': time="')
    if end < 0:
        return UNKNOWN
    host = _short_host(text, end)
    if host is None:
        return UNKNOWN
    return _decode(_TEXT, text, end + 2, text, at, fallback_time, host)


def _short_host(text: str, end: int) -> str | None:
    """The host of a journalctl short prefix `text[:end]`, or None when it is not one."""
    if text[15:16] == " " and end > 16:
        stamp = text[:15]
        if stamp not in _SHORT_TIMES:
            if _SHORT_TIME.fullmatch(stamp) is None:
                return None
            if len(_SHORT_TIMES) >= _CACHED:
                _SHORT_TIMES.clear()
            _SHORT_TIMES.add(stamp)
        rest = text[16:end]
        host = _SHORT_HOSTS.get(rest)
        if host is None:
            match = _SHORT_REST.fullmatch(rest)
            if match is None:
                return None
            if len(_SHORT_HOSTS) >= _CACHED:
                _SHORT_HOSTS.clear()
            host = _SHORT_HOSTS[rest] = match.group(1)
        return host
    match = _SHORT_PREFIX.fullmatch(text, 0, end)  # short-precise, or a 1-digit day
    return None if match is None else match.group(1)


def _journal_record(text: str, fallback_node: str | None) -> PullEvent | _Unknown:
    """A `journalctl -o json` record whose MESSAGE is a logrus text line."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return UNKNOWN
    if not isinstance(record, dict):
        return UNKNOWN
    message = record.get("MESSAGE")
    if not isinstance(message, str):
        return UNKNOWN
    inner = message.strip()
    at = inner.find(' msg="') + 6
    if not (at >= 7 and inner.startswith('time="') and inner.isascii()):
        return UNKNOWN
    node = journal_host(record) or fallback_node
    stamp = record.get("__REALTIME_TIMESTAMP")
    return _decode(_TEXT, inner, 0, text, at, None, node, stamp if isinstance(stamp, str) else None)


def _decode(
    layout: _Layout,
    text: str,
    start: int,
    line: str,
    at: int,
    fallback: datetime | None,
    node: str | None,
    stamp: str | None = None,
) -> PullEvent | _Unknown:
    """The event of `text` from `start` (the logrus entry; `line` the whole line) in `layout`,
    whose msg starts at `at`; `stamp` a journal record's time (read only when the entry has
    none)."""
    head = text[at : at + 5]
    kind: EventKind | None
    if head == "PullI":  # which of the four: told by what follows the name (the pattern checks)
        end = text.find('\\"', at + 12)
        kind = _PULL_IMAGE_KINDS.get(text[end + 2 : end + 4], _START)
    else:
        kind = _KINDS.get(head)
    shape = layout.shapes[kind]
    match = shape.pattern.fullmatch(text, start)
    if match is None:
        return UNKNOWN
    groups = match.groups()
    utc = groups[shape.utc]
    if utc is not None and _FROMISOFORMAT_TAKES_Z:  # timestamps.parse_timestamp's fast route, inlined
        try:
            moment: datetime | None = datetime.fromisoformat(utc)
        except ValueError:
            moment = parse_timestamp(utc)
        else:
            if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # type: ignore[union-attr]
                moment = None
    else:
        other = utc or groups[shape.time] or ""
        if layout.json:
            other = other.replace('\\"', '"')
        moment = parse_timestamp(other) if other else None
    if moment is None:
        moment = fallback if stamp is None else from_epoch_micros(stamp)
    level = groups[shape.level] or ""
    if layout.json:
        level = level.replace('\\"', '"')
    raw = line[:RAW_LINE_LIMIT]
    first = shape.message
    image = groups[first] or ""
    # The hot kinds' events are built with positional arguments (PullEvent's field order): cheaper.
    if kind is _START:
        return PullEvent(
            kind, image, normalize(image), moment, level,
            None, None, None, None, None, None, None, None, None, None, None, False, node, raw,
        )  # fmt: skip
    if kind is _RESULT:
        return PullEvent(
            kind, image, normalize(image), moment, level,
            groups[first + 1], None, None, None, None, None, None, None, None, None, None, False, node, raw,
        )  # fmt: skip
    if kind is _FAILED:
        error = _fields(shape, groups).get("error")
        return PullEvent(kind, image, normalize(image), moment, level, error=error, node=node, raw=raw)
    if kind is _SNAPSHOTTER:
        snapshotter, tail = groups[first + 1], (groups[first + 2] or "").strip()
        method = tail[len("using ") :] if tail.startswith("using ") else None
        return PullEvent(
            kind, image, normalize(image), moment, level,
            snapshotter=snapshotter, pull_method=method, node=node, raw=raw,
        )  # fmt: skip
    if kind is _PULLED:
        image_id, repo_tag, repo_digest, size, duration = groups[first + 1 : first + 6]
        size_bytes = seconds = None
        if size is not None and duration is not None:
            size_bytes = int(size) if 0 < len(size) < 20 and size.isdigit() else byte_count(size)
            seconds = _seconds(duration)
        event = PullEvent(
            kind, image, normalize(image), moment, level, image_id or None, repo_tag or None, repo_digest or None,
            size_bytes, seconds, None, None, None, None, None, None, False, node, raw,
        )  # fmt: skip
        return event
    if kind is _STOP:
        count = groups[first + 2] or ""
        read = int(count) if 0 < len(count) < 20 else byte_count(count)  # digits: fewer than 20 fit
        return PullEvent(
            kind, image, normalize(image), moment, level,
            None, None, None, None, None, read, None, None, None, None, None, False, node, raw,
        )  # fmt: skip
    if kind is _CANCEL:
        timeout = groups[first + 1]
        return PullEvent(
            kind, image, normalize(image), moment, level,
            timeout=timeout, error=f"cancelled: no progress in {timeout}", node=node, raw=raw,
        )  # fmt: skip
    if kind is _IMAGE_CREATE:  # and update, delete: image is the word
        gogo_name, gogo_tail, name, tail = groups[first + 1 : first + 5]
        if gogo_name is not None:
            name, tail = gogo_name, gogo_tail
        name, tail = name or "", (tail or "").replace('\\"', '"')
        ref = name if _IMAGE_ID.fullmatch(name) else normalize(name)
        event = PullEvent(_IMAGE_KINDS[image], name, ref, moment, level, node=node, raw=raw)
        event.managed = any(label in tail for label in _MANAGED)
        return event
    return _by_fields(shape, groups, image, moment, level, node, raw, line)


# The kinds as plain globals: an Enum member's attribute lookup costs more than a global's.
_START, _RESULT, _FAILED, _SNAPSHOTTER = EventKind.START, EventKind.RESULT, EventKind.FAILED, EventKind.SNAPSHOTTER
_PULLED, _STOP, _CANCEL, _IMAGE_CREATE = EventKind.PULLED, EventKind.STOP, EventKind.CANCEL, EventKind.IMAGE_CREATE
_PULL_IMAGE_KINDS = {" r": EventKind.RESULT, " f": EventKind.FAILED, " w": EventKind.SNAPSHOTTER}
# The message kind by the first five characters of the msg (PullImage: see _decode).
_KINDS = {
    "Pulle": EventKind.PULLED,
    "stop ": EventKind.STOP,
    "cance": EventKind.CANCEL,
    "Image": EventKind.IMAGE_CREATE,
}


def _fields(shape: _Shape, groups: tuple[str | None, ...]) -> dict[str, str]:
    """The entry's fields other than time, level and msg, as the reference reads them."""
    if shape.rest < 0:  # JSON: the one field its pattern allows
        error = groups[shape.error]
        return {} if error is None else {"error": error.replace('\\"', '"')}
    rest = groups[shape.rest]
    fields: dict[str, str] = {}
    if rest:
        for key, value in _pairs(rest, 0):
            if key not in fields:
                fields[key] = unquote(value) if value.startswith('"') else value
        for key in ("time", "level", "msg"):  # repeated keys: the first one counts
            fields.pop(key, None)
    return fields


def _by_fields(
    shape: _Shape,
    groups: tuple[str | None, ...],
    body: str,
    moment: datetime | None,
    level: str,
    node: str | None,
    raw: str,
    line: str,
) -> PullEvent | _Unknown:
    """Progress, layer fetch and sandbox lines by the reference's own decoders, and resolver
    lines (why lines: no pull message, so parse_why_line's) by its _why_event."""
    from pullwatch import parsers  # rare routes: the package is loaded by then

    msg = body.replace('\\"', '"')
    if msg.startswith(_DISPATCH_PREFIXES):  # a pull message: parse_line decides
        decoder = _BY_FIELDS.get(msg)
        if decoder is None and msg.startswith("RunPodSandbox for "):
            decoder = _sandbox
        if decoder is None or not any(keyword in line for keyword in parsers.PULL_KEYWORDS):
            return UNKNOWN  # parse_line reads only lines with a pull keyword (decoded text may add one)
        decoded = decoder(LogEntry(msg, moment, level, _fields(shape, groups)), raw)
    else:  # parse_line gives None: parse_why_line decides
        if not any(keyword in line for keyword in parsers.WHY_KEYWORDS):
            return UNKNOWN
        decoded = parsers._why_event(LogEntry(msg, moment, level, _fields(shape, groups)), raw)
    if decoded is None:
        return UNKNOWN
    decoded.node = node
    return decoded


_DISPATCH_PREFIXES = tuple(prefix for prefix, _ in _DISPATCH)
