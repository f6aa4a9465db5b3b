"""pullwatch's Textual monitor. Kept light: the headless commands import pullwatch.cli, which
must not pull in Textual, so the app is imported only when a screen is opened. The monitor reads
the store and the sources; it never imports the CLI (the CLI gives it typed options)."""

from __future__ import annotations

from collections.abc import Sequence

from pullwatch.sources.options import SourceOptions


def run_watch(source: SourceOptions | None, image: str = "") -> int:
    """`pullwatch watch`: the journal or a followed file, or (None) whatever the node has."""
    from pullwatch.tui.launch import run_watch as run

    return run(source, image)


def run_replay(paths: Sequence[str], speed: str = "max", image: str = "") -> int:
    """`pullwatch replay PATH… [--speed N|max]`: the same screen on saved logs."""
    from pullwatch.tui.launch import run_replay as run

    return run(paths, speed, image)
