"""Why a pull happened, failed or crawled, as far as the log tells (docs/why.md): the facts
one pull record carries beyond its times and sizes. Every field is None when the log cannot say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pullwatch.model import iso  # parsers.timestamps after the layout change (issue 8)


@dataclass(slots=True)
class HostAttempt:
    """One host of one pull's resolution and how it answered (`served`, `failed`, None: no answer
    in the log)."""

    host: str
    outcome: str | None = None
    status: str | None = None  # HTTP status of a failure, `404 Not Found`
    error: str | None = None
    mirror_for: str | None = None  # the registry this host stands in for (the URL's `ns=`)
    time: datetime | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "host": self.host,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "mirror_for": self.mirror_for,
        }


@dataclass(slots=True)
class Reasons:
    failure: str | None = None  # failure class (parsers/failures.py)
    failure_code: str | None = None  # gRPC code named in the error
    hosts: list[HostAttempt] | None = None  # hosts asked for the manifest, in order
    pods: list[str] | None = None  # "namespace/name" of every pod whose kubelet lines fit this pull
    removed_at: datetime | None = None  # the image was removed at … since its previous pull
    removed_by: str | None = None  # RemoveImage, ImageDelete, kubelet image GC
    stuck: bool | None = None  # crawling (debug progress lines); None: no progress lines to tell
    stuck_since: datetime | None = None

    @property
    def served_by(self) -> str | None:
        for attempt in self.hosts or ():
            if attempt.outcome == "served":
                return attempt.host
        return None

    @property
    def mirrors_skipped(self) -> list[HostAttempt] | None:
        """Hosts standing in for another registry (a mirror) that failed this pull."""
        if self.hosts is None:
            return None
        return [a for a in self.hosts if a.mirror_for is not None and a.outcome == "failed"]

    @property
    def pod(self) -> tuple[str | None, str | None]:
        """(namespace, name) when exactly one pod fits, else (None, None): never a guess."""
        if self.pods is None or len(self.pods) != 1:
            return None, None
        namespace, _, name = self.pods[0].rpartition("/")
        return namespace or None, name

    def to_json(self) -> dict[str, Any]:
        namespace, pod = self.pod
        skipped = self.mirrors_skipped
        return {
            "failure": self.failure,
            "failure_code": self.failure_code,
            "hosts": None if self.hosts is None else [a.to_json() for a in self.hosts],
            "served_by": self.served_by,
            "mirrors_skipped": None if skipped is None else [a.host for a in skipped],
            "pod": pod,
            "namespace": namespace,
            "pods": self.pods,
            "removed_at": iso(self.removed_at),
            "removed_by": self.removed_by,
            "stuck": self.stuck,
            "stuck_since": iso(self.stuck_since),
        }


def csv_value(value: object) -> object:
    """A JSON value as one CSV cell: lists joined by spaces (hosts as host=outcome), None empty."""
    if isinstance(value, list):
        return " ".join(_cell(item) for item in value)
    return value


def _cell(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('host')}={item.get('outcome') or '-'}"
    return str(item)


__all__ = ["HostAttempt", "Reasons", "csv_value"]
