"""Finding the candidate pull lines of a saved log fast: block scanning instead of line iteration.

Most of a containerd log is not about pulls, so looking at every line in Python is what makes a
naive reader slow. This scanner reads large blocks into one reused buffer, counts their lines with
one `count(b"\\n")` and finds candidates with a few substring searches over the whole block; only
lines around a hit are ever sliced out. It gives exactly what the line-by-line reference
(`saved.scan_stream`) gives: the same candidate lines in order and the same line count.

The searches run through StringZilla (SIMD, several GB/s per pass) when it is installed, and
through the equivalent `bytearray` methods otherwise; PULLWATCH_SCAN=stdlib forces the latter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from pullwatch.parsers import KEYWORDS_BYTES, is_candidate
from pullwatch.sources import LineBatch

# Measured on 1 GB (bench/speed.py): 512 KiB blocks scan fastest; 64 KiB ones pay 40% more in
# per-block Python, 4 MiB ones fall out of the CPU cache between the passes made over a block.
# A line longer than a block grows the buffer until the line fits.
BLOCK_SIZE = 512 * 1024

# Lines are found by anchors, then checked against the keywords themselves. Each keyword is its
# own anchor unless it contains a shared one: " image" stands for "Pulled image", "pulling image",
# "progress for image pull", "failed to pull image" and kubelet's image lines; "e event" for the
# three ImageCreate/ImageUpdate/ImageDelete events; "fetch " for "fetch response received" and
# "fetch failed". Each pass saved is ~1/11 of a sparse log's scan (measured: 64 MB of journald
# short at 0.5% pull lines, 32.9 -> 28.0 ms with the last two); the price is a few more lines
# sliced and refused (debug's `msg=fetch digest=…`, one per blob fetched).
SHARED_ANCHORS: tuple[bytes, ...] = (b" image", b"e event", b"fetch ")


def anchors_for(keywords: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Substrings such that every line containing a keyword contains one of them."""
    found: list[bytes] = []
    for keyword in keywords:
        anchor = next((shared for shared in SHARED_ANCHORS if shared in keyword), keyword)
        if anchor not in found:
            found.append(anchor)
    return tuple(found)


ANCHORS = anchors_for(KEYWORDS_BYTES)
# The anchors only a `journalctl -o json` record can hold share this prefix: one search for it
# tells whether a block needs their searches at all (one pass fewer over any other log).
JOURNAL_JSON_GATE = b'"MESSAGE":'
UNGATED = tuple(anchor for anchor in ANCHORS if not anchor.startswith(JOURNAL_JSON_GATE))
GATED = tuple(anchor for anchor in ANCHORS if anchor.startswith(JOURNAL_JSON_GATE))
# A line found by an anchor that is itself a keyword is a candidate without is_candidate's test of
# every keyword (on a dense log most lines are found by `PullImage`: that test was ~1 µs a line).
KEYWORD_ANCHORS = frozenset(anchor for anchor in ANCHORS if anchor in KEYWORDS_BYTES)


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


Find = Callable[[bytearray, bytes, int, int], int]
Count = Callable[[bytearray, bytes, int, int], int]


@dataclass(frozen=True)
class Search:
    """The three byte-search primitives the scanner needs, over a range of a buffer."""

    name: str
    find: Find
    rfind: Find
    count: Count


STDLIB = Search("stdlib", bytearray.find, bytearray.rfind, bytearray.count)


def _stringzilla() -> Search | None:
    """StringZilla's SIMD searches, if installed and behaving as this module expects."""
    try:
        import stringzilla

        probe = bytearray(b"a\nPullImage\nb\n")
        search = Search("stringzilla", stringzilla.find, stringzilla.rfind, stringzilla.count)
        if (
            search.find(probe, b"PullImage", 1, 14) == 2
            and search.find(probe, b"PullImage", 3, 14) == -1
            and search.rfind(probe, b"\n", 0, 11) == 1
            and search.count(probe, b"\n", 0, 12) == 2
        ):
            return search
    except Exception:  # any failure (absent, another API) means: use the stdlib
        pass
    return None


def default_search() -> Search:
    if os.environ.get("PULLWATCH_SCAN") == "stdlib":
        return STDLIB
    return _stringzilla() or STDLIB


def scan_blocks(stream: Readable, block_size: int = BLOCK_SIZE, search: Search | None = None) -> Iterator[LineBatch]:
    """Candidate lines, one batch per block read: the fast equivalent of `saved.scan_stream`.
    A read error (a corrupt or truncated gzip) is raised after the complete lines read so far."""
    search = search or default_search()
    # readinto1: at most one read of the source, so that a pipe's lines are scanned as they come
    # (a follower of stdin) instead of once a whole block has arrived; files still fill blocks.
    read_into = getattr(stream, "readinto1", None) or stream.readinto
    buffer = bytearray(block_size)
    filled = 0  # bytes in buffer: an unfinished line carried over, then what was just read
    while True:
        if filled == len(buffer):
            buffer.extend(bytes(len(buffer)))  # a line longer than the buffer: make room for it
        try:
            with memoryview(buffer) as view:
                read = read_into(view[filled:])
        except Exception:
            end = search.rfind(buffer, b"\n", 0, filled) + 1
            if end:
                yield LineBatch(_candidates(buffer, end, search), search.count(buffer, b"\n", 0, end))
            raise
        if not read:
            break
        filled += read
        # The complete lines end here. Only the bytes just read are searched: what was carried
        # over holds no newline, and searching it again made a long line (a pipe gives 64 KiB
        # per read) cost quadratic time.
        end = search.rfind(buffer, b"\n", filled - read, filled) + 1
        if end == 0:
            continue
        yield LineBatch(_candidates(buffer, end, search), search.count(buffer, b"\n", 0, end))
        rest = filled - end
        if len(buffer) > block_size and rest <= block_size // 2:
            buffer = buffer[end:filled] + bytes(block_size - rest)  # back to size after a long line
        else:
            buffer[:rest] = buffer[end:filled]
        filled = rest
    if filled:  # a last line without a newline
        line = bytes(buffer[:filled])
        wanted = is_candidate(line)
        yield LineBatch([line.rstrip(b"\r")] if wanted else [], 1)


def _candidates(buffer: bytearray, end: int, search: Search) -> list[bytes]:
    """The lines of buffer[:end] (complete lines) that contain a keyword, in order."""
    find, rfind = search.find, search.rfind
    starts: dict[int, int] = {}  # line start -> index of its newline, negative: a keyword is known there
    journal_json = bool(GATED) and find(buffer, JOURNAL_JSON_GATE, 0, end) >= 0
    for anchor in UNGATED + GATED if journal_json else UNGATED:
        known = anchor in KEYWORD_ANCHORS
        hit = find(buffer, anchor, 0, end)
        while hit >= 0:
            start = rfind(buffer, b"\n", 0, hit) + 1
            stop = find(buffer, b"\n", hit, end)
            if known:
                starts[start] = -1 - stop
            elif start not in starts:
                starts[start] = stop
            hit = find(buffer, anchor, stop + 1, end)
    lines = []
    for start in sorted(starts):
        stop = starts[start]
        if stop < 0:
            lines.append(bytes(buffer[start : -1 - stop]).rstrip(b"\r"))
            continue
        line = bytes(buffer[start:stop])
        if is_candidate(line):
            lines.append(line.rstrip(b"\r"))
    return lines
