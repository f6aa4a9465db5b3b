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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pullwatch.parsers.events import EventKind, ParsedBatch, PullEvent
from pullwatch.records import RAW_LINES_PER_PULL, ImageSummary, PullRecord, PullStatus, Stats

# How long after a pull finished containerd's asynchronous "stop pulling image" line may still come.
STOP_LINE_GRACE = timedelta(seconds=5)
# How far from "finish - duration" a start line may be and still be that pull's start
# (containerd starts its clock as it logs the start; some timestamps are whole seconds).
START_FIT_TOLERANCE = timedelta(seconds=2)
# Bounds on what is kept while waiting for lines that may never come (sandbox pulls have no result).
MAX_WAITING_PER_REF = 16


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
        self._images: dict[str, _Image] = {}

    # ---- feeding -------------------------------------------------------------------------
    def apply(self, batch: ParsedBatch) -> list[PullRecord | None]:
        """Apply a parsed batch and count its lines; returns, for each event, the record it
        changed (None if it matched no pull)."""
        stats = self.stats
        stats.lines += batch.lines
        stats.unparsed_lines += batch.unparsed
        stats.pull_lines += len(batch.events)
        return [self._add(event) for event in batch.events]

    def _add(self, event: PullEvent) -> PullRecord | None:
        handler = _HANDLERS[event.kind]
        record = handler(self, event, self._image(event.ref))
        if record is not None:
            self.revision += 1
            record.revision = self.revision
            self._keep_line(record, event)
        return record

    def _image(self, ref: str) -> _Image:
        image = self._images.get(ref)
        if image is None:
            image = self._images[ref] = _Image()
        return image

    def _keep_line(self, record: PullRecord, event: PullEvent) -> None:
        if len(record.lines) < self.keep_lines:
            record.lines.append(event.raw)
        else:
            record.lines_dropped += 1

    # ---- reading -------------------------------------------------------------------------
    def in_progress(self) -> list[PullRecord]:
        return [r for image in self._images.values() for r in image.open]

    def pulls_of(self, ref: str) -> list[PullRecord]:
        image = self._images.get(ref)
        return list(image.pulls) if image is not None else []

    def changed_since(self, revision: int) -> list[PullRecord]:
        """Records changed after `revision` (for views that update incrementally)."""
        return [r for r in self.pulls if r.revision > revision]

    def image_refs(self) -> list[str]:
        return [ref for ref, image in self._images.items() if image.pulls]

    def summary(self, ref: str) -> ImageSummary:
        return summarize(ref, self.pulls_of(ref))

    def images(self) -> list[ImageSummary]:
        """One summary per normalised reference, in order of first pull."""
        return [summarize(ref, image.pulls) for ref, image in self._images.items() if image.pulls]

    def repeated(self) -> list[ImageSummary]:
        """Images pulled more than once."""
        return [summarize(ref, image.pulls) for ref, image in self._images.items() if len(image.pulls) > 1]

    # ---- correlation: one handler per event kind, given the state of the event's image -------
    def _new(self, event: PullEvent, image: _Image) -> PullRecord:
        record = PullRecord(id=len(self.pulls) + 1, image=event.image, ref=event.ref)
        self.pulls.append(record)
        if not image.pulls:
            self._images[event.ref] = self._images.pop(event.ref)  # images come in order of first pull
        image.pulls.append(record)
        return record

    def _on_start(self, event: PullEvent, image: _Image) -> PullRecord:
        record = self._new(event, image)
        record.started_at = event.time
        record.has_start = True
        image.open.append(record)
        return record

    def _on_pulled(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_open_for(image, event)
        if record is None:
            # No start line: a sandbox (pause) image pull, or a pull begun before the log.
            record = self._new(event, image)
            self._adopt_orphans(record, image, event.time)
        record.status = PullStatus.COMPLETED
        record.has_details = True
        record.finished_at = event.time
        record.image_id = event.image_id or record.image_id
        record.repo_tag = event.repo_tag
        record.repo_digest = event.repo_digest
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
        return record

    def _on_result(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_for_result(image, event)
        if record is None:
            record = self._new(event, image)
        ends_here = record.status is PullStatus.IN_PROGRESS
        record.status = PullStatus.COMPLETED
        record.has_result = True
        record.image_id = event.image_id
        if record.finished_at is None:
            record.finished_at = event.time
        if record.duration_seconds is None:
            record.duration_seconds = _elapsed(record.started_at, record.finished_at)
        if ends_here:
            self._ended(record, image)
        return record

    def _on_failed(self, event: PullEvent, image: _Image) -> PullRecord:
        record = _take_open_for_failure(image, event)
        if record is None:
            record = self._new(event, image)
            self._adopt_orphans(record, image, event.time)
        _fail(record, event)
        self._ended(record, image)
        return record

    def _on_sandbox_failed(self, event: PullEvent, image: _Image) -> PullRecord:
        record = self._new(event, image)
        self._adopt_orphans(record, image, event.time)
        _fail(record, event)
        self._ended(record, image)
        return record

    def _on_snapshotter(self, event: PullEvent, image: _Image) -> PullRecord | None:
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
        ended[:] = [r for r in ended if r.bytes_read is None and not _ended_long_before(r, event.time)]
        best: PullRecord | None = None
        for record in ended:
            if _just_ended(record, event.time) and (best is None or _later(record, best)):
                best = record
        if best is not None:
            best.bytes_read = event.bytes_read
            ended.remove(best)
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
            if record.bytes_read is None and _just_ended(record, event.time, before=True):
                record.bytes_read = event.bytes_read
                self._keep_line(record, event)
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
    record.status = PullStatus.FAILED
    record.finished_at = event.time
    record.error = event.error if not record.error else f"{record.error}; {event.error}"
    record.duration_seconds = _elapsed(record.started_at, record.finished_at)


def _keep_orphan(image: _Image, event: PullEvent) -> None:
    """A debug line for a pull that has no open record (yet): a sandbox pull logs no start."""
    image.orphans.append(event)
    del image.orphans[:-MAX_WAITING_PER_REF]


def _apply_debug(record: PullRecord, event: PullEvent) -> None:
    """What a snapshotter, progress or cancel line tells about its pull."""
    if event.kind is EventKind.SNAPSHOTTER:
        record.snapshotter = record.snapshotter or event.snapshotter
    elif event.kind is EventKind.PROGRESS:
        record.progress_bytes = event.bytes_read
    elif event.kind is EventKind.CANCEL and record.error is None:
        record.error = event.error


def _just_ended(record: PullRecord, moment: datetime | None, before: bool = False) -> bool:
    """Whether `moment` lies within STOP_LINE_GRACE after (or, `before`, before) the record's end."""
    if moment is None or record.finished_at is None:
        return True
    gap = (record.finished_at - moment) if before else (moment - record.finished_at)
    return timedelta(0) <= gap <= STOP_LINE_GRACE


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


def summarize(ref: str, records: list[PullRecord]) -> ImageSummary:
    """Aggregate the pulls of one image. A total no pull logged a value for is None (unknown),
    never 0: 1.5/1.6 logs give neither sizes nor bytes read."""
    summary = ImageSummary(ref=ref, image=records[0].image if records else ref, pulls=len(records))
    for index, record in enumerate(records):
        if record.status is PullStatus.COMPLETED:
            summary.completed += 1
            if record.size_bytes is not None:
                summary.total_size_bytes = (summary.total_size_bytes or 0) + record.size_bytes
        elif record.status is PullStatus.FAILED:
            summary.failed += 1
        else:
            summary.in_progress += 1
        if record.bytes_read is not None:
            summary.bytes_read = (summary.bytes_read or 0) + record.bytes_read
        if index > 0 and record.bytes_read == 0:
            summary.cached_repeats += 1
        moment = record.sort_time
        if moment is not None:
            if summary.first_pull_at is None or moment < summary.first_pull_at:
                summary.first_pull_at = moment
            if summary.last_pull_at is None or moment > summary.last_pull_at:
                summary.last_pull_at = moment
    return summary


_HANDLERS = {
    EventKind.START: PullStore._on_start,
    EventKind.PULLED: PullStore._on_pulled,
    EventKind.RESULT: PullStore._on_result,
    EventKind.FAILED: PullStore._on_failed,
    EventKind.SANDBOX_FAILED: PullStore._on_sandbox_failed,
    EventKind.SNAPSHOTTER: PullStore._on_snapshotter,
    EventKind.PROGRESS: PullStore._on_progress,
    EventKind.CANCEL: PullStore._on_cancel,
    EventKind.STOP: PullStore._on_stop,
}
