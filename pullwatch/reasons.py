"""Why a pull happened, failed or crawled, as far as the log tells (docs/why.md): the facts
one pull record carries beyond its times and sizes. Every field is None when the log cannot say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pullwatch.parsers.timestamps import iso


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
    stuck: bool | None = None  # crawling (debug progress lines); None: no progress lines to tell
    stuck_since: datetime | None = None

    @property
    def served_by(self) -> str | None:
        for attempt in self.hosts or ():
            if attempt.outcome == "served":
                return attempt.host
        return None

    def mirrors_skipped(self, completed: bool) -> list[HostAttempt] | None:
        """Hosts standing in for another registry (mirrors) that failed while containerd went on:
        another host was tried after them, or the pull still completed (at info level the host
        that served is not logged). The last host of a failed pull was not skipped: it failed."""
        if self.hosts is None:
            return None
        last = len(self.hosts) - 1
        return [
            a
            for i, a in enumerate(self.hosts)
            if a.mirror_for is not None and a.outcome == "failed" and (i < last or completed)
        ]

    @property
    def pod(self) -> tuple[str | None, str | None]:
        """(namespace, name) when exactly one pod fits, else (None, None): never a guess."""
        if self.pods is None or len(self.pods) != 1:
            return None, None
        namespace, _, name = self.pods[0].rpartition("/")
        return namespace or None, name

    def to_json(self, completed: bool) -> dict[str, Any]:
        """The fields of the report (`completed`: the pull completed)."""
        namespace, pod = self.pod
        hosts = self.hosts
        skipped = None if hosts is None else self.mirrors_skipped(completed)  # (most pulls: no host line)
        return {
            "failure": self.failure,
            "failure_code": self.failure_code,
            "hosts": None if hosts is None else [a.to_json() for a in hosts],
            "served_by": None if hosts is None else self.served_by,
            "mirrors_skipped": None if skipped is None else [a.host for a in skipped],
            "pod": pod,
            "namespace": namespace,
            "pods": self.pods,
            "stuck": self.stuck,
            "stuck_since": iso(self.stuck_since),
        }


REASON_FIELDS = (
    "failure",
    "failure_code",
    "hosts",
    "served_by",
    "mirrors_skipped",
    "pod",
    "namespace",
    "pods",
    "stuck",
    "stuck_since",
)


def csv_value(value: object) -> object:
    """A JSON value as one CSV cell: lists joined by spaces (hosts as host=outcome), None empty."""
    if isinstance(value, list):
        return " ".join(_cell(item) for item in value)
    return value


def _cell(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('host')}={item.get('outcome') or '-'}"
    return str(item)


__all__ = ["REASON_FIELDS", "HostAttempt", "Reasons", "csv_value"]
