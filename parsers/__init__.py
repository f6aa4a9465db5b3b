"""Parsers: a raw log line -> the pull event it reports. No I/O here.

`parse_line` reads one line: a cheap keyword test first (most lines of a containerd log are not
about pulls), then the envelope, then the message. `parse_batch` reads the candidate lines of a
stretch of log into one ParsedBatch (events and line counts), what `PullStore.apply` takes.
This package imports nothing outside itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime

from pullwatch.parsers import hosts, kubelet
from pullwatch.parsers.envelope import EnvelopeError, LogEntry, decode_envelope
from pullwatch.parsers.events import RAW_LINE_LIMIT, EventKind, ParsedBatch, PullEvent
from pullwatch.parsers.fastpath import MAX_LINE_BYTES, fast_batch
from pullwatch.parsers.messages import MessageError, decode_message
from pullwatch.parsers.refs import normalize

# Every pull-path message contains one of these; a journald JSON record whose MESSAGE is an
# array of byte values hides its text, so it is a candidate too, and so is one whose MESSAGE
# journalctl replaced by null (longer than 4096 bytes without -a: often a failure's error) so
# that it is counted as unparsed rather than silently lost. A sandbox-image failure is found by
# its error text, not by "RunPodSandbox": every pod start logs that word, and parsing each such
# line made reading a big log several times slower (bench/speed.py).
PULL_KEYWORDS: tuple[str, ...] = (
    "PullImage",
    "Pulled image",
    "pulling image",
    "progress for image pull",
    "failed to pull image",
    "ImageCreate event",
    "ImageUpdate event",
    "ImageDelete event",
    "fetch response received",
    '"MESSAGE":[',
    '"MESSAGE":null',
)
# Lines that tell why a pull went as it did (docs/why.md): containerd's resolver (debug, and its
# info-level "trying next host"), kubelet's image events and pod errors.
WHY_KEYWORDS: tuple[str, ...] = (
    "resolv",  # resolving, resolved
    "trying next host",
    "fetch failed",
    "do request",
    *kubelet.KEYWORDS,
)
KEYWORDS: tuple[str, ...] = tuple(dict.fromkeys(PULL_KEYWORDS + WHY_KEYWORDS))
KEYWORDS_BYTES: tuple[bytes, ...] = tuple(k.encode() for k in KEYWORDS)


class UnparsedLine(ValueError):
    """A line that looks like a pull line but cannot be decoded; callers count it."""


def is_candidate(line: str | bytes) -> bool:
    """Whether the line may report a pull (cheap substring tests, no parsing): the one keyword
    test of every source and of parse_line."""
    if isinstance(line, bytes):
        return any(keyword in line for keyword in KEYWORDS_BYTES)
    return any(keyword in line for keyword in KEYWORDS)


def parse_line(
    line: str | bytes, fallback_time: datetime | None = None, fallback_node: str | None = None
) -> PullEvent | None:
    """The pull event in `line`, or None when it reports none; raises UnparsedLine for a
    candidate that cannot be decoded (bad envelope, cut or unknown pull message). kubelet's
    lines (klog) are not containerd's: they are never pull events, nor unparsed ones. The
    event's node is the host the line names (journal prefix, _HOSTNAME), else `fallback_node`."""
    if len(line) > MAX_LINE_BYTES:  # not decoded, not searched: counted when it may be a pull line
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        if any(keyword in text for keyword in PULL_KEYWORDS):
            raise UnparsedLine(f"line longer than {MAX_LINE_BYTES} bytes")
        return None
    text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
    if not any(keyword in text for keyword in PULL_KEYWORDS):
        return None
    try:
        entry = decode_envelope(text, fallback_time)
        event = decode_message(entry, text.rstrip("\r\n")[:RAW_LINE_LIMIT])
    except EnvelopeError as error:
        if kubelet.is_klog(text) or kubelet.is_klog_record(text):
            return None
        raise UnparsedLine(str(error)) from None
    except MessageError as error:
        raise UnparsedLine(str(error)) from None
    if event is None:
        return None
    event.node = entry.host or fallback_node
    return _valid_text(event)


def parse_why_line(
    line: str | bytes, fallback_time: datetime | None = None, fallback_node: str | None = None
) -> PullEvent | None:
    """The event of a line that tells why a pull went as it did (a resolver host or a kubelet
    image line: kinds HOST, KUBELET), None for any other line; raises
    UnparsedLine for a containerd line of that kind that cannot be decoded."""
    if len(line) > MAX_LINE_BYTES:
        return None  # not a pull line, so not an unparsed one: skipped unread (bounded work)
    text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
    if not any(keyword in text for keyword in WHY_KEYWORDS):
        return None
    raw = text.rstrip("\r\n")[:RAW_LINE_LIMIT]
    try:
        entry = decode_envelope(text, fallback_time)
    except EnvelopeError as error:
        try:
            found = kubelet.decode_kubelet_line(text, fallback_time)
        except kubelet.NotKlog:
            raise UnparsedLine(str(error)) from None
        event = None if found is None else _kubelet_event(found, raw)
        node = (found.node if found is not None else None) or fallback_node
    else:
        event = _why_event(entry, raw)
        node = entry.host or fallback_node
    if event is None:
        return None
    event.node = node
    return _valid_text(event)


def _why_event(entry: LogEntry, raw: str) -> PullEvent | None:
    """A containerd line that is not a pull line but tells why: a resolver host."""
    if host := hosts.decode_host_message(entry):
        ref = host.ref or ""
        return PullEvent(EventKind.HOST, ref, ref, entry.time, entry.level, raw=raw, detail=host)
    return None


def _kubelet_event(found: kubelet.KubeletEvent, raw: str) -> PullEvent:
    image = found.image or found.image_id or ""
    ref = normalize(found.image) if found.image else image
    error = found.error
    return PullEvent(EventKind.KUBELET, image, ref, found.time, None, error=error, raw=raw, detail=found)


def _valid_text(event: PullEvent) -> PullEvent:
    """Escape lone surrogates (`\\ud800` decoded from JSON or a Go literal) in the event's text, so
    that every later step may encode it as UTF-8; done once, here, for every consumer."""
    for name in _TEXT_FIELDS:
        value = getattr(event, name)
        if value is not None and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                setattr(event, name, value.encode("utf-8", "backslashreplace").decode("utf-8"))
    return event


_TEXT_FIELDS = (
    "image",
    "ref",
    "level",
    "image_id",
    "repo_tag",
    "repo_digest",
    "snapshotter",
    "timeout",
    "error",
    "raw",
    "node",
)


def parse_batch(
    lines: Sequence[str | bytes],
    times: Sequence[datetime | None] | None = None,
    total: int | None = None,
    nodes: Sequence[str | None] | None = None,
    node: str | None = None,
) -> ParsedBatch:
    """The events of `lines` (candidate lines; `times[i]`, when given, is line i's fallback time,
    `nodes[i]` its node, else `node`) and the counts: `total` lines read (default: just these),
    how many could not be decoded. The batch goes through parsers/fastpath.py first, then each
    line it is not sure of through parse_line and parse_why_line (the reference, and the only
    route with PULLWATCH_PARSE=reference in the environment; PULLWATCH_PARSE=python leaves out the
    compiled first route)."""
    if os.environ.get("PULLWATCH_PARSE") == "reference":
        found: list[PullEvent | None] = [None] * len(lines)
        misses: Sequence[int] = range(len(lines))
    else:
        found, misses = fast_batch(lines, times, nodes, node, os.environ.get("PULLWATCH_PARSE") != "python")
    unparsed = 0
    for index in misses:
        line = lines[index]
        fallback = times[index] if times else None
        on = nodes[index] if nodes else node
        try:
            found[index] = parse_line(line, fallback, on) or parse_why_line(line, fallback, on)
        except UnparsedLine:
            unparsed += 1
    events = [event for event in found if event is not None]
    return ParsedBatch(events, len(lines) if total is None else total, unparsed)


__all__ = [
    "KEYWORDS",
    "KEYWORDS_BYTES",
    "MAX_LINE_BYTES",
    "PULL_KEYWORDS",
    "WHY_KEYWORDS",
    "LogEntry",
    "ParsedBatch",
    "UnparsedLine",
    "is_candidate",
    "parse_batch",
    "parse_line",
    "parse_why_line",
]
