"""PullwatchApp: owns the store, the clock and the feed; the main screen shows them.

Data path: the feed thread parses lines and posts FeedBatch messages; `on_feed_batch` applies
them to the store on this thread and marks the screen dirty; a 0.25 s timer redraws the panes when
dirty and a 1 s timer moves elapsed times on. The panes only read the store.
"""

from __future__ import annotations

import gc
import os
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from pullwatch.humanize import safe_text
from pullwatch.parsers.events import ParsedBatch
from pullwatch.store import PullStore
from pullwatch.tui.clock import Clock
from pullwatch.tui.commands import PullwatchCommands
from pullwatch.tui.feed import LOAD_POST_INTERVAL, POST_INTERVAL, Feed
from pullwatch.tui.main_screen import MainScreen
from pullwatch.tui.messages import FeedBatch, FeedDone, FeedFailed, FeedStarted
from pullwatch.tui.screens.detail import DetailScreen
from pullwatch.tui.screens.timeline import TimelineScreen
from pullwatch.tui.source import FeedSpec, is_pipe
from pullwatch.tui.status import FeedState
from pullwatch.tui.view import StoreView

EXIT_INTERRUPTED = 130
TICK_SECONDS = 1.0
APPLY_SLICE_SECONDS = 0.02  # longest the UI thread spends applying events before it looks at keys
APPLY_CHUNK = 256
REDRAW_SHARE_INVERSE = 5  # a redraw that took d waits 5 d before the next one
APPLY_PAUSE_SECONDS = 0.002  # between slices: the event loop runs keys and screen updates


class PullwatchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "pullwatch"
    COMMANDS: ClassVar = App.COMMANDS | {PullwatchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "interrupt", "quit", show=False, priority=True)]

    def __init__(
        self,
        spec: FeedSpec,
        clock: Clock,
        image_filter: str = "",
        feed_interval: float | None = None,  # None: LOAD_POST_INTERVAL for a max-speed replay, else POST_INTERVAL
    ) -> None:
        super().__init__()
        self.spec = spec
        self.clock = clock
        self.view = StoreView(PullStore(), clock)
        self.view.set_filter(image_filter)
        self.feed_state = FeedState(live=spec.live, speed=spec.speed, note=spec.note)
        max_speed_load = not spec.live and spec.speed is None
        if feed_interval is None:
            feed_interval = LOAD_POST_INTERVAL if max_speed_load else POST_INTERVAL
        self.feed = Feed(spec, clock, self.post_message, interval=feed_interval)
        self.main = MainScreen(self.view, image_filter)
        self.sub_title = spec.description
        self._dirty = True
        self._pending: deque[FeedBatch] = deque()  # batches not (fully) applied yet, in feed order
        self._applied = 0  # events of the first pending batch already applied
        self._more_queued = False
        self._ending: FeedDone | FeedFailed | None = None  # the feed ended; applied after the rest
        self._next_redraw = 0.0
        # A saved log loaded as fast as it can be: the store only grows and events die young, by
        # reference counting, as in the headless report's load (ingest.py), so the cyclic
        # collector is off until the log is in; then what was loaded is frozen (gc.freeze), not
        # scanned: the first collection after the load would have walked every object it made
        # (~40k on the 300 MB bench log, 20-30 ms before the screen shows it all), and each later
        # full collection the whole store again. Unfrozen when the app closes.
        # Files only: a pipe (`journalctl -f | pullwatch replay -`) may never end, and the collector
        # must not stay off for the whole session.
        self._collect_after_load = max_speed_load and bool(spec.paths) and not any(map(is_pipe, spec.paths))
        self._froze = False

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette entries, less its Quit and Keys (pullwatch's own are listed: q, ?),
        and a Screenshot saved where pullwatch runs (Textual's goes to ~/Downloads, often missing)."""
        for command in super().get_system_commands(screen):
            if command.title in ("Quit", "Keys"):
                continue
            if command.title == "Screenshot":
                command = SystemCommand(
                    command.title, "Save an SVG of the screen in the current directory", self.screenshot_here
                )
            yield command

    def screenshot_here(self) -> None:
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as error:
            self.notify(f"screenshot not saved: {error.strerror or error}", severity="error")
            return
        self.notify(safe_text(path), title="screenshot saved")

    def on_mount(self) -> None:
        # why this source was picked is in the status line: no toast over the panes repeating it
        self.set_interval(POST_INTERVAL, self._refresh_if_dirty)
        self.set_interval(TICK_SECONDS, self._tick)
        # Start reading now, while the first screen is composed and drawn: the feed thread mostly
        # waits (a big log is scanned and parsed by a child process, which starts meanwhile);
        # batches that come before the panes are up are applied and drawn once they are.
        if self._collect_after_load and gc.isenabled():
            gc.disable()
        else:
            self._collect_after_load = False
        self.feed.start()

    def on_unmount(self) -> None:
        self.feed.stop()
        self._collect_again(freeze=False)
        if self._froze:
            self._froze = False
            gc.unfreeze()

    def _collect_again(self, freeze: bool) -> None:
        """The load is over (or the app closes): the collector on again, after freezing what the
        load made (the few cycles it left, ~600 objects on the bench log, stay until unfrozen)."""
        if self._collect_after_load:
            self._collect_after_load = False
            if freeze:
                gc.freeze()
                self._froze = True
            gc.enable()

    # ---- the feed's messages -------------------------------------------------------------------
    def on_feed_started(self, message: FeedStarted) -> None:
        self.feed_state.total_lines = message.total_lines
        self.feed_state.total_exact = message.exact

    def on_feed_batch(self, message: FeedBatch) -> None:
        self._pending.append(message)
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Apply the feed's events in order, for at most APPLY_SLICE_SECONDS at a time, then give
        the event loop back (keys, screen updates) before going on: a batch of a pull-heavy log
        can hold 10,000 events, and a keypress must not wait for all of them."""
        deadline = time.perf_counter() + APPLY_SLICE_SECONDS
        while self._pending:
            batch = self._pending[0].batch
            while self._applied < len(batch.events):
                chunk = batch.events[self._applied : self._applied + APPLY_CHUNK]
                self.view.apply(ParsedBatch(chunk))
                self._applied += len(chunk)
                self._dirty = True
                if time.perf_counter() >= deadline and self._applied < len(batch.events):
                    self._queue_more()
                    return
            self.view.apply(ParsedBatch([], batch.lines, batch.unparsed))  # its lines count once all is in
            self._pending.popleft()
            self._applied = 0
            self._dirty = True
            if self._pending and time.perf_counter() >= deadline:
                self._queue_more()
                return
        self._end_if_applied()

    def _queue_more(self) -> None:
        """Go on from a timer, not a message: a message would run before the loop let the
        widgets (and the screen refresh) have their turn."""
        if not self._more_queued:
            self._more_queued = True
            self.set_timer(APPLY_PAUSE_SECONDS, self._apply_more)

    def _apply_more(self) -> None:
        self._more_queued = False
        self._apply_pending()

    def on_feed_done(self, message: FeedDone) -> None:
        self._ending = message
        self._end_if_applied()

    def on_feed_failed(self, message: FeedFailed) -> None:
        self._ending = message
        self._end_if_applied()

    def _end_if_applied(self) -> None:
        """The feed's last word takes effect once every event before it is in the store."""
        ending = self._ending
        if ending is None or self._pending:
            return
        self._ending = None
        self._collect_again(freeze=True)
        if isinstance(ending, FeedFailed):
            self.feed_state.error = ending.error
            self.notify(ending.error, title="source failed", severity="error", timeout=30)
        else:
            self.feed_state.done = True
        self.clock.finish()
        self.redraw()

    # ---- drawing -------------------------------------------------------------------------------
    def _refresh_if_dirty(self) -> None:
        """Redraw when something changed, but never spend more than about a fifth of the time
        redrawing: with tens of thousands of pulls a redraw takes tens of milliseconds."""
        if self._dirty and time.perf_counter() >= self._next_redraw:
            started = time.perf_counter()
            self.redraw()
            took = time.perf_counter() - started
            self._next_redraw = started + max(POST_INTERVAL, REDRAW_SHARE_INVERSE * took)

    def redraw(self) -> None:
        """Rebuild the panes (and an open detail view or timeline) from the store."""
        if not self.main.ready:
            return
        self._dirty = False
        self.main.refresh_panes()
        if isinstance(self.screen, DetailScreen | TimelineScreen):
            self.screen.refresh_content()

    def _tick(self) -> None:
        if self.main.ready and not self.feed_state.paused:
            self.main.tick()

    # ---- actions -------------------------------------------------------------------------------
    def action_interrupt(self) -> None:
        """Ctrl-C: quit with 130 (128 + SIGINT), as a shell expects of an interrupted command."""
        self.exit(return_code=EXIT_INTERRUPTED)

    def toggle_pause(self) -> None:
        state = self.feed_state
        state.paused = not state.paused
        if state.paused:
            self.feed.pause()
            self.clock.pause()
        else:
            self.clock.resume()
            self.feed.resume()
        self.redraw()

    def set_filter(self, pattern: str) -> None:
        self.main.set_filter(pattern)

    @property
    def loaded(self) -> bool:
        """The feed has ended and its last message has been applied (tests, the benchmark)."""
        return (self.feed_state.done or self.feed_state.error is not None) and not self._pending
