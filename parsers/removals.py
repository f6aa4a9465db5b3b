"""What removed an image between two pulls of it: containerd's remove lines to RemovalEvents.

Checked against containerd's source (v1.6.20, v1.7.24, v2.1.9):
- CRI RemoveImage (instrumented_service.go, every version, info): `RemoveImage %q`, then
  `RemoveImage %q returns successfully` or `RemoveImage %q failed` (error level, `error=`). The name
  is what the client sent: kubelet's image GC sends the image id (`sha256:…`), crictl a name.
- Image store events (cri events.go `Infof("ImageDelete event %+v", e)`): 1.6 prints the gogo form
  `&ImageDelete{Name:ref,XXX_unrecognized:[],}`, 1.7 and 2.x the protobuf-go text form `name:"ref"`
  (one or two spaces, deliberately random); seen so in tests/realwhy's logs of 1.6.20, 1.7.24 and
  2.1.9. One event per image name (tag, repo digest and the id ref are separate names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pullwatch.parsers.envelope import LogEntry
from pullwatch.parsers.gostrings import QUOTED, unquote


class RemovalKind(str, Enum):
    REQUESTED = "requested"  # RemoveImage "x" (a CRI client asked)
    REMOVED = "removed"  # RemoveImage "x" returns successfully
    FAILED = "failed"  # RemoveImage "x" failed
    DELETED = "deleted"  # ImageDelete event: the image store dropped the name


@dataclass(slots=True)
class RemovalEvent:
    kind: RemovalKind
    name: str  # a reference or an image id (`sha256:…`)
    time: datetime | None
    error: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "name": self.name, "error": self.error}


KEYWORDS: tuple[str, ...] = ("RemoveImage ", "ImageDelete event")
_Q = "(" + QUOTED + ")"
_REMOVE = re.compile(r"RemoveImage " + _Q + r"( returns successfully| failed)?")
_GOGO = re.compile(r"ImageDelete event &ImageDelete\{Name:([^,{}]{1,1024}),")
_PROTO = re.compile(r"ImageDelete event +name: {0,2}" + _Q)


def decode_removal(entry: LogEntry) -> RemovalEvent | None:
    """The removal this entry reports, None when it reports none."""
    msg = entry.msg
    if msg.startswith("RemoveImage "):
        match = _REMOVE.fullmatch(msg)
        if match is None:
            return None
        tail = match.group(2)
        kind = RemovalKind.REQUESTED if tail is None else RemovalKind.REMOVED if tail[1] == "r" else RemovalKind.FAILED
        error = entry.fields.get("error") if kind is RemovalKind.FAILED else None
        return RemovalEvent(kind, unquote(match.group(1)), entry.time, error)
    if msg.startswith("ImageDelete event"):
        gogo = _GOGO.match(msg)
        if gogo is not None:
            return RemovalEvent(RemovalKind.DELETED, gogo.group(1), entry.time)
        proto = _PROTO.match(msg)
        if proto is not None:
            return RemovalEvent(RemovalKind.DELETED, unquote(proto.group(1)), entry.time)
    return None


__all__ = ["KEYWORDS", "RemovalEvent", "RemovalKind", "decode_removal"]
