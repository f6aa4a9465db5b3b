"""containerd's entries from the systemd journal: the matching history, then (following) new ones.

Two backends give the same batches: systemd-python's `Reader` (direct, no extra process), and
`journalctl -o json` for machines where systemd-python is not installed (it needs libsystemd to
build). Set PULLWATCH_JOURNAL_BACKEND=journalctl (or =systemd) to choose one.

Checks come first, and each failure is one SourceError that says the fix: no journal, a journal
the user may not read, no entries for the unit. Only candidate lines are kept (most of
containerd's log is not about pulls), but every entry read is counted.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pullwatch.parsers import KEYWORDS_BYTES
from pullwatch.sources import LineBatch, SourceError
from pullwatch.sources.since import parse_since

BACKEND_ENV = "PULLWATCH_JOURNAL_BACKEND"
DEFAULT_UNITS = ("containerd.service",)
SYSTEM_JOURNAL_DIRS = ("/run/log/journal", "/var/log/journal")
UNIT_SUFFIXES = (".service", ".scope", ".socket", ".slice", ".target", ".mount", ".timer", ".path", ".swap")
IDLE_SECONDS = 1.0  # while following, an empty batch this often lets the consumer stop or refresh
# journald tells readers about new entries 250-500 ms late (it coalesces its change notifications:
# POST_CHANGE_TIMER_INTERVAL_USEC in journald-server.c; `journalctl -f` waits as long), but an
# entry is readable in the mmapped journal file at once. Looking this often keeps a line's event
# within ~100 ms of the line, for about 0.1% of a core while idle (bench/latency.py).
CHECK_SECONDS = 0.1
BATCH_LINES = 4096  # candidate lines per batch
BATCH_ENTRIES = 65536  # entries per batch, so that a long history still reports progress
GROUP_HINT = "run as root, or add yourself to the systemd-journal group: sudo usermod -aG systemd-journal $USER"

_announced = False


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """Which entries to read: the units or identifiers (either matches), from when, from where."""

    units: tuple[str, ...]
    identifiers: tuple[str, ...]
    since: datetime | None  # None: the current boot (the whole directory with `directory`)
    directory: str | None

    def describe(self) -> str:
        names = [f"unit {u}" for u in self.units] + [f"identifier {i}" for i in self.identifiers]
        where = f" in {self.directory}" if self.directory else ""
        return " or ".join(names) + where

    def match_groups(self) -> list[list[str]]:
        """FIELD=value matches: within a group the same field ORs; groups OR too."""
        groups = [[f"_SYSTEMD_UNIT={u}" for u in self.units], [f"SYSLOG_IDENTIFIER={i}" for i in self.identifiers]]
        return [group for group in groups if group]

    def no_entries_error(self) -> SourceError:
        hint = "check the name: journalctl -F SYSLOG_IDENTIFIER lists them"
        if self.units and not self.identifiers:
            hint = "journalctl -F _SYSTEMD_UNIT lists the units"
            if self.units == DEFAULT_UNITS:
                hint = (
                    "k3s and rke2 users: --unit k3s (or rke2-server, rke2-agent), or read the file "
                    "/var/lib/rancher/k3s/agent/containerd/containerd.log (a PATH, or watch --file PATH)"
                )
        return SourceError(f"no journal entries for {self.describe()}; {hint}")


def unit_name(name: str) -> str:
    """`k3s` means `k3s.service`, as with `journalctl -u`."""
    return name if name.endswith(UNIT_SUFFIXES) else name + ".service"


def make_query(
    units: Sequence[str] | None = None,
    identifiers: Sequence[str] | None = None,
    since: str | None = None,
    directory: str | None = None,
) -> JournalQuery:
    chosen_units = tuple(unit_name(u) for u in units or ())
    if not chosen_units and not identifiers:
        chosen_units = DEFAULT_UNITS
    return JournalQuery(chosen_units, tuple(identifiers or ()), parse_since(since), directory)


def read_journal(
    units: Sequence[str] | None = None,
    identifiers: Sequence[str] | None = None,
    since: str | None = None,
    directory: str | None = None,
    follow: bool = False,
) -> Iterator[LineBatch]:
    """Batches of the matching entries (MESSAGE bytes, entry times), history first; with `follow`
    it then waits for new entries (an empty batch every IDLE_SECONDS while idle) until closed.
    Raises SourceError here, before the first batch, when the journal cannot be read."""
    query = make_query(units, identifiers, since, directory)
    backend, reason = journal_backend()
    check_readable(query.directory)
    if backend == "systemd":
        reader = open_reader(query)
        return _reader_batches(reader, follow)
    _journalctl_check(query)
    _announce(reason)
    return _journalctl_batches(query, follow)


def probe(units: Sequence[str]) -> SourceError | None:
    """Why the system journal cannot give `units`' entries, or None when it can (for pick_source)."""
    try:
        query = make_query(units)
        check_readable(None)
        if journal_backend()[0] == "systemd":
            open_reader(query).close()
        else:
            _journalctl_check(query)
    except SourceError as error:
        return error
    return None


# ---- access checks (both backends: sd-journal silently skips files it may not open) ----------


def journal_files(directory: Path) -> tuple[list[Path], bool]:
    """Journal files in `directory` and its machine-id subdirectories, and whether some
    directory could not be listed."""
    found: list[Path] = []
    denied = False
    for folder in (directory, *_subdirectories(directory)):
        try:
            names = os.listdir(folder)
        except PermissionError:
            denied = True
            continue
        except OSError:
            continue
        found += [folder / n for n in names if n.endswith((".journal", ".journal~"))]
    return found, denied


def _subdirectories(directory: Path) -> list[Path]:
    try:
        return [entry for entry in directory.iterdir() if entry.is_dir()]
    except OSError:
        return []


def readable(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError:
        return False
    return True


def check_readable(directory: str | None) -> None:
    """Raise SourceError unless there is a journal here that this user may read."""
    if directory is not None:
        root = Path(directory)
        if not root.exists():
            raise SourceError(f"{directory}: no such directory")
        if not root.is_dir():
            raise SourceError(f"{directory}: not a directory (--directory takes a journal directory)")
        files, denied = journal_files(root)
        if not files and not denied:
            raise SourceError(f"{directory}: no journal files (*.journal) in it")
        if not any(readable(f) for f in files):
            raise SourceError(f"{directory}: permission denied (run as root, or copy the journal somewhere readable)")
        return
    files, denied = [], False
    for folder in SYSTEM_JOURNAL_DIRS:
        more, more_denied = journal_files(Path(folder))
        files += more
        denied = denied or more_denied
    if not files and not denied:
        raise SourceError(
            "no journal found in /run/log/journal or /var/log/journal: is systemd-journald running? "
            "(for another node's journal: --directory PATH; for a log file: give its PATH, or watch --file PATH)"
        )
    system = [f for f in files if f.name.startswith("system")]
    if (denied and not system) or (system and not any(readable(f) for f in system)):
        raise SourceError(f"cannot read the system journal: permission denied; {GROUP_HINT}")


def journal_backend() -> tuple[str, str]:
    """`systemd` (systemd-python) or `journalctl`, as PULLWATCH_JOURNAL_BACKEND says or as
    installed; and why, for the one line that says the fallback is in use."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced not in ("", "systemd", "journalctl"):
        raise SourceError(f"{BACKEND_ENV}={forced}: use systemd or journalctl")
    reason = f"{BACKEND_ENV}=journalctl"
    if forced != "journalctl":
        try:
            import systemd.journal  # noqa: F401
        except ImportError:
            if forced == "systemd":
                raise SourceError(
                    "systemd-python is not installed: pip install 'pullwatch[journal]' (needs libsystemd-dev)"
                ) from None
            reason = "systemd-python is not installed"
        else:
            return "systemd", "systemd-python"
    if shutil.which("journalctl") is None:
        raise SourceError("reading the journal needs systemd-python (pip install 'pullwatch[journal]') or journalctl")
    return "journalctl", reason


def _announce(reason: str) -> None:
    """Once per process, and only once the journal is known to be readable (an error stays one line)."""
    global _announced
    if not _announced:
        _announced = True
        print(f"pullwatch: reading the journal with journalctl ({reason})", file=sys.stderr, flush=True)


def entry_time(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc)


def is_candidate(message: bytes) -> bool:
    return any(keyword in message for keyword in KEYWORDS_BYTES)


# ---- backend 1: systemd-python ----------------------------------------------------------------


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


def _reader_batches(reader: Any, follow: bool) -> Iterator[LineBatch]:
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
            if time.monotonic() - quiet_since >= IDLE_SECONDS:
                quiet_since = time.monotonic()
                yield LineBatch(times=[])
    finally:
        reader.close()


def _drain_reader(reader: Any) -> Iterator[LineBatch]:
    """Every entry from the reader's position to the end of the journal, in batches."""
    batch = LineBatch(times=[])
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
        if len(batch.lines) >= BATCH_LINES or batch.total >= BATCH_ENTRIES:
            yield batch
            batch = LineBatch(times=[])
    if batch.total:
        yield batch


# ---- backend 2: journalctl -o json --------------------------------------------------------------


def _journalctl_args(query: JournalQuery) -> list[str]:
    # -a: without it journalctl replaces fields over 4096 bytes by null (long error= values).
    args = ["journalctl", "-o", "json", "-a", "--no-pager", "--output-fields=MESSAGE"]
    if query.directory:
        args += ["--directory", query.directory]
    matches: list[str] = []
    for index, group in enumerate(query.match_groups()):
        matches += (["+"] if index else []) + group
    return args + matches


def _journalctl_check(query: JournalQuery) -> None:
    """SourceError when journalctl fails or finds no entry at all for the query."""
    try:
        result = subprocess.run(
            [*_journalctl_args(query), "-n", "1", "-q"], capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError(f"journalctl failed: {error}") from None
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines() or [f"status {result.returncode}"]
        raise SourceError(f"journalctl failed: {detail[0]}")
    if not result.stdout.strip():
        raise query.no_entries_error()


def _journalctl_batches(query: JournalQuery, follow: bool) -> Iterator[LineBatch]:
    args = _journalctl_args(query)
    if query.since is not None:
        args += ["--since", f"@{query.since.timestamp():.6f}"]
    elif query.directory is None:
        args.append("--boot")
    if follow:
        args += ["--follow", "--no-tail"]  # --follow alone starts at the last 10 entries
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    pipe = process.stdout.fileno()
    os.set_blocking(pipe, False)
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    pending = b""
    try:
        while True:
            if not poller.poll(IDLE_SECONDS * 1000):
                yield LineBatch(times=[])
                continue
            chunk = _read_available(pipe)
            if chunk is None:
                continue
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            yield from _json_batches(lines)
        if pending:
            yield from _json_batches([pending])
        status = process.wait()
        if status != 0:
            raise SourceError(f"journalctl exited with status {status}")
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()


def _read_available(pipe: int) -> bytes | None:
    """What the pipe holds now: b"" at end of file, None when it holds nothing yet."""
    parts: list[bytes] = []
    while True:
        try:
            part = os.read(pipe, 1 << 20)
        except BlockingIOError:
            if not parts:
                return None
            break
        if not part:
            break
        parts.append(part)
        if len(part) < 1 << 20:
            break
    return b"".join(parts)


def _json_batches(records: list[bytes]) -> Iterator[LineBatch]:
    batch = LineBatch(times=[])
    for record in records:
        if not record.strip():
            continue
        batch.total += 1
        if not is_candidate(record):
            continue
        message, moment = _decode_record(record)
        if message is not None and is_candidate(message):
            batch.lines.append(message.rstrip(b"\r\n"))
            batch.times.append(moment)  # type: ignore[union-attr]
        if len(batch.lines) >= BATCH_LINES:
            yield batch
            batch = LineBatch(times=[])
    if batch.total:
        yield batch


def _decode_record(record: bytes) -> tuple[bytes | None, datetime | None]:
    """MESSAGE (a string, or an array of bytes when not UTF-8) and the entry's time."""
    try:
        fields = json.loads(record)
    except ValueError:
        return None, None
    if not isinstance(fields, dict):
        return None, None
    message = fields.get("MESSAGE")
    stamp = fields.get("__REALTIME_TIMESTAMP")
    moment = entry_time(int(stamp)) if isinstance(stamp, str) and stamp.isdigit() else None
    if isinstance(message, str):
        return message.encode("utf-8", "surrogateescape"), moment
    if isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        return bytes(message), moment
    return None, moment
