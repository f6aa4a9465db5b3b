"""Which log to read, as typed options (the CLI builds them from its arguments, the monitor and
the headless commands take them), and `open_source`, which opens it.

One place decides what a set of options reads: the journal when asked for (or given a journal
directory), else the files named, else stdin; followed when asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pullwatch.sources import LineBatch, SourceError


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """A saved or followed log (`paths`, `-` or none is stdin), or the journal."""

    paths: tuple[str, ...] = ()
    journal: bool = False
    units: tuple[str, ...] = ()  # systemd units (default containerd.service)
    identifiers: tuple[str, ...] = ()  # SYSLOG_IDENTIFIER values
    since: str | None = None  # as journalctl users write it (sources/since.py); None: this boot
    directory: str | None = None  # a copied journal directory (implies the journal)
    node_files: tuple[tuple[str, str], ...] = ()  # (node, path): saved logs of a named node, after `paths`

    @property
    def reads_journal(self) -> bool:
        return self.journal or self.directory is not None

    def describe_journal(self) -> str:
        """For a title bar: `journal (containerd.service)`, `journal /copy (k3s)`."""
        units = ", ".join(self.units or ("containerd.service",))
        where = f"journal {self.directory}" if self.directory else "journal"
        return f"{where} ({units})"


def open_source(options: SourceOptions, follow: bool) -> Iterator[LineBatch]:
    """The line batches of the source the options name; `follow` keeps reading as it grows (one
    file, or the journal; stdin is followed by reading it to its end)."""
    if options.reads_journal:
        from pullwatch.sources.journal import read_journal

        return read_journal(
            units=options.units,
            identifiers=options.identifiers,
            since=options.since,
            directory=options.directory,
            follow=follow,
        )
    if options.node_files:
        if follow:
            raise SourceError("--node-file reads saved logs; follow one file with --file")
        return _named_nodes(options)
    paths = list(options.paths) or ["-"]
    if follow and paths != ["-"]:
        if len(paths) != 1 or paths[0] == "-":
            raise SourceError("--follow takes one file")
        from pullwatch.sources.follow import follow_file

        return follow_file(paths[0])
    from pullwatch.sources.saved import read_saved

    return read_saved(paths)


def _named_nodes(options: SourceOptions) -> Iterator[LineBatch]:
    """The files named, then each node's files, read in order; a node's lines that name no host
    (k3s containerd.log, logrus files) are that node's."""
    from pullwatch.sources.saved import open_saved, read_saved

    for _, path in options.node_files:  # a missing file is an error before anything is read
        if path != "-":
            open_saved(path).close()
    if options.paths:
        yield from read_saved(list(options.paths))
    for node, path in options.node_files:
        yield from read_saved([path], node=node)  # a child that parses the file is given the node
