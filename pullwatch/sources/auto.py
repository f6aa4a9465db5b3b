"""What to read when no source is named: what this node has, else the bundled sample.

Order: containerd's unit in the journal; else the containerd.log that k3s and rke2 write (their
embedded containerd logs to that file, not to the journal); else k3s/rke2 units in the journal
(older k3s with --debug sent containerd's output there); else the sample, with a note saying
what was looked for and how to point pullwatch at a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources

from pullwatch.sources import LineBatch, SourceError

CONTAINERD_UNITS = ("containerd.service",)
EMBEDDED_UNITS = ("k3s.service", "rke2-server.service", "rke2-agent.service")
EMBEDDED_LOGS = (
    "/var/lib/rancher/k3s/agent/containerd/containerd.log",
    "/var/lib/rancher/rke2/agent/containerd/containerd.log",
)
SAMPLE_NAME = "containerd-1.7-journal.log"
HOW_TO_POINT = "--journal --unit NAME, --file PATH, or replay PATH"


@dataclass
class PickedSource:
    kind: str  # "journal" | "file" | "sample"
    description: str  # for a status line
    note: str | None = None  # why the sample is shown, and how to name a log instead
    path: str | None = None  # the file read (file and sample)
    units: tuple[str, ...] = ()
    open_batches: Callable[[bool], Iterator[LineBatch]] | None = field(default=None, repr=False)

    def batches(self, follow: bool) -> Iterator[LineBatch]:
        """The source's batches; `follow` keeps reading as it grows (not for the sample)."""
        assert self.open_batches is not None
        return self.open_batches(follow)


def sample_path() -> str:
    return str(resources.files("pullwatch") / "sample" / SAMPLE_NAME)


def pick_source(
    containerd_units: Sequence[str] = CONTAINERD_UNITS,
    embedded_logs: Sequence[str] = EMBEDDED_LOGS,
    embedded_units: Sequence[str] = EMBEDDED_UNITS,
    probe: Callable[[Sequence[str]], SourceError | None] | None = None,
) -> PickedSource:
    """The first source this node has, in the order above; never raises."""
    if probe is None:
        from pullwatch.sources.journal import probe as journal_probe

        probe = journal_probe
    journal_problem: SourceError | None = None
    for unit in containerd_units:
        journal_problem = probe([unit])
        if journal_problem is None:
            return _journal(unit)
    for path in embedded_logs:
        if os.path.isfile(path) and os.access(path, os.R_OK):
            return _file(path)
    for unit in embedded_units:
        if probe([unit]) is None:
            return _journal(unit)
    looked = ", ".join([f"journal unit {u}" for u in containerd_units] + list(embedded_logs))
    unreadable = [p for p in embedded_logs if os.path.exists(p) and not os.access(p, os.R_OK)]
    # the probe's first clause only: its own hints repeat what this note says
    why = f" ({str(journal_problem).split(' (')[0].split('; ')[0]})" if journal_problem else ""
    if unreadable:
        why += f"; {', '.join(unreadable)} exists but is not readable (try sudo)"
    note = (
        f"No containerd log found: looked for {looked}{why}. "
        f"Showing the bundled sample; name a log with {HOW_TO_POINT}."
    )
    path = sample_path()

    def read_sample(follow: bool) -> Iterator[LineBatch]:
        from pullwatch.sources.saved import read_saved

        return read_saved([path])

    return PickedSource("sample", "bundled sample log", note, path, open_batches=read_sample)


def _journal(unit: str) -> PickedSource:
    def read(follow: bool) -> Iterator[LineBatch]:
        from pullwatch.sources.journal import read_journal

        return read_journal(units=[unit], follow=follow)

    return PickedSource("journal", f"journal: {unit}", units=(unit,), open_batches=read)


def _file(path: str) -> PickedSource:
    def read(follow: bool) -> Iterator[LineBatch]:
        if follow:
            from pullwatch.sources.follow import follow_file

            return follow_file(path)
        from pullwatch.sources.saved import read_saved

        return read_saved([path])

    return PickedSource("file", f"file: {path}", path=path, open_batches=read)
