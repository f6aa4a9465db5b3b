"""Live through a real journal with two units: containerd's and kubelet's lines, and the pod.

A private systemd-journald (tests/journald.py) stores containerd's lines written with
`systemd-cat -t containerd` from a cgroup named containerd.service, and kubelet's with
`systemd-cat -t kubelet` from kubelet.service, so journald records _SYSTEMD_UNIT for each.
`pullwatch events --follow --journal --unit containerd --unit kubelet` (`--unit` given twice, each
matching _SYSTEMD_UNIT) must show both units' lines as they come, and `report` after must give the
pull the pod that the test's kubelet line named. containerd's lines carry their own time (now, as
containerd writes them); kubelet's klog header has no year, so its time is journald's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from followhelp import EventStream
from journald import BACKENDS, PrivateJournald, missing_tools, unique_name
from logfactory import kubelet_pulling, quote

from pullwatch.sources.journal import BACKEND_ENV

pytestmark = pytest.mark.timeout(90)
IMAGE = "units.test/app:1"
IMAGE_ID = "sha256:" + "b" * 64


@pytest.fixture(scope="module")
def private_journald() -> Iterator[PrivateJournald]:
    if os.geteuid() != 0:
        pytest.skip("a private systemd-journald needs root (CI runs the tests as root)")
    missing = missing_tools()
    assert not missing, f"missing for a private journald: {missing} (Debian: apt-get install systemd util-linux)"
    instance = PrivateJournald()
    yield instance
    instance.stop()


def logrus(msg: str) -> str:
    """containerd 1.7's logrus text line for `msg`, stamped now."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return f'time="{stamp}" level=info msg={quote(msg)}'


def pulling(pod: str) -> str:
    """kubelet's Pulling event line, stamped now (klog writes the node's local time)."""
    return kubelet_pulling(datetime.now(), pod, IMAGE)


def pullwatch() -> str:
    command = shutil.which("pullwatch")
    assert command, "the pullwatch command is not installed (pip install -e .)"
    return command


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_units_followed_and_the_pod_attached(private_journald: PrivateJournald, backend: str) -> None:
    containerd, kubelet = unique_name("pwcd"), unique_name("pwkubelet")
    env = {**os.environ, BACKEND_ENV: backend}
    units = ["--journal", "--unit", containerd, "--unit", kubelet]
    stream = EventStream(private_journald.command([pullwatch(), "events", "--follow", *units]), env=env)
    try:
        private_journald.write("containerd", [logrus(f"PullImage {quote(IMAGE)}")], unit=f"{containerd}.service")
        private_journald.write("kubelet", [pulling("shop/cart-1")], unit=f"{kubelet}.service")
        private_journald.write(
            "containerd",
            [
                logrus(
                    f"Pulled image {quote(IMAGE)} with image id {quote(IMAGE_ID)}, repo tag {quote(IMAGE)}, "
                    f'repo digest {quote("units.test/app@sha256:" + "c" * 64)}, size "1000" in 300ms'
                ),
                logrus(f"PullImage {quote(IMAGE)} returns image reference {quote(IMAGE_ID)}"),
            ],
            unit=f"{containerd}.service",
        )
        events = stream.wait_for(4)
    finally:
        stream.stop()
    assert [e["kind"] for e in events] == ["start", "kubelet", "pulled", "result"]
    assert {e["node"] for e in events} == {socket.gethostname()}  # each entry's _HOSTNAME
    assert (events[1]["detail"]["namespace"], events[1]["detail"]["pod"]) == ("shop", "cart-1")
    done = subprocess.run(
        private_journald.command([pullwatch(), "report", "--format", "json", *units]),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (pull,) = json.loads(done.stdout)["pulls"]
    assert (pull["image"], pull["status"]) == (IMAGE, "completed")
    assert (pull["namespace"], pull["pod"], pull["pods"]) == ("shop", "cart-1", ["shop/cart-1"])
