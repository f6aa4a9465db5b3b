"""What a pull is once its lines are put together (PullRecord), per-image aggregates and line
counts: the types the store keeps and the outputs and the monitor read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pullwatch.parsers.timestamps import iso
from pullwatch.reasons import Reasons

RAW_LINES_PER_PULL = 32


class PullStatus(str, Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


# What a pull's `removed_by` says (docs/why.md): kubelet's image GC logged `Removing image to free
# bytes` for the image id just before containerd's ImageDelete; or containerd deleted it and no
# kubelet GC line of that node names it (crictl rmi, ctr, nerdctl, or a kubelet whose lines are not
# in the input). None: no ImageDelete between the previous pull and this one.
REMOVED_BY_GC = "kubelet image GC"
REMOVED_BY_CLIENT = "ImageDelete"


@dataclass(slots=True, eq=False)
class PullRecord:
    """One pull attempt, assembled from the events that belong to it."""

    id: int
    image: str
    ref: str
    status: PullStatus = PullStatus.IN_PROGRESS
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    bytes_read: int | None = None
    progress_bytes: int | None = None  # bytes fetched so far while in progress (debug logs)
    image_id: str | None = None
    repo_tag: str | None = None
    repo_digest: str | None = None
    snapshotter: str | None = None
    error: str | None = None
    node: str | None = None  # the node that pulled (journal host, _HOSTNAME, or named); None: unknown
    has_start: bool = False  # a start line was seen (False: began before the log, or a sandbox pull)
    has_details: bool = False  # the "Pulled image" line was seen
    has_result: bool = False  # the "returns image reference" line was seen
    from_events: bool = False  # known only from ImageCreate events (1.6 info: a sandbox pull inside RunPodSandbox)
    # Was it downloaded (layers fetched from a registry) or served from the node's store? None when
    # the log cannot tell. The store decides from the evidence below (docs/formats.md §5).
    downloaded: bool | None = None
    deleted_at: datetime | None = None  # the image was deleted (ImageDelete) between the previous pull and this one
    # who deleted it, as far as the log says (docs/why.md): REMOVED_BY_GC, REMOVED_BY_CLIENT, None
    removed_by: str | None = None
    bytes_logged: int | None = None  # "bytes read" as logged; bytes_read is None where the log proves it idle
    id_created: bool = False  # an ImageCreate of its image id came during it: the image was new to the store
    image_events: int = 0  # ImageCreate/ImageUpdate events of its names during it
    name_created: bool = False  # an ImageCreate of its tag during it: the name was new (its id's may follow)
    layer_fetches: int = 0  # debug "fetch response received" lines of layers while it was the only pull open
    overlapped: bool = False  # another pull of the same image was open at the same time
    revision: int = 0  # store revision of the last change, for incremental views
    reasons: Reasons = field(default_factory=Reasons)  # why it happened, failed or crawled (docs/why.md)
    # raw log lines kept for the detail view: a tuple, so that a record that keeps none (every record
    # of a headless answer) shares the empty one instead of holding a list of its own
    lines: tuple[str, ...] = ()
    lines_dropped: int = 0

    @property
    def sort_time(self) -> datetime | None:
        return self.started_at or self.finished_at

    def to_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "image": self.image,
            "ref": self.ref,
            "status": _STATUS_TEXT[status],
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "size_bytes": self.size_bytes,
            "bytes_read": self.bytes_read,
            "image_id": self.image_id,
            "repo_tag": self.repo_tag,
            "repo_digest": self.repo_digest,
            "snapshotter": self.snapshotter,
            "error": self.error,
            "downloaded": self.downloaded,
            "deleted_at": iso(self.deleted_at),
            "removed_by": self.removed_by,
            **self.reasons.to_json(status is _COMPLETED),
            "node": self.node,
        }


# An Enum's `.value` is a property and, on Python 3.10/3.11, `PullStatus.COMPLETED` a slow lookup:
# to_json runs for every pull of a report, so it reads these instead.
_STATUS_TEXT = {status: status.value for status in PullStatus}
_COMPLETED = PullStatus.COMPLETED


@dataclass(slots=True)
class ImageSummary:
    """Aggregates over every pull of one normalised reference."""

    ref: str
    image: str  # the name as first requested, for display
    pulls: int = 0
    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    # None, never 0, when a pull's figure is unknown: a total of known and unknown parts is unknown
    total_size_bytes: int | None = None  # completed pulls' image sizes
    bytes_read: int | None = None  # what the registry sent, where the log's counter can be trusted
    downloads: int | None = None  # completed pulls that fetched layers from a registry
    cached_repeats: int | None = None  # completed repeat pulls served from the node's store
    first_pull_at: datetime | None = None
    last_pull_at: datetime | None = None
    node: str | None = None  # the node of these pulls (None: unknown, or several)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "pulls": self.pulls,
            "completed": self.completed,
            "failed": self.failed,
            "in_progress": self.in_progress,
            "total_size_bytes": self.total_size_bytes,
            "first_pull_at": iso(self.first_pull_at),
            "last_pull_at": iso(self.last_pull_at),
            "node": self.node,
        }


@dataclass(slots=True)
class Stats:
    lines: int = 0  # every line read
    pull_lines: int = 0  # lines that became a pull event
    unparsed_lines: int = 0  # lines that look like pull lines but could not be decoded

    def to_json(self) -> dict[str, int]:
        return {"lines": self.lines, "pull_lines": self.pull_lines, "unparsed_lines": self.unparsed_lines}
