"""Saved logs read once: plain files, gzip files (k3s/rke2 rotate to .gz), and stdin (`-`).

Reads bytes, never decodes non-candidate lines: most of a containerd log is not about pulls.
`read_saved` scans large blocks (scan.py); tests/test_scan.py checks it against a plain
line-by-line reference. A big file or a pipe is scanned and parsed in a child process
(scanproc.py), whose batches arrive parsed.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, cast

from pullwatch.sources import LineBatch, SourceError
from pullwatch.sources.scan import BLOCK_SIZE, Readable, scan_blocks
from pullwatch.sources.scanproc import scan_in_child, worth_a_process

GZIP_MAGIC = b"\x1f\x8b"


def open_saved(path: str) -> BinaryIO:
    """A binary stream for `path` (`-` is stdin); gzip is detected by content, not by name."""
    if path == "-":
        return _gunzip_if_gzip(cast(io.BufferedReader, sys.stdin.buffer), owned=False)  # gzip -c x | pullwatch -
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory, not a log file") from None
    except PermissionError:
        raise SourceError(f"{path}: permission denied (try sudo, or copy the log somewhere readable)") from None
    except OSError as error:
        raise SourceError(f"{path}: {error.strerror or error}") from None
    return _gunzip_if_gzip(raw, owned=True)


def _gunzip_if_gzip(stream: io.BufferedReader, owned: bool) -> BinaryIO:
    """Decompress a gzip stream. A file is sniffed with peek; a pipe is not, because after a peek
    a BufferedReader's readinto1 blocks for a whole block and lines followed on a pipe would wait:
    its first bytes are read once and handed back first (`_Replayed`)."""
    try:
        regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no descriptor (a test's stand-in stdin)
        return stream
    if regular:
        head = stream.peek(2)[:2]
        piped: BinaryIO = stream
    else:
        first = stream.raw.read(1 << 16) or b""
        while 0 < len(first) < 2:
            more = stream.raw.read(1 << 16) or b""
            if not more:
                break
            first += more
        head = first[:2]
        piped = io.BufferedReader(_Replayed(first, stream, owned))  # type: ignore[arg-type]
    if head == GZIP_MAGIC:
        return gzip.open(piped, "rb")  # type: ignore[return-value]
    return piped


class _Replayed(io.RawIOBase):
    """A pipe whose first bytes were already read (to sniff gzip): gives them back, then reads on."""

    def __init__(self, head: bytes, stream: io.BufferedReader, owned: bool) -> None:
        super().__init__()
        self._head = head
        self._stream = stream
        self._owned = owned

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        return int(self._stream.raw.readinto(buffer) or 0)

    def close(self) -> None:
        if self._owned and not self.closed:
            self._stream.close()
        super().close()


# Read failures of a saved log: I/O errors, and a gzip file that is truncated or corrupt.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error)


def read_saved(
    paths: Iterable[str], block_size: int = BLOCK_SIZE, in_child: bool | None = None, node: str | None = None
) -> Iterator[LineBatch]:
    """Candidate lines of each path in turn, in batches (one per block read), every line that
    names no node being `node`'s. A big file or a pipe is scanned and parsed by a child process
    (scanproc.py) while this one applies what it sent: its batches come parsed, without lines
    (`LineBatch.parsed`); `in_child` forces either way."""
    for path in paths:
        if worth_a_process(path) if in_child is None else in_child:
            batches = scan_in_child(path, block_size, node)
            if batches is not None:
                yield from batches
                continue
        stream = open_saved(path)
        try:
            for batch in scan_blocks(cast(Readable, stream), block_size):
                batch.node = node
                yield batch
        except READ_ERRORS as error:
            raise SourceError(f"{path}: read failed: {error}") from None
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
