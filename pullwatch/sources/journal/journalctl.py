"""Backend 2: `journalctl -o json`, for machines without systemd-python (it needs libsystemd to
build). MESSAGE comes as a string, or as an array of bytes when it is not UTF-8."""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Iterator
from datetime import datetime

from pullwatch.parsers import is_candidate
from pullwatch.sources import BATCH_LINES, LineBatch, SourceError
from pullwatch.sources.children import track
from pullwatch.sources.journal.query import JournalQuery, entry_time


def journalctl_args(query: JournalQuery) -> list[str]:
    # -a: without it journalctl replaces fields over 4096 bytes by null (long error= values).
    args = ["journalctl", "-o", "json", "-a", "--no-pager", "--output-fields=MESSAGE"]
    if query.directory:
        args += ["--directory", query.directory]
    matches: list[str] = []
    for index, group in enumerate(query.match_groups()):
        matches += (["+"] if index else []) + group
    return args + matches


def check(query: JournalQuery) -> None:
    """SourceError when journalctl fails or finds no entry at all for the query."""
    try:
        result = subprocess.run(
            [*journalctl_args(query), "-n", "1", "-q"], capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError(f"journalctl failed: {error}") from None
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines() or [f"status {result.returncode}"]
        raise SourceError(f"journalctl failed: {detail[0]}")
    if not result.stdout.strip():
        raise query.no_entries_error()


def journalctl_batches(query: JournalQuery, follow: bool, idle_seconds: float) -> Iterator[LineBatch]:
    args = journalctl_args(query)
    if query.since is not None:
        args += ["--since", f"@{query.since.timestamp():.6f}"]
    elif query.directory is None:
        args.append("--boot")
    if follow:
        args += ["--follow", "--no-tail"]  # --follow alone starts at the last 10 entries
    process = track(subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL))
    assert process.stdout is not None
    pipe = process.stdout.fileno()
    os.set_blocking(pipe, False)
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    pending = b""
    try:
        while True:
            if not poller.poll(idle_seconds * 1000):
                yield LineBatch(times=[])
                continue
            chunk = _read_available(pipe)
            if chunk is None:
                continue
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            yield from _json_batches(lines)
        if pending:
            yield from _json_batches([pending])
        status = process.wait()
        if status != 0:
            raise SourceError(f"journalctl exited with status {status}")
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()


def _read_available(pipe: int) -> bytes | None:
    """What the pipe holds now: b"" at end of file, None when it holds nothing yet."""
    parts: list[bytes] = []
    while True:
        try:
            part = os.read(pipe, 1 << 20)
        except BlockingIOError:
            if not parts:
                return None
            break
        if not part:
            break
        parts.append(part)
        if len(part) < 1 << 20:
            break
    return b"".join(parts)


def _json_batches(records: list[bytes]) -> Iterator[LineBatch]:
    batch = LineBatch(times=[])
    for record in records:
        if not record.strip():
            continue
        batch.total += 1
        if not is_candidate(record):
            continue
        message, moment = _decode_record(record)
        if message is not None and is_candidate(message):
            batch.lines.append(message.rstrip(b"\r\n"))
            batch.times.append(moment)  # type: ignore[union-attr]
        if len(batch.lines) >= BATCH_LINES:
            yield batch
            batch = LineBatch(times=[])
    if batch.total:
        yield batch


def _decode_record(record: bytes) -> tuple[bytes | None, datetime | None]:
    """MESSAGE (a string, or an array of bytes when not UTF-8) and the entry's time."""
    try:
        fields = json.loads(record)
    except ValueError:
        return None, None
    if not isinstance(fields, dict):
        return None, None
    message = fields.get("MESSAGE")
    stamp = fields.get("__REALTIME_TIMESTAMP")
    moment = entry_time(int(stamp)) if isinstance(stamp, str) and stamp.isdigit() else None
    if isinstance(message, str):
        return message.encode("utf-8", "surrogateescape"), moment
    if isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        return bytes(message), moment
    return None, moment
