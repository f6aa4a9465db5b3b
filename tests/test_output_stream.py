"""The streamed JSON report is the same document as the one built in memory."""

from __future__ import annotations

import io
import json

import pytest
from logfactory import generate

from pullwatch.output import render_json, report_json, write_report_json
from pullwatch.parsers import parse_batch
from pullwatch.store import PullStore


def store_of(lines: list[str]) -> PullStore:
    store = PullStore(keep_lines=0)
    store.apply(parse_batch(lines))
    return store


@pytest.mark.parametrize("pattern", ["", "nginx", "no-such-image"])
@pytest.mark.parametrize("pulls", [0, 1, 30])
def test_streamed_report_equals_built_report(pulls: int, pattern: str) -> None:
    store = store_of(generate(seed=5, pulls=pulls, version="1.7", chatter=2).lines)
    matches = (lambda image, ref: True) if not pattern else (lambda image, ref: pattern in ref)
    out = io.StringIO()
    write_report_json(store, matches, out)
    assert out.getvalue() == render_json(report_json(store, matches)) + "\n"
    assert json.loads(out.getvalue())["stats"]["lines"] == store.stats.lines


def test_headless_store_keeps_no_raw_lines() -> None:
    store = store_of(generate(seed=5, pulls=10, version="1.7", chatter=1).lines)
    assert store.pulls and all(not record.lines for record in store.pulls)
    assert sum(record.lines_dropped for record in store.pulls) > 0


def test_csv_is_dictwriters_text() -> None:
    """write_csv writes its rows with csv.writer in PULL_FIELDS order (for speed): the text
    csv.DictWriter writes of each pull's to_json, on real logs with hosts, errors and pods."""
    import csv
    from pathlib import Path

    from pullwatch.output import PULL_FIELDS, csv_cell, write_csv
    from pullwatch.reasons import csv_value

    examples = Path(__file__).parent.parent / "examples"
    for path in [*sorted(examples.glob("*.log")), *sorted((examples / "real").glob("*.log"))]:
        store = store_of(path.read_text(encoding="utf-8").splitlines())
        out = io.StringIO()
        write_csv(store, lambda image, ref: True, out)
        expected = io.StringIO()
        writer = csv.DictWriter(expected, fieldnames=PULL_FIELDS, lineterminator="\n")
        writer.writeheader()
        pulls = list(store.pulls)
        if all(r.sort_time is not None for r in pulls):
            pulls.sort(key=lambda r: (r.sort_time, r.id))  # as ordered_pulls sorted before (by time alone now)
        for record in pulls:
            assert list(record.to_json()) == list(PULL_FIELDS)
            writer.writerow({key: csv_cell(csv_value(value)) for key, value in record.to_json().items()})
        assert store.pulls and out.getvalue() == expected.getvalue(), path
