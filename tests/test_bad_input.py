"""Bad input never crashes: a broken line is counted (stats.unparsed_lines) or skipped, a bad
argument or unreadable source is one clear line on stderr with exit status 2.

Runs the installed `pullwatch` command, as a user would.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from clihelp import assert_usage_error, run
from logfactory import Line, journal_json, quote, render_text

pytestmark = pytest.mark.timeout(120)

T = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)
ID = "sha256:" + "1f" * 32
START = render_text(Line(T, "info", 'PullImage "nginx:1.25"'))
RESULT = render_text(Line(T, "info", f'PullImage "nginx:1.25" returns image reference "{ID}"'))
CHATTER = render_text(Line(T, "info", "shim disconnected", {"id": "abc", "namespace": "k8s.io"}))


def report(path: Path) -> dict[str, Any]:
    done = run(["report", "--format", "json", str(path)])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def write(tmp_path: Path, data: bytes, name: str = "bad.log") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def good(data: bytes) -> bytes:
    """A complete pull before and after the bad part, so we can see the bad part cost nothing else."""
    return (START + "\n" + RESULT + "\n").encode() + data + (START + "\n" + RESULT + "\n").encode()


def assert_pulls_intact(result: dict[str, Any], unparsed: int, lines: int) -> None:
    assert [p["status"] for p in result["pulls"]] == ["completed", "completed"], result["pulls"]
    assert result["stats"]["unparsed_lines"] == unparsed
    assert result["stats"]["lines"] == lines
    assert result["stats"]["pull_lines"] == 4


# ---- bad lines ------------------------------------------------------------------------------------


def test_invalid_utf8_in_chatter_and_in_a_pull_line(tmp_path: Path) -> None:
    bad_pull = b'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"ng\xff\xfeinx\\""\n'
    result = report(write(tmp_path, good(b"garbage \xff\xfe\xc3 here\n" + bad_pull)))
    assert result["stats"] == {"lines": 6, "pull_lines": 5, "unparsed_lines": 0}
    odd = [p for p in result["pulls"] if p["status"] == "in_progress"]
    assert [p["image"] for p in odd] == ["ng\\xff\\xfeinx"]  # shown, not guessed at


def test_nul_bytes(tmp_path: Path) -> None:
    data = b"\x00\x00\x00\n" + START.replace("PullImage", "Pull\x00Image").encode() + b"\n" + b"\x00" * 4096 + b"\n"
    result = report(write(tmp_path, good(data)))
    assert_pulls_intact(result, unparsed=0, lines=7)


def test_nul_bytes_inside_a_pull_line_are_counted(tmp_path: Path) -> None:
    data = b'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"nginx\x00\x00'
    result = report(write(tmp_path, good(data + b"\n")))
    assert_pulls_intact(result, unparsed=1, lines=5)


def test_five_megabyte_lines(tmp_path: Path) -> None:
    huge_error = "x" * (5 * 1024 * 1024)
    huge_chatter = render_text(Line(T, "info", "a very long line", {"dump": "y" * 5 * 1024 * 1024}))
    failed = render_text(Line(T, "error", 'PullImage "redis" failed', {"error": huge_error}))
    start = render_text(Line(T, "info", 'PullImage "redis"'))
    result = report(write(tmp_path, good(f"{huge_chatter}\n{start}\n{failed}\n".encode())))
    # The failure line is past MAX_LINE_BYTES: counted as unparsed, not decoded (the chatter line
    # is no pull line, so it is only counted as read).
    assert result["stats"] == {"lines": 7, "pull_lines": 5, "unparsed_lines": 1}
    redis = [p for p in result["pulls"] if p["image"] == "redis"]
    assert [(p["status"], p["error"]) for p in redis] == [("in_progress", None)]


def test_cut_last_line_without_newline_mid_quote(tmp_path: Path) -> None:
    cut = f'time="2026-11-27T08:00:01Z" level=info msg="PullImage \\"nginx:1.25\\" returns image reference \\"{ID[:20]}'
    result = report(write(tmp_path, good(b"") + cut.encode()))
    assert_pulls_intact(result, unparsed=1, lines=5)


def test_cut_right_after_a_name_is_not_taken_for_a_start(tmp_path: Path) -> None:
    cut = 'time="2026-11-27T08:00:01Z" level=info msg="PullImage \\"nginx:1.25\\"'
    result = report(write(tmp_path, good(b"") + cut.encode()))
    assert_pulls_intact(result, unparsed=1, lines=5)


@pytest.mark.parametrize(
    "line",
    [
        'time="2026-11-27T08:00:00Z level=info msg="PullImage \\"nginx\\""',  # time's quote never closed
        'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"nginx\\"" extra="unbalanced',
        'time="2026-11-27T08:00:00Z" level=info msg=PullImage "nginx"',
        'time="2026-11-27T08:00:00Z" level=info msg="PullImage \\"ngi"nx\\""',
    ],
)
def test_unbalanced_quotes_never_crash(tmp_path: Path, line: str) -> None:
    result = report(write(tmp_path, good(line.encode() + b"\n")))
    stats = result["stats"]
    assert stats["lines"] == 5
    assert stats["pull_lines"] + stats["unparsed_lines"] == 5  # the odd line is one or the other
    assert sum(p["status"] == "completed" for p in result["pulls"]) == 2


@pytest.mark.parametrize(
    "line",
    ['["PullImage \\"nginx\\""]', '"PullImage"', "12 PullImage", '{"msg": ["PullImage"]}', "{PullImage"],
)
def test_json_that_is_not_an_object_is_unparsed(tmp_path: Path, line: str) -> None:
    assert_pulls_intact(report(write(tmp_path, good(line.encode() + b"\n"))), unparsed=1, lines=5)


def test_journal_json_with_message_null_is_counted(tmp_path: Path) -> None:
    data = (journal_json(None, T) + "\n" + journal_json(START, T) + "\n").encode()
    result = report(write(tmp_path, good(data)))
    assert result["stats"] == {"lines": 6, "pull_lines": 5, "unparsed_lines": 1}


def test_empty_file(tmp_path: Path) -> None:
    """Nothing read is an error, not an empty answer (issue 10, item 6)."""
    path = write(tmp_path, b"")
    done = run(["report", "--format", "json", str(path)])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"pullwatch: read 0 lines from {path}\n"


def test_chatter_only(tmp_path: Path) -> None:
    result = report(write(tmp_path, ((CHATTER + "\n") * 100).encode()))
    assert result["stats"] == {"lines": 100, "pull_lines": 0, "unparsed_lines": 0}


# ---- names that would be terminal escapes or Rich markup ----------------------------------------

EVIL = ["[bold red]evil[/bold red]", "\x1b[2J\x1b[31mred", "bell\x07", "[link=http://x]click[/link]", "rtl\u202eevil"]


def evil_log(tmp_path: Path) -> Path:
    lines = []
    for name in EVIL:
        lines.append(render_text(Line(T, "info", f"PullImage {quote(name)}")))
        lines.append(render_text(Line(T, "error", f"PullImage {quote(name)} failed", {"error": f"bad {name}"})))
    return write(tmp_path, ("\n".join(lines) + "\n").encode())


def test_table_shows_markup_literally_and_escapes_neutralised(tmp_path: Path) -> None:
    done = run(["report", str(evil_log(tmp_path))])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "[bold red]evil[/bold red]" in out
    assert "[link=http://x]click[/link]" in out
    assert "\\x1b[2J\\x1b[31mred" in out and "bell\\x07" in out and "rtl\\u202eevil" in out
    assert "bad [bold red]evil[/bold red]" in out  # the error text, too


def test_json_and_events_keep_names_exact(tmp_path: Path) -> None:
    path = evil_log(tmp_path)
    result = report(path)
    assert [p["image"] for p in result["pulls"]] == EVIL
    events = [json.loads(line) for line in run(["events", str(path)]).stdout.splitlines()]
    assert [e["image"] for e in events if e["kind"] == "start"] == EVIL


# ---- bad sources and arguments: one line, exit 2 --------------------------------------------------


def test_missing_file() -> None:
    assert_usage_error(run(["report", "/nonexistent/containerd.log"]), "/nonexistent/containerd.log", "no such file")


def test_missing_file_after_a_good_one(tmp_path: Path) -> None:
    path = write(tmp_path, good(b""))
    assert_usage_error(run(["count", "nginx:1.25", str(path), str(tmp_path / "gone.log")]), "gone.log")


def test_directory(tmp_path: Path) -> None:
    assert_usage_error(run(["events", str(tmp_path)]), str(tmp_path), "directory")


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, good(b""))
    path.chmod(0)
    args = ["report", str(path)]
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that let it (and keep root's own files).
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing, so a file cannot be unreadable")
        done = _run_without_dac(setpriv, args)
    else:
        done = run(args)
    assert_usage_error(done, str(path), "permission denied")


def _run_without_dac(setpriv: str, args: list[str]):  # type: ignore[no-untyped-def]
    import subprocess

    from clihelp import PULLWATCH

    drop = "-dac_override,-dac_read_search"
    done = subprocess.run(
        [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", str(PULLWATCH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(good(b"").decode().encode() * 50)
    path = write(tmp_path, data[: len(data) // 2], "containerd-2026-11-27.log.gz")
    assert_usage_error(run(["report", str(path)]), str(path))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["report", "--format", "xml"], ["--format", "invalid choice"]),
        (["report", "--bogus"], ["--bogus"]),
        (["count"], ["IMAGE"]),
        (["count", "nginx", "--expect", "many"], ["--expect"]),
        (["count", "nginx", "--status", "sometimes"], ["--status"]),
        (["events", "--nope"], ["--nope"]),
    ],
)
def test_bad_options(args: list[str], words: list[str]) -> None:
    assert_usage_error(run(args), *words, "--help")


@pytest.mark.parametrize("command", [["report", "--image"], ["count"]])
def test_bad_image_regex(tmp_path: Path, command: list[str]) -> None:
    path = write(tmp_path, good(b""))
    assert_usage_error(run([*command, "re:(unclosed", str(path)]), "bad regular expression")


def test_count_expect(tmp_path: Path) -> None:
    path = str(write(tmp_path, good(b"")))
    matched = run(["count", "nginx:1.25", path, "--expect", "2"])
    assert (matched.returncode, matched.stdout, matched.stderr) == (0, "2\n", "")
    missed = run(["count", "nginx:1.25", path, "--expect", "3"])
    assert (missed.returncode, missed.stdout) == (1, "2\n")
    assert missed.stderr == "pullwatch: expected 3 pulls of nginx:1.25 (docker.io/library/nginx:1.25), found 2\n"
    failed = run(["count", "docker.io/library/nginx:1.25", path, "--status", "failed", "--expect", "1"])
    assert failed.returncode == 1
    assert failed.stderr == "pullwatch: expected 1 failed pull of docker.io/library/nginx:1.25, found 0\n"
