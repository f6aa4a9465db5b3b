"""What the panes show, read from the store under the current image filter (no Textual here).

The store is only ever touched on the UI thread: `apply` gives it the batches the feed parsed, and
`snapshot` reads the pulls for the panes. Besides the store it remembers two things the panes need
and records do not hold: when each pull last logged progress (the no-progress timeout counts from
there) and the timeout itself, 5 minutes unless the log shows another (1.7.0-1.7.9 used 1 minute).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pullwatch.filtering import image_matcher
from pullwatch.parsers.durations import parse_go_duration
from pullwatch.parsers.events import EventKind, ParsedBatch
from pullwatch.records import ImageSummary, PullRecord, PullStatus
from pullwatch.store import PullStore, summarize
from pullwatch.tui.clock import Clock

DEFAULT_TIMEOUT_SECONDS = 300.0  # containerd's image_pull_progress_timeout since 1.7.10
WARN_SHARE = 0.5  # colour a pull once this share of the timeout has passed without progress
LATE_SHARE = 0.8


@dataclass(slots=True)
class RepeatedImage:
    """An image pulled more than once, and whether its repeat pulls fetched bytes."""

    summary: ImageSummary
    fetched_repeats: int = 0  # repeat pulls that read bytes from the registry
    known_repeats: int = 0  # repeat pulls whose bytes read the log says (1.7+ "stop pulling")
    bytes_known: bool = False  # some pull of the image logged its bytes read


@dataclass(slots=True)
class Totals:
    pulls: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    size_bytes: int | None = None  # image sizes of completed pulls; None: no size logged (1.5/1.6)
    fetched_bytes: int | None = None  # bytes read from registries; None: none logged
    images: int = 0
    repeated: int = 0


@dataclass(slots=True)
class Snapshot:
    """The pulls every pane lists, filtered, in store order (the tables sort them)."""

    in_progress: list[PullRecord] = field(default_factory=list)
    finished: list[PullRecord] = field(default_factory=list)
    repeated: list[RepeatedImage] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    all_pulls: int = 0  # before the filter


class StoreView:
    """The store seen through the image filter, with the clock that makes pulls tick."""

    def __init__(self, store: PullStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.pattern = ""
        self._matches: Callable[[str, str], bool] = image_matcher("")
        self._match_cache: dict[tuple[str, str], bool] = {}
        self.timeout_seconds = DEFAULT_TIMEOUT_SECONDS
        self.timeout_text: str | None = None  # as the log wrote it, once a cancel line showed it
        self.last_progress: dict[int, datetime] = {}  # pull id -> time of its newest progress line
        self.position: datetime | None = None  # newest log time applied
        self._repeated_rows: dict[str, tuple[int, RepeatedImage]] = {}  # ref -> (revision, row)

    # ---- feeding (UI thread) -------------------------------------------------------------------
    def apply(self, batch: ParsedBatch) -> None:
        """Apply a parsed batch to the store, and note what the panes need from its events."""
        records = self.store.apply(batch)
        for event, record in zip(batch.events, records, strict=True):
            moment = event.time
            if moment is not None:
                self.clock.observe(moment)
                if self.position is None or moment > self.position:
                    self.position = moment
            if event.kind is EventKind.PROGRESS and record is not None and moment is not None:
                self.last_progress[record.id] = moment
            elif event.kind is EventKind.CANCEL and event.timeout:
                self._learn_timeout(event.timeout)

    def _learn_timeout(self, text: str) -> None:
        seconds = parse_go_duration(text)
        if seconds:
            self.timeout_seconds = seconds
            self.timeout_text = text

    # ---- filter --------------------------------------------------------------------------------
    def set_filter(self, pattern: str) -> None:
        """Narrow every pane to matching images; raises FilterError for a bad `re:` pattern."""
        self._matches = image_matcher(pattern)
        self.pattern = pattern
        self._match_cache.clear()

    def matches(self, image: str, ref: str) -> bool:
        key = (image, ref)
        found = self._match_cache.get(key)
        if found is None:
            found = self._match_cache[key] = self._matches(image, ref)
        return found

    # ---- reading -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        snap = Snapshot(all_pulls=len(self.store.pulls))
        totals = snap.totals
        by_ref: dict[str, list[PullRecord]] = {}
        everything = not self.pattern
        for record in self.store.pulls:
            if not everything and not self.matches(record.image, record.ref):
                continue
            by_ref.setdefault(record.ref, []).append(record)
            if record.status is PullStatus.IN_PROGRESS:
                snap.in_progress.append(record)
                continue
            snap.finished.append(record)
            if record.status is PullStatus.FAILED:
                totals.failed += 1
            else:
                totals.completed += 1
                if record.size_bytes is not None:
                    totals.size_bytes = (totals.size_bytes or 0) + record.size_bytes
        for ref, records in by_ref.items():
            read = [r.bytes_read for r in records if r.bytes_read is not None]
            if read:
                totals.fetched_bytes = (totals.fetched_bytes or 0) + sum(read)
            if len(records) > 1:
                snap.repeated.append(self._repeated(ref))
        totals.pulls = sum(len(records) for records in by_ref.values())
        totals.in_progress = len(snap.in_progress)
        totals.images = len(by_ref)
        totals.repeated = len(snap.repeated)
        return snap

    def _repeated(self, ref: str) -> RepeatedImage:
        """The image's row, recomputed only when one of its pulls changed since the last time."""
        records = self.store.pulls_of(ref)
        latest = max(record.revision for record in records)
        cached = self._repeated_rows.get(ref)
        if cached is None or cached[0] != latest:
            cached = self._repeated_rows[ref] = (latest, repeated_image(ref, records))
        return cached[1]

    def elapsed(self, record: PullRecord) -> float | None:
        """Seconds since the pull started, by the clock (wall clock live, log clock in replay)."""
        now = self.clock.now()
        if now is None or record.started_at is None:
            return None
        return max((now - record.started_at).total_seconds(), 0.0)

    def quiet(self, record: PullRecord) -> float | None:
        """Seconds without logged progress: what containerd's no-progress timeout counts."""
        now = self.clock.now()
        since = self.last_progress.get(record.id) or record.started_at
        if now is None or since is None:
            return None
        return max((now - since).total_seconds(), 0.0)

    def timeout_share(self, record: PullRecord) -> float | None:
        """How much of the no-progress timeout the pull has used, or None when unknown. Past 1.0
        the pull has outlived the timeout without being cancelled: containerd saw progress."""
        quiet = self.quiet(record)
        return None if quiet is None else quiet / self.timeout_seconds

    def urgency(self, record: PullRecord) -> str:
        """Colour class: "late" close to the no-progress timeout, "warn" past half of it."""
        share = self.timeout_share(record)
        if share is None or share >= 1:
            return ""
        if share >= LATE_SHARE:
            return "late"
        if share >= WARN_SHARE:
            return "warn"
        return ""


def repeated_image(ref: str, records: list[PullRecord]) -> RepeatedImage:
    """Summary of every pull of `ref` (the filter picks images, not single pulls)."""
    row = RepeatedImage(summarize(ref, records))
    row.bytes_known = any(record.bytes_read is not None for record in records)
    for record in records[1:]:
        if record.bytes_read is not None:
            row.known_repeats += 1
            row.fetched_repeats += record.bytes_read > 0
    return row
