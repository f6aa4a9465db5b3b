"""Live, end to end: a real containerd pulls through a throttled registry while pullwatch follows.

containerd's stderr is appended to a file, and the same lines are fed to a private journald with
`systemd-cat -t <id>` (as a node's containerd.service would write them). `pullwatch events
--follow` on the file and on the journal, and the monitor in tmux on the file, must show the pull
in progress while the CRI call is still running, then completed once it has returned.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from containerd import Containerd, Host
from cri import Answer
from followhelp import EventStream
from journald import PrivateJournald
from proxy import Proxy
from registry import Registry

pytestmark = [pytest.mark.realcd, pytest.mark.timeout(120)]

LAYER = 2 * 1024 * 1024
RATE = 512 * 1024  # ~4s for the layer: long enough to be seen in progress
IMAGE = "slow.test/live:1"


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """End a `tail -F | systemd-cat` feeder: its own session, so the whole pipeline, not just sh."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)


class Node:
    """Registry, throttling proxy, containerd writing to `log`, and a feeder into journald."""

    def __init__(self, version: str, workdir: Path, journald: PrivateJournald) -> None:
        self.log = workdir / "containerd.log"
        self.log.touch()
        self.ident = f"containerd-{uuid.uuid4().hex[:8]}"
        self.registry = Registry(workdir / "registry")
        self.registry.start()
        self.registry.push_image("live", "1", LAYER)
        self.proxy = Proxy(self.registry.port, rate=RATE)
        self.proxy.start()
        self.containerd = Containerd(version, "info", self.log, [Host("slow.test", self.proxy.port)],
                                     "registry.k8s.io/pause:3.9")
        # like `tail -F containerd.log | systemd-cat -t containerd`, inside journald's namespace
        self.feeder = subprocess.Popen(
            journald.command(["sh", "-c", f"exec tail -n +1 -F {self.log} | systemd-cat -t {self.ident}"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def stop(self) -> None:
        self.containerd.stop()
        self.proxy.stop()
        self.registry.stop()
        stop_group(self.feeder)


@pytest.fixture
def private_journald() -> Iterator[PrivateJournald]:
    instance = PrivateJournald()
    try:
        yield instance
    finally:
        instance.stop()


def _pull_in_background(node: Node) -> tuple[threading.Thread, list[Answer]]:
    cri = node.containerd.cri
    assert cri is not None
    answers: list[Answer] = []
    thread = threading.Thread(target=lambda: answers.append(cri.pull(IMAGE, timeout=60)), daemon=True)
    thread.start()
    return thread, answers


def _kinds(stream: EventStream) -> list[str]:
    return [e["kind"] for e in stream.events if e.get("ref") == IMAGE]


def _wait_kind(stream: EventStream, kind: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in list(stream.events):
            if event.get("ref") == IMAGE and event["kind"] == kind:
                return event
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event for {IMAGE}; got {_kinds(stream)}; stderr {stream.stderr!r}")


def _verdict(stream: EventStream, result: dict[str, Any], timeout: float = 20) -> object:
    """The pull's `downloaded`: the result's, or, when it came before its evidence (1.6 logs the
    id's ImageCreate from another goroutine, at times after the result line: null then), that of
    the id's ImageCreate that follows."""
    if result["downloaded"] is not None:
        return result["downloaded"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = list(stream.events)
        after = events[events.index(result) + 1:]
        for event in after:
            if event["kind"] == "image_create" and event["image"] == result["image_id"]:
                return event["downloaded"]
        time.sleep(0.05)
    raise AssertionError(f"result {result}: null, and no ImageCreate of its id after it; got {_kinds(stream)}")


@pytest.mark.parametrize("version", ["1.6.20", "1.7.24", "2.1.9"])
def test_events_follow_file_and_journal(version: str, private_journald: PrivateJournald) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="realcd-live-"))
    node = Node(version, workdir, private_journald)
    streams: list[EventStream] = []
    try:
        node.containerd.start()
        pullwatch = shutil.which("pullwatch")
        assert pullwatch
        streams = [
            EventStream([pullwatch, "events", "--follow", str(node.log)]),
            EventStream(private_journald.command(
                [pullwatch, "events", "--follow", "--journal", "--identifier", node.ident])),
        ]
        thread, answers = _pull_in_background(node)
        for stream in streams:
            _wait_kind(stream, "start")
        assert thread.is_alive(), "the pull ended before pullwatch showed it in progress"
        assert all("result" not in _kinds(s) for s in streams)
        thread.join(60)
        assert answers and answers[0].ok, answers
        for stream in streams:
            result = _wait_kind(stream, "result")
            assert result["image_id"] == answers[0].reply.image_ref
            assert _verdict(stream, result) is True  # a first pull: the registry sent the layer
    finally:
        for stream in streams:
            stream.process.terminate()
            stream.process.wait(10)
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class _Tmux:
    """A private tmux server running one window of 200×50."""

    def __init__(self) -> None:
        self.socket = f"pullwatch-realcd-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def wait_for(self, ready: Any, what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self("capture-pane", "-p", "-t", "t")
            if ready(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.1)


def test_monitor_shows_the_pull_in_progress_then_completed(private_journald: PrivateJournald) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="realcd-tmux-"))
    node = Node("1.7.24", workdir, private_journald)
    tmux = _Tmux()
    try:
        node.containerd.start()
        pullwatch = shutil.which("pullwatch")
        # pytest sets COLUMNS/LINES; the monitor must size itself from the terminal
        command = f"env -u COLUMNS -u LINES TERM=xterm-256color {pullwatch} --file {node.log}"
        tmux("new-session", "-d", "-x", "160", "-y", "50", "-s", "t", command)
        tmux.wait_for(lambda text: "In progress · 0" in text, "the monitor")
        thread, answers = _pull_in_background(node)
        screen = tmux.wait_for(lambda text: "In progress · 1" in text and IMAGE in text, "the pull in progress")
        assert thread.is_alive(), screen
        thread.join(60)
        assert answers and answers[0].ok, answers
        screen = tmux.wait_for(lambda text: "In progress · 0" in text and "Completed · 1" in text, "the completed pull")
        assert IMAGE in screen, screen
        row = next(line for line in screen.splitlines() if IMAGE in line)
        assert re.search(r"completed\s+yes\b", row), row  # a first pull: the registry sent the layer
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True, timeout=20, check=False)
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
