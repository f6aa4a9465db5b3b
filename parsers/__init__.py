"""Parsers: a raw log line -> the pull event it reports. No I/O here.

`parse_line` reads one line: a cheap keyword test first (most lines of a containerd log are not
about pulls), then the envelope, then the message. `parse_batch` reads the candidate lines of a
stretch of log into one ParsedBatch (events and line counts), what `PullStore.apply` takes.
This package imports nothing outside itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pullwatch.parsers.envelope import EnvelopeError, LogEntry, decode_envelope
from pullwatch.parsers.events import RAW_LINE_LIMIT, ParsedBatch, PullEvent
from pullwatch.parsers.messages import MessageError, decode_message

# Every pull-path message contains one of these; a journald JSON record whose MESSAGE is an
# array of byte values hides its text, so it is a candidate too, and so is one whose MESSAGE
# journalctl replaced by null (longer than 4096 bytes without -a: often a failure's error) so
# that it is counted as unparsed rather than silently lost. A sandbox-image failure is found by
# its error text, not by "RunPodSandbox": every pod start logs that word, and parsing each such
# line made reading a big log several times slower (bench/speed.py).
KEYWORDS: tuple[str, ...] = (
    "PullImage",
    "Pulled image",
    "pulling image",
    "progress for image pull",
    "failed to pull image",
    '"MESSAGE":[',
    '"MESSAGE":null',
)
KEYWORDS_BYTES: tuple[bytes, ...] = tuple(k.encode() for k in KEYWORDS)


# A pull line longer than this is counted as unparsed without being decoded: it bounds the work
# one line can cost. journald splits messages at LineMax (48 KiB by default), so a real pull line
# is far shorter, even as a `journalctl -o json` record whose MESSAGE is an array of byte values.
MAX_LINE_BYTES = 256 * 1024


class UnparsedLine(ValueError):
    """A line that looks like a pull line but cannot be decoded; callers count it."""


def is_candidate(line: str | bytes) -> bool:
    """Whether the line may report a pull (cheap substring tests, no parsing): the one keyword
    test of every source and of parse_line."""
    if isinstance(line, bytes):
        return any(keyword in line for keyword in KEYWORDS_BYTES)
    return any(keyword in line for keyword in KEYWORDS)


def parse_line(line: str | bytes, fallback_time: datetime | None = None) -> PullEvent | None:
    """The pull event in `line`, or None when it reports none; raises UnparsedLine for a
    candidate that cannot be decoded (bad envelope, cut or unknown pull message)."""
    if len(line) > MAX_LINE_BYTES:  # not decoded, not searched: counted when it may be a pull line
        if is_candidate(line):
            raise UnparsedLine(f"line longer than {MAX_LINE_BYTES} bytes")
        return None
    text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
    if not is_candidate(text):
        return None
    try:
        entry = decode_envelope(text, fallback_time)
        event = decode_message(entry, text.rstrip("\r\n")[:RAW_LINE_LIMIT])
    except (EnvelopeError, MessageError) as error:
        raise UnparsedLine(str(error)) from None
    return None if event is None else _valid_text(event)


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
)


def parse_batch(
    lines: Sequence[str | bytes],
    times: Sequence[datetime | None] | None = None,
    total: int | None = None,
) -> ParsedBatch:
    """The events of `lines` (candidate lines; `times[i]`, when given, is line i's fallback time)
    and the counts: `total` lines read (default: just these), how many could not be decoded."""
    events: list[PullEvent] = []
    unparsed = 0
    for index, line in enumerate(lines):
        try:
            event = parse_line(line, times[index] if times else None)
        except UnparsedLine:
            unparsed += 1
            continue
        if event is not None:
            events.append(event)
    return ParsedBatch(events, len(lines) if total is None else total, unparsed)


__all__ = [
    "KEYWORDS",
    "KEYWORDS_BYTES",
    "LogEntry",
    "ParsedBatch",
    "UnparsedLine",
    "is_candidate",
    "parse_batch",
    "parse_line",
]
