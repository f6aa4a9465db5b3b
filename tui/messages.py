"""Messages the feed thread posts to the app (kept together, as toolong does)."""

from __future__ import annotations

from textual.message import Message

from pullwatch.parsers.events import ParsedBatch


class FeedStarted(Message):
    """The saved files hold about `total_lines` lines (exactly when `exact`): replay progress."""

    def __init__(self, total_lines: int, exact: bool) -> None:
        super().__init__()
        self.total_lines = total_lines
        self.exact = exact


class FeedBatch(Message):
    """Parsed pull events and the line counts they came from, to apply to the store."""

    def __init__(self, batch: ParsedBatch) -> None:
        super().__init__()
        self.batch = batch


class FeedDone(Message):
    """The source has no more lines (a saved log was read to its end)."""


class FeedFailed(Message):
    """The source failed; `error` is a one-line reason to show (never a traceback)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
