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
