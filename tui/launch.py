"""From the command's options to a running app: pick the source and the clock, check what can be
checked before the screen opens (no terminal, missing files, a bad --image regex, a bad --speed:
one line on stderr, exit 2, raised as SourceError / FilterError for pullwatch.cli to print)."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from pullwatch.filtering import image_matcher, split_node_words
from pullwatch.sources import SourceError
from pullwatch.sources.children import handle_unless_ignored
from pullwatch.sources.options import SourceOptions
from pullwatch.tui.clock import Clock, ReplayClock, WallClock
from pullwatch.tui.source import FeedSpec, replay_spec, watch_spec

if TYPE_CHECKING:
    from textual.app import App


def clock_for(spec: FeedSpec) -> Clock:
    if spec.live:
        return WallClock()
    if spec.speed is None:
        return Clock()
    return ReplayClock(spec.speed)


NO_TERMINAL = (
    "the monitor needs a terminal on stdin and stdout; for a file or a pipe use "
    "`pullwatch report` (table, --format json|csv) or `pullwatch events`"
)


def run(spec: FeedSpec, image: str) -> int:
    from pullwatch.tui.app import PullwatchApp

    image_matcher(split_node_words(image)[1])  # a bad re: pattern fails here, before the screen opens
    if not (sys.stdin is not None and sys.stdin.isatty() and sys.stdout is not None and sys.stdout.isatty()):
        raise SourceError(NO_TERMINAL)  # else a screen drawn into a file, or a hang writing escapes
    app = PullwatchApp(spec, clock_for(spec), image_filter=image)
    ending = _end_on_signal(app)
    previous = handle_unless_ignored((signal.SIGTERM, signal.SIGHUP), ending)
    try:
        app.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    end_frozen()
    return app.return_code or 0


def end_frozen() -> None:
    """The monitor has closed and the process ends: freeze what is left (the app and its store,
    cycles all through) so that the interpreter's last collection does not walk it all: ~0.1 s
    after a 300 MB log (bench/README.md, replay_tui.py), more after a bigger one. The memory goes
    back with the process."""
    gc.freeze()


def _end_on_signal(app: App[None]) -> Callable[[int, FrameType | None], None]:
    """SIGTERM or SIGHUP ends the app the way `q` does, from its own event loop, so that Textual
    gives the terminal back (alternate screen off, mouse reporting off, cursor shown); the exit
    status is 128 + the signal's number. Before the loop runs or after it stops, the signal ends
    the command like a headless one."""

    def handler(signum: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()  # the handler runs on the main thread, inside the loop
        except RuntimeError:
            raise SystemExit(128 + signum) from None
        # After the next refresh: an exit while the first screen still mounts makes Textual's
        # Header raise NoMatches (exit status 1, a traceback on the terminal).
        exit_app = functools.partial(app.exit, return_code=128 + signum)
        loop.call_soon_threadsafe(app.call_after_refresh, exit_app)

    return handler


def run_replay(paths: Sequence[str], speed: str, image: str) -> int:
    if "-" in paths:
        paths = keys_from_terminal(paths)
    return run(replay_spec(paths, speed), image)


def keys_from_terminal(paths: Sequence[str]) -> list[str]:
    """`cat log | pullwatch replay -`: Textual reads keys from stdin, and stdin is the log. Move
    the pipe to another descriptor and give stdin the terminal, as less and fzf do."""
    if sys.stdin is None or sys.stdin.isatty():
        raise SourceError("replay -: stdin is a terminal, not a log (cat LOG | pullwatch replay -)")
    try:
        terminal = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise SourceError("replay -: no terminal to read keys from (pullwatch report - reads a pipe)") from None
    pipe = os.dup(0)
    os.dup2(terminal, 0)
    os.close(terminal)
    return [f"/dev/fd/{pipe}" if path == "-" else path for path in paths]


def run_watch(source: SourceOptions | None, image: str) -> int:
    return run(watch_spec(source), image)
