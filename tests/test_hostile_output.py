"""Output safe by construction (issue 9): names and errors from the log carrying C0 and C1
controls, DEL, bidi overrides, zero-width and tag characters, CR, and formula-leading text go
through every headless format. No output holds a character a terminal would act on; JSON and
events give the exact names back; CSV has one row per pull and no cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from clihelp import run
from logfactory import Line, quote, render_text

from pullwatch.humanize import json_text, safe_text

pytestmark = pytest.mark.timeout(120)

T = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)
CONTROLS = [
    "esc\x1b[2J\x1b]0;owned\x07",
    "csi\x9b31m",  # a C1 CSI: an escape sequence to many terminals
    "del\x7fx",
    "nul\x00x",
    "rtl\u202eexe.gnp",
    "zero\u200bwidth\u2060\ufeff",
    "tag\U000e0041\U000e007f",
    "line\u2028sep",
    "cr\rsplit",
    "lf\nsplit",
]
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
NAMES = CONTROLS + FORMULAS


def unsafe(text: str) -> list[str]:
    """Characters of `text` a terminal could act on (newlines between records excepted)."""
    return sorted({c for c in text if not c.isprintable() and c != "\n"})


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = []
    for index, name in enumerate(NAMES):
        moment = T + timedelta(seconds=index)
        lines.append(render_text(Line(moment, "info", f"PullImage {quote(name)}")))
        lines.append(render_text(Line(moment, "error", f"PullImage {quote(name)} failed", {"error": f"bad {name}"})))
    path = tmp_path_factory.mktemp("hostile") / "names.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def output(*args: str) -> str:
    done = run(list(args))
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_report_output_holds_no_control(log: Path, fmt: str) -> None:
    assert unsafe(output("report", "--format", fmt, str(log))) == []


def test_events_hold_no_control_and_give_names_back(log: Path) -> None:
    text = output("events", str(log))
    assert unsafe(text) == []
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["image"] for e in events if e["kind"] == "start"] == NAMES
    assert [e["error"] for e in events if e["kind"] == "failed"] == [f"bad {name}" for name in NAMES]


def test_report_json_gives_names_back(log: Path) -> None:
    report = json.loads(output("report", "--format", "json", str(log)))
    assert [p["image"] for p in report["pulls"]] == NAMES
    assert [p["error"] for p in report["pulls"]] == [f"bad {name}" for name in NAMES]


def test_csv_one_row_per_pull_and_no_formula(log: Path) -> None:
    text = output("report", "--format", "csv", str(log))
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(NAMES)  # the header, then one row per pull
    assert len(text.splitlines()) == len(rows)  # not even a quoted CR or LF inside a cell
    header, body = rows[0], rows[1:]
    images = [dict(zip(header, row, strict=True))["image"] for row in body]
    assert images == [safe_text(n) if n in CONTROLS else "'" + safe_text(n) for n in NAMES]
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_table_shows_escapes(log: Path) -> None:
    text = output("report", str(log))
    assert "esc\\x1b[2J" in text and "rtl\\u202eexe" in text and "tag\\U000e0041" in text


@pytest.mark.parametrize("name", NAMES)
def test_json_text_is_exact_and_printable(name: str) -> None:
    for indent in (None, 2):
        text = json_text({"image": name, "n": [1, None]}, indent=indent)
        assert unsafe(text) == []
        assert json.loads(text) == {"image": name, "n": [1, None]}
