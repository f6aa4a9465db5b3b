"""What the panes show, read from the store under the current filter (no Textual here).

The store is only ever touched on the UI thread: `apply` gives it the batches the feed parsed, and
`snapshot` reads the pulls for the panes. Besides the store it remembers two things the panes need
and records do not hold: when each pull last logged progress (the no-progress timeout counts from
there) and the timeout itself, 5 minutes unless the log shows another (1.7.0-1.7.9 used 1 minute).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pullwatch.filtering import image_matcher, node_matcher, split_node_words
from pullwatch.parsers.durations import parse_go_duration
from pullwatch.parsers.events import PULL_KINDS, EventKind, ParsedBatch
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
    fetched_repeats: int = 0  # completed repeat pulls that downloaded again
    known_repeats: int = 0  # completed repeat pulls of which the log tells whether they downloaded
    bytes_known: bool = False  # the image's bytes fetched are known (every pull's bytes read)
    node_shown: str | None = None  # the node, to show beside the image when pulls come from several


@dataclass(slots=True)
class Totals:
    pulls: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    size_bytes: int | None = 0  # image sizes of completed pulls (None: some size not logged)
    fetched_bytes: int | None = 0  # bytes read from registries (None: some pull's bytes unknown)
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
    """The store seen through the filter (image pattern and `node:NAME` words), with the clock that
    makes pulls tick."""

    def __init__(self, store: PullStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.pattern = ""  # the filter as typed
        self.image_pattern = ""  # its image part
        self.node_names: list[str] = []  # its `node:NAME` words' names (globs)
        self._matches: Callable[[str, str], bool] = image_matcher("")
        self._node_matches: Callable[[str | None], bool] = node_matcher([])
        self._match_cache: dict[tuple[str, str, str | None], bool] = {}
        self.timeout_seconds = DEFAULT_TIMEOUT_SECONDS
        self.timeout_text: str | None = None  # as the log wrote it, once a cancel line showed it
        self.last_progress: dict[int, datetime] = {}  # pull id -> time of its newest progress line
        self.position: datetime | None = None  # newest log time applied
        self.several_nodes = False  # pulls come from more than one node: panes show each pull's node
        # (node, ref) -> (revision, row): "pulled more than once" is per node
        self._repeated_rows: dict[tuple[str | None, str], tuple[int, RepeatedImage]] = {}

    # ---- feeding (UI thread) -------------------------------------------------------------------
    def apply(self, batch: ParsedBatch) -> None:
        """Apply a parsed batch to the store, and note what the panes need from its events."""
        records = self.store.apply(batch)
        for event, record in zip(batch.events, records, strict=True):
            moment = event.time
            if moment is not None and event.kind in PULL_KINDS:  # pull lines set the replay's position
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
        """Narrow every pane to matching images, and to the `node:NAME` words' nodes; raises
        FilterError for a bad `re:` pattern."""
        names, image_pattern = split_node_words(pattern)
        self._matches = image_matcher(image_pattern)
        self._node_matches = node_matcher(names)
        self.pattern = pattern
        self.image_pattern = image_pattern
        self.node_names = names
        self._match_cache.clear()

    def matches(self, image: str, ref: str, node: str | None) -> bool:
        """The image matches the image pattern and `node` one of the node words (if any)."""
        key = (image, ref, node)
        found = self._match_cache.get(key)
        if found is None:
            found = self._match_cache[key] = self._matches(image, ref) and self._node_matches(node)
        return found

    # ---- reading -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        snap = Snapshot(all_pulls=len(self.store.pulls))
        totals = snap.totals
        by_image: dict[tuple[str | None, str], list[PullRecord]] = {}
        everything = not self.pattern
        sizes_known = fetched_known = True
        for record in self.store.pulls:
            if not everything and not self.matches(record.image, record.ref, record.node):
                continue
            by_image.setdefault((record.node, record.ref), []).append(record)
            if record.status is PullStatus.IN_PROGRESS:
                snap.in_progress.append(record)
                continue
            snap.finished.append(record)
            fetched_known = fetched_known and record.bytes_read is not None
            totals.fetched_bytes = (totals.fetched_bytes or 0) + (record.bytes_read or 0)
            if record.status is PullStatus.FAILED:
                totals.failed += 1
            else:
                totals.completed += 1
                sizes_known = sizes_known and record.size_bytes is not None
                totals.size_bytes = (totals.size_bytes or 0) + (record.size_bytes or 0)
        if not sizes_known:
            totals.size_bytes = None  # unknown is not zero: a sum with unknown parts is unknown
        if not fetched_known:
            totals.fetched_bytes = None
        several = self.several_nodes = len(self.store.nodes()) > 1
        for (node, ref), records in by_image.items():
            if len(records) > 1:
                row = self._repeated(node, ref)
                row.node_shown = (node or "-") if several else None
                snap.repeated.append(row)
        totals.pulls = sum(len(records) for records in by_image.values())
        totals.in_progress = len(snap.in_progress)
        totals.images = len({ref for _, ref in by_image})
        totals.repeated = len(snap.repeated)
        return snap

    def _repeated(self, node: str | None, ref: str) -> RepeatedImage:
        """The image's row on `node`, recomputed only when one of its pulls changed since."""
        records = self.store.pulls_of(ref, node, any_node=False)
        latest = max(record.revision for record in records)
        cached = self._repeated_rows.get((node, ref))
        if cached is None or cached[0] != latest:
            cached = self._repeated_rows[(node, ref)] = (latest, repeated_image(ref, records))
        return cached[1]

    def node_of(self, record: PullRecord) -> str | None:
        """The node to show beside the pull's image: only when pulls come from several."""
        return (record.node or "-") if self.several_nodes else None

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
    """Summary of every pull of `ref` on one node (the filter picks images, not single pulls)."""
    row = RepeatedImage(summarize(ref, records))
    row.bytes_known = row.summary.bytes_read is not None
    for record in records[1:]:
        if record.status is PullStatus.COMPLETED and record.downloaded is not None:
            row.known_repeats += 1
            row.fetched_repeats += record.downloaded
    return row
