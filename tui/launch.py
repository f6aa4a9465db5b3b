"""From command-line options to a running app: pick the source and the clock, check what can be
checked before the screen opens (missing files, a bad --image regex, a bad --speed: one line on
stderr, exit 2, raised as SourceError / FilterError for pullwatch.cli to print)."""

from __future__ import annotations

import argparse

from pullwatch.filtering import image_matcher
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
    return run(replay_spec(args), args.image or "")


def run_watch(args: argparse.Namespace) -> int:
    return run(watch_spec(args), getattr(args, "image", "") or "")
