"""The README's "Why not grep" tables are true as written: each grep command, pasted into a shell
with the log's path, prints the number in its cell; so does each `pullwatch count`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from clihelp import PULLWATCH

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def grep_rows() -> list[tuple[str, str, str, str, str]]:
    """(grep command, pullwatch command, log, grep's number, pullwatch's number) for each row."""
    rows = []
    for table in re.findall(
        r"^\| log \| `(grep [^`]+)` \| `(pullwatch count [^`]+)` \|\n\|[-|]+\|\n((?:\|.*\n)+)", README, re.MULTILINE
    ):
        grep, count, body = table
        for line in body.splitlines():
            log, grep_says, count_says = (cell.strip() for cell in line.strip("|").split("|"))
            rows.append((grep, count, log.strip("`"), grep_says, count_says.split()[0]))
    return rows


def test_the_readme_has_the_grep_tables() -> None:
    assert len(grep_rows()) >= 3


@pytest.mark.parametrize(("grep", "count", "log", "grep_says", "count_says"), grep_rows())
def test_each_row_is_what_the_commands_print(grep: str, count: str, log: str, grep_says: str, count_says: str) -> None:
    done = subprocess.run(["bash", "-c", f"{grep} {log}"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == grep_says, (grep, done.stderr)
    assert PULLWATCH
    args = count.split()[1:]
    done = subprocess.run([PULLWATCH, *args, log], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == count_says, done.stderr
