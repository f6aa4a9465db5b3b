"""Headless output: the report JSON contract, CSV, a Rich table, and JSON lines of events."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from pullwatch.humanize import json_text, safe_text
from pullwatch.records import ImageSummary, PullRecord, Stats
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
)


def ordered_pulls(store: PullStore, matches: Callable[[str, str], bool]) -> list[PullRecord]:
    """Matching pulls by start time (or first sighting when a line carried no time)."""
    pulls = [r for r in store.pulls if matches(r.image, r.ref)]
    if all(r.sort_time is not None for r in pulls):
        pulls.sort(key=lambda r: (r.sort_time, r.id))
    return pulls


def report_json(store: PullStore, matches: Callable[[str, str], bool]) -> dict[str, Any]:
    """The report contract (field names are relied on by scripts; fields may be added, never renamed).
    Beyond the contract, each image also says how it was first requested (`image`), how many bytes
    its pulls fetched (`bytes_read`) and how many repeat pulls fetched nothing (`cached_repeats`)."""
    pulls = ordered_pulls(store, matches)
    return {
        "pulls": [record.to_json() for record in pulls],
        "images": [_image_json(summarize(ref, records)) for ref, records in _by_ref(pulls).items()],
        "stats": store.stats.to_json(),
    }


def _image_json(summary: ImageSummary) -> dict[str, Any]:
    return {
        **summary.to_json(),
        "image": summary.image,
        "bytes_read": summary.bytes_read,
        "cached_repeats": summary.cached_repeats,
    }


def _by_ref(pulls: list[PullRecord]) -> dict[str, list[PullRecord]]:
    by_ref: dict[str, list[PullRecord]] = {}
    for record in pulls:
        by_ref.setdefault(record.ref, []).append(record)
    return by_ref


def render_json(report: dict[str, Any]) -> str:
    return json_text(report, indent=2)


def write_report_json(store: PullStore, matches: Callable[[str, str], bool], out: TextIO) -> None:
    """The same text as render_json(report_json(…)), written one pull at a time so that a report
    of a huge log never holds the whole document in memory."""
    pulls = ordered_pulls(store, matches)
    images = [_image_json(summarize(ref, records)) for ref, records in _by_ref(pulls).items()]
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


def write_csv(store: PullStore, matches: Callable[[str, str], bool], out: TextIO) -> None:
    """One row per pull; cells quoted where needed and made safe by csv_cell."""
    writer = csv.DictWriter(out, fieldnames=PULL_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in ordered_pulls(store, matches):
        writer.writerow({key: csv_cell(value) for key, value in record.to_json().items()})


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Log text as a cell shown as text: controls visibly escaped (so no CR or LF splits a row, no
    escape reaches a terminal), and a cell that would start a formula prefixed with `'`."""
    if not isinstance(value, str):
        return value
    cell = safe_text(value)
    return "'" + cell if value.startswith(_FORMULA_LEAD) else cell


def render_table(store: PullStore, matches: Callable[[str, str], bool], width: int | None = None) -> str:
    """Tables for people: the pulls, the errors of failed ones, the per-image totals.
    Everything that comes from the log is shown as literal text, never as Rich markup, with
    control characters (terminal escape sequences) made visible."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pullwatch.humanize import human_bytes, human_duration, short_time

    pulls = ordered_pulls(store, matches)
    table = Table(title=f"{len(pulls)} pulls", title_justify="left")
    for name, justify in (
        ("#", "right"),
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
    derived = any(not r.has_start and r.started_at is not None for r in pulls)
    if derived:
        table.caption = "~ start = end - logged duration (no start line: a sandbox pull, or begun before the log)"
        table.caption_justify = "left"
    for number, record in enumerate(pulls, start=1):
        status = record.status.value
        table.add_row(
            str(number),
            Text(safe_text(record.image)),
            Text(status.replace("_", " "), style=styles[status]),
            short_time(record.started_at) if record.has_start else _unknown_start(record, short_time),
            human_duration(record.duration_seconds),
            human_bytes(record.size_bytes),
            human_bytes(record.bytes_read),
        )
        if record.error:
            errors.append((number, record))
    images = Table(title="images", title_justify="left")
    for name in ("image", "pulls", "completed", "failed", "in progress", "total size", "fetched"):
        images.add_column(name, justify="left" if name == "image" else "right")
    for ref, records in _by_ref(pulls).items():
        summary = summarize(ref, records)
        images.add_row(
            Text(safe_text(ref)),
            str(summary.pulls),
            str(summary.completed),
            str(summary.failed),
            str(summary.in_progress),
            human_bytes(summary.total_size_bytes),
            human_bytes(summary.bytes_read),
        )
    console = Console(file=io.StringIO(), width=width or 120, force_terminal=False, color_system=None)
    console.print(table)
    if errors:
        failures = Table.grid(padding=(0, 2))
        failures.add_column(justify="right")
        failures.add_column(overflow="fold")
        for number, record in errors:
            failures.add_row(str(number), Text(safe_text(record.error or "")))
        console.print(Text("errors (by #)"))
        console.print(failures)
    console.print(images)
    console.print(Text(stats_line(store.stats)))
    out = str(console.file.getvalue())  # type: ignore[attr-defined]
    return "".join(line.rstrip() + "\n" for line in out.splitlines())  # no padding after the text


def _unknown_start(record: PullRecord, short_time: Callable[[datetime | None], str]) -> str:
    """A pull without a start line: its start is derived from its duration, or unknown."""
    if record.started_at is None:
        return "-"
    return "~" + short_time(record.started_at)


def stats_line(stats: Stats) -> str:
    return f"{stats.lines} lines read, {stats.pull_lines} pull lines, {stats.unparsed_lines} unparsed"
