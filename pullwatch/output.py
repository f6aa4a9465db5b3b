"""Headless output: the report JSON contract, CSV, a Rich table, and JSON lines of events."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from pullwatch.humanize import json_text, safe_text
from pullwatch.parsers.events import ParsedBatch
from pullwatch.reasons import REASON_FIELDS, csv_value
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
        pulls.sort(key=lambda r: (r.sort_time, r.id))
    return pulls


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
    for key, items in (("pulls", (record.to_json() for record in pulls)), ("images", iter(images))):
        _write_json_list(out, key, items)
    stats = json_text(store.stats.to_json(), indent=2).replace("\n", "\n  ")
    out.write(f'  "stats": {stats}\n}}\n')


def _write_json_list(out: TextIO, key: str, items: Iterator[dict[str, Any]]) -> None:
    first = True
    for item in items:
        out.write(f'  "{key}": [\n    ' if first else ",\n    ")
        out.write(json_text(item, indent=2).replace("\n", "\n    "))
        first = False
    out.write(f'  "{key}": [],\n' if first else "\n  ],\n")


def event_items(store: PullStore, batch: ParsedBatch) -> Iterator[dict[str, Any]]:
    """The events of a batch as `pullwatch events` prints them: each as parsed, plus `downloaded`,
    the store's verdict at that point of the log on the pull the event was matched to (true, false,
    or null: not known yet, not known at all, or not matched to a pull)."""
    for event, record in store.apply_stepwise(batch):
        item = event.to_json()
        item["downloaded"] = record.downloaded if record is not None else None
        yield item


def write_csv(store: PullStore, matches: Matcher, out: TextIO, node: object = ANY_NODE) -> None:
    """One row per pull; cells quoted where needed and made safe by csv_cell."""
    writer = csv.DictWriter(out, fieldnames=PULL_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in ordered_pulls(store, matches, node):
        writer.writerow({key: csv_cell(csv_value(value)) for key, value in record.to_json().items()})


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Log text as a cell shown as text: controls visibly escaped (so no CR or LF splits a row, no
    escape reaches a terminal), and a cell that would start a formula prefixed with `'`."""
    if not isinstance(value, str):
        return value
    cell = safe_text(value)
    return "'" + cell if value.startswith(_FORMULA_LEAD) else cell




def render_table(store: PullStore, matches: Matcher, width: int | None = None, node: object = ANY_NODE) -> str:
    """Tables for people: the pulls, the errors of failed ones, the per-image totals (per node,
    with a node column, when the pulls come from more than one node).
    Everything that comes from the log is shown as literal text, never as Rich markup, with
    control characters (terminal escape sequences) made visible."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pullwatch.humanize import human_bytes, human_duration, short_time

    pulls = ordered_pulls(store, matches, node)
    several = len({r.node for r in pulls}) > 1
    table = Table(title=f"{len(pulls)} pulls", title_justify="left")
    for name, justify in (
        ("#", "right"),
        *((("node", "left"),) if several else ()),
        ("image", "left"),
        ("status", "left"),
        ("started", "left"),
        ("duration", "right"),
        ("size", "right"),
        ("fetched", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    styles = {"completed": "green", "failed": "red", "in_progress": "yellow"}
    errors: list[tuple[int, PullRecord]] = []
    skipped: list[tuple[int, PullRecord]] = []
    derived = any(not r.has_start and r.started_at is not None for r in pulls)
    if derived:
        table.caption = "~ start = end - logged duration (no start line: a sandbox pull, or begun before the log)"
        table.caption_justify = "left"
    for number, record in enumerate(pulls, start=1):
        status = record.status.value
        table.add_row(
            str(number),
            *((Text(safe_text(record.node or "-")),) if several else ()),
            Text(safe_text(record.image)),
            Text(status.replace("_", " "), style=styles[status]),
            short_time(record.started_at) if record.has_start else _unknown_start(record, short_time),
            human_duration(record.duration_seconds),
            human_bytes(record.size_bytes),
            human_bytes(record.bytes_read),
        )
        if record.error:
            errors.append((number, record))
        if record.reasons.mirrors_skipped(record.status is PullStatus.COMPLETED):
            skipped.append((number, record))
    images = Table(title="images", title_justify="left")
    for name in ("node",) * several + (
        "image", "pulls", "completed", "failed", "in progress", "total size", "fetched", "downloads"
    ):
        images.add_column(name, justify="left" if name in ("node", "image") else "right")
    for (on, ref), records in by_image(pulls).items():
        summary = summarize(ref, records)
        images.add_row(
            *((Text(safe_text(on or "-")),) if several else ()),
            Text(safe_text(ref)),
            str(summary.pulls),
            str(summary.completed),
            str(summary.failed),
            str(summary.in_progress),
            human_bytes(summary.total_size_bytes),
            human_bytes(summary.bytes_read),
            "-" if summary.downloads is None else str(summary.downloads),
        )
    console = Console(file=io.StringIO(), width=width or 120, force_terminal=False, color_system=None)
    console.print(table)
    if errors:
        failures = Table.grid(padding=(0, 2))
        failures.add_column(justify="right")
        failures.add_column(overflow="fold")
        for number, record in errors:
            failure = f"[{record.reasons.failure}] " if record.reasons.failure else ""
            failures.add_row(str(number), Text(failure + safe_text(record.error or "")))
        console.print(Text("errors (by #)"))
        console.print(failures)
    if skipped:
        mirrors = Table.grid(padding=(0, 2))
        mirrors.add_column(justify="right")
        mirrors.add_column(overflow="fold")
        for number, record in skipped:
            mirrors.add_row(str(number), Text(safe_text(skipped_text(record))))
        console.print(Text("mirrors skipped (by #)"))
        console.print(mirrors)
    console.print(images)
    console.print(Text(stats_line(store.stats)))
    out = str(console.file.getvalue())  # type: ignore[attr-defined]
    return "".join(line.rstrip() + "\n" for line in out.splitlines())  # no padding after the text


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
