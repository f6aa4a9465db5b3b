"""Headless output: the report JSON contract, CSV, a Rich table, and JSON lines of events."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from pullwatch.model import PullRecord, Stats
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
    pulls = ordered_pulls(store, matches)
    by_ref: dict[str, list[PullRecord]] = {}
    for record in pulls:
        by_ref.setdefault(record.ref, []).append(record)
    return {
        "pulls": [record.to_json() for record in pulls],
        "images": [summarize(ref, records).to_json() for ref, records in by_ref.items()],
        "stats": store.stats.to_json(),
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def render_csv(store: PullStore, matches: Callable[[str, str], bool]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PULL_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in ordered_pulls(store, matches):
        writer.writerow(record.to_json())
    return buffer.getvalue()


def render_table(store: PullStore, matches: Callable[[str, str], bool], width: int | None = None) -> str:
    """A table for people; image names are shown as text, never as Rich markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pullwatch.humanize import human_bytes, human_duration, short_time

    pulls = ordered_pulls(store, matches)
    table = Table(title=f"{len(pulls)} pulls", title_justify="left", expand=False)
    for name, justify in (
        ("image", "left"),
        ("status", "left"),
        ("started", "left"),
        ("duration", "right"),
        ("size", "right"),
        ("fetched", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    styles = {"completed": "green", "failed": "red", "in_progress": "yellow"}
    for record in pulls:
        table.add_row(
            Text(safe_text(record.image)),
            Text(record.status.value, style=styles[record.status.value]),
            short_time(record.started_at),
            human_duration(record.duration_seconds),
            human_bytes(record.size_bytes),
            human_bytes(record.bytes_read),
        )
    images = Table(title="images", title_justify="left")
    for name in ("image", "pulls", "completed", "failed", "in progress", "total size"):
        images.add_column(name, justify="left" if name == "image" else "right")
    by_ref: dict[str, list[PullRecord]] = {}
    for record in pulls:
        by_ref.setdefault(record.ref, []).append(record)
    for ref, records in by_ref.items():
        s = summarize(ref, records)
        images.add_row(
            Text(safe_text(ref)),
            str(s.pulls),
            str(s.completed),
            str(s.failed),
            str(s.in_progress),
            human_bytes(s.total_size_bytes),
        )
    console = Console(file=io.StringIO(), width=width or 120, force_terminal=False, color_system=None)
    console.print(table)
    console.print(images)
    console.print(stats_line(store.stats))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out)


def stats_line(stats: Stats) -> str:
    return f"{stats.lines} lines read, {stats.pull_lines} pull lines, {stats.unparsed_lines} unparsed"


def safe_text(text: str) -> str:
    """Neutralise control characters (escape sequences) in names that come from logs."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in text)
