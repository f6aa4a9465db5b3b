"""What a new user meets first, through the installed command: the monitor without a terminal,
reading nothing, reading something that is not containerd's log, and a mistyped log path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from clihelp import PULLWATCH, assert_usage_error, run
from tuihelp import SAMPLE

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("args", [["replay", str(SAMPLE)], [str(SAMPLE)], ["watch", "--file", str(SAMPLE)]])
def test_the_monitor_without_a_terminal_says_so_in_one_line_and_exits_2(args: list[str], tmp_path: Path) -> None:
    """`pullwatch > file` (stdin not a terminal either): no screen drawn into the file, no hang."""
    assert PULLWATCH
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        done = subprocess.run(
            [PULLWATCH, *args], stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.PIPE, timeout=30, check=False
        )
    assert done.returncode == 2
    assert out.read_bytes() == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0] and "pullwatch report" in lines[0]


@pytest.mark.parametrize("command", [["count", "nginx", "--expect", "0"], ["report"], ["events"], ["report", "-"]])
def test_reading_0_lines_from_stdin_is_an_error(command: list[str]) -> None:
    """A CI job that forgot the path reads an empty stdin: it must not pass."""
    assert_usage_error(run(command, stdin=b""), "read 0 lines from stdin")


def test_reading_0_lines_from_an_empty_file_names_it(tmp_path: Path) -> None:
    empty = tmp_path / "containerd.log"
    empty.write_bytes(b"")
    assert_usage_error(run(["report", str(empty)]), f"read 0 lines from {empty}")
    assert_usage_error(run(["count", "nginx", str(empty), "--expect", "0"]), "read 0 lines")


def test_a_file_with_lines_but_no_containerd_pull_line_says_so_on_stderr(tmp_path: Path) -> None:
    other = tmp_path / "syslog"
    other.write_text("".join(f"Dec  2 06:00:{i:02d} host cron[1]: job {i} done\n" for i in range(40)))
    done = run(["count", "nginx", str(other)])
    assert done.returncode == 0 and done.stdout == "0\n"
    assert "none of the 40 lines" in done.stderr and "containerd pull line" in done.stderr


def test_a_containerd_log_with_pulls_says_nothing_on_stderr() -> None:
    done = run(["count", "nginx:1.25", str(SAMPLE)])
    assert done.returncode == 0 and done.stderr == ""


def test_a_missing_log_given_as_the_command_is_a_missing_file_not_an_unknown_command() -> None:
    done = run(["/missing.log"])
    assert_usage_error(done, "/missing.log: no such file")
    assert "unknown command" not in done.stderr
