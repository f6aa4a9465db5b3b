"""The in-memory store: pull events in, pull records and per-image aggregates out.

Fed by every source (saved logs, files followed, the journal) through one door, `apply`, which
takes a parsed batch (events and line counts) and is the only place the counts change, so the CLI
and the TUI see the same answers. It keeps records, never log lines, so memory grows with the
number of pulls, not with the size of the log. It knows nothing of Textual.

Correlation (docs/formats.md §3): lines of one pull are matched by normalised reference and order
(one _Image state per reference holds what is open or waiting for that image), because pulls of
different images interleave and the end lines name the image differently from the start line
(request string vs normalised reference). Rules, in order of strength:

- "Pulled image … in D" ends the open pull of that image that started D before it (identical
  concurrent pulls finish in any order); when no open pull started that early, the pull began
  before the log (or is a sandbox pull, which logs no start) and gets a record of its own.
- "returns image reference ID" follows its own "Pulled image" line at once and carries the same
  image id, so it completes that record (no second record); without one (1.5/1.6 log no details
  at info) it ends the oldest open pull.
- "failed" carries no duration, so identical concurrent pulls fail oldest first, except that a
  "context canceled" failure goes to the pull that a "cancel pulling image" line named.
- "stop pulling image" is asynchronous: it belongs to a pull that ended just before it, else to
  the next one that ends (STOP_LINE_GRACE either way).
- Debug lines (snapshotter, progress, cancel) that arrive while no pull of the image is open
  belong to a pull without a start line (sandbox pulls): they are kept until it ends.

Downloaded or served from the node's store (docs/formats.md §5, read from real 1.6/1.7/2.1):
- "bytes read" is exact on 1.6-style client pulls, but under 2.1's transfer service the counter
  stays 0 even for a first download. It is trusted only once the log proves the counter runs (a
  snapshotter line without "using transfer service", or bytes read above 0 on a completed pull),
  and never once the log proves it idle ("using transfer service", or 0 bytes read on a
  pull that created its image id by itself); bytes_read is then None.
- ImageCreate of the image id during a pull means the image was new to the store: a download.
  ImageCreate or ImageUpdate of only its tag or digest name means it was there already (a repeat, or
  a new tag of content the store had). Events are asynchronous: one that comes just after the end
  still counts. Of concurrent pulls of one image one fetches and the others wait for its content;
  which one is a race the events do not tell, so the first to start claims the id's ImageCreate:
  the per-image count of downloads is right, the per-pull flag a guess (1.7's bytes read decide).
  containerd logs the events from its event monitor's goroutine and the result line from the CRI
  call's, so the result can overtake the id's ImageCreate (real 1.6.20 under load). A tag the pull
  created without its id's create yet is a first download whose id event is on its way or a new tag
  of stored content: null until the create comes or EVENT_GRACE of log time has passed without it
  (the later of concurrent pulls is false at once: the oldest claims the create). `events` prints
  the null at the result line; the verdict comes with the id's ImageCreate, and a false the grace
  settles on no line of its own (report, csv and the monitor show it).
- A debug "fetch response received" line of a layer, while a single pull is open, is a download,
  whatever the image events say.
- ImageCreate of a CRI-managed tag while no pull of it is open is a pull without a PullImage call
  (the sandbox image inside RunPodSandbox): a record of its own, which a later "Pulled image" or
  result line completes instead of making a second one.
- An ImageDelete of the image between two pulls says why the later one downloaded again; a kubelet
  image GC line of the same node naming the earlier pull's image id just before it says who
  deleted it (`removed_by`, docs/why.md).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from sys import intern

from pullwatch.parsers.events import PULL_KINDS, EventKind, ParsedBatch, PullEvent
from pullwatch.parsers.hosts import HostEvent
from pullwatch.parsers.kubelet import KubeletEvent, KubeletEventKind
from pullwatch.records import RAW_LINES_PER_PULL, ImageSummary, PullRecord, PullStatus, Stats
from pullwatch.why.tracker import WhyTracker

# How long after a pull finished containerd's asynchronous "stop pulling image" line may still come.
STOP_LINE_GRACE = timedelta(seconds=5)
# How far from "finish - duration" a start line may be and still be that pull's start
# (containerd starts its clock as it logs the start; some timestamps are whole seconds).
START_FIT_TOLERANCE = timedelta(seconds=2)
# Bounds on what is kept while waiting for lines that may never come (sandbox pulls have no result).
MAX_WAITING_PER_REF = 16
# How long `forget_ended` keeps an ended pull: far past every grace above (seconds each).
FORGET_AFTER = timedelta(minutes=10)
# How far from a pull an asynchronous image event may come and still belong to it.
EVENT_GRACE = timedelta(seconds=5)
MAX_ID_EVENTS = 64
# The members the hot paths below compare with, as module names: on Python 3.10 and 3.11 EnumType
# defines __getattr__, which sends every read of `PullStatus.COMPLETED` through a slow lookup, and
# these reads, a dozen per event, were a tenth of the store's instructions on a dense log (callgrind).
_IN_PROGRESS, _COMPLETED, _FAILED = PullStatus.IN_PROGRESS, PullStatus.COMPLETED, PullStatus.FAILED
_PROGRESS, _START = EventKind.PROGRESS, EventKind.START
# The lines that end a pull (its "why" is settled then: failure class, pods at its end).
_ENDING_KINDS = (EventKind.PULLED, EventKind.RESULT, EventKind.FAILED, EventKind.SANDBOX_FAILED)


@dataclass(slots=True)
class _Image:
    """What the store knows about one normalised reference: its pulls, and the lines and pulls
    that wait for a line still to come."""

    pulls: list[PullRecord] = field(default_factory=list)  # in order of first sighting
    open: list[PullRecord] = field(default_factory=list)  # started, no outcome yet, oldest first
    awaiting_result: list[PullRecord] = field(default_factory=list)  # "Pulled image" seen, no result line
    pending_stop: list[PullEvent] = field(default_factory=list)  # "stop pulling" lines before their outcome
    orphans: list[PullEvent] = field(default_factory=list)  # debug lines seen while no pull was open
    ended_without_stop: list[PullRecord] = field(default_factory=list)  # may still get a "stop pulling" line
    from_events: list[PullRecord] = field(default_factory=list)  # made from ImageCreate, may get its Pulled line


class PullStore:
    """All pulls seen so far, in order of first sighting."""

    def __init__(self, keep_lines: int = RAW_LINES_PER_PULL) -> None:
        """`keep_lines`: raw log lines kept per pull for the detail view (0 for headless answers)."""
        self.keep_lines = keep_lines
        self.pulls: list[PullRecord] = []
        self.stats = Stats()
        self.revision = 0
        # Images with pulls come in order of their first pull (an image seen only in waiting lines
        # so far is moved to the end when its first pull is made).
        # Keyed by node and reference: lines of one node never end another node's pull, and a
        # pull on node B is not a repeat of node A's. So are the image-event tables below.
        self._images: dict[tuple[str | None, str], _Image] = {}
        # What the log proves about containerd's "bytes read" counter (see the module docstring).
        self.counter_runs = False
        self.counter_idle = False
        # ImageCreate of an id no pull has claimed
        self._id_creates: dict[tuple[str | None, str], list[datetime | None]] = {}
        # recent pulls by image id, for late events
        self._ended_by_id: dict[tuple[str | None, str], list[PullRecord]] = {}
        # ImageDelete times by name (ref or id)
        self._deletes: dict[tuple[str | None, str], list[datetime | None]] = {}
        # pulls that came after an ImageDelete: (record, the image id deleted, the previous pull's end),
        # judged again when a kubelet GC line comes later in the input than the delete
        self._after_delete: deque[tuple[PullRecord, str | None, datetime | None]] = deque(maxlen=MAX_ID_EVENTS)
        self._awaiting_id: list[PullRecord] = []  # event-made records whose id's ImageCreate is next
        # pulls judged null while their id's ImageCreate may still come: a heap by when the wait ends
        self._create_may_come: list[tuple[datetime, int, PullRecord]] = []
        self._create_may_come_ids: set[int] = set()
        self._by_id: dict[int, PullRecord] = {}
        self._last_id = 0
        self.latest: datetime | None = None  # the newest log time applied
        self._why = WhyTracker(self._by_id.get, self._open_pulls)
        self._started: list[PullRecord] = []  # pulls with a start line, pruned of ended ones as read

    # ---- feeding -------------------------------------------------------------------------
    def apply(self, batch: ParsedBatch) -> list[PullRecord | None]:
        """Apply a parsed batch and count its lines; returns, for each event, the record it
        changed (None if it matched no pull)."""
        stats = self.stats
        stats.lines += batch.lines
        stats.unparsed_lines += batch.unparsed
        stats.pull_lines += sum(1 for event in batch.events if event.kind in PULL_KINDS)
        return [self._add(event) for event in batch.events]

    def apply_stepwise(self, batch: ParsedBatch) -> Iterator[tuple[PullEvent, PullRecord | None]]:
        """Like `apply`, one event at a time: each event with the record it changed, yielded before
        the next event is applied (for `pullwatch events`, which prints what was known at that line)."""
        stats = self.stats
        stats.lines += batch.lines
        stats.unparsed_lines += batch.unparsed
        stats.pull_lines += sum(1 for event in batch.events if event.kind in PULL_KINDS)
        for event in batch.events:
            yield event, self._add(event)

    def _add(self, event: PullEvent) -> PullRecord | None:
        # (the body of _changed, _image and _keep_line written out: this runs for every event)
        moment = event.time
        if moment is not None:
            latest = self.latest
            if latest is None or moment > latest:
                self.latest = moment
                if self._create_may_come:
                    for other in self._past_event_grace():
                        self._changed(other)
            for other in self._why.saw_time(moment):
                self._changed(other)
        kind = event.kind
        if kind not in PULL_KINDS:
            return self._add_why(event)
        key = (event.node, event.ref)
        image = self._images.get(key)
        if image is None:
            image = self._images[key] = _Image()
        record = _HANDLERS[kind](self, event, image)
        if record is not None:
            self.revision += 1
            record.revision = self.revision
            if len(record.lines) < self.keep_lines:
                record.lines += (event.raw,)
            else:
                record.lines_dropped += 1
            for other in self._why_after(event, record, kind is _START):
                self._changed(other)
        return record

    def forget_ended(self, keep: timedelta = FORGET_AFTER) -> int:
        """Drop the records of pulls that ended more than `keep` of log time before the newest line,
        but each image's latest pull (a repeat is judged against it): for `events --follow`, which
        prints as it goes and must not grow with every pull it ever saw. Lines that may still come
        for an ended pull (stop lines, image events, kubelet) come within seconds. Returns how many
        records were dropped."""
        if self.latest is None:
            return 0
        horizon = self.latest - keep
        kept_ids: set[int] = set()
        for image in self._images.values():
            last = image.pulls[-1] if image.pulls else None
            image.pulls[:] = [r for r in image.pulls if r is last or not _ended_before(r, horizon)]
            kept_ids.update(r.id for r in image.pulls)
        before = len(self.pulls)
        self.pulls[:] = [r for r in self.pulls if r.id in kept_ids]
        for pull_id in [pull_id for pull_id in self._by_id if pull_id not in kept_ids]:
            del self._by_id[pull_id]
        # what waits for no pull any more: images with nothing kept, creates no open pull can claim
        for image_key in [k for k, image in self._images.items() if _idle(image)]:
            del self._images[image_key]
        self._started = [r for r in self._started if r.status is _IN_PROGRESS]
        oldest_open = min((r.started_at for r in self._started if r.started_at is not None), default=horizon)
        claimable = min(horizon, oldest_open)
        for id_key in [k for k, times in self._id_creates.items() if _all_before(times, claimable)]:
            del self._id_creates[id_key]
        for id_key in [k for k, records in self._ended_by_id.items() if all(r.id not in kept_ids for r in records)]:
            del self._ended_by_id[id_key]  # late image events come within EVENT_GRACE of a pull's end
        return before - len(self.pulls)

    def _changed(self, record: PullRecord) -> None:
        self.revision += 1
        record.revision = self.revision

    def _why_after(self, event: PullEvent, record: PullRecord, started: bool) -> list[PullRecord]:
        """Tell the why tracker that a pull started, reported progress or ended."""
        if started:
            return self._why.pull_started(record)
        if event.kind is _PROGRESS and record.status is _IN_PROGRESS:
            self._why.progress(record, event.time, event.bytes_read)
        elif record.status is not _IN_PROGRESS and event.kind in _ENDING_KINDS:
            return self._why.pull_ended(record)
        return []

    def _add_why(self, event: PullEvent) -> PullRecord | None:
        """A resolver or kubelet line: the records it tells about (the first is returned)."""
        detail = event.detail
        if isinstance(detail, HostEvent):
            changed = self._why.host_line(detail, event.time, event.node)
        elif isinstance(detail, KubeletEvent):
            changed = self._why.kubelet_line(detail, event.node)
            if detail.kind is KubeletEventKind.IMAGE_REMOVED:
                changed = changed + self._removed_again(event.node, detail.image_id)
        else:
            changed = []
        for record in changed:
            self._changed(record)
            self._keep_line(record, event)
        return changed[0] if changed else None

    def _removed_again(self, node: str | None, image_id: str | None) -> list[PullRecord]:
        """A kubelet GC line for `image_id`: the pulls after its delete whose remover it names."""
        changed = []
        for record, deleted_id, since in self._after_delete:
            if record.node == node and deleted_id == image_id:
                removed_by = self._why.removed_by(node, deleted_id, since, record.deleted_at)
                if removed_by != record.removed_by:
                    record.removed_by = removed_by
                    changed.append(record)
        return changed

    def _open_pulls(self, node: str | None, ref: str) -> list[PullRecord]:
        """The open pulls of `ref` on `node` (a resolver or kubelet line's node: the host its
        journal prefix or _HOSTNAME names, or the --node-file it came from)."""
        image = self._images.get((node, ref))
        return list(image.open) if image is not None else []

    def _image(self, key: tuple[str | None, str]) -> _Image:
        image = self._images.get(key)
        if image is None:
            image = self._images[key] = _Image()
        return image

    def _keep_line(self, record: PullRecord, event: PullEvent) -> None:
        if len(record.lines) < self.keep_lines:
            record.lines += (event.raw,)  # at most keep_lines (32): copying is cheap
        else:
            record.lines_dropped += 1

    # ---- reading -------------------------------------------------------------------------
    def in_progress(self) -> list[PullRecord]:
        return [r for image in self._images.values() for r in image.open]

    def pulls_of(self, ref: str, node: str | None = None, any_node: bool = True) -> list[PullRecord]:
        """The pulls of `ref` in order of first sighting: on every node, or (any_node=False) on `node`."""
        if not any_node:
            image = self._images.get((node, ref))
            return list(image.pulls) if image is not None else []
        found = [r for (_, other), image in self._images.items() if other == ref for r in image.pulls]
        return sorted(found, key=lambda r: r.id)

    def changed_since(self, revision: int) -> list[PullRecord]:
        """Records changed after `revision` (for views that update incrementally)."""
        return [r for r in self.pulls if r.revision > revision]

    def image_refs(self) -> list[str]:
        return list(dict.fromkeys(ref for (_, ref), image in self._images.items() if image.pulls))

    def nodes(self) -> list[str | None]:
        """The nodes pulls were seen on, in order of their first pull (None: lines that name none)."""
        return list(dict.fromkeys(node for (node, _), image in self._images.items() if image.pulls))

    def summary(self, ref: str) -> ImageSummary:
        return summarize(ref, self.pulls_of(ref))

    def images(self) -> list[ImageSummary]:
        """One summary per node and normalised reference, in order of first pull."""
        return [summarize(ref, image.pulls) for (_, ref), image in self._images.items() if image.pulls]

    def repeated(self) -> list[ImageSummary]:
        """Images pulled more than once on one node."""
        return [summarize(ref, image.pulls) for (_, ref), image in self._images.items() if len(image.pulls) > 1]

    # ---- correlation: one handler per event kind, given the state of the event's image -------
    def _new(self, event: PullEvent, image: _Image) -> PullRecord:
        self._last_id += 1
        node = _shared(event.node)
        record = PullRecord(id=self._last_id, image=intern(event.image), ref=intern(event.ref), node=node)
        self.pulls.append(record)
        self._by_id[record.id] = record
        if not image.pulls:
            key = (event.node, event.ref)
            self._images[key] = self._images.pop(key)  # images come in order of first pull
        image.pulls.append(record)
        return record

    def _on_start(self, event: PullEvent, image: _Image) -> PullRecord:
        record = self._new(event, image)
        record.started_at = event.time
        record.has_start = True
        if image.open:
            record.overlapped = True
            for other in image.open:
                other.overlapped = True
        image.open.append(record)
        self._started.append(record)
        return record

    def _on_pulled(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_open_for(image, event) or _take_from_events(image, event)
        if record is None:
            # No start line: a sandbox (pause) image pull, or a pull begun before the log.
            record = self._new(event, image)
            self._adopt_orphans(record, image, event.time)
        record.status = _COMPLETED
        record.has_details = True
        record.finished_at = event.time
        record.image_id = _shared(event.image_id) or record.image_id
        record.repo_tag = _shared(event.repo_tag)
        record.repo_digest = _shared(event.repo_digest)
        if event.size_bytes is not None:
            record.size_bytes = event.size_bytes
        if event.duration_seconds is not None:
            record.duration_seconds = event.duration_seconds
            if record.started_at is None and event.time is not None:
                record.started_at = event.time - timedelta(seconds=event.duration_seconds)
        else:
            record.duration_seconds = _elapsed(record.started_at, record.finished_at)
        image.awaiting_result.append(record)
        del image.awaiting_result[:-MAX_WAITING_PER_REF]
        self._ended(record, image)
        self._settle(record, image)
        return record

    def _on_result(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_for_result(image, event) or _take_from_events(image, event)
        if record is None:
            record = self._new(event, image)
        ends_here = record.status is _IN_PROGRESS
        record.status = _COMPLETED
        record.has_result = True
        record.image_id = _shared(event.image_id)
        if record.finished_at is None:
            record.finished_at = event.time
        if record.duration_seconds is None:
            record.duration_seconds = _elapsed(record.started_at, record.finished_at)
        if ends_here:
            self._ended(record, image)
        self._settle(record, image)
        return record

    def _on_failed(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_open_for_failure(image, event)
        if record is None:
            record = self._new(event, image)
            self._adopt_orphans(record, image, event.time)
        _fail(record, event)
        self._ended(record, image)
        self._settle(record, image)
        return record

    def _on_sandbox_failed(self, event: PullEvent, image: _Image) -> PullRecord:
        record = self._new(event, image)
        self._adopt_orphans(record, image, event.time)
        _fail(record, event)
        self._ended(record, image)
        self._settle(record, image)
        return record

    def _on_snapshotter(self, event: PullEvent, image: _Image) -> PullRecord | None:
        # 2.1+ say which way they pull; 1.7/2.0 (client pull, counting bytes) say nothing more
        self._learn_counter(idle=event.pull_method == "transfer service")
        for record in image.open:
            if record.snapshotter is None:
                _apply_debug(record, event)
                return record
        _keep_orphan(image, event)
        return None

    def _on_progress(self, event: PullEvent, image: _Image) -> PullRecord | None:
        for record in image.open:
            _apply_debug(record, event)
            return record
        _keep_orphan(image, event)
        return None

    def _on_cancel(self, event: PullEvent, image: _Image) -> PullRecord | None:
        for record in image.open:
            if record.error is None:
                _apply_debug(record, event)
                return record
        _keep_orphan(image, event)
        return None

    def _on_image_event(self, event: PullEvent, image: _Image) -> PullRecord | None:
        """An image store change: evidence for the pulls of that name (or id), or a pull of its own."""
        name, moment = event.image, event.time
        if event.kind is EventKind.IMAGE_DELETE:
            _push(self._deletes.setdefault((event.node, event.ref), []), moment)
            return None
        if _is_image_id(name):
            return self._on_id_event(event)
        record: PullRecord | None = None
        created = event.kind is EventKind.IMAGE_CREATE
        if image.open:
            for record in image.open:
                record.image_events += 1
                record.name_created = record.name_created or created
            return image.open[0]
        record = _just_ended_pull(image, moment)
        if record is not None:
            record.image_events += 1
            record.name_created = record.name_created or created
            self._judge(record)
            return record
        if event.kind is EventKind.IMAGE_CREATE and event.managed and "@" not in name:
            # a CRI pull with no PullImage call: the sandbox image pulled inside RunPodSandbox
            record = self._new(event, image)
            record.status = _COMPLETED
            record.finished_at = moment
            record.from_events = True
            record.image_events = 1
            record.name_created = True
            image.from_events.append(record)
            del image.from_events[:-MAX_WAITING_PER_REF]
            self._awaiting_id.append(record)
            del self._awaiting_id[:-MAX_WAITING_PER_REF]
            self._ended(record, image)
            self._judge(record)
            return record
        return None

    def _on_id_event(self, event: PullEvent) -> PullRecord | None:
        """ImageCreate/ImageUpdate of an image id: a create is the mark of a download."""
        name, moment = event.image, event.time
        creates = event.kind is EventKind.IMAGE_CREATE
        for record in reversed(self._ended_by_id.get((event.node, name), [])):
            # a pull that ended just before (or an event stamped inside it and written after its
            # end: logrus takes the time before the writer's lock), unless it created the id already
            # (the image was deleted since, and this create belongs to a pull still open)
            if _during(record, moment) and not (creates and record.id_created):
                record.image_events += 1
                if creates:
                    record.id_created = True
                    self._judge(record)
                return record
        if not creates:
            return None
        for record in self._awaiting_id:
            if record.node == event.node and record.image_id is None and _just_ended(record, moment, grace=EVENT_GRACE):
                self._awaiting_id.remove(record)
                record.image_id = intern(name)
                record.id_created = True
                self._judge(record)
                return record
        _push(self._id_creates.setdefault((event.node, name), []), moment)
        return None

    def _on_layer_fetch(self, event: PullEvent, image: _Image) -> PullRecord | None:
        """A layer arrived from a registry; the line does not name the image, so it counts only
        when one pull is open."""
        # every open pull has a start line; drop the ended ones (each once: linear overall)
        self._started = [r for r in self._started if r.status is _IN_PROGRESS]
        open_here = [r for r in self._started if r.node == event.node]
        if len(open_here) != 1:
            return None
        record = open_here[0]
        record.layer_fetches += 1
        self._judge(record)
        return record

    def _settle(self, record: PullRecord, image: _Image) -> None:
        """A pull ended: claim its image id's ImageCreate, find a delete before it, judge it."""
        image_id = record.image_id
        if image_id:
            creates = self._id_creates.get((record.node, image_id))
            # of concurrent pulls of one image one fetches and the others wait for it; the events do
            # not say which: leave the create to an older pull still open (see the module docstring)
            if creates and not _older_open(record, image):
                for index, moment in enumerate(creates):
                    if _during(record, moment):
                        del creates[index]
                        record.id_created = True
                        break
            _push(self._ended_by_id.setdefault((record.node, image_id), []), record)
        record.deleted_at, previous = self._deleted_before(record, image)
        if previous is not None and record.deleted_at is not None:
            since = previous.finished_at
            record.removed_by = self._why.removed_by(record.node, previous.image_id, since, record.deleted_at)
            if not any(item[0] is record for item in self._after_delete):
                self._after_delete.append((record, previous.image_id, since))
        else:
            record.removed_by = None
        self._judge(record)

    def _deleted_before(self, record: PullRecord, image: _Image) -> tuple[datetime | None, PullRecord | None]:
        """The last ImageDelete of this image between the previous pull of it and this one, and
        that previous pull."""
        if not self._deletes:
            return None, None  # no ImageDelete in the log so far (the usual case): nothing to look for
        pulls = image.pulls
        index = next((i for i in range(len(pulls) - 1, -1, -1) if pulls[i] is record), 0)  # usually the last
        previous = next((pulls[i] for i in range(index - 1, -1, -1) if pulls[i].finished_at is not None), None)
        if previous is None or previous.finished_at is None:
            return None, None
        until = record.started_at or record.finished_at
        names = [record.ref] + [n for n in (previous.image_id, previous.repo_digest) if n]
        found = [t for n in names for t in self._deletes.get((record.node, n), []) if t is not None]
        found = [t for t in found if previous.finished_at <= t and (until is None or t <= until)]
        return (max(found) if found else None), previous

    def _learn_counter(self, idle: bool = False, runs: bool = False) -> None:
        """What the log proved about the bytes-read counter; every pull is judged again if it changed."""
        before = (self.counter_runs, self.counter_idle)
        self.counter_runs = self.counter_runs or runs or not idle
        self.counter_idle = self.counter_idle or idle
        if (self.counter_runs, self.counter_idle) != before:
            for record in self.pulls:
                self._judge(record, learn=False)

    def _judge(self, record: PullRecord, learn: bool = True) -> None:
        """Set `downloaded` and `bytes_read` from the evidence the record has (strongest first)."""
        logged = record.bytes_logged
        if learn and record.status is _COMPLETED and logged is not None:
            if logged == 0 and record.id_created and not record.overlapped:
                self._learn_counter(idle=True)  # a download that read nothing: the counter is idle
            elif logged > 0:
                self._learn_counter(runs=True)
        trusted = self.counter_runs and not self.counter_idle
        record.bytes_read = None if self.counter_idle else logged
        if record.status is _IN_PROGRESS:
            record.downloaded = True if record.layer_fetches else None
        elif record.status is _COMPLETED:
            if trusted and logged is not None:
                record.downloaded = logged > 0
            elif record.id_created or record.layer_fetches:
                record.downloaded = True
            elif record.image_events:
                record.downloaded = None if self._create_may_come_for(record) else False
            else:
                record.downloaded = None
        elif record.layer_fetches:
            record.downloaded = True
        else:
            record.downloaded = False if trusted and logged == 0 else None

    def _create_may_come_for(self, record: PullRecord) -> bool:
        """Whether the id's ImageCreate of a pull that created its tag may still come (then noted,
        to be judged again once EVENT_GRACE of log time has passed)."""
        end, latest = record.finished_at, self.latest
        if not record.name_created or end is None or latest is None or latest - end > EVENT_GRACE:
            return False
        if record.overlapped and self._id_create_goes_elsewhere(record):
            return False
        if record.id not in self._create_may_come_ids:
            self._create_may_come_ids.add(record.id)
            heapq.heappush(self._create_may_come, (end + EVENT_GRACE, record.id, record))
        return True

    def _id_create_goes_elsewhere(self, record: PullRecord) -> bool:
        """Of concurrent pulls of one image the oldest claims the id's ImageCreate (see _settle):
        an older one is still open, or another one has claimed it already."""
        image = self._images.get((record.node, record.ref))
        if image is not None and _older_open(record, image):
            return True
        claimed = self._ended_by_id.get((record.node, record.image_id), []) if record.image_id else []
        return any(other is not record and other.id_created for other in claimed)

    def _past_event_grace(self) -> list[PullRecord]:
        """The pulls waiting for their id's ImageCreate whose wait the log's time has now passed:
        judged again. A heap by the end of each wait: a line costs a look at the first only."""
        latest, waiting = self.latest, self._create_may_come
        passed = []
        while waiting and latest is not None and waiting[0][0] < latest:
            _, _, record = heapq.heappop(waiting)
            end = record.finished_at
            if record.downloaded is None and end is not None and latest - end <= EVENT_GRACE:
                heapq.heappush(waiting, (end + EVENT_GRACE, record.id, record))  # its end came later since
                continue
            self._create_may_come_ids.discard(record.id)
            if record.downloaded is None and end is not None:  # not told since by its id's create
                self._judge(record)
                passed.append(record)
        return passed

    def _adopt_orphans(self, record: PullRecord, image: _Image, end: datetime | None) -> None:
        """Give a pull without a start line the debug lines its image logged before it ended."""
        kept = []
        for event in image.orphans:
            if end is None or event.time is None or event.time <= end:
                _apply_debug(record, event)
                self._keep_line(record, event)
            else:
                kept.append(event)
        image.orphans = kept

    def _on_stop(self, event: PullEvent, image: _Image) -> PullRecord | None:
        """`stop pulling image` is logged asynchronously, just before or just after the pull's
        outcome: it belongs to a pull of that image that has just ended without one, else to the
        next one that ends."""
        ended = image.ended_without_stop
        ended[:] = [r for r in ended if r.bytes_logged is None and not _ended_long_before(r, event.time)]
        best: PullRecord | None = None
        for record in ended:
            if _just_ended(record, event.time) and (best is None or _later(record, best)):
                best = record
        if best is not None:
            best.bytes_logged = event.bytes_read
            ended.remove(best)
            self._judge(best)
            return best
        image.pending_stop.append(event)
        return None

    def _ended(self, record: PullRecord, image: _Image) -> None:
        """Note a pull that ended: its "stop pulling" line may come next, or came just before."""
        if self._apply_pending_stop(record, image):
            return
        image.ended_without_stop.append(record)
        del image.ended_without_stop[:-MAX_WAITING_PER_REF]

    def _apply_pending_stop(self, record: PullRecord, image: _Image) -> bool:
        """The first pending stop line that fits the pull's end gives its bytes read; the ones
        before it (too early for this pull) are dropped."""
        pending = image.pending_stop
        while pending:
            event = pending.pop(0)
            if record.bytes_logged is None and _just_ended(record, event.time, before=True):
                record.bytes_logged = event.bytes_read
                self._keep_line(record, event)
                self._judge(record)
                return True
        return False


def _take_open_for(image: _Image, event: PullEvent) -> PullRecord | None:
    """The open pull a "Pulled image … in D" line ends: the one that started closest to D
    before it (identical concurrent pulls finish in any order), but only within
    START_FIT_TOLERANCE (containerd starts its clock as it logs the start), else none: the
    line then ends a pull begun before the log, or a sandbox pull. Without a duration or
    times, the oldest."""
    records = image.open
    if not records:
        return None
    index = 0
    if event.duration_seconds is not None and event.time is not None:
        began = event.time - timedelta(seconds=event.duration_seconds)
        if len(records) == 1:  # (most pulls: the rule below for one record, without the lists)
            started = records[0].started_at
            fits = started is None or abs(started - began) <= START_FIT_TOLERANCE
            return records.pop() if fits else None
        timed = [
            (abs((r.started_at - began).total_seconds()), i)
            for i, r in enumerate(records)
            if r.started_at is not None and abs(r.started_at - began) <= START_FIT_TOLERANCE
        ]
        untimed = [i for i, r in enumerate(records) if r.started_at is None]
        if timed:
            index = min(timed)[1]
        elif untimed:
            index = untimed[0]
        else:
            return None
    return records.pop(index)


def _take_for_result(image: _Image, event: PullEvent) -> PullRecord | None:
    """The pull a "returns image reference ID" line ends: the newest one whose "Pulled image"
    line named the same image id just before (a sandbox pull's never gets a result line),
    else the oldest still open (1.5/1.6 log no "Pulled image" line at info)."""
    waiting = image.awaiting_result
    for index in range(len(waiting) - 1, -1, -1):
        if waiting[index].image_id == event.image_id and _just_ended(waiting[index], event.time):
            return waiting.pop(index)
    return image.open.pop(0) if image.open else None


def _take_from_events(image: _Image, event: PullEvent) -> PullRecord | None:
    """A pull made from its ImageCreate event that this "Pulled image" or result line completes."""
    for record in image.from_events:
        if _just_ended(record, event.time, grace=EVENT_GRACE):
            image.from_events.remove(record)
            return record
    return None


def _just_ended_pull(image: _Image, moment: datetime | None) -> PullRecord | None:
    """The latest pull of the image if it ended within EVENT_GRACE before `moment`."""
    for record in reversed(image.pulls):
        if record.status is not _IN_PROGRESS:
            return record if _just_ended(record, moment, grace=EVENT_GRACE) else None
    return None


def _shared(name: str | None) -> str | None:
    """One string object per distinct name (image, id, tag, digest, node; an error text, which
    repeats per image and cause) for all the records that hold it: each line's parse makes its own
    copy, and on a big log those copies were over half of the memory a pull record keeps (one pull
    in ten lines: 160 MB at 1 GB of log, under 100 MB shared)."""
    return None if name is None else intern(name)


def _older_open(record: PullRecord, image: _Image) -> bool:
    """Whether a pull of the image that started before this one is still open."""
    started = record.started_at
    return started is not None and any(r.started_at is not None and r.started_at < started for r in image.open)


def _during(record: PullRecord, moment: datetime | None) -> bool:
    """Whether an event at `moment` lies in the pull (or just after its end: events are asynchronous)."""
    if moment is None or record.finished_at is None:
        return True
    if record.started_at is not None and moment < record.started_at:
        return False
    return moment <= record.finished_at + EVENT_GRACE


def _is_image_id(name: str) -> bool:
    return name.startswith("sha256:") and len(name) == 71


def _push(items: list, item: object) -> None:  # type: ignore[type-arg]
    items.append(item)
    del items[:-MAX_ID_EVENTS]


def _take_open_for_failure(image: _Image, event: PullEvent) -> PullRecord | None:
    """Failures carry no duration: the oldest open pull, except that a cancellation goes to
    the pull a "cancel pulling image" line marked (and other failures skip that one)."""
    records = image.open
    if not records:
        return None
    cancelled = "context canceled" in (event.error or "")
    index = next((i for i, r in enumerate(records) if (r.error is not None) == cancelled), 0)
    return records.pop(index)


def _fail(record: PullRecord, event: PullEvent) -> None:
    record.status = _FAILED
    record.finished_at = event.time
    record.error = _shared(event.error) if not record.error else f"{record.error}; {event.error}"
    record.duration_seconds = _elapsed(record.started_at, record.finished_at)


def _keep_orphan(image: _Image, event: PullEvent) -> None:
    """A debug line for a pull that has no open record (yet): a sandbox pull logs no start."""
    image.orphans.append(event)
    del image.orphans[:-MAX_WAITING_PER_REF]


def _apply_debug(record: PullRecord, event: PullEvent) -> None:
    """What a snapshotter, progress or cancel line tells about its pull."""
    if event.kind is EventKind.SNAPSHOTTER:
        record.snapshotter = record.snapshotter or event.snapshotter
    elif event.kind is _PROGRESS:
        record.progress_bytes = event.bytes_read
    elif event.kind is EventKind.CANCEL and record.error is None:
        record.error = event.error


def _just_ended(
    record: PullRecord, moment: datetime | None, before: bool = False, grace: timedelta = STOP_LINE_GRACE
) -> bool:
    """Whether `moment` lies within `grace` after (or, `before`, before) the record's end."""
    if moment is None or record.finished_at is None:
        return True
    gap = (record.finished_at - moment) if before else (moment - record.finished_at)
    return timedelta(0) <= gap <= grace


def _ended_long_before(record: PullRecord, moment: datetime | None) -> bool:
    """Past the grace in which its "stop pulling" line could still come."""
    if moment is None or record.finished_at is None:
        return False
    return moment - record.finished_at > STOP_LINE_GRACE


def _later(record: PullRecord, other: PullRecord) -> bool:
    if record.finished_at is None or other.finished_at is None:
        return record.id > other.id
    return record.finished_at > other.finished_at


def _elapsed(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max((end - start).total_seconds(), 0.0), 6)


def _idle(image: _Image) -> bool:
    """Nothing of this image is kept or waited for."""
    waiting = (image.open, image.awaiting_result, image.pending_stop, image.orphans, image.ended_without_stop)
    return not image.pulls and not image.from_events and not any(waiting)


def _all_before(times: list[datetime | None], moment: datetime) -> bool:
    return all(t is not None and t < moment for t in times)


def _ended_before(record: PullRecord, horizon: datetime) -> bool:
    ended = record.status is not _IN_PROGRESS
    return ended and record.finished_at is not None and record.finished_at < horizon


def summarize(ref: str, records: list[PullRecord]) -> ImageSummary:
    """Aggregate the pulls of one image (on one node; given several, a repeat is a pull after the
    first on its own node, and the summary's node is None unless they share one)."""
    nodes = {record.node for record in records}
    summary = ImageSummary(
        ref=ref,
        image=records[0].image if records else ref,
        pulls=len(records),
        node=next(iter(nodes)) if len(nodes) == 1 else None,
    )
    completed = [r for r in records if r.status is _COMPLETED]
    pulled_on: set[str | None] = set()
    repeats = []
    for record in records:
        if record.node in pulled_on and record.status is _COMPLETED:
            repeats.append(record)
        pulled_on.add(record.node)
    finished = [r for r in records if r.status is not _IN_PROGRESS]
    summary.total_size_bytes = _total([r.size_bytes for r in completed])
    summary.bytes_read = _total([r.bytes_read for r in finished])
    summary.downloads = _count([r.downloaded for r in completed], True)
    summary.cached_repeats = _count([r.downloaded for r in repeats], False)
    for record in records:
        if record.status is _COMPLETED:
            summary.completed += 1
        elif record.status is _FAILED:
            summary.failed += 1
        else:
            summary.in_progress += 1
        moment = record.sort_time
        if moment is not None:
            if summary.first_pull_at is None or moment < summary.first_pull_at:
                summary.first_pull_at = moment
            if summary.last_pull_at is None or moment > summary.last_pull_at:
                summary.last_pull_at = moment
    return summary


def _total(values: list[int | None]) -> int | None:
    """The sum, or None when any part is unknown (or there is nothing to add up)."""
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _count(values: list[bool | None], wanted: bool) -> int | None:
    """How many are `wanted`, or None when any is unknown."""
    if any(v is None for v in values):
        return None
    return sum(v is wanted for v in values)


_HANDLERS = {
    EventKind.START: PullStore._on_start,
    EventKind.PULLED: PullStore._on_pulled,
    EventKind.RESULT: PullStore._on_result,
    EventKind.FAILED: PullStore._on_failed,
    EventKind.SANDBOX_FAILED: PullStore._on_sandbox_failed,
    EventKind.SNAPSHOTTER: PullStore._on_snapshotter,
    _PROGRESS: PullStore._on_progress,
    EventKind.CANCEL: PullStore._on_cancel,
    EventKind.STOP: PullStore._on_stop,
    EventKind.IMAGE_CREATE: PullStore._on_image_event,
    EventKind.IMAGE_UPDATE: PullStore._on_image_event,
    EventKind.IMAGE_DELETE: PullStore._on_image_event,
    EventKind.LAYER_FETCH: PullStore._on_layer_fetch,
}
