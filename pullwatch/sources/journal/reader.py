"""Backend 1: systemd-python's `Reader`, reading the journal files directly (no extra process).

journald tells readers about new entries 250-500 ms late (it coalesces its change notifications:
POST_CHANGE_TIMER_INTERVAL_USEC in journald-server.c; `journalctl -f` waits as long), but an entry
is readable in the mmapped journal file at once: looking every CHECK_SECONDS keeps a line's event
within ~100 ms of the line, for about 0.1% of a core while idle (bench/latency.py).
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from typing import Any

from pullwatch.parsers import is_candidate
from pullwatch.sources import BATCH_LINES, LineBatch, SourceError
from pullwatch.sources.journal.query import JournalQuery, entry_time

CHECK_SECONDS = 0.1
BATCH_ENTRIES = 65536  # entries per batch, so that a long history still reports progress


def open_reader(query: JournalQuery) -> Any:
    """A Reader positioned before the first wanted entry; SourceError when none ever matched."""
    from systemd import journal

    try:
        reader = journal.Reader(path=query.directory) if query.directory else journal.Reader()
    except OSError as error:
        raise SourceError(f"cannot open the journal: {error.strerror or error}") from None
    for index, group in enumerate(query.match_groups()):
        if index:
            reader.add_disjunction()
        for match in group:
            reader.add_match(match)
    reader.seek_head()
    if not reader._next():
        reader.close()
        raise query.no_entries_error()
    if query.since is not None:
        reader.seek_realtime(int(query.since.timestamp() * 1_000_000))
    elif query.directory is None:
        reader.add_conjunction()
        reader.this_boot()
        reader.seek_head()
    else:
        reader.seek_head()
    return reader


def reader_batches(reader: Any, follow: bool, idle_seconds: float) -> Iterator[LineBatch]:
    try:
        yield from _drain_reader(reader)
        if not follow:
            return
        poller = select.poll()
        poller.register(reader.fileno(), reader.get_events())
        quiet_since = time.monotonic()
        while True:
            poller.poll(CHECK_SECONDS * 1000)
            reader.process()  # resets the inotify fd, notices new and rotated journal files
            for batch in _drain_reader(reader):
                quiet_since = time.monotonic()
                yield batch
            if time.monotonic() - quiet_since >= idle_seconds:
                quiet_since = time.monotonic()
                yield LineBatch(times=[])
    finally:
        reader.close()


def _hostname(reader: Any) -> str | None:
    """The entry's _HOSTNAME: which node logged it (a merged journal holds several)."""
    try:
        host = reader._get("_HOSTNAME")
    except KeyError:
        return None
    if isinstance(host, bytes):
        host = host.decode("utf-8", "backslashreplace")
    return host if isinstance(host, str) and host else None


def _drain_reader(reader: Any) -> Iterator[LineBatch]:
    """Every entry from the reader's position to the end of the journal, in batches."""
    batch = LineBatch(times=[], nodes=[])
    while reader._next():
        batch.total += 1
        try:
            message = reader._get("MESSAGE")
        except KeyError:
            continue  # an entry without MESSAGE: counted, nothing to parse
        if isinstance(message, str):
            message = message.encode("utf-8", "surrogateescape")
        if is_candidate(message):
            batch.lines.append(message.rstrip(b"\r\n"))
            batch.times.append(entry_time(reader._get_realtime()))  # type: ignore[union-attr]
            batch.nodes.append(_hostname(reader))  # type: ignore[union-attr]
        if len(batch.lines) >= BATCH_LINES or batch.total >= BATCH_ENTRIES:
            yield batch
            batch = LineBatch(times=[], nodes=[])
    if batch.total:
        yield batch
