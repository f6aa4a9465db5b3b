"""Every containerd version line × every envelope: the pulls reported are the pulls written."""

from __future__ import annotations

from typing import Any

import pytest
from logfactory import ENVELOPES, VERSIONS, generate

from pullwatch.output import report_json
from pullwatch.parsers import parse_batch
from pullwatch.store import PullStore

COMPARED = ("image", "ref", "status", "size_bytes", "bytes_read")


def report_of(lines: list[str]) -> dict[str, Any]:
    store = PullStore()
    store.apply(parse_batch(lines))
    return report_json(store, lambda image, ref: True)


def comparable(pull: dict[str, Any]) -> dict[str, Any]:
    got = {key: pull[key] for key in COMPARED}
    seconds = pull["duration_seconds"]
    got["duration_seconds"] = None if seconds is None else round(seconds, 3)
    return got


@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("version", VERSIONS)
def test_reports_exactly_the_pulls_written(version: str, envelope: str, debug: bool) -> None:
    log = generate(seed=11, pulls=50, version=version, envelope=envelope, debug=debug, chatter=4)
    report = report_of(log.lines)
    assert [comparable(p) for p in report["pulls"]] == log.expected
    assert report["stats"]["unparsed_lines"] == 0
    assert report["stats"]["lines"] == len(log.lines)
