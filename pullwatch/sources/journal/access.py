"""May this user read the journal? Checked before either backend runs, because sd-journal silently
skips the files it may not open (and would then report no entries instead of the fix)."""

from __future__ import annotations

import os
from pathlib import Path

from pullwatch.sources import SourceError

SYSTEM_JOURNAL_DIRS = ("/run/log/journal", "/var/log/journal")
GROUP_HINT = "run as root, or add yourself to the systemd-journal group: sudo usermod -aG systemd-journal $USER"


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
