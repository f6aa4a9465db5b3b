"""The log envelope: finds containerd's logrus entry inside a line, whatever wraps it.

Handles logrus text (`time="…" level=info msg="…" key=value`), logrus JSON, the terminal ("TTY")
layout, journalctl short / short-precise / short-iso / trimmed prefixes, `journalctl -o json`
records (MESSAGE a string, an array of bytes, or null) and k3s/rke2 `containerd.log` lines
(docs/formats.md §2).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pullwatch.parsers.gostrings import QUOTED, is_terminated, unquote
from pullwatch.parsers.timestamps import from_epoch_micros, parse_timestamp


class EnvelopeError(ValueError):
    """The line holds no decodable log entry."""


@dataclass(slots=True)
class LogEntry:
    msg: str
    time: datetime | None = None
    level: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    host: str | None = None  # the node that logged it: a journal prefix's host field, or _HOSTNAME


# key=value pairs of logrus text; a quoted value may be cut at the end of the line. A run of
# key characters without `=` is matched too (and skipped by _pairs): a search that failed on it
# would start again one character later and read the run again, quadratic on a long token.
_TOKEN = re.compile(r'([^\s="]+)(?:=(' + QUOTED + r'|"[^"\\]*(?:\\.[^"\\]*)*\\?$|[^\s"]*))?')
_SYSLOG_TIME = r"(?:[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+)"
_JOURNAL_PREFIX = re.compile(r"(?:(" + _SYSLOG_TIME + r") (\S+) )?[^\s\[\]=\"{]+(?:\[\d+\])?: ")
# The bracket holds a time or seconds since start; bounded, so `INFO[INFO[…` costs no re-reads.
_TTY = re.compile(r"(TRAC|DEBU|INFO|WARN|ERRO|FATA|PANI)\[([^\]]{0,64})\] ")
_TTY_LEVELS = {
    "TRAC": "trace",
    "DEBU": "debug",
    "INFO": "info",
    "WARN": "warning",
    "ERRO": "error",
    "FATA": "fatal",
    "PANI": "panic",
}
# The one pull message with `=` in its text; in the TTY layout it would pass for fields.
_TTY_EQUALS_MSG = re.compile(r"stop pulling image \S+: active requests=\d+, bytes read=\d+")


def decode_envelope(line: str, fallback: datetime | None = None) -> LogEntry:
    """The logrus entry in `line`; raises EnvelopeError when there is none. `fallback` is the
    time to use when the entry has none (a journal entry's own timestamp, say)."""
    text = line.rstrip("\r\n")
    host = None
    prefix = _JOURNAL_PREFIX.match(text)
    if prefix is not None and not text.startswith(("time=", "level=", "msg=")):
        if prefix.group(1) and prefix.group(1)[0].isdigit():
            fallback = parse_timestamp(prefix.group(1)) or fallback  # short-iso has a full time
        host = prefix.group(2)
        text = text[prefix.end() :]
    entry = _decode_unprefixed(text, fallback)
    if host is not None and entry.host is None:
        entry.host = host
    return entry


def journal_prefix_host(text: str, end: int) -> str | None:
    """The host of a journal short prefix (`Dec 02 05:36:31 node-a kubelet[1234]: `) that ends
    exactly at `end` (where another tool's own line begins, a klog header), else None."""
    prefix = _JOURNAL_PREFIX.match(text, 0, end)
    if prefix is None or prefix.end() != end:
        return None
    return prefix.group(2)


def _decode_unprefixed(text: str, fallback: datetime | None) -> LogEntry:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _decode_json(stripped, fallback)
    start = _text_start(text)
    if start >= 0:
        return _decode_text(text[start:], fallback)
    tty = _TTY.search(text)
    if tty is not None:
        return _decode_tty(text, tty)
    raise EnvelopeError("no log entry found")


def _text_start(text: str) -> int:
    """Where the logrus key=value part begins (prefixes of other tools are skipped)."""
    for key in ('time="', "level=", "msg="):
        index = text.find(key)
        if index == 0 or (index > 0 and text[index - 1] == " "):
            return index
    return -1


def _decode_text(text: str, fallback: datetime | None) -> LogEntry:
    head = _LOGRUS_HEAD.match(text)
    if head is not None:
        return _decode_logrus_head(text, head, fallback)
    fields: dict[str, str] = {}
    for key, value in _pairs(text, 0):
        if key not in fields:
            if key == "msg" and value.startswith('"') and not is_terminated(value):
                # Cut inside msg (truncated file, journald LineMax): the part left may pass
                # for another message ("PullImage \"x\"" of a cut result line), so refuse it.
                raise EnvelopeError("line cut inside msg")
            fields[key] = unquote(value) if value.startswith('"') else value
    msg = fields.pop("msg", None)
    if msg is None:
        raise EnvelopeError("logrus line without msg")
    time_text = fields.pop("time", None)
    moment = parse_timestamp(time_text) if time_text else None
    return LogEntry(msg, moment or fallback, fields.pop("level", None), fields)


# How logrus starts every text line: time, level and a whole msg, in that order. One match reads
# them (twice as fast as the loop above, which still reads anything else and cut lines).
_LOGRUS_HEAD = re.compile(r'time="([^"\\]*)" level=([^\s="]+) msg=(' + QUOTED + r'|[^\s"]*)(?= |$)')


def _decode_logrus_head(text: str, head: re.Match[str], fallback: datetime | None) -> LogEntry:
    """What _decode_text's loop gives for a line that starts with `head`."""
    time_text, level, msg = head.groups()
    fields: dict[str, str] = {}
    if head.end() < len(text):
        for key, value in _pairs(text, head.end()):
            if key not in fields:
                fields[key] = unquote(value) if value.startswith('"') else value
        for key in ("time", "level", "msg"):  # repeated keys: the first one counts
            fields.pop(key, None)
    moment = parse_timestamp(time_text) if time_text else None
    return LogEntry(unquote(msg) if msg.startswith('"') else msg, moment or fallback, level, fields)


def _decode_json(text: str, fallback: datetime | None) -> LogEntry:
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: `[[[[…` nested past the stack
        raise EnvelopeError(f"bad JSON: {str(error)[:200]}") from None
    if not isinstance(record, dict):
        raise EnvelopeError("JSON that is not an object")
    if "MESSAGE" in record or "__REALTIME_TIMESTAMP" in record:
        return _decode_journal_record(record)
    msg = record.get("msg")
    if not isinstance(msg, str):
        raise EnvelopeError("JSON entry without msg")
    try:
        fields = {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in record.items()
            if k not in ("msg", "time", "level")
        }
    except (ValueError, RecursionError):
        raise EnvelopeError("JSON field that cannot be written back") from None
    time_value = record.get("time")
    moment = parse_timestamp(time_value) if isinstance(time_value, str) else None
    level = record.get("level")
    return LogEntry(msg, moment or fallback, level if isinstance(level, str) else None, fields)


def journal_host(record: dict[str, object]) -> str | None:
    """The node of a `journalctl -o json` record: its _HOSTNAME, when it has one."""
    host = record.get("_HOSTNAME")
    return host if isinstance(host, str) and host else None


def journal_message(record: dict[str, object]) -> tuple[str, datetime | None]:
    """MESSAGE (a string, or an array of bytes when it is not valid UTF-8) and the journal's own
    time of a `journalctl -o json` record; raises EnvelopeError when there is no MESSAGE."""
    message = record.get("MESSAGE")
    if isinstance(message, list):
        try:
            message = bytes(message).decode("utf-8", "backslashreplace")
        except (TypeError, ValueError):
            raise EnvelopeError("MESSAGE byte array is not bytes") from None
    if not isinstance(message, str):
        raise EnvelopeError("journal record without MESSAGE (run journalctl with -a)")
    stamp = record.get("__REALTIME_TIMESTAMP")
    return message, from_epoch_micros(stamp) if isinstance(stamp, str) else None


def _decode_journal_record(record: dict[str, object]) -> LogEntry:
    """A `journalctl -o json` record: the logrus line is in MESSAGE (string or byte array)."""
    message, fallback = journal_message(record)
    inner = message.strip()
    entry = _decode_json(inner, fallback) if inner.startswith("{") else None
    if entry is None:
        start = _text_start(inner)
        if start < 0:
            raise EnvelopeError("journal MESSAGE is not a logrus entry")
        entry = _decode_text(inner[start:], fallback)
    host = journal_host(record)
    if host is not None:
        entry.host = host
    return entry


def _decode_tty(text: str, head: re.Match[str]) -> LogEntry:
    """`INFO[2019-07-18T08:05:35.462093797Z] msg (padded to 44)  key=value…`; msg is raw."""
    rest = text[head.end() :].rstrip()
    fields: dict[str, str] = {}
    start = -1 if _TTY_EQUALS_MSG.fullmatch(rest) else _tty_fields_start(rest)
    if start >= 0:
        for key, value in _pairs(rest, start):
            fields[key] = unquote(value) if value.startswith('"') else value
        rest = rest[:start]
    return LogEntry(rest.rstrip(), parse_timestamp(head.group(2)), _TTY_LEVELS[head.group(1)], fields)


def _pairs(text: str, start: int) -> Iterator[tuple[str, str]]:
    """The key=value pairs of `text` from `start`, in order, in one pass."""
    for match in _TOKEN.finditer(text, start):
        value = match.group(2)
        if value is not None:
            yield match.group(1), value


def _tty_fields_start(rest: str) -> int:
    """Where the ` key=value…` tail of a TTY line begins, or -1. logrus writes the message raw
    (quotes and `=` included), so the tail is peeled off from the right one pair at a time: a
    regex for "pairs up to the end" backtracks exponentially on `k=k=k=…"`. Each character is
    read a bounded number of times."""
    start = -1
    end = len(rest)
    while True:
        begin = _tty_pair_start(rest, end)
        if begin <= 0 or not rest[begin - 1].isspace():
            return start
        end = begin
        while end > 0 and rest[end - 1].isspace():
            end -= 1
        start = end


def _tty_pair_start(text: str, end: int) -> int:
    """Start of the key of the pair `key=value` that ends at `end`, or -1 when none does.
    A key is `[\\w.-]+`; a value is a Go-quoted string or a run without blanks and quotes."""
    if end == 0:
        return -1
    if text[end - 1] == '"':
        if _backslashes_before(text, end - 1) % 2:
            return -1  # an escaped quote ends no value
        index = end - 2
        while index >= 0:  # back to the opening quote: the nearest unescaped one
            if text[index] == '"':
                run = _backslashes_before(text, index)
                if run % 2 == 0:
                    break
                index -= run
            index -= 1
        if index < 1 or text[index - 1] != "=":
            return -1
        equals = index - 1
    else:
        word = end
        while word > 0 and not text[word - 1].isspace():
            word -= 1
        equals = text.find("=", word, end)
        if equals < 0 or text.find('"', word, end) >= 0:
            return -1
    begin = equals
    while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in "_.-"):
        begin -= 1
    return begin if begin < equals else -1


def _backslashes_before(text: str, index: int) -> int:
    count = 0
    while index - count > 0 and text[index - count - 1] == "\\":
        count += 1
    return count
