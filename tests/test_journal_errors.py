"""A journal that cannot be read is one line on stderr that says the fix, and exit status 2:
no journal at all, a journal this user may not read, a missing or empty --directory, a bad
--since, an unknown backend. Run in throwaway mount namespaces, so the machine's own journal
(if any) cannot change the outcome."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from journald import BACKENDS, have_systemd_python, in_private_namespace, missing_tools

from pullwatch.sources import SourceError
from pullwatch.sources.journal import BACKEND_ENV, unit_name
from pullwatch.sources.since import parse_since

pytestmark = pytest.mark.timeout(60)
NO_CAPS = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


def pullwatch() -> str:
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command is not installed (pip install -e .)"
    return command


DEFAULT_BACKEND = "systemd" if have_systemd_python() else "journalctl"


def run(args: list[str], backend: str = DEFAULT_BACKEND) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, BACKEND_ENV: backend}
    return subprocess.run([pullwatch(), *args], capture_output=True, text=True, env=env, timeout=60)


def run_in_empty_namespace(script: str, backend: str) -> subprocess.CompletedProcess[str]:
    """`script` in a mount namespace whose journal directories are empty."""
    if os.geteuid() != 0:
        pytest.skip("a private mount namespace needs root (CI runs the tests as root)")
    assert not missing_tools(), missing_tools()
    env = {**os.environ, BACKEND_ENV: backend}
    return subprocess.run(in_private_namespace(script), capture_output=True, text=True, env=env, timeout=60)


def assert_one_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"pullwatch: {message}\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_journal_at_all(backend: str) -> None:
    command = shlex.join([pullwatch(), "events", "--follow", "--journal"])
    result = run_in_empty_namespace(f"exec {command}", backend)
    assert result.returncode == 2
    assert result.stderr == (
        "pullwatch: no journal found in /run/log/journal or /var/log/journal: is systemd-journald running? "
        "(for another node's journal: --directory PATH; for a log file: give its PATH, or watch --file PATH)\n"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_journal_this_user_may_not_read(backend: str) -> None:
    """The system journal belongs to root:systemd-journal, mode 0640; a user outside the group
    (here: root without the capability to override file permissions) cannot open it."""
    machine = Path("/etc/machine-id").read_text().strip() or "0" * 32
    folder = f"/run/log/journal/{machine}"
    command = shlex.join([*NO_CAPS, pullwatch(), "count", "nginx", "--journal"])
    script = (
        f"mkdir -p {folder} && touch {folder}/system.journal && chown -R 65534:65534 {folder} && "
        f"chmod 0700 {folder} && chmod 0600 {folder}/system.journal && exec {command}"
    )
    result = run_in_empty_namespace(script, backend)
    assert result.returncode == 2
    assert result.stderr == (
        "pullwatch: cannot read the system journal: permission denied; run as root, or add yourself to the "
        "systemd-journal group: sudo usermod -aG systemd-journal $USER\n"
    )


def test_directory_missing_empty_or_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert_one_line(run(["count", "nginx", "--directory", str(missing)]), f"{missing}: no such directory")
    assert_one_line(
        run(["report", "--directory", str(tmp_path)], "journalctl"),
        f"{tmp_path}: no journal files (*.journal) in it",
    )
    afile = tmp_path / "system.journal.txt"
    afile.write_text("not a journal\n")
    assert_one_line(
        run(["events", "--follow", "--directory", str(afile)]),
        f"{afile}: not a directory (--directory takes a journal directory)",
    )


def test_unreadable_directory(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    folder.mkdir()
    (folder / "system.journal").write_bytes(b"LPKSHHRH")
    (folder / "system.journal").chmod(0)
    args = [*NO_CAPS, pullwatch(), "count", "nginx", "--directory", str(folder)] if os.geteuid() == 0 else None
    if args is None:
        args = [pullwatch(), "count", "nginx", "--directory", str(folder)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"pullwatch: {folder}: permission denied (run as root, or copy the journal somewhere readable)\n"
    )


def test_bad_since_and_bad_backend(tmp_path: Path) -> None:
    assert_one_line(
        run(["count", "nginx", "--journal", "--since", "last tuesday"]),
        "--since 'last tuesday': not a time (use 1h, 30m, 2d, today, yesterday, boot, "
        "or an ISO time like 2026-11-27T08:00)",
    )
    assert_one_line(
        run(["count", "nginx", "--journal"], backend="sd-bus"), f"{BACKEND_ENV}=sd-bus: use systemd or journalctl"
    )


# ---- the pieces the messages come from ------------------------------------------------------------


NOW = datetime(2026, 11, 27, 15, 30, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        (None, None),
        ("boot", None),
        ("1h", NOW - timedelta(hours=1)),
        ("30m", NOW - timedelta(minutes=30)),
        ("-15min", NOW - timedelta(minutes=15)),
        ("1h30m ago", NOW - timedelta(hours=1, minutes=30)),
        ("2d", NOW - timedelta(days=2)),
        ("today", datetime(2026, 11, 27, tzinfo=timezone.utc)),
        ("yesterday", datetime(2026, 11, 26, tzinfo=timezone.utc)),
        ("now", NOW),
        ("2026-11-27T08:00:00Z", datetime(2026, 11, 27, 8, tzinfo=timezone.utc)),
        ("2026-11-27 08:00+02:00", datetime(2026, 11, 27, 6, tzinfo=timezone.utc)),
    ],
)
def test_since(text: str | None, moment: datetime | None) -> None:
    assert parse_since(text, now=NOW) == moment


@pytest.mark.parametrize("text", ["1 fortnight", "soon", "2026-13-01", "1h and a bit"])
def test_since_rejects(text: str) -> None:
    with pytest.raises(SourceError, match="not a time"):
        parse_since(text, now=NOW)


def test_unit_names_as_journalctl_reads_them() -> None:
    assert [unit_name(n) for n in ("k3s", "rke2-agent", "containerd.service", "kubepods.slice")] == [
        "k3s.service",
        "rke2-agent.service",
        "containerd.service",
        "kubepods.slice",
    ]
