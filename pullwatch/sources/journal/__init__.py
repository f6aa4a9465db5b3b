"""containerd's entries from the systemd journal: the matching history, then (following) new ones.

Two backends give the same batches: systemd-python's `Reader` (reader.py: direct, no extra
process), and `journalctl -o json` (journalctl.py) for machines where systemd-python is not
installed. Set PULLWATCH_JOURNAL_BACKEND=journalctl (or =systemd) to choose one.

Checks come first (access.py), and each failure is one SourceError that says the fix: no journal,
a journal the user may not read, no entries for the unit. Only candidate lines are kept (most of
containerd's log is not about pulls), but every entry read is counted.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence

from pullwatch.sources import LineBatch, SourceError
from pullwatch.sources.journal import journalctl, reader
from pullwatch.sources.journal.access import check_readable
from pullwatch.sources.journal.query import DEFAULT_UNITS, JournalQuery, make_query, unit_name

BACKEND_ENV = "PULLWATCH_JOURNAL_BACKEND"
IDLE_SECONDS = 1.0  # while following, an empty batch this often lets the consumer stop or refresh


def read_journal(
    units: Sequence[str] | None = None,
    identifiers: Sequence[str] | None = None,
    since: str | None = None,
    directory: str | None = None,
    follow: bool = False,
) -> Iterator[LineBatch]:
    """Batches of the matching entries (MESSAGE bytes, entry times), history first; with `follow`
    it then waits for new entries (an empty batch every IDLE_SECONDS while idle) until closed.
    Raises SourceError here, before the first batch, when the journal cannot be read. With the
    journalctl fallback it says so on stderr, once the journal is known to be readable (an error
    stays one line)."""
    query = make_query(units, identifiers, since, directory)
    backend, reason = journal_backend()
    check_readable(query.directory)
    if backend == "systemd":
        return reader.reader_batches(reader.open_reader(query), follow, IDLE_SECONDS)
    journalctl.check(query)
    print(f"pullwatch: reading the journal with journalctl ({reason})", file=sys.stderr, flush=True)
    return journalctl.journalctl_batches(query, follow, IDLE_SECONDS)


def probe(units: Sequence[str]) -> SourceError | None:
    """Why the system journal cannot give `units`' entries, or None when it can (for pick_source)."""
    try:
        query = make_query(units)
        check_readable(None)
        if journal_backend()[0] == "systemd":
            reader.open_reader(query).close()
        else:
            journalctl.check(query)
    except SourceError as error:
        return error
    return None


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


__all__ = ["BACKEND_ENV", "DEFAULT_UNITS", "JournalQuery", "make_query", "probe", "read_journal", "unit_name"]
