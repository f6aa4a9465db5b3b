"""Fuzzing parse -> store -> every output (issue 9): real pull lines from examples/, mutated the
way a hostile or broken log mutates them (controls, C1, bidi, surrogate escapes, quotes and
backslashes, `k=` runs, huge numbers and durations, year-1 times, cuts, repeats), through
parse_batch, PullStore.apply and the monitor's StoreView, then the report JSON, CSV, table, the
events' JSON lines and the monitor's cells and detail view. Asserted: no exception; no output
holds a character a terminal acts on; JSON decodes; CSV has one row per pull.

Bounded for CI: a fixed-seed corpus of mutated lines, plus hypothesis with a capped number of
examples (no deadline: the time per line is asserted as a ratio in test_hostile_parsing).
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from pullwatch import output
from pullwatch.filtering import image_matcher
from pullwatch.humanize import json_text
from pullwatch.parsers import is_candidate, parse_batch
from pullwatch.store import PullStore
from pullwatch.tui.clock import Clock
from pullwatch.tui.panes.completed import CompletedPane
from pullwatch.tui.panes.in_progress import InProgressPane
from pullwatch.tui.screens.detail import detail_renderable
from pullwatch.tui.view import StoreView

pytestmark = pytest.mark.timeout(300)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Fragments a hostile line carries: controls of every kind, as raw text and as the escapes the
# parsers decode (Go \x, \u, JSON \u, a lone surrogate), quoting, and field-like runs.
FRAGMENTS = [
    "\x1b[2J",
    "\x1b]0;t\x07",
    "\x9b31m",
    "\x7f",
    "\x00",
    "\r",
    "\t",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\U000e0041",
    "\\x1b",
    "\\u009b",
    "\\ud800",
    "\\udfff",
    "\\U0010ffff",
    "\\",
    '"',
    '\\"',
    "=",
    "k=",
    " k=v",
    'k="',
    "INFO[",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "9" * 4400,
    "20000000h",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "[bold]x[/bold]",
    "日本🐳",
]


def corpus_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(EXAMPLES.glob("containerd-*")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if is_candidate(line)]
    assert len(lines) > 500, "the examples hold the real pull lines this fuzzes"
    return lines


CORPUS = corpus_lines()


def mutate(line: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(line) + 1)
        choice = rng.random()
        if choice < 0.5:
            line = line[:where] + rng.choice(FRAGMENTS) + line[where:]
        elif choice < 0.6:
            line = line[:where]  # cut (a truncated file, journald's LineMax)
        elif choice < 0.7:
            end = min(len(line), where + rng.randint(1, 40))
            line = line[:where] + line[where:end] * rng.randint(2, 200) + line[end:]  # a repeated stretch
        elif choice < 0.8:
            end = min(len(line), where + rng.randint(1, 20))
            line = line[:where] + line[end:]
        elif choice < 0.9:
            line = line.replace("2026-", rng.choice(["0001-", "9999-", "1969-"]), 1)
        else:
            for digits in ('size \\"', "bytes read=", "totalBytesRead="):
                line = line.replace(digits, digits + "9" * rng.choice([25, 4400]), 1)
    return line


def unsafe(text: str) -> list[str]:
    return sorted({c for c in text if not c.isprintable() and c != "\n"})


def run_everything(lines: Sequence[str | bytes]) -> None:
    """Every path from lines to output, asserting what must hold for any input."""
    parsed = parse_batch(lines)
    assert parsed.lines == len(lines)
    events_out = "".join(json_text(event.to_json()) + "\n" for event in parsed.events)
    assert unsafe(events_out) == []
    assert len([json.loads(line) for line in events_out.splitlines()]) == len(parsed.events)

    store = PullStore(keep_lines=0)
    store.apply(parsed)
    everything = image_matcher("")
    report = io.StringIO()
    output.write_report_json(store, everything, report)
    assert unsafe(report.getvalue()) == []
    assert len(json.loads(report.getvalue())["pulls"]) == len(store.pulls)
    table = io.StringIO()
    output.write_csv(store, everything, table)
    assert unsafe(table.getvalue()) == []
    rows = list(csv.reader(io.StringIO(table.getvalue())))
    assert len(rows) == 1 + len(store.pulls)  # header + one row per pull
    assert len(table.getvalue().splitlines()) == len(rows)
    text = io.StringIO()
    output.write_table(store, everything, text, width=100, every=True)
    assert unsafe(text.getvalue()) == []

    view = StoreView(PullStore(), Clock())  # the monitor's path: raw lines kept, clock observed
    view.apply(parsed)
    console = Console(file=io.StringIO(), width=120, color_system=None, force_terminal=False)
    panes = [CompletedPane(view), InProgressPane(view)]
    for record in view.store.pulls:
        for pane in panes:
            for column in pane.columns:
                cell = column.cell(record)  # type: ignore[arg-type]
                assert unsafe(cell.plain) == [], (column.label, cell.plain)
    for ref in {record.ref for record in view.store.pulls}:
        console.print(detail_renderable(view, ref, None))
    assert unsafe(console.file.getvalue()) == []  # type: ignore[attr-defined]


def test_mutated_corpus() -> None:
    rng = random.Random(9)
    lines = [mutate(rng.choice(CORPUS), rng) for _ in range(3000)]
    run_everything(lines)
    run_everything([line.encode("utf-8", "surrogatepass") for line in lines])  # as sources give them


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CORPUS),
            st.lists(st.tuples(st.floats(0, 1), st.sampled_from(FRAGMENTS) | st.text(max_size=8)), max_size=5),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_hypothesis_mutations(cases: list[tuple[str, list[tuple[float, str]]]]) -> None:
    lines = []
    for line, insertions in cases:
        for where, fragment in insertions:
            cut = int(where * len(line))
            line = line[:cut] + fragment + line[cut:]
        lines.append(line)
    run_everything(lines)
