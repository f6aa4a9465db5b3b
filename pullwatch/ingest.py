"""The headless path, in one thread: a source's batches are parsed (`LineBatch.parse`, that is
`parsers.parse_batch`) and applied (`PullStore.apply`) one after the other. The monitor takes the
same two steps on two threads (parse in its feed thread, apply on the UI thread, tui/view.py), so
that the store is never changed while a pane reads it.
"""

from __future__ import annotations

import gc

from pullwatch.parsers import ParsedBatch
from pullwatch.sources import LineBatch
from pullwatch.sources.options import SourceOptions, open_source
from pullwatch.store import PullStore


def ingest(store: PullStore, batch: LineBatch) -> ParsedBatch:
    """Parse a batch and apply it; returns what was applied (its events, for `events`)."""
    parsed = batch.parse()
    store.apply(parsed)
    return parsed


def load(options: SourceOptions) -> PullStore:
    """Everything the source holds up to now, in a store that keeps no raw lines (the headless
    answers never show them: memory stays flat)."""
    store = PullStore(keep_lines=0)
    # While a log is read the store only grows and events die young, by reference counting:
    # the cyclic collector finds nothing and its scans of the young objects were a tenth of a
    # dense report's CPU time (bench/density.py, 10% pull lines). It runs again once loaded.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for batch in open_source(options, follow=False):
            ingest(store, batch)
    finally:
        if collecting:
            gc.enable()
    return store
