"""`events --follow` keeps only what can still be matched (issue 9): the store forgets pulls that
ended long ago, and what it prints is the same as from a store that forgets nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from logfactory import generate

from pullwatch.output import event_items
from pullwatch.parsers import parse_batch
from pullwatch.store import PullStore


def batches(count: int, pulls: int, version: str) -> list[list[str]]:
    """`count` logs of `pulls` pulls each, one after the other in log time."""
    out, start = [], datetime(2026, 11, 1, tzinfo=timezone.utc)
    for seed in range(count):
        log = generate(seed=seed, pulls=pulls, version=version, envelope="k3s", start=start)
        out.append(list(log.lines))
        start = max(e.time for e in parse_batch(log.lines).events if e.time is not None) + timedelta(seconds=1)
    return out


@pytest.mark.parametrize("version", ["1.6", "1.7", "2.1"])
def test_forgetting_changes_no_printed_event(version: str) -> None:
    keeping, forgetting = PullStore(keep_lines=0), PullStore(keep_lines=0)
    for lines in batches(4, 300, version):
        assert list(event_items(forgetting, parse_batch(lines))) == list(event_items(keeping, parse_batch(lines)))
        forgetting.forget_ended(timedelta(seconds=30))


def test_what_is_kept_does_not_grow_with_the_pulls_seen() -> None:
    store = PullStore(keep_lines=0)
    kept = []
    for lines in batches(5, 400, "1.7"):
        list(event_items(store, parse_batch(lines)))
        assert store.forget_ended() > 0
        kept.append(len(store.pulls))
    assert max(kept) <= len(store.image_refs()) + 16  # each image's latest pull, and the few still open
    assert len(store._id_creates) < 200  # unclaimed image-id creates older than every open pull are dropped
