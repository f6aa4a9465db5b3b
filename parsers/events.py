"""The pull events the parsers produce: one per pull-path log line (start, result, failed, …).

They belong to the parsers (which import nothing outside their package); the store turns them
into pull records (pullwatch/records.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pullwatch.parsers.failures import FailureKind, classify
from pullwatch.parsers.hosts import HostEvent
from pullwatch.parsers.kubelet import KubeletEvent
from pullwatch.parsers.timestamps import iso

RAW_LINE_LIMIT = 4096  # characters of a raw line kept for the detail view


class EventKind(str, Enum):
    """One kind per containerd pull-path message (docs/formats.md §1)."""

    START = "start"  # PullImage "req"
    RESULT = "result"  # PullImage "req" returns image reference "sha256:…"
    FAILED = "failed"  # PullImage "req" failed  error=…
    PULLED = "pulled"  # Pulled image "req" with image id …[, size "N" in D]
    SNAPSHOTTER = "snapshotter"  # PullImage "norm" with snapshotter X [using …] (debug)
    PROGRESS = "progress"  # progress for image pull  ref=… totalBytesRead=… (debug)
    STOP = "stop"  # stop pulling image norm: active requests=N, bytes read=N
    CANCEL = "cancel"  # cancel pulling image norm because of no progress in D
    SANDBOX_FAILED = "sandbox_failed"  # RunPodSandbox … failed, error="… failed to pull image "x" …"
    IMAGE_CREATE = "image_create"  # ImageCreate event …{Name:x…} / name:"x" (CRI event monitor, info)
    IMAGE_UPDATE = "image_update"  # ImageUpdate event …
    IMAGE_DELETE = "image_delete"  # ImageDelete event …
    LAYER_FETCH = "layer_fetch"  # fetch response received  digest=… mediatype=…layer… (debug)
    # Lines that tell why (docs/why.md); `detail` holds what they say.
    HOST = "host"  # resolving / resolved / trying next host / do request … host=… (parsers/hosts.py)
    KUBELET = "kubelet"  # kubelet's image events and pod errors (parsers/kubelet.py)


PULL_KINDS = frozenset(kind for kind in EventKind if kind not in (EventKind.HOST, EventKind.KUBELET))
FAILED_KINDS = (EventKind.FAILED, EventKind.SANDBOX_FAILED)


@dataclass(slots=True)
class PullEvent:
    """One pull-path log line, decoded. `image` is the name as logged, `ref` its normalised form."""

    kind: EventKind
    image: str
    ref: str
    time: datetime | None = None
    level: str | None = None
    image_id: str | None = None
    repo_tag: str | None = None
    repo_digest: str | None = None
    size_bytes: int | None = None
    duration_seconds: float | None = None
    bytes_read: int | None = None
    snapshotter: str | None = None
    timeout: str | None = None
    error: str | None = None
    digest: str | None = None  # the layer of a layer_fetch line
    pull_method: str | None = None  # 2.1+ snapshotter line: "transfer service" or "client.Pull()"
    managed: bool = False  # an image event carrying the CRI's io.cri-containerd.image=managed label
    node: str | None = None  # the node that logged the line (journal host, _HOSTNAME, or named)
    raw: str = ""
    detail: HostEvent | KubeletEvent | None = None  # HOST and KUBELET kinds

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "time": iso(self.time),
            "image": self.image,
            "ref": self.ref,
            "level": self.level,
            "image_id": self.image_id,
            "repo_tag": self.repo_tag,
            "repo_digest": self.repo_digest,
            "size_bytes": self.size_bytes,
            "duration_seconds": self.duration_seconds,
            "bytes_read": self.bytes_read,
            "snapshotter": self.snapshotter,
            "error": self.error,
            "digest": self.digest,
            "failure": _failure(self),
            "detail": None if self.detail is None else self.detail.to_json(),
            "node": self.node,
        }


def _failure(event: PullEvent) -> str | None:
    """The failure class of a failed event's error (a cancel line is a no-progress failure)."""
    if event.kind is EventKind.CANCEL:
        return FailureKind.NO_PROGRESS.value
    failure = classify(event.error) if event.kind in FAILED_KINDS else None
    return None if failure is None else failure.kind.value


@dataclass(slots=True)
class ParsedBatch:
    """The pull events of a stretch of log and its line counts: what the store applies at once."""

    events: list[PullEvent] = field(default_factory=list)  # in log order
    lines: int = 0  # lines read, pull lines and unparsed ones included
    unparsed: int = 0  # lines that look like pull lines but could not be decoded

    def extend(self, other: ParsedBatch) -> None:
        self.events += other.events
        self.lines += other.lines
        self.unparsed += other.unparsed
