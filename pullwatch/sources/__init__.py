"""Log sources: saved logs (files, .gz, stdin), files followed live, and the journal.

Every source yields LineBatch objects: the candidate pull lines of a stretch of log plus how many
lines that stretch held, so that a reader may skip non-pull lines without losing the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pullwatch.parsers import ParsedBatch, parse_batch

# Candidate lines per batch at most, for the sources that read line by line (a followed file, the
# journal, the reference scan); the block scanner's batches are one block each.
BATCH_LINES = 4096


class SourceError(Exception):
    """A source cannot be read; the message says why and what to do (printed without traceback)."""


@dataclass(slots=True)
class LineBatch:
    lines: list[bytes] = field(default_factory=list)  # candidate lines, newline stripped
    total: int = 0  # lines read, candidates included
    times: list[datetime | None] | None = None  # per-line fallback times (journal entries)
    nodes: list[str | None] | None = None  # per-line nodes (journal entries' _HOSTNAME)
    node: str | None = None  # the node of every line that names none (a file given a node)
    # Already parsed, by the child process that scanned a big saved log (sources/scanproc.py),
    # with `node`: then `lines` is empty. Setting `node` afterwards does not parse it again.
    parsed: ParsedBatch | None = None

    def parse(self) -> ParsedBatch:
        """The batch's pull events and line counts (pure: what PullStore.apply takes)."""
        if self.parsed is not None:
            return self.parsed
        return parse_batch(self.lines, self.times, self.total, self.nodes, self.node)
