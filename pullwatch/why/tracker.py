"""The store's helper for "why": gives resolver, kubelet and removal lines to pull records and
fills each record's Reasons (failure class, hosts, pods, stuck flag).

The store calls it at the moments that matter (a pull starts, ends, reports progress) and for the
lines that are not pull lines; it reads the store's open pulls through a callback and changes
only `record.reasons`. Nothing here is guessed: a line that fits no pull, or more than one where
only one can be right, is left out (host lines are counted in `unattributed_host_lines`).
Everything is kept per node and image (the key (node, ref), as the store keeps its pulls): with
several nodes' logs in one input, a resolver or kubelet line goes only to its own node's pulls.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from pullwatch.parsers.failures import classify
from pullwatch.parsers.hosts import HostEvent
from pullwatch.parsers.kubelet import KubeletEvent, KubeletEventKind, resolve_time
from pullwatch.parsers.refs import normalize
from pullwatch.records import REMOVED_BY_CLIENT, REMOVED_BY_GC, PullRecord, PullStatus
from pullwatch.why.hosts import HostNote, HostTracker, merge
from pullwatch.why.pods import PodMatcher
from pullwatch.why.stuck import StuckWatch

# Lines kept per image while no pull of it is open (a sandbox pull logs no start line).
MAX_PENDING_PER_REF = 32
# The text pullwatch gives a pull that containerd cancelled for lack of progress (parsers/messages.py).
NO_PROGRESS_PREFIX = "cancelled: no progress in"
# kubelet logs its removal line, then calls RemoveImage and waits at most runtimeRequestTimeout
# (2m by default) for it: the ImageDelete comes within that. A journal export's time is when journald
# received the line, a little after kubelet wrote it (CLOCK_SLACK).
GC_DELETE_WITHIN = timedelta(minutes=2)
CLOCK_SLACK = timedelta(seconds=1)
MAX_GC_LINES_PER_ID = 16
MAX_GC_IDS = 4096  # image ids whose GC lines are kept (the oldest are dropped first)
# As a module name: on Python 3.10/3.11 each `PullStatus.FAILED` is a slow EnumType.__getattr__ (store.py).
_FAILED = PullStatus.FAILED


class WhyTracker:
    def __init__(
        self,
        record_of: Callable[[int], PullRecord | None],
        open_pulls: Callable[[str | None, str], list[PullRecord]],
    ) -> None:
        self._record_of = record_of  # the store's record of a pull id (None once the store forgot it)
        self._open_pulls = open_pulls
        self._hosts = HostTracker()
        self._pods = PodMatcher()
        self._watches: dict[int, StuckWatch] = {}
        self._pending_hosts: dict[tuple[str | None, str], list[HostNote]] = {}  # (node, ref) -> notes
        self._last_time: datetime | None = None
        self._unresolved: list[tuple[KubeletEvent, str | None]] = []  # kubelet lines (and node) before any time
        self._gc_lines: dict[tuple[str | None, str], deque[datetime]] = {}  # (node, image id) -> GC line times

    @property
    def unattributed_host_lines(self) -> int:
        return self._hosts.unattributed

    def saw_time(self, moment: datetime | None) -> list[PullRecord]:
        """A time of the log (klog's lines have no year: they take it from here); kubelet lines
        that came before any time are matched now. Returns the records that changed."""
        if moment is None:
            return []
        self._last_time = moment
        if not self._unresolved:
            return []
        waiting, self._unresolved = self._unresolved, []
        return [record for event, node in waiting for record in self.kubelet_line(event, node)]

    # ---- pulls ---------------------------------------------------------------------------
    def pull_started(self, record: PullRecord) -> list[PullRecord]:
        """A pull began; returns the other records whose pods changed with it."""
        self._pending_hosts.pop((record.node, record.ref), None)  # lines before a start belong to no open pull
        return self._others(record, self._pods.pull_started(record.id, (record.node, record.ref), record.started_at))

    def pull_ended(self, record: PullRecord) -> list[PullRecord]:
        """A pull ended: settle its failure class; returns the other records whose pods changed."""
        reasons = record.reasons
        key = (record.node, record.ref)
        if not record.has_start:
            for note in self._pending_hosts.pop(key, []):
                if record.finished_at is None or note.time is None or note.time <= record.finished_at:
                    reasons.hosts = reasons.hosts if reasons.hosts is not None else []
                    merge(reasons.hosts, note)
        if record.status is _FAILED:
            failure = classify(record.error, no_progress=(record.error or "").startswith(NO_PROGRESS_PREFIX))
            if failure is not None:
                reasons.failure, reasons.failure_code = failure.kind.value, failure.code
        if self._watches:
            self._watches.pop(record.id, None)
        self._hosts.forget(record.ref, record.node)
        answers = self._pods.pull_ended(record.id, key, record.finished_at)
        return self._others(record, answers) if answers else []

    def progress(self, record: PullRecord, moment: datetime | None, total: int | None) -> None:
        watch = self._watches.get(record.id)
        if watch is None:
            watch = self._watches[record.id] = StuckWatch()
        record.reasons.stuck = watch.sample(moment, total)
        record.reasons.stuck_since = watch.stuck_since

    # ---- lines that are not pull lines ----------------------------------------------------
    def host_line(self, event: HostEvent, moment: datetime | None, node: str | None) -> list[PullRecord]:
        """A resolver line that `node`'s containerd logged."""
        note = self._hosts.feed(event, moment, node)
        if note is None:
            return []
        for record in self._open_pulls(node, note.ref):
            if record.reasons.served_by is None:
                hosts = record.reasons.hosts
                if hosts is None:
                    hosts = record.reasons.hosts = []
                merge(hosts, note)
                return [record]
        pending = self._pending_hosts.setdefault((node, note.ref), [])
        pending.append(note)
        del pending[:-MAX_PENDING_PER_REF]
        return []

    def kubelet_line(self, event: KubeletEvent, node: str | None) -> list[PullRecord]:
        """A kubelet line of `node` (its pods are matched to that node's pulls only)."""
        if event.time is None and event.clock is not None:
            if self._last_time is None:
                self._unresolved.append((event, node))  # no year yet: wait for the log's first time
                del self._unresolved[:-MAX_PENDING_PER_REF]
                return []
            resolve_time(event, self._last_time)
        if event.kind is KubeletEventKind.IMAGE_REMOVED:
            if event.image_id is not None and event.time is not None:
                key = (node, event.image_id)
                times = self._gc_lines.get(key)
                if times is None:
                    times = self._gc_lines[key] = deque(maxlen=MAX_GC_LINES_PER_ID)
                    if len(self._gc_lines) > MAX_GC_IDS:  # a follower must not grow with every id
                        del self._gc_lines[next(iter(self._gc_lines))]
                times.append(event.time)
            return []
        if event.image is None or event.pod is None:
            return []
        pod = f"{event.namespace}/{event.pod}" if event.namespace else event.pod
        key = (node, normalize(event.image))
        if event.kind is KubeletEventKind.PULLING:
            return self._set_pods(self._pods.kubelet_line(key, pod, event.time, at_end=False))
        if event.kind in (KubeletEventKind.FAILED, KubeletEventKind.PULLED):
            return self._set_pods(self._pods.kubelet_line(key, pod, event.time, at_end=True))
        return []  # back-off, already present, image GC: kubelet did not ask for a pull

    def removed_by(
        self, node: str | None, image_id: str | None, since: datetime | None, deleted_at: datetime | None
    ) -> str | None:
        """Who deleted an image that containerd's ImageDelete at `deleted_at` removed (None: no
        delete): kubelet's image GC when a GC line of the same node names its image id after
        `since` (the previous pull's end) and within GC_DELETE_WITHIN before the delete, else
        some client of containerd (the log names none)."""
        if deleted_at is None:
            return None
        for moment in self._gc_lines.get((node, image_id), ()) if image_id else ():
            in_time = deleted_at - GC_DELETE_WITHIN <= moment <= deleted_at + CLOCK_SLACK
            if in_time and (since is None or since <= moment):
                return REMOVED_BY_GC
        return REMOVED_BY_CLIENT

    # ---- helpers ---------------------------------------------------------------------------
    def _others(self, record: PullRecord, answers: dict[int, list[str]]) -> list[PullRecord]:
        """Set the pods; the records other than `record` (which the store marks changed itself)."""
        if not answers:
            return []  # the usual answer (no kubelet line names the image): no lists to build
        return [other for other in self._set_pods(answers) if other is not record]

    def _set_pods(self, answers: dict[int, list[str]]) -> list[PullRecord]:
        changed = []
        for key, pods in answers.items():
            record = self._record_of(key)
            if record is not None and record.reasons.pods != pods:
                record.reasons.pods = pods
                changed.append(record)
        return changed


__all__ = ["WhyTracker"]
