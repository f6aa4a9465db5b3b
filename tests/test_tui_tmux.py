"""End to end: the installed `pullwatch replay` in a real terminal (tmux). The panes fill, `/` and
an image name narrow them, `q` exits with status 0 and the terminal is given back (alternate
screen off, the shell prompt and the exit status visible)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from tuihelp import SAMPLE, sample_store

from pullwatch.filtering import image_matcher
from pullwatch.records import PullStatus
from pullwatch.store import PullStore

pytestmark = pytest.mark.timeout(120)
# An image name the filter narrows the sample to: pulled more than once, and not every pull.
FILTER = "coredns"


def finished(store: PullStore, pattern: str = "") -> int:
    """How many of the sample's pulls (matching `pattern`) have ended: the Completed pane's rows."""
    matches = image_matcher(pattern)
    return sum(r.status is not PullStatus.IN_PROGRESS and matches(r.image, r.ref) for r in store.pulls)


def completed_title(store: PullStore, pattern: str = "") -> str:
    """The Completed pane's title: completed and failed counted apart, as the header counts them."""
    matches = image_matcher(pattern)
    ok = sum(r.status is PullStatus.COMPLETED and matches(r.image, r.ref) for r in store.pulls)
    failed = sum(r.status is PullStatus.FAILED and matches(r.image, r.ref) for r in store.pulls)
    return f"Completed · {ok}" + (f" · failed {failed}" if failed else "")


class Tmux:
    """A tmux server of our own (private socket), killed at the end."""

    def __init__(self) -> None:
        self.socket = f"pullwatch-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")

    def wait_for(self, ready: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if ready(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.1)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is needed (scripts/test.sh installs it)"
    server = Tmux()
    shell = "env PS1='ready$ ' TERM=xterm-256color bash --norc --noprofile"
    server("new-session", "-d", "-x", "160", "-y", "50", "-s", "t", shell)
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True, timeout=20)


def test_installed_replay_fills_panes_filters_and_quits_cleanly(tmux: Tmux) -> None:
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command must be installed"
    tmux.wait_for(lambda text: "ready$" in text, "the shell")
    tmux("send-keys", "-t", "t", "-l", f"{command} replay {SAMPLE}; echo exit=$?")
    tmux("send-keys", "-t", "t", "Enter")

    store = sample_store()  # what the headless commands know of the sample
    matched = [r for r in store.pulls if image_matcher(FILTER)(r.image, r.ref)]
    assert 1 < len(matched) < len(store.pulls)  # the sample pulls it more than once, and other images
    assert sum(image_matcher(FILTER)(image.image, image.ref) for image in store.repeated()) == 1
    ended, ended_matching = finished(store), finished(store, FILTER)

    screen = tmux.wait_for(lambda text: "replay finished" in text and completed_title(store) in text, "the replay")
    assert tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "1"
    assert f"Pulled more than once · {len(store.repeated())}" in screen
    assert "registry.k8s.io/kube-apiserver:v1.34.2" in screen and FILTER in screen

    tmux("send-keys", "-t", "t", "/")
    tmux("send-keys", "-t", "t", "-l", FILTER)
    screen = tmux.wait_for(
        lambda text: f"{completed_title(store, FILTER)} ({ended_matching} of {ended} ended)" in text, "the filter"
    )
    assert f"filter {FILTER} {len(matched)} of {len(store.pulls)} pulls" in screen
    assert "kube-apiserver" not in screen and "nginx" not in screen
    # the filter bar, the summary, a row per completed pull, a row for the image pulled more than once
    assert screen.count(FILTER) >= 2 + ended_matching + 1

    tmux("send-keys", "-t", "t", "Enter")  # back to the panes
    tmux("send-keys", "-t", "t", "q")
    screen = tmux.wait_for(lambda text: re.search(r"^exit=\d+$", text, re.MULTILINE) is not None, "the exit status")
    assert re.search(r"^exit=0$", screen, re.MULTILINE)
    assert tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "0"
    assert "Completed" not in screen  # the UI is gone: the shell has the terminal back
    assert screen.rstrip().endswith("ready$")


def test_replay_of_a_pipe_reads_keys_from_the_terminal(tmux: Tmux) -> None:
    """`cat log | pullwatch replay -`: the log comes down stdin, the keys from the terminal."""
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command must be installed"
    tmux.wait_for(lambda text: "ready$" in text, "the shell")
    tmux("send-keys", "-t", "t", "-l", f"cat {SAMPLE} | {command} replay -; echo exit=$?")
    tmux("send-keys", "-t", "t", "Enter")
    store = sample_store()
    matched = sum(image_matcher(FILTER)(r.image, r.ref) for r in store.pulls)
    screen = tmux.wait_for(lambda text: "replay finished" in text, "the replay")
    assert f"{len(store.pulls)} pulls" in screen and f"{store.stats.lines:,} lines read" in screen
    assert "replay stdin" in screen
    tmux("send-keys", "-t", "t", "/")
    tmux("send-keys", "-t", "t", "-l", FILTER)
    tmux.wait_for(lambda text: f"filter {FILTER} {matched} of {len(store.pulls)} pulls" in text, "the filter")
    tmux("send-keys", "-t", "t", "Enter")
    tmux("send-keys", "-t", "t", "q")
    screen = tmux.wait_for(lambda text: re.search(r"^exit=\d+$", text, re.MULTILINE) is not None, "the exit status")
    assert re.search(r"^exit=0$", screen, re.MULTILINE)
    assert tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "0"


def test_ctrl_c_quits_with_status_130(tmux: Tmux) -> None:
    """Ctrl-C is an interrupt: 128 + SIGINT, as a shell and `set -e` scripts expect."""
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command must be installed"
    tmux.wait_for(lambda text: "ready$" in text, "the shell")
    tmux("send-keys", "-t", "t", "-l", f"{command} replay {SAMPLE}; echo exit=$?")
    tmux("send-keys", "-t", "t", "Enter")
    tmux.wait_for(lambda text: "replay finished" in text, "the replay")
    tmux("send-keys", "-t", "t", "C-c")
    screen = tmux.wait_for(lambda text: re.search(r"^exit=\d+$", text, re.MULTILINE) is not None, "the exit status")
    assert re.search(r"^exit=130$", screen, re.MULTILINE), screen
    assert tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "0"


def test_report_on_an_80_column_terminal_gives_the_names_the_room(tmux: Tmux) -> None:
    """On a terminal the table fits its width, the other columns giving way before the names,
    and a name that still does not fit loses its registry first."""
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command must be installed"
    tmux("resize-window", "-t", "t", "-x", "80", "-y", "50")
    tmux.wait_for(lambda text: "ready$" in text, "the shell")
    tmux("send-keys", "-t", "t", "-l", f"clear; {command} report {SAMPLE}")
    tmux("send-keys", "-t", "t", "Enter")
    screen = tmux.wait_for(lambda text: "lines read" in text, "the report")
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…/kube-apiserver:v1.34.2" in screen  # the registry went, the name stayed
    assert "nginx:1.25 " in screen  # short names whole
