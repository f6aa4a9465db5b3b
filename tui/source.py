"""What the monitor reads, from the options the command gave (paths, SourceOptions): a saved log
to replay, a live source (journal or followed file), or, when `watch` is given no source, what
pullwatch finds on the node (else the bundled sample, replayed so that pulls appear, tick and finish).

Sources are opened lazily (the iterators block while waiting for lines) and only inside the feed
thread; errors that can be found before the screen opens are raised here as SourceError so that the
command prints one line and exits 2.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pullwatch.sources import LineBatch, SourceError
from pullwatch.sources.auto import SAMPLE_NAME, sample_path
from pullwatch.sources.options import SourceOptions, open_source

SAMPLE_SPEED = 1.0  # the bundled sample is a real one-minute recording: replayed at its own pace
SAMPLE_BYTES = 4 << 20  # read to estimate a big file's line count


@dataclass
class FeedSpec:
    """A source of line batches and how to pace it."""

    open: Callable[[], Iterator[LineBatch]]
    live: bool  # keeps following (journal, file): apply lines as they come, clock is the wall clock
    description: str  # shown in the title bar, e.g. "replay containerd.log"
    speed: float | None = None  # replay: times faster than the log's clock; None = as fast as possible
    note: str | None = None  # shown in the status line (why this source was picked)
    paths: Sequence[str] = ()  # saved files, to count lines for the progress percentage

    def count_lines(self) -> tuple[int, bool] | None:
        """About how many lines the saved files hold, for the progress percentage, and whether
        that is exact. A file that fits the sample is counted; a bigger one is estimated from the
        line length of its first SAMPLE_BYTES (counting every newline of a big file costs a good
        part of what loading it does). None when it cannot be known cheaply (stdin, gzip, live)."""
        if self.live or not self.paths:
            return None
        total = 0.0
        exact = True
        for path in self.paths:
            if path == "-":
                return None
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    return None  # a pipe: reading ahead would take its lines
                with open(path, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    sample = handle.read(SAMPLE_BYTES)
            except OSError:
                return None
            if sample[:2] == b"\x1f\x8b":
                return None
            lines = sample.count(b"\n") + (bool(sample) and not sample.endswith(b"\n"))
            if len(sample) < size and lines:
                total += size * lines / len(sample)
                exact = False
            else:
                total += lines
        return round(total), exact


def parse_speed(text: str) -> float | None:
    """`max` (None) or a positive number of times faster than the log's clock."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = -1.0
    if not speed > 0 or speed == float("inf"):
        raise SourceError(f"--speed takes a positive number or max, not {text!r}")
    return speed


def replay_spec(paths: Sequence[str], speed: str = "max") -> FeedSpec:
    from pullwatch.sources.saved import open_saved, read_saved

    paths = list(paths)
    for path in paths:  # fail before the screen opens: a missing file is a one-line error
        if not is_pipe(path):  # (opening a pipe to check it would take its first lines)
            open_saved(path).close()
    names = ", ".join("stdin" if is_pipe(p) else os.path.basename(p) for p in paths)
    return FeedSpec(
        open=lambda: read_saved(paths),
        live=False,
        description=f"replay {names}",
        speed=parse_speed(speed),
        paths=paths,
    )


def is_pipe(path: str) -> bool:
    """stdin, or the descriptor `replay -` moved it to, or a named pipe."""
    try:
        return path == "-" or stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def sample_spec(note: str | None) -> FeedSpec:
    from pullwatch.sources.saved import read_saved

    path = sample_path()
    return FeedSpec(
        open=lambda: read_saved([path]),
        live=False,
        description=f"sample {SAMPLE_NAME}",
        speed=SAMPLE_SPEED,
        note=note,
        paths=[path],
    )


def watch_spec(source: SourceOptions | None) -> FeedSpec:
    """A live source: the journal or a followed file; None: what the node has (auto_spec)."""
    if source is None:
        return auto_spec()
    description = source.describe_journal() if source.reads_journal else f"following {source.paths[0]}"
    note = None
    if not source.reads_journal and not os.path.exists(source.paths[0]):
        note = f"{source.paths[0]} does not exist (yet): waiting for it to be created"
    return FeedSpec(open=lambda: open_source(source, follow=True), live=True, description=description, note=note)


def auto_spec() -> FeedSpec:
    """No source named: what this node has (journal, k3s/rke2 file), else the bundled sample."""
    from pullwatch.sources.auto import pick_source

    picked = pick_source()
    if picked.kind == "sample":
        spec = sample_spec(picked.note)
        spec.open = lambda: picked.batches(False)
        spec.description = picked.description or spec.description
        if picked.path:
            spec.paths = [picked.path]  # the sample it replays, for the progress count
        return spec
    return FeedSpec(
        open=lambda: picked.batches(True),
        live=True,
        description=picked.description,
        note=picked.note,
    )
