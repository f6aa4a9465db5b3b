"""Running the installed `pullwatch` command, as a user or a test suite would."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

PULLWATCH = shutil.which("pullwatch")


def run(
    args: Sequence[str], stdin: bytes | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pullwatch ARGS…`, output captured as text (stdin from `stdin`, else empty; `env` added)."""
    assert PULLWATCH, "the pullwatch command is not installed (pip install -e .)"
    done = subprocess.run(
        [PULLWATCH, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


def assert_usage_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr that says `words`, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pullwatch: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
