"""A log file read from its start, then followed as it grows, is rotated, or is replaced.

k3s and rke2 write containerd's log with lumberjack, which rotates by renaming containerd.log and
creating a new one; logrotate's copytruncate empties the file in place; people delete and recreate
files. The follower tells these apart by the file's identity (st_dev, st_ino) and size, and by the
bytes just before its read offset (a file truncated and refilled past that offset between two
looks has different bytes there). It reads with os.pread on a descriptor (a truncated mmap would
raise SIGBUS), holds a half-written line until its newline arrives, and sleeps until watchdog
reports a change in the file's directory (and in its target's, for a symlink); a re-check every
IDLE_SECONDS is the safety net. A path that becomes a directory or a file it may not read is
waited for (said once on stderr), as a path that does not exist yet is.

The one case it cannot follow: two rotations between two looks (a look comes within a
millisecond or so of a change), where the middle file never carried the name while looked at.
lumberjack rotates every 50 MB, so this does not happen to a containerd.log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from pullwatch.parsers import is_candidate
from pullwatch.sources import BATCH_LINES, LineBatch, SourceError

IDLE_SECONDS = 1.0  # safety-net re-check; also an empty batch so that the consumer may stop
CHUNK = 1 << 20
MARK_BYTES = 64  # bytes before the offset remembered to notice a truncate-and-refill
LONGEST_LINE = 8 << 20  # a "line" without newline longer than this is let through as is
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
]
# watchdog logs a harmless race when its observer is stopped ("queue_events() called when the
# thread is inactive"); without a handler Python would print it on stderr at every exit.
logging.getLogger("watchdog").addHandler(logging.NullHandler())


class _Wake(FileSystemEventHandler):
    """Runs in watchdog's thread: any change in the directory wakes the reader."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.wake.set()


@dataclass
class _OpenFile:
    """The file being read: its descriptor, identity, read offset and unfinished last line."""

    fd: int
    identity: tuple[int, int]
    offset: int = 0
    pending: bytes = b""
    mark: bytes = b""  # the last bytes read, which must still be there before `offset`
    batch: LineBatch = field(default_factory=LineBatch)


def follow_file(path: str) -> Iterator[LineBatch]:
    """The file's lines from its start, then new lines as they are written, across rotations.
    Raises SourceError here (not at the first batch) for a directory or an unreadable file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise SourceError(f"{path}: {error.strerror or error}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise SourceError(f"{path}: is a directory, not a log file")
        try:
            os.close(os.open(path, os.O_RDONLY))
        except PermissionError:
            raise SourceError(f"{path}: permission denied (try sudo)") from None
    return _follow(path)


def _follow(path: str) -> Iterator[LineBatch]:
    wake = threading.Event()
    observer = Observer()
    watches = _Watches(observer, _Wake(wake))
    follower = _Follower(path)
    said: str | None = None
    try:
        observer.start()
        while True:
            watches.update(path)
            wake.clear()  # before looking: a change from now on wakes the wait below
            read_some = False
            for batch in follower.look():
                read_some = True
                yield batch
            if follower.waiting != said:
                said = follower.waiting
                if said is not None:  # said once per stretch of waiting, not at every look
                    print(f"pullwatch: {said}", file=sys.stderr, flush=True)
            if not read_some and not wake.wait(IDLE_SECONDS):
                yield LineBatch()
    finally:
        observer.stop()
        observer.join(5)
        follower.close()


class _Watches:
    """The directories watched for changes: the path's own, and its target's when the path is a
    symlink (a write to the target changes nothing in the link's directory, and a retargeted
    link would otherwise be noticed by the IDLE_SECONDS re-check only). Kept up to date as links
    are retargeted and directories replaced."""

    def __init__(self, observer: BaseObserver, handler: FileSystemEventHandler) -> None:
        self.observer = observer
        self.handler = handler
        self.watched: dict[str, tuple[tuple[int, int], ObservedWatch]] = {}

    def update(self, path: str) -> None:
        wanted = {os.path.dirname(os.path.abspath(path)), os.path.dirname(os.path.realpath(path))}
        for directory in list(self.watched):
            identity, watch = self.watched[directory]
            if directory not in wanted or _identity(directory) != identity:
                del self.watched[directory]
                with contextlib.suppress(KeyError, OSError):  # its directory gone, and the watch with it
                    self.observer.unschedule(watch)
        for directory in wanted - self.watched.keys():
            found = _identity(directory)
            if found is None:
                continue  # not there (yet): the re-check looks again
            try:
                watch = self.observer.schedule(self.handler, directory, recursive=False, event_filter=WATCHED_EVENTS)
            except OSError:
                continue  # no permission, or out of inotify watches: the re-check still looks
            self.watched[directory] = (found, watch)


def _identity(directory: str) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


class _Follower:
    """The path being followed and the file it named when last looked at."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.current: _OpenFile | None = None
        self.waiting: str | None = None  # why no file is being read, while none is

    def close(self) -> None:
        if self.current is not None:
            os.close(self.current.fd)
            self.current = None

    def look(self) -> Iterator[LineBatch]:
        """Read what is new: switch files when the path names another one, restart when truncated."""
        try:
            info: os.stat_result | None = os.stat(self.path)
        except OSError:
            info = None  # gone (renamed or deleted): keep reading the file we hold
        current = self.current
        if current is not None and info is not None and (info.st_dev, info.st_ino) != current.identity:
            yield from _read_new(current, final=True)  # replaced: finish the old file, then switch
            self.close()
            current = None
        if current is None:
            if info is None:
                self.waiting = f"waiting for {self.path} to appear"
                return
            if stat.S_ISDIR(info.st_mode):
                self.waiting = f"{self.path} is a directory now; waiting for a log file there"
                return
            current, self.waiting = _open(self.path)
            self.current = current
            if current is None:
                return
        yield from _read_new(current, final=False)


def _open(path: str) -> tuple[_OpenFile | None, str | None]:
    """The file the path names now, or None and why it is waited for (gone again between stat
    and open, or not readable: a rotation may create it with other permissions for a moment)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, f"waiting for {path} to appear"
    except OSError as error:
        return None, f"{path} cannot be read ({error.strerror or error}); waiting until it can"
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        return None, f"{path} is a directory now; waiting for a log file there"
    return _OpenFile(fd, (info.st_dev, info.st_ino)), None


def _read_after_mark(current: _OpenFile) -> bytes | None:
    """The next bytes after the offset, or None when the file was truncated (it is shorter than
    the offset, or the bytes before the offset changed). The mark and the new bytes come from one
    read: checked apart, a truncate-and-refill between the check and the read would go unseen,
    and the read would start inside the new content, in the middle of a line. One read is not
    atomic either (a refill may land while it copies), so the mark is read again after it: what
    was read together with a truncate is dropped (copytruncate copied it to the rotated file)."""
    size = len(current.mark)
    data = os.pread(current.fd, CHUNK + size, current.offset - size)
    if data[:size] != current.mark:
        return None
    if size and len(data) > size and os.pread(current.fd, size, current.offset - size) != current.mark:
        return None
    return data[size:]


def _restart(current: _OpenFile) -> Iterator[LineBatch]:
    """Copytruncate: read again from 0. An unfinished line is let through as it is (its end went
    with the old content), so that it is counted rather than lost."""
    if current.pending:
        _take(current, current.pending)
        yield current.batch
        current.batch = LineBatch()
    current.offset, current.pending, current.mark = 0, b"", b""


def _read_new(current: _OpenFile, final: bool) -> Iterator[LineBatch]:
    """Complete lines from the offset to the end of the file; with `final` (the file was
    replaced, nothing more will come) the unfinished last line too."""
    while True:
        chunk = _read_after_mark(current)
        if chunk is None:
            yield from _restart(current)
            continue
        if not chunk:
            break
        current.offset += len(chunk)
        current.mark = (current.mark + chunk)[-MARK_BYTES:]
        data = current.pending + chunk
        end = data.rfind(b"\n")
        if end < 0 and len(data) < LONGEST_LINE:
            current.pending = data
            continue
        if end < 0:
            end = len(data)
        current.pending = data[end + 1 :]
        for line in data[:end].split(b"\n"):
            _take(current, line)
        if len(current.batch.lines) >= BATCH_LINES or len(chunk) == CHUNK:
            yield current.batch
            current.batch = LineBatch()
    if final and current.pending:
        _take(current, current.pending)
        current.pending = b""
    if current.batch.total:
        yield current.batch
        current.batch = LineBatch()


def _take(current: _OpenFile, line: bytes) -> None:
    """Count a line; keep it when it may be a pull line. Leading NULs are the hole a writer
    without O_APPEND leaves after a copytruncate."""
    current.batch.total += 1
    if is_candidate(line):
        current.batch.lines.append(line.rstrip(b"\r").lstrip(b"\x00"))
