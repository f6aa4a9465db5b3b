"""From command-line options to a running app: pick the source and the clock, check what can be
checked before the screen opens (missing files, a bad --image regex, a bad --speed: one line on
stderr, exit 2, raised as SourceError / FilterError for pullwatch.cli to print)."""

from __future__ import annotations

import argparse
import os
import sys

from pullwatch.filtering import image_matcher
from pullwatch.sources import SourceError
from tui.clock import Clock, ReplayClock, WallClock
from tui.source import FeedSpec, replay_spec, watch_spec


def clock_for(spec: FeedSpec) -> Clock:
    if spec.live:
        return WallClock()
    if spec.speed is None:
        return Clock()
    return ReplayClock(spec.speed)


def run(spec: FeedSpec, image: str) -> int:
    from tui.app import PullwatchApp

    image_matcher(image)  # a bad re: pattern fails here, before the screen opens
    app = PullwatchApp(spec, clock_for(spec), image_filter=image)
    app.run()
    return app.return_code or 0


def run_replay(args: argparse.Namespace) -> int:
    if "-" in args.paths:
        args = argparse.Namespace(**{**vars(args), "paths": keys_from_terminal(args.paths)})
    return run(replay_spec(args), args.image or "")


def keys_from_terminal(paths: list[str]) -> list[str]:
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


def run_watch(args: argparse.Namespace) -> int:
    return run(watch_spec(args), getattr(args, "image", "") or "")
