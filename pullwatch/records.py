"""What a pull is once its lines are put together (PullRecord), per-image aggregates and line
counts: the types the store keeps and the outputs and the monitor read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pullwatch.parsers.timestamps import iso

RAW_LINES_PER_PULL = 32


class PullStatus(str, Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


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
    has_start: bool = False  # a start line was seen (False: began before the log, or a sandbox pull)
    has_details: bool = False  # the "Pulled image" line was seen
    has_result: bool = False  # the "returns image reference" line was seen
    revision: int = 0  # store revision of the last change, for incremental views
    lines: list[str] = field(default_factory=list)
    lines_dropped: int = 0

    @property
    def sort_time(self) -> datetime | None:
        return self.started_at or self.finished_at

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "ref": self.ref,
            "status": self.status.value,
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
        }


@dataclass(slots=True)
class ImageSummary:
    """Aggregates over every pull of one normalised reference."""

    ref: str
    image: str  # the name as first requested, for display
    pulls: int = 0
    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    total_size_bytes: int | None = None  # None: no completed pull logged its size (1.5/1.6)
    bytes_read: int | None = None  # None: no pull logged its bytes read
    cached_repeats: int = 0  # repeat pulls that fetched 0 bytes: served from the local content store
    first_pull_at: datetime | None = None
    last_pull_at: datetime | None = None

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
        }


@dataclass(slots=True)
class Stats:
    lines: int = 0  # every line read
    pull_lines: int = 0  # lines that became a pull event
    unparsed_lines: int = 0  # lines that look like pull lines but could not be decoded

    def to_json(self) -> dict[str, int]:
        return {"lines": self.lines, "pull_lines": self.pull_lines, "unparsed_lines": self.unparsed_lines}
