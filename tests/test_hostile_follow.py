"""A followed path changed under the follower (issue 9): replaced by a directory, rotated to a
file the follower may not read, a symlink retargeted. The real `pullwatch events --follow` waits,
says so once on stderr, and goes on when a log file is back; a symlink's target directory is
watched, so that lines written to the target are seen at once, not at the 1 s re-check."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

import pytest
from followhelp import EventStream, expected_events
from logfactory import generate

pytestmark = pytest.mark.timeout(90)


def pullwatch() -> str:
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command must be installed"
    return command


def lines_of(seed: int, pulls: int = 3) -> list[str]:
    lines = generate(seed=seed, pulls=pulls, version="1.7", envelope="k3s", chatter=1).lines
    assert expected_events(lines)
    return lines


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_path_replaced_by_a_directory_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "containerd.log"
    first, second = lines_of(21), lines_of(22)
    append(path, first)
    stream = EventStream([pullwatch(), "events", "--follow", str(path)])
    stream.wait_for(len(expected_events(first)))
    path.rename(tmp_path / "containerd.log.1")
    path.mkdir()
    time.sleep(2.5)  # two re-checks and the directory's own events: still one message
    assert stream.process.poll() is None, "the follower died"
    path.rmdir()
    append(path, second)
    stream.wait_for(len(expected_events(first + second)))
    status, stderr = stream.stop()
    assert stream.events == expected_events(first + second)
    assert status == 143
    assert stderr == f"pullwatch: {path} is a directory now; waiting for a log file there\n"


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) drops root's DAC override")
def test_rotation_to_an_unreadable_file_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "containerd.log"
    first, second = lines_of(23), lines_of(24)
    append(path, first)
    command = [pullwatch(), "events", "--follow", str(path)]
    if os.geteuid() == 0:  # root reads anything unless it loses CAP_DAC_OVERRIDE
        command = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    stream = EventStream(command)
    stream.wait_for(len(expected_events(first)))
    successor = tmp_path / "next.log"  # made unreadable before it takes the name: no race with a look
    append(successor, second)
    successor.chmod(0)
    path.rename(tmp_path / "containerd.log.1")
    successor.replace(path)
    time.sleep(2.5)
    assert stream.process.poll() is None, "the follower exited instead of waiting"
    assert stream.events == expected_events(first)
    path.chmod(0o644)
    stream.wait_for(len(expected_events(first + second)))
    status, stderr = stream.stop()
    assert stream.events == expected_events(first + second)
    assert status == 143
    assert stderr == f"pullwatch: {path} cannot be read (Permission denied); waiting until it can\n"


def latency(stream: EventStream, target: Path, seed: int) -> float:
    """Seconds from a write to the target to its first event printed."""
    lines = lines_of(seed, pulls=1)
    before = len(stream.events)
    written = time.monotonic()
    append(target, lines)
    stream.wait_for(before + len(expected_events(lines)))
    return stream.arrivals[before] - written


def test_symlink_target_watched_and_retargeting_seen(tmp_path: Path) -> None:
    """The link in one directory, its targets in two others: writes to a target change nothing
    in the link's directory, so only a watch on the target's directory sees them at once."""
    links, old_dir, new_dir = tmp_path / "links", tmp_path / "a", tmp_path / "b"
    for directory in (links, old_dir, new_dir):
        directory.mkdir()
    old, new = old_dir / "containerd.log", new_dir / "containerd.log"
    old.touch()
    link = links / "containerd.log"
    link.symlink_to(old)
    stream = EventStream([pullwatch(), "events", "--follow", str(link)])
    time.sleep(1.0)  # started and watching
    # The re-check runs every second: a follower that waits for it takes ~1 s here (each write
    # follows the previous event, which came at a re-check).
    assert statistics.median(latency(stream, old, seed) for seed in (31, 32, 33, 34, 35)) < 0.4
    before = len(stream.events)
    waiting = lines_of(36, pulls=1)
    append(new, waiting)
    temporary = links / "next"
    temporary.symlink_to(new)
    temporary.replace(link)  # ln -sfn: the link now names the other file
    stream.wait_for(before + len(expected_events(waiting)))
    assert statistics.median(latency(stream, new, seed) for seed in (37, 38, 39, 40, 41)) < 0.4
    status, stderr = stream.stop()
    assert status == 143 and stderr == ""
