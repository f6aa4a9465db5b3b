"""Exit statuses and process hygiene (issue 9), with real processes: a full disk, closed standard
streams, SIGTERM and SIGHUP to the headless commands and to the monitor (in tmux, whose pane tells
whether the terminal was given back). Documented in README "Exit status": 0 ok, 1 only for a
`count --expect` mismatch, 2 usage/input/output errors with one line on stderr, 128+N on signal N.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clihelp import PULLWATCH
from journald import PrivateJournald, unique_name
from test_journal import containerd_lines, private_journald  # noqa: F401 (a fixture)
from tuihelp import SAMPLE

from pullwatch.sources.journal import BACKEND_ENV

pytestmark = pytest.mark.timeout(120)


def sh(script: str) -> subprocess.CompletedProcess[str]:
    """`script` in sh, with $PW the installed command and $LOG the bundled sample."""
    env = {**os.environ, "PW": str(PULLWATCH), "LOG": str(SAMPLE)}
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, env=env, check=False)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pullwatch: "), done.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    "command",
    [
        "report $LOG",
        "report --format json $LOG",
        "report --format csv $LOG",
        "events $LOG",
        "count nginx $LOG",
        "--help",
        "report --help",
        "--version",
    ],
)
def test_full_disk_is_one_line_and_status_2(command: str) -> None:
    assert_one_line_error(sh(f"$PW {command} > /dev/full"), "No space left on device")


def test_closed_stdin_with_a_file_named_reads_the_file() -> None:
    done = sh("$PW report --format json $LOG <&-")
    assert (done.returncode, done.stderr) == (0, "")
    assert '"pulls": [' in done.stdout


def test_closed_stdin_without_a_file_is_a_usage_error() -> None:
    assert_one_line_error(sh("$PW report <&-"), "stdin is closed")


def test_closed_stdout_is_a_usage_error() -> None:
    assert_one_line_error(sh("$PW report $LOG >&-"), "standard output is closed")


def test_closed_stderr_is_no_error() -> None:
    done = sh("$PW count nginx $LOG 2>&-")
    assert done.returncode == 0 and done.stdout.strip().isdigit()


def test_reader_gone_early_is_quiet() -> None:
    done = sh("$PW report --format json $LOG | head -c 10 > /dev/null; exit 0")
    assert done.stderr == ""


def test_count_mismatch_is_the_only_status_1() -> None:
    assert sh("$PW count nginx $LOG --expect 9999").returncode == 1
    assert sh("$PW count nginx /nonexistent.log --expect 9999").returncode == 2


def children_of(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def named(pid: int, word: str) -> list[int]:
    """Descendants of `pid` whose command line has `word` in its first two arguments (nsenter
    may or may not stay between the shell and the command it runs)."""
    found: list[int] = []
    for child in children_of(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[:2]
        except FileNotFoundError:
            continue
        if any(word.encode() in Path(arg.decode()).name.encode() for arg in argv):
            found.append(child)
        found += named(child, word)
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_to_report_ends_its_scanning_child(tmp_path: Path, signum: int, status: int) -> None:
    """`report -` on a pipe scans in a child; the pipe stays open and quiet, so the child would
    wait for input long after its parent died."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen([str(PULLWATCH), "report", "-"], stdin=read_end, stderr=subprocess.PIPE)
        os.close(read_end)
        deadline = time.monotonic() + 20
        while not (kids := children_of(process.pid)):
            assert time.monotonic() < deadline, "the scanning child did not start"
            time.sleep(0.05)
        time.sleep(0.3)  # let the command reach its read loop
        process.send_signal(signum)
        assert process.wait(20) == status
        assert process.stderr is not None and b"Traceback" not in process.stderr.read()
        deadline = time.monotonic() + 5
        while any(alive(kid) for kid in kids):
            assert time.monotonic() < deadline, f"child {kids} outlived the command"
            time.sleep(0.05)
    finally:
        os.close(write_end)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_to_events_follow(tmp_path: Path, signum: int, status: int) -> None:
    log = tmp_path / "containerd.log"
    log.write_bytes(Path(SAMPLE).read_bytes())
    process = subprocess.Popen(
        [str(PULLWATCH), "events", "--follow", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline().startswith(b"{")
    process.send_signal(signum)
    assert process.wait(20) == status
    assert process.stderr is not None and process.stderr.read() == b""


class Tmux:
    def __init__(self) -> None:
        self.socket = f"pullwatch-exit-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def flags(self) -> str:
        """alternate screen on, cursor shown, mouse reporting on: as the pane sees them."""
        return self("display", "-p", "-t", "t", "#{alternate_on} #{cursor_flag} #{mouse_any_flag}").strip()

    def wait(self, check: object, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self('capture-pane', '-p', '-t', 't')}"
            time.sleep(0.1)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is needed (scripts/test.sh installs it)"
    server = Tmux()
    server("new-session", "-d", "-x", "160", "-y", "50", "-s", "t", "env PS1='ready$ ' TERM=xterm-256color sh")
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_to_the_monitor_gives_the_terminal_back(tmux: Tmux, signum: int, status: int) -> None:
    tmux.wait(lambda: "ready$" in tmux("capture-pane", "-p", "-t", "t"), "the shell")
    tmux("send-keys", "-t", "t", "-l", f"{PULLWATCH} replay --speed 1 {SAMPLE}; echo exit=$?")
    tmux("send-keys", "-t", "t", "Enter")
    tmux.wait(lambda: tmux.flags() == "1 0 1", "the monitor's screen (alternate screen, mouse, no cursor)")
    shell = int(tmux("display", "-p", "-t", "t", "#{pane_pid}"))
    (monitor,) = children_of(shell)
    os.kill(monitor, signum)
    tmux.wait(lambda: f"exit={status}" in tmux("capture-pane", "-p", "-t", "t"), f"exit={status}")
    assert tmux.flags() == "0 1 0"
    assert "Traceback" not in tmux("capture-pane", "-p", "-t", "t", "-S", "-200")


def following(shell: int) -> list[int]:
    """The journalctl processes below `shell` that follow the journal."""
    found = []
    for pid in named(shell, "journalctl"):
        try:
            if b"--follow" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                found.append(pid)
        except FileNotFoundError:
            continue
    return found


def test_sigterm_to_the_monitor_on_the_journal_ends_journalctl(tmux: Tmux, private_journald: PrivateJournald) -> None:  # noqa: F811
    """The live monitor on a (private, real) journal through journalctl: SIGTERM gives the terminal
    back and leaves no journalctl behind, although the journal stays quiet."""
    ident = unique_name()
    private_journald.write(ident, containerd_lines(seed=41, pulls=2))
    command = private_journald.command([str(PULLWATCH), "watch", "--journal", "--identifier", ident])
    tmux.wait(lambda: "ready$" in tmux("capture-pane", "-p", "-t", "t"), "the shell")
    tmux("send-keys", "-t", "t", "-l", f"env {BACKEND_ENV}=journalctl {' '.join(command)}; echo exit=$?")
    tmux("send-keys", "-t", "t", "Enter")
    tmux.wait(lambda: tmux.flags() == "1 0 1", "the monitor's screen")
    shell = int(tmux("display", "-p", "-t", "t", "#{pane_pid}"))
    tmux.wait(lambda: len(following(shell)) == 1, "journalctl --follow")
    (monitor,) = named(shell, "pullwatch")
    (journalctl,) = following(shell)  # not the short `journalctl -n 1` that checks the query first
    os.kill(monitor, signal.SIGTERM)
    tmux.wait(lambda: "exit=143" in tmux("capture-pane", "-p", "-t", "t"), "exit=143")
    assert tmux.flags() == "0 1 0"
    assert not alive(journalctl)


def _ignoring(*signums: int) -> Callable[[], None]:
    """A preexec_fn that starts the command with `signums` ignored, as `nohup` or a careless
    supervisor would: an ignored disposition survives exec."""

    def ignore() -> None:
        for signum in signums:
            signal.signal(signum, signal.SIG_IGN)

    return ignore


def test_an_ignored_hangup_stays_ignored() -> None:
    """`nohup pullwatch count '*' -`: a SIGHUP while it reads is ignored, and the count is whole."""
    expected = subprocess.run([str(PULLWATCH), "count", "*", str(SAMPLE)], capture_output=True, text=True, check=True)
    process = subprocess.Popen(
        [str(PULLWATCH), "count", "*", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignoring(signal.SIGHUP),
    )
    assert process.stdin is not None
    process.stdin.write(SAMPLE.read_text()[:1000])
    process.stdin.flush()
    time.sleep(0.5)  # started, reading
    process.send_signal(signal.SIGHUP)
    out, err = process.communicate(SAMPLE.read_text()[1000:], timeout=30)
    assert (process.returncode, out) == (0, expected.stdout), err


def test_an_ignored_sigchld_does_not_hide_a_failed_journalctl(tmp_path: Path) -> None:
    """With SIGCHLD inherited as ignored, the kernel reaps children and their exit statuses are
    lost (a failed journalctl read as a success, finding nothing): pullwatch takes SIGCHLD back."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "journalctl"
    fake.write_text("#!/bin/sh\necho 'Failed to open journal: permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "system.journal").write_bytes(b"")  # what the probe looks for
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", BACKEND_ENV: "journalctl"}
    done = subprocess.run(
        [str(PULLWATCH), "report", "--directory", str(tmp_path / "journal")],
        capture_output=True, text=True, timeout=60, env=env, check=False,
        preexec_fn=_ignoring(signal.SIGCHLD),
    )  # fmt: skip
    assert_one_line_error(done, "journalctl failed", "permission denied")


@pytest.mark.parametrize("name", ["/dev/stdin", "/dev/fd/0", "/dev/fd/3"])
def test_a_big_file_named_by_a_descriptor_is_read_whole(tmp_path: Path, name: str) -> None:
    """`pullwatch count '*' /dev/stdin < big.log`: a name of this process's own descriptor, which
    a scanning child (its stdin /dev/null, nothing above 2) would not have."""
    big = tmp_path / "big.log"
    sample = SAMPLE.read_bytes()
    big.write_bytes(sample * (9 * 1024 * 1024 // len(sample) + 1))  # over scanproc.PROCESS_MIN_BYTES
    done = sh(f"$PW count '*' {name} < {big} 3< {big}")
    whole = sh(f"$PW count '*' {big}")
    assert (done.returncode, whole.returncode) == (0, 0), (done.stderr, whole.stderr)
    assert int(done.stdout) == int(whole.stdout) > 0
