"""pullwatch's Textual monitor. Kept light: the headless commands import pullwatch.cli, which
must not pull in Textual, so the app is imported only when a screen is opened."""

from __future__ import annotations

import argparse


def run_watch(args: argparse.Namespace) -> int:
    """`pullwatch watch`: the journal, a followed file, or whatever the node has."""
    from tui.launch import run_watch as run

    return run(args)


def run_replay(args: argparse.Namespace) -> int:
    """`pullwatch replay PATH… [--speed N|max]`: the same screen on saved logs."""
    from tui.launch import run_replay as run

    return run(args)
