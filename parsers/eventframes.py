"""PullEvents as bytes, for the frames a scanning child writes to its parent (sources/scanproc.py).

The compiled codec (_fastline.c) where it is built: each event's slot values with a tag byte
each, ~1 µs an event to write and ~1.4 to read. Else a pickle of the slot values, ~6.5 µs to
write and ~3 to read in the same run (10% journald short log, a loaded machine). The first byte
says which: `C` or `K`. Both give back events equal to those
written, the time's zone included (tests/test_fastline.py).
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
from collections.abc import Sequence
from itertools import starmap
from typing import Any

from pullwatch.parsers.events import EventKind, PullEvent
from pullwatch.parsers.fastpath import COMPILED

_FIELDS = dataclasses.fields(PullEvent)
assert all(field.init for field in _FIELDS)
# PullEvent as a row: its fields in declaration order, what its __init__ takes back. The kind is
# an Enum member, pickled once per frame (pickle's memo) and then referred to.
_ROW = operator.attrgetter(*(field.name for field in _FIELDS))

if COMPILED is not None:
    COMPILED.configure_codec(tuple(EventKind), pickle.dumps, pickle.loads)


def encode(events: Sequence[PullEvent], compiled: bool = True) -> bytes:
    if COMPILED is not None and compiled:
        return b"C" + COMPILED.encode_events(events)  # type: ignore[no-any-return]
    return b"K" + pickle.dumps(list(map(_ROW, events)), pickle.HIGHEST_PROTOCOL)


def decode(data: bytes | memoryview) -> list[PullEvent]:
    data = memoryview(data)
    tag = bytes(data[:1])
    if tag == b"C":
        if COMPILED is None:
            raise ValueError("a compiled event frame, and no compiled codec here")
        return COMPILED.decode_events(data[1:])  # type: ignore[no-any-return]
    if tag != b"K":
        raise ValueError("not an event frame")
    rows: list[tuple[Any, ...]] = pickle.loads(data[1:])
    return list(starmap(PullEvent, rows))
