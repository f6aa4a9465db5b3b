"""Headless output: the report JSON contract, CSV, a plain-text table, and JSON lines of events."""

from __future__ import annotations

import csv
import operator
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO

from pullwatch.humanize import COMPILED as COMPILED_JSON
from pullwatch.humanize import json_text, safe_text, short_name
from pullwatch.parsers.events import ParsedBatch
from pullwatch.reasons import REASON_FIELDS, Reasons, csv_value
from pullwatch.records import ImageSummary, PullRecord, PullStatus, Stats
from pullwatch.store import PullStore, summarize

PULL_FIELDS = (
    "image",
    "ref",
    "status",
    "started_at",
    "finished_at",
    "duration_seconds",
    "size_bytes",
    "bytes_read",
    "image_id",
    "repo_tag",
    "repo_digest",
    "snapshotter",
    "error",
    "downloaded",
    "deleted_at",
    "removed_by",
    *REASON_FIELDS,
    "node",
)
Matcher = Callable[[str, str], bool]
ANY_NODE = object()  # `node=` default: pulls of every node (None selects the pulls of no known node)


def ordered_pulls(store: PullStore, matches: Matcher, node: object = ANY_NODE) -> list[PullRecord]:
    """Matching pulls (of `node` only, when given) by start time (or first sighting when a line
    carried no time)."""
    pulls = [r for r in store.pulls if matches(r.image, r.ref) and (node is ANY_NODE or r.node == node)]
    if all(r.sort_time is not None for r in pulls):
        pulls.sort(key=_SORT_TIME)  # stable: pulls of one time stay in order of first sighting (id)
    return pulls


_SORT_TIME = operator.attrgetter("sort_time")


def report_json(store: PullStore, matches: Matcher, node: object = ANY_NODE) -> dict[str, Any]:
    """The report contract (field names are relied on by scripts; fields may be added, never renamed).
    Beyond the contract, each image also says how it was first requested (`image`), how many bytes
    its pulls fetched (`bytes_read`) and how many repeat pulls fetched nothing (`cached_repeats`).
    Images are per node: the same image pulled on two nodes is two entries."""
    pulls = ordered_pulls(store, matches, node)
    return {
        "pulls": [record.to_json() for record in pulls],
        "images": [_image_json(summarize(ref, records)) for (_, ref), records in by_image(pulls).items()],
        "stats": store.stats.to_json(),
    }


def _image_json(summary: ImageSummary) -> dict[str, Any]:
    return {
        **summary.to_json(),
        "image": summary.image,
        "bytes_read": summary.bytes_read,
        "downloads": summary.downloads,
        "cached_repeats": summary.cached_repeats,
    }


def by_image(pulls: list[PullRecord]) -> dict[tuple[str | None, str], list[PullRecord]]:
    """Pulls grouped by node and image, in order of each group's first pull."""
    groups: dict[tuple[str | None, str], list[PullRecord]] = {}
    for record in pulls:
        groups.setdefault((record.node, record.ref), []).append(record)
    return groups


def render_json(report: dict[str, Any]) -> str:
    return json_text(report, indent=2)


def write_report_json(store: PullStore, matches: Matcher, out: TextIO, node: object = ANY_NODE) -> None:
    """The same text as render_json(report_json(…)), written one pull at a time so that a report
    of a huge log never holds the whole document in memory."""
    pulls = ordered_pulls(store, matches, node)
    images = [_image_json(summarize(ref, records)) for (_, ref), records in by_image(pulls).items()]
    out.write("{\n")
    _write_json_list(out, "pulls", map(pull_json_text, pulls))
    _write_json_list(out, "images", (json_text(item, indent=2, level=2) for item in images))
    stats = json_text(store.stats.to_json(), indent=2, level=1)
    out.write(f'  "stats": {stats}\n}}\n')


def pull_json_text(record: PullRecord) -> str:
    """json_text(record.to_json(), indent=2, level=2): by the compiled writer straight from the
    record's slots where it takes the record (no dict), else from to_json."""
    if _RECORD_TEXT is not None:
        text: str | None = _RECORD_TEXT(record, 2, 2)
        if text is not None:
            return text
    return json_text(record.to_json(), indent=2, level=2)


def _record_writer() -> Callable[[PullRecord, int, int], str | None] | None:
    """The compiled writer's record_text, configured with to_json's keys (checked there), or None."""
    if COMPILED_JSON is None or not hasattr(COMPILED_JSON, "record_text"):
        return None
    keys = tuple(PullRecord(0, "", "").to_json())
    status_texts = {status: status.value for status in PullStatus}
    try:
        COMPILED_JSON.configure_records(PullRecord, Reasons, status_texts, keys, timezone.utc)
    except ValueError:  # to_json changed and the writer did not: to_json's text (a test fails)
        return None
    return COMPILED_JSON.record_text  # type: ignore[no-any-return]


_RECORD_TEXT = _record_writer()


def _write_json_list(out: TextIO, key: str, texts: Iterator[str]) -> None:
    """A list of items already written as JSON at depth 2."""
    first = True
    for text in texts:
        out.write(f'  "{key}": [\n    ' if first else ",\n    ")
        out.write(text)
        first = False
    out.write(f'  "{key}": [],\n' if first else "\n  ],\n")


def event_items(store: PullStore, batch: ParsedBatch) -> Iterator[dict[str, Any]]:
    """The events of a batch as `pullwatch events` prints them: each as parsed, plus `downloaded`,
    the store's verdict at that point of the log on the pull the event was matched to (true, false,
    or null: not known yet, not known at all, or not matched to a pull), and that pull's
    `removed_by` (who deleted the image before it, docs/why.md; null when no delete is known)."""
    for event, record in store.apply_stepwise(batch):
        item = event.to_json()
        item["downloaded"] = record.downloaded if record is not None else None
        item["removed_by"] = record.removed_by if record is not None else None
        yield item


def write_csv(store: PullStore, matches: Matcher, out: TextIO, node: object = ANY_NODE) -> None:
    """One row per pull; cells quoted where needed and made safe by csv_cell. (csv.writer with the
    cells in PULL_FIELDS order, to_json's own: what DictWriter writes, without its per-row checks;
    an empty cell, most of a row, needs no csv_cell.)"""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PULL_FIELDS)
    for record in ordered_pulls(store, matches, node):
        item = record.to_json()
        writer.writerow([None if (value := item[key]) is None else csv_cell(csv_value(value)) for key in PULL_FIELDS])


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Log text as a cell shown as text: controls visibly escaped (so no CR or LF splits a row, no
    escape reaches a terminal), and a cell that would start a formula prefixed with `'`."""
    if not isinstance(value, str):
        return value
    cell = safe_text(value)
    return "'" + cell if value.startswith(_FORMULA_LEAD) else cell


LAST_PULLS = 50  # the default table shows the last pulls; --all shows every one


@dataclass(frozen=True)
class _Column:
    label: str
    right: bool = False
    narrow: Callable[[str], str] | None = None  # the cell on a terminal too narrow for the table


def _without_year(cell: str) -> str:
    """`2026-11-27 08:00:11` as `11-27 08:00:11` (and `~…` alike): room for the names."""
    head = 1 if cell.startswith("~") else 0
    return cell[:head] + cell[head + 5 :] if cell[head : head + 4].isdigit() else cell


def _short_bytes(cell: str) -> str:
    """`12.0 MiB` as `12.0M`, `512 B` as `512B` (as `ls -h` has them): room for the names."""
    number, _, unit = cell.partition(" ")
    return number + unit[:1] if unit in ("B", "KiB", "MiB", "GiB", "TiB") else cell


PULL_COLUMNS = (
    _Column("#", True),
    _Column("image"),
    _Column("status"),
    _Column("started", narrow=_without_year),
    _Column("duration", True),
    _Column("size", True, narrow=_short_bytes),
    _Column("fetched", True, narrow=_short_bytes),
)
IMAGE_COLUMNS = (
    _Column("image"),
    _Column("pulls", True),
    _Column("completed", True),
    _Column("failed", True),
    _Column("in progress", True),
    _Column("total size", True, narrow=_short_bytes),
    _Column("fetched", True, narrow=_short_bytes),
    _Column("downloads", True),
)
NAME = "image"  # the column that gives way on a narrow terminal


def write_table(
    store: PullStore,
    matches: Matcher,
    out: TextIO,
    width: int | None = None,
    every: bool = False,
    node: object = ANY_NODE,
) -> None:
    """The table for people: a summary line, the last LAST_PULLS pulls (every one with `every`),
    the errors of those shown, the per-image totals and the line counts. Plain text built in one
    pass, as fast as the JSON. Names are whole (`width` None: not a terminal); on a terminal of
    `width` columns the image column gives way first, its registry part shortened. Log text is
    printed literally, control characters made visible. With pulls from several nodes, a node
    column leads both tables and images are counted per node."""
    from pullwatch.humanize import human_bytes, human_duration, safe_text, short_time

    pulls = ordered_pulls(store, matches, node)
    several = len({r.node for r in pulls}) > 1
    node_column = (_Column("node"),) if several else ()
    shown = pulls if every or len(pulls) <= LAST_PULLS else pulls[-LAST_PULLS:]
    first = len(pulls) - len(shown) + 1
    counts = {status: 0 for status in PullStatus}
    for record in pulls:
        counts[record.status] += 1
    by_ref = by_image(pulls)
    repeated = sum(len(records) > 1 for records in by_ref.values())
    out.write(
        f"{len(pulls)} pulls: {counts[PullStatus.COMPLETED]} completed, {counts[PullStatus.FAILED]} failed, "
        f"{counts[PullStatus.IN_PROGRESS]} in progress\n"
    )
    if len(shown) < len(pulls):
        out.write(f"the last {len(shown)} pulls (--all: every one)\n")
    rows: list[list[str]] = []
    errors: list[tuple[int, str]] = []
    skipped: list[tuple[int, str]] = []
    for number, record in enumerate(shown, start=first):
        rows.append(
            [
                str(number),
                *((safe_text(record.node or "-"),) if several else ()),
                safe_text(record.image),
                "FAILED" if record.status is PullStatus.FAILED else record.status.value.replace("_", " "),
                short_time(record.started_at) if record.has_start else _unknown_start(record, short_time),
                human_duration(record.duration_seconds),
                human_bytes(record.size_bytes),
                human_bytes(record.bytes_read),
            ]
        )
        if record.error:
            failure = f"[{record.reasons.failure}] " if record.reasons.failure else ""
            errors.append((number, failure + safe_text(record.error)))
        if record.reasons.mirrors_skipped(record.status is PullStatus.COMPLETED):
            skipped.append((number, safe_text(skipped_text(record))))
    _write_rows(out, PULL_COLUMNS[:1] + node_column + PULL_COLUMNS[1:], rows, width)
    if any(not r.has_start and r.started_at is not None for r in shown):
        out.write("~ start = end - logged duration (no start line: a sandbox pull, or begun before the log)\n")
    if errors:
        out.write("errors (by #)\n")
        digits = len(str(errors[-1][0]))
        for number, error in errors:
            out.write(_wrapped(f"{number:>{digits}}  ", error, width))
    if skipped:
        out.write("mirrors skipped (by #)\n")
        digits = len(str(skipped[-1][0]))
        for number, text in skipped:
            out.write(_wrapped(f"{number:>{digits}}  ", text, width))
    images = []
    for (on, ref), records in by_ref.items():
        summary = summarize(ref, records)
        images.append(
            [
                *((safe_text(on or "-"),) if several else ()),
                safe_text(ref),
                str(summary.pulls),
                str(summary.completed),
                str(summary.failed),
                str(summary.in_progress),
                human_bytes(summary.total_size_bytes),
                human_bytes(summary.bytes_read),
                "-" if summary.downloads is None else str(summary.downloads),
            ]
        )
    per_node = " (per node)" if several else ""
    out.write(f"{len(by_ref)} images{per_node}, {repeated} pulled more than once\n")
    _write_rows(out, node_column + IMAGE_COLUMNS, images, width)
    out.write(stats_line(store.stats) + "\n")


def _write_rows(out: TextIO, columns: Sequence[_Column], rows: list[list[str]], width: int | None) -> None:
    """Columns as wide as their widest cell, two spaces apart; no padding after the last. When
    that is wider than the terminal, the other columns give way first (one space apart, shorter
    forms), then the image names, registry part first."""
    widths = _widths(columns, rows)
    name = [column.label for column in columns].index(NAME)
    gap = "  "
    if width is not None and sum(widths) + 2 * (len(widths) - 1) > width:
        gap = " "
        for index, column in enumerate(columns):
            if column.narrow is not None:
                for row in rows:
                    row[index] = column.narrow(row[index])
        widths = _widths(columns, rows)
        over = sum(widths) + len(widths) - 1 - width
        if over > 0:
            widths[name] = max(widths[name] - over, len(NAME), 12)
    labels = [column.label for column in columns]
    for row in [labels, *rows]:
        cells = []
        for index, (cell, column) in enumerate(zip(row, columns, strict=True)):
            size = widths[index]
            if index == name and len(cell) > size:
                cell = short_name(cell, size)
            cells.append(cell.rjust(size) if column.right else cell.ljust(size))
        out.write(gap.join(cells).rstrip() + "\n")


def _widths(columns: Sequence[_Column], rows: list[list[str]]) -> list[int]:
    widths = [len(column.label) for column in columns]
    for row in rows:
        for index, cell in enumerate(row):
            if len(cell) > widths[index]:
                widths[index] = len(cell)
    return widths


def _wrapped(prefix: str, text: str, width: int | None) -> str:
    """`prefix` then `text`; on a terminal, folded to `width` under the start of the text."""
    room = None if width is None else width - len(prefix)
    if room is None or room < 20 or len(text) <= room:
        return prefix + text + "\n"
    pieces = textwrap.wrap(text, room, break_on_hyphens=False)
    indent = " " * len(prefix)
    return prefix + ("\n" + indent).join(pieces) + "\n"


def skipped_text(record: PullRecord) -> str:
    """`m1:5000 (connection refused), m2 (404 Not Found) → served by registry-1.docker.io`."""
    reasons = record.reasons
    parts = []
    for attempt in reasons.mirrors_skipped(record.status is PullStatus.COMPLETED) or ():
        why = attempt.status or _last_cause(attempt.error)
        parts.append(f"{attempt.host} ({why})" if why else attempt.host)
    served = reasons.served_by
    return ", ".join(parts) + (f" → served by {served}" if served else " → no host served it")


def _last_cause(error: str | None) -> str | None:
    return error.rsplit(": ", 1)[-1] if error else None


def _unknown_start(record: PullRecord, short_time: Callable[[datetime | None], str]) -> str:
    """A pull without a start line: its start is derived from its duration, or unknown."""
    if record.started_at is None:
        return "-"
    return "~" + short_time(record.started_at)


def stats_line(stats: Stats) -> str:
    return f"{stats.lines} lines read, {stats.pull_lines} pull lines, {stats.unparsed_lines} unparsed"
