"""The journal source against a real, private systemd-journald: lines logged with systemd-cat are
read by the installed `pullwatch` command (history, then live), with both backends: systemd-python
and the `journalctl -o json` fallback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from followhelp import EventStream, InProcessFollower, candidates
from followhelp import expected_events as events_of_lines
from journald import BACKENDS, PrivateJournald, missing_tools, needs_systemd_python, unique_name
from logfactory import Pull, generate, pull_lines, render

from pullwatch.sources import journal
from pullwatch.sources.journal import BACKEND_ENV, read_journal

pytestmark = pytest.mark.timeout(90)
ANNOUNCED = {
    "systemd": "",
    "journalctl": f"pullwatch: reading the journal with journalctl ({BACKEND_ENV}=journalctl)\n",
}


@pytest.fixture(scope="session")
def private_journald() -> Iterator[PrivateJournald]:
    if os.geteuid() != 0:
        pytest.skip("a private systemd-journald needs root (CI runs the tests as root)")
    missing = missing_tools()
    assert not missing, f"missing for a private journald: {missing} (Debian: apt-get install systemd util-linux)"
    instance = PrivateJournald()
    yield instance
    instance.stop()


def expected_events(lines: Sequence[str | bytes]) -> list[dict[str, Any]]:
    """What `events` prints for lines journald stored: its _HOSTNAME is this machine's name."""
    return events_of_lines(lines, node=socket.gethostname())


def pullwatch() -> str:
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command is not installed (pip install -e .)"
    return command


def backend_env(backend: str) -> dict[str, str]:
    return {**os.environ, BACKEND_ENV: backend}


def containerd_lines(seed: int, pulls: int = 10) -> list[str]:
    """What containerd writes to its stderr, which journald stores as MESSAGE."""
    lines = generate(seed=seed, pulls=pulls, version="1.7", envelope="text", chatter=2).lines
    assert len(expected_events(lines)) >= pulls
    return lines


def run(journald: PrivateJournald, args: list[str], backend: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        journald.command([pullwatch(), *args]), capture_output=True, text=True, env=backend_env(backend), timeout=60
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_follow_reads_history_then_new_entries(private_journald: PrivateJournald, backend: str) -> None:
    ident = unique_name()
    lines = containerd_lines(seed=21)
    history, live = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    private_journald.write(ident, history)
    private_journald.wait_for(ident, len(history))
    stream = EventStream(
        private_journald.command([pullwatch(), "events", "--follow", "--journal", "--identifier", ident]),
        env=backend_env(backend),
    )
    stream.wait_for(len(expected_events(history)))
    written = list(history)
    for start in range(0, len(live), len(live) // 3 + 1):
        chunk = live[start : start + len(live) // 3 + 1]
        private_journald.write(ident, chunk)
        written += chunk
        stream.wait_for(len(expected_events(written)))
    private_journald.wait_for(ident, len(lines))
    events = stream.wait_for(len(expected_events(lines)))
    status, stderr = stream.stop()  # SIGTERM, after time enough for a duplicate to show
    assert stream.events == events == expected_events(lines)
    assert status == 143
    assert stderr == ANNOUNCED[backend]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_stopping_a_follower(private_journald: PrivateJournald, backend: str, how: signal.Signals) -> None:
    """Ctrl-C and SIGTERM end it at once, without a traceback, and take journalctl with it."""
    ident = unique_name()
    lines = containerd_lines(seed=27, pulls=2)
    private_journald.write(ident, lines)
    private_journald.wait_for(ident, len(lines))
    stream = EventStream(
        private_journald.command([pullwatch(), "events", "--follow", "--journal", "--identifier", ident]),
        env=backend_env(backend),
    )
    stream.wait_for(len(expected_events(lines)))
    children = stream.children()
    assert len(children) == (1 if backend == "journalctl" else 0)
    asked = time.monotonic()
    status, stderr = stream.stop(how)
    assert time.monotonic() - asked < 2
    assert status == 128 + how
    assert stderr == ANNOUNCED[backend]
    assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_count_and_report_read_up_to_now(private_journald: PrivateJournald, backend: str) -> None:
    ident = unique_name()
    start = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    pulls = [Pull("nginx:1.25", start + timedelta(minutes=i), 2.5, 1000, 600) for i in range(3)]
    pulls.append(Pull("redis:7.2", start + timedelta(minutes=5), 1.0, 500, 100, outcome="failed"))
    lines = ['time="2026-11-27T07:59:00Z" level=info msg="starting containerd" revision= version=v1.7.24']
    lines += [render(line, "text") for pull in pulls for line in pull_lines(pull, "1.7")]
    private_journald.write(ident, lines)
    private_journald.wait_for(ident, len(lines))

    counted = run(
        private_journald, ["count", "nginx:1.25", "--journal", "--identifier", ident, "--expect", "3"], backend
    )
    assert (counted.returncode, counted.stdout, counted.stderr) == (0, "3\n", ANNOUNCED[backend])
    failed = run(
        private_journald, ["count", "redis:7.2", "--journal", "--identifier", ident, "--status", "failed"], backend
    )
    assert failed.stdout == "1\n"
    report = run(private_journald, ["report", "--format", "json", "--journal", "--identifier", ident], backend)
    assert report.returncode == 0
    stats = json.loads(report.stdout)["stats"]
    assert stats == {"lines": len(lines), "pull_lines": len(lines) - 1, "unparsed_lines": 0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_unit_is_matched_by_systemd_unit(private_journald: PrivateJournald, backend: str) -> None:
    """`--unit NAME` matches _SYSTEMD_UNIT=NAME.service, as `journalctl -u NAME` does."""
    ident = unique_name()
    unit = unique_name("pwunit")
    lines = containerd_lines(seed=22, pulls=4)
    private_journald.write(ident, lines, unit=f"{unit}.service")
    private_journald.wait_for(ident, len(lines))
    result = run(private_journald, ["events", "--journal", "--unit", unit], backend)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected_events(lines)


@pytest.mark.parametrize("backend", BACKENDS)
def test_since_chooses_where_reading_starts(private_journald: PrivateJournald, backend: str) -> None:
    ident = unique_name()
    lines = [render(line, "text") for line in pull_lines(Pull("busybox", datetime.now(timezone.utc), 1, 10, 5), "1.7")]
    private_journald.write(ident, lines)
    private_journald.wait_for(ident, len(lines))
    later = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    for since, pulls in (("1h", "1"), ("boot", "1"), ("today", "1")):
        result = run(
            private_journald, ["count", "busybox", "--journal", "--identifier", ident, "--since", since], backend
        )
        assert (since, result.returncode, result.stdout) == (since, 0, pulls + "\n")
    result = run(private_journald, ["count", "busybox", "--journal", "--identifier", ident, "--since", later], backend)
    assert (result.returncode, result.stdout) == (2, "")  # nothing read is an error, not an answer of 0
    assert "read 0 lines from journal" in result.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copied_journal_directory(private_journald: PrivateJournald, backend: str, tmp_path: Path) -> None:
    """--directory reads another node's journal (all of it: its boots are not ours)."""
    ident = unique_name()
    lines = containerd_lines(seed=23, pulls=5)
    private_journald.write(ident, lines)
    private_journald.wait_for(ident, len(lines))
    copy = tmp_path / "node-7-journal"
    shutil.copytree(private_journald.journal_dir, copy)
    result = subprocess.run(
        [pullwatch(), "events", "--directory", str(copy), "--identifier", ident],
        capture_output=True,
        text=True,
        env=backend_env(backend),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected_events(lines)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_that_is_not_utf8(private_journald: PrivateJournald, backend: str) -> None:
    """journald keeps such a MESSAGE as bytes (journalctl prints it as an array of numbers)."""
    ident = unique_name()
    line = b'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"nginx:1.25\\"" note="\xff\xfe"'
    private_journald.write(ident, [b"\xc3(\xa0 not utf-8 and not a pull", line])
    private_journald.wait_for(ident, 2)
    result = run(private_journald, ["events", "--journal", "--identifier", ident], backend)
    assert result.returncode == 0, result.stderr
    assert [json.loads(text) for text in result.stdout.splitlines()] == expected_events([line])


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_entries_for_the_unit(private_journald: PrivateJournald, backend: str) -> None:
    default = run(private_journald, ["count", "nginx", "--journal"], backend)
    assert default.returncode == 2
    assert default.stdout == ""
    assert default.stderr == (
        "pullwatch: no journal entries for unit containerd.service; k3s and rke2 users: --unit k3s "
        "(or rke2-server, rke2-agent), or read the file /var/lib/rancher/k3s/agent/containerd/containerd.log "
        "(a PATH, or watch --file PATH)\n"
    )
    ident = unique_name()
    named = run(private_journald, ["events", "--follow", "--journal", "--identifier", ident], backend)
    assert named.returncode == 2
    assert named.stderr == (
        f"pullwatch: no journal entries for identifier {ident}; check the name: "
        "journalctl -F SYSLOG_IDENTIFIER lists them\n"
    )


def test_without_systemd_python_it_falls_back_to_journalctl(private_journald: PrivateJournald, tmp_path: Path) -> None:
    """A `systemd` package that fails to import stands for a machine without systemd-python."""
    (tmp_path / "systemd").mkdir()
    (tmp_path / "systemd" / "__init__.py").write_text("raise ImportError('no systemd-python here')\n")
    ident = unique_name()
    lines = containerd_lines(seed=24, pulls=3)
    private_journald.write(ident, lines)
    private_journald.wait_for(ident, len(lines))
    env = {key: value for key, value in os.environ.items() if key != BACKEND_ENV}
    env["PYTHONPATH"] = str(tmp_path)
    result = subprocess.run(
        private_journald.command([pullwatch(), "events", "--journal", "--identifier", ident]),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stderr == "pullwatch: reading the journal with journalctl (systemd-python is not installed)\n"
    assert len(result.stdout.splitlines()) == len(expected_events(lines))


@needs_systemd_python
def test_read_journal_batches(private_journald: PrivateJournald, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: every entry counted, only candidate MESSAGEs kept, each with its entry time;
    then following, an idle tick lets the consumer stop."""
    monkeypatch.setenv(BACKEND_ENV, "systemd")
    monkeypatch.setattr(journal, "IDLE_SECONDS", 0.2)
    ident = unique_name()
    lines = containerd_lines(seed=25, pulls=6)
    before = datetime.now(timezone.utc)
    private_journald.write(ident, lines[:20])
    private_journald.wait_for(ident, 20)
    directory = str(private_journald.journal_dir)
    batches = list(read_journal(identifiers=[ident], directory=directory))
    assert sum(batch.total for batch in batches) == 20
    assert [line for batch in batches for line in batch.lines] == candidates(lines[:20])
    times = [moment for batch in batches for moment in batch.times or []]
    assert len(times) == len(candidates(lines[:20]))
    assert all(
        moment is not None and before - timedelta(seconds=1) <= moment <= datetime.now(timezone.utc) for moment in times
    )
    nodes = [node for batch in batches for node in batch.nodes or []]
    assert nodes == [socket.gethostname()] * len(times)  # each entry's _HOSTNAME

    follower = InProcessFollower(read_journal(identifiers=[ident], directory=directory, follow=True))
    follower.wait_total(20)
    private_journald.write(ident, lines[20:])
    follower.wait_total(len(lines))
    follower.close()
    assert follower.total == len(lines)
    assert follower.lines == candidates(lines)
    assert follower.events() == expected_events(lines)


def test_pick_source_finds_the_journal(private_journald: PrivateJournald) -> None:
    ident = unique_name()
    unit = unique_name("pwunit") + ".service"
    private_journald.write(ident, containerd_lines(seed=26, pulls=2), unit=unit)
    private_journald.wait_for(ident, 1)
    script = textwrap.dedent(f"""
        from pullwatch.sources.auto import pick_source
        picked = pick_source(containerd_units=[{unit!r}], embedded_logs=[])
        print(picked.kind, picked.description, picked.note)
        print(sum(len(batch.lines) for batch in picked.batches(False)))
    """)
    result = subprocess.run(
        private_journald.command([sys.executable, "-c", script]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"journal journal: {unit} None"
    assert int(result.stdout.splitlines()[1]) == len(candidates(containerd_lines(seed=26, pulls=2)))
