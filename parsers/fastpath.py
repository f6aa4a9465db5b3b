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
from pullwatch.parsers.envelope import LogEntry, _pairs
from pullwatch.parsers.events import RAW_LINE_LIMIT, EventKind, PullEvent
from pullwatch.parsers.gostrings import unquote
from pullwatch.parsers.messages import _IMAGE_ID, _MANAGED, _fetch, _progress, _sandbox, byte_count
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

# A Go/JSON string body with no escape but `\"`: decoded by replacing `\"` with `"`.
_BODY = r'[^"\\]*(?:\\"[^"\\]*)*'
# logrus's UTC time, the shape timestamps.parse_timestamp hands to datetime.fromisoformat.
_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
# The head envelope._LOGRUS_HEAD reads, for a quoted msg with only `\"` escapes; the rest of the
# line (fields) is group 5.
_TEXT = re.compile(r'time="(?:(' + _UTC + r')|([^"\\]*))" level=([^\s="]+) msg="(' + _BODY + r')"( .*|)\Z')
# journalctl's short / short-precise prefix (envelope._JOURNAL_PREFIX with a month-day time),
# then a logrus text line.
_SHORT = re.compile(r"[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? (\S+) [^\s\[\]=\"{:]+(?:\[\d+\])?: (?=time=\")")
# logrus JSON as containerd writes it: compact, keys sorted, an optional error first.
_JSON = re.compile(
    r'\{(?:"error":"(' + _BODY + r')",)?"level":"(' + _BODY + r')","msg":"(' + _BODY + r')",'
    r'"time":"(?:(' + _UTC + r")|(" + _BODY + r'))"\}'
)

# The messages, on the msg body as the line writes it (inner quotes as `\"`). `_Q` is a quoted
# name with no escape at all.
_Q = r'\\"([^"\\]*)\\"'
_START = re.compile(r"PullImage " + _Q)
_RESULT = re.compile(r"PullImage " + _Q + r" returns image reference " + _Q)
_FAILED = re.compile(r"PullImage " + _Q + r" failed")
_SNAPSHOTTER = re.compile(r"PullImage " + _Q + r' with snapshotter ([^\s,"\\]*),?([^"\\]*)')
_PULLED = re.compile(
    r"Pulled image "
    + _Q
    + r" with image id "
    + _Q
    + r", repo tag "
    + _Q
    + r", repo digest "
    + _Q
    + r"(?:, size "
    + _Q
    + r' in ([^\s"\\]+))?'
)
_STOP = re.compile(r'stop pulling image ([^\s"\\]+): active requests=(-?\d+), bytes read=(\d+)')
_CANCEL = re.compile(r'cancel pulling image ([^\s"\\]+) because of no progress in ([^\s"\\]+)')
_IMAGE_EVENT = re.compile(
    r"Image(Create|Update|Delete) event (?:&Image(?:Create|Update|Delete)\{Name:([^,{}\"\\]*),(" + _BODY + r")\}"
    r"|name:" + _Q + "(" + _BODY + r"))"
)
_IMAGE_KINDS = {"Create": EventKind.IMAGE_CREATE, "Update": EventKind.IMAGE_UPDATE, "Delete": EventKind.IMAGE_DELETE}
# Messages read with the reference's decoders, from fields the reference's pair reader gives.
_BY_FIELDS = {
    "progress for image pull": _progress,
    "fetch response received": _fetch,
}


def _utc(text: str) -> datetime | None:
    """parse_timestamp for a time of the _UTC shape (its fromisoformat route, same result)."""
    if not _FROMISOFORMAT_TAKES_Z:
        return parse_timestamp(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return parse_timestamp(text)
    return moment if FIRST_YEAR <= moment.year <= LAST_YEAR else None


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
    text = text.rstrip("\r\n")
    if not text.isprintable():
        return UNKNOWN
    raw = text[:RAW_LINE_LIMIT]
    first = text[:1]
    if first == "t":
        return _text_event(text, 0, fallback_time, raw, fallback_node)
    if first == "{":
        head = _JSON.fullmatch(text)
        if head is not None:
            error, level, body, utc, other = head.groups()
            moment = _utc(utc) if other is None else parse_timestamp(other.replace('\\"', '"'))
            fields = {} if error is None else {"error": error.replace('\\"', '"')}
            return _message(
                body, moment or fallback_time, level.replace('\\"', '"'), fields, None, raw, fallback_node, text
            )
        if '"MESSAGE":"' in text:
            return _journal_record(text, raw, fallback_node)
        return UNKNOWN
    prefix = _SHORT.match(text)
    if prefix is None:
        return UNKNOWN
    return _text_event(text, prefix.end(), fallback_time, raw, prefix.group(1) or fallback_node)


def _text_event(text: str, start: int, fallback: datetime | None, raw: str, node: str | None) -> PullEvent | _Unknown:
    head = _TEXT.match(text, start)
    if head is None:
        return UNKNOWN
    utc, other, level, body, rest = head.groups()
    moment = _utc(utc) if utc is not None else parse_timestamp(other) if other else None
    return _message(body, moment or fallback, level, None, rest, raw, node, text)


def _journal_record(text: str, raw: str, fallback_node: str | None) -> PullEvent | _Unknown:
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
    if not (inner.startswith('time="') and inner.isascii() and inner.isprintable()):
        return UNKNOWN
    stamp = record.get("__REALTIME_TIMESTAMP")
    host = record.get("_HOSTNAME")
    node = host if isinstance(host, str) and host else fallback_node
    head = _TEXT.match(inner)
    if head is None:
        return UNKNOWN
    utc, other, level, body, rest = head.groups()
    moment = _utc(utc) if utc is not None else parse_timestamp(other) if other else None
    if moment is None and isinstance(stamp, str):
        moment = from_epoch_micros(stamp)
    return _message(body, moment, level, None, rest, raw, node, text)


def _text_fields(rest: str) -> dict[str, str]:
    """The fields after a logrus text head, as envelope._decode_logrus_head reads them."""
    fields: dict[str, str] = {}
    if rest:
        for key, value in _pairs(rest, 0):
            if key not in fields:
                fields[key] = unquote(value) if value.startswith('"') else value
        for key in ("time", "level", "msg"):
            fields.pop(key, None)
    return fields


def _message(
    body: str,
    moment: datetime | None,
    level: str,
    fields: dict[str, str] | None,
    rest: str | None,
    raw: str,
    node: str | None,
    raw_text: str,
) -> PullEvent | _Unknown:
    """The event of a msg body (escaped as in the line); `fields` (JSON) or `rest` (the text
    line after the head) give the fields, read only for the messages that use them."""
    head = body[:5]
    if head == "PullI":
        if body.endswith('\\"'):
            if match := _START.fullmatch(body):
                image = match.group(1)
                return PullEvent(EventKind.START, image, normalize(image), moment, level, node=node, raw=raw)
            if match := _RESULT.fullmatch(body):
                image = match.group(1)
                return PullEvent(
                    EventKind.RESULT, image, normalize(image), moment, level, match.group(2), node=node, raw=raw
                )
            return UNKNOWN
        if match := _FAILED.fullmatch(body):
            image = match.group(1)
            if fields is None:
                fields = _text_fields(rest or "")
            return PullEvent(
                EventKind.FAILED, image, normalize(image), moment, level, error=fields.get("error"), node=node, raw=raw
            )
        if match := _SNAPSHOTTER.fullmatch(body):
            image, snapshotter, tail = match.groups()
            tail = tail.strip()
            method = tail[len("using ") :] if tail.startswith("using ") else None
            return PullEvent(
                EventKind.SNAPSHOTTER, image, normalize(image), moment, level,
                snapshotter=snapshotter, pull_method=method, node=node, raw=raw,
            )  # fmt: skip
        return UNKNOWN
    if head == "Pulle":
        if match := _PULLED.fullmatch(body):
            image, image_id, repo_tag, repo_digest, size, duration = match.groups()
            event = PullEvent(
                EventKind.PULLED, image, normalize(image), moment, level,
                image_id or None, repo_tag or None, repo_digest or None, node=node, raw=raw,
            )  # fmt: skip
            if size is not None:
                event.size_bytes = byte_count(size)
                event.duration_seconds = _seconds(duration)
            return event
        return UNKNOWN
    if head == "stop ":
        if match := _STOP.fullmatch(body):
            image = match.group(1)
            return PullEvent(
                EventKind.STOP, image, normalize(image), moment, level,
                bytes_read=byte_count(match.group(3)), node=node, raw=raw,
            )  # fmt: skip
        return UNKNOWN
    if head == "Image":
        if match := _IMAGE_EVENT.fullmatch(body):
            word, gogo_name, gogo_tail, name, tail = match.groups()
            if gogo_name is not None:
                name, tail = gogo_name, gogo_tail
            tail = tail.replace('\\"', '"')
            ref = name if _IMAGE_ID.fullmatch(name) else normalize(name)
            event = PullEvent(_IMAGE_KINDS[word], name, ref, moment, level, node=node, raw=raw)
            event.managed = any(label in tail for label in _MANAGED)
            return event
        return UNKNOWN
    if head == "cance":
        if match := _CANCEL.fullmatch(body):
            image, timeout = match.groups()
            return PullEvent(
                EventKind.CANCEL, image, normalize(image), moment, level,
                timeout=timeout, error=f"cancelled: no progress in {timeout}", node=node, raw=raw,
            )  # fmt: skip
        return UNKNOWN
    decoder = _BY_FIELDS.get(body)
    if decoder is None and body.startswith("RunPodSandbox for "):
        decoder = _sandbox
        body = body.replace('\\"', '"')
    from pullwatch.parsers import PULL_KEYWORDS  # a rare route: the package is loaded by then

    if decoder is None or not any(keyword in raw_text for keyword in PULL_KEYWORDS):
        return UNKNOWN  # parse_line reads only lines with a pull keyword (decoded text may add one)
    if fields is None:
        fields = _text_fields(rest or "")
    decoded = decoder(LogEntry(body, moment, level, fields), raw)
    if decoded is None:
        return UNKNOWN
    decoded.node = node
    return decoded
