"""Which hosts a pull's resolution tried, and which one served it, from resolver lines.

Resolver lines carry a `host=` and, on 2.3 or in a quoted error, a URL naming the image; on 1.x–2.2
`resolved` / `trying next host` name only the host, so they are given to the image whose manifest
request to that host is still unanswered, and only when exactly one image has one (two images
resolving on one host at once cannot be told apart: the line is left out and counted). All is
kept per node: a line of node A never answers node B's request (several nodes' logs in one input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pullwatch.parsers.hosts import HostEvent, HostEventKind
from pullwatch.reasons import HostAttempt

# Resolve requests remembered per host while unanswered (bounds memory on odd logs).
MAX_IN_FLIGHT_PER_HOST = 64


@dataclass(slots=True)
class HostNote:
    """What one resolver line says about one image: the store gives it to that image's pull."""

    ref: str
    node: str | None  # the node whose containerd logged the line
    host: str
    outcome: str | None
    status: str | None
    error: str | None
    mirror_for: str | None
    time: datetime | None


@dataclass(slots=True)
class HostTracker:
    unattributed: int = 0  # resolver lines that could not be given to one image
    # (node, host) -> the (ref, ns) of its unanswered manifest requests
    _in_flight: dict[tuple[str | None, str], list[tuple[str, str | None]]] = field(default_factory=dict)

    def feed(self, event: HostEvent, time: datetime | None, node: str | None = None) -> HostNote | None:
        """The note this line (logged by `node`) gives, None when it gives none (or cannot say for
        which image)."""
        if event.blob or event.host is None:
            return None
        kind = event.kind
        if kind in (HostEventKind.RESOLVING, HostEventKind.REQUEST):
            if event.ref is None:
                return None  # 1.x `resolving`: the `do request` line after it names the image
            mirror_for = _mirror_for(event)
            waiting = self._in_flight.setdefault((node, event.host), [])
            if (event.ref, mirror_for) not in waiting and len(waiting) < MAX_IN_FLIGHT_PER_HOST:
                waiting.append((event.ref, mirror_for))
            return HostNote(event.ref, node, event.host, None, None, None, mirror_for, time)
        if kind is HostEventKind.RESPONSE:
            return None
        target = self._answered(event, node)
        if target is None:
            self.unattributed += 1
            return None
        ref, mirror_for = target
        outcome = "served" if kind is HostEventKind.RESOLVED else "failed"
        return HostNote(ref, node, event.host, outcome, event.status, event.error, mirror_for, time)

    def forget(self, ref: str, node: str | None = None) -> None:
        """The pull of `ref` on `node` ended: its unanswered requests will not be answered."""
        for key, waiting in self._in_flight.items():
            if key[0] == node and any(item[0] == ref for item in waiting):  # (usually none: no list anew)
                self._in_flight[key] = [item for item in waiting if item[0] != ref]

    def _answered(self, event: HostEvent, node: str | None) -> tuple[str, str | None] | None:
        """The image a `resolved` / `trying next host` line answers, and drop it from in flight."""
        assert event.host is not None
        key = (node, event.host)
        waiting = self._in_flight.get(key, [])
        if event.ref is not None:
            mirror_for = _mirror_for(event)
            matches = [item for item in waiting if item[0] == event.ref]
            target = matches[0] if matches else (event.ref, mirror_for)
        elif len({ref for ref, _ in waiting}) == 1:
            target = waiting[0]
        else:
            return None
        self._in_flight[key] = [item for item in waiting if item[0] != target[0]]
        return target


def _mirror_for(event: HostEvent) -> str | None:
    """The upstream registry when the URL asks this host on behalf of another (`?ns=`)."""
    url = event.url or ""
    index = url.find("ns=")
    if index < 0 or url[index - 1 : index] not in ("?", "&"):
        return None
    value = url[index + 3 :].split("&", 1)[0]
    return value or None


def merge(attempts: list[HostAttempt], note: HostNote) -> None:
    """Add a note to a pull's attempts: one entry per host, in the order first tried."""
    for attempt in attempts:
        if attempt.host == note.host:
            break
    else:
        attempt = HostAttempt(note.host, time=note.time)
        attempts.append(attempt)
    attempt.mirror_for = attempt.mirror_for or note.mirror_for
    if note.outcome is not None:
        attempt.outcome, attempt.status, attempt.error, attempt.time = note.outcome, note.status, note.error, note.time


__all__ = ["HostNote", "HostTracker", "merge"]
