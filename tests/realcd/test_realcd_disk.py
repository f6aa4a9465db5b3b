"""Live: a real containerd pull that fails for lack of space, classified `disk`.

containerd's root (its content store and metadata) is a 2 MiB tmpfs, and the registry has an image
whose one layer is 8 MiB: the layer's download cannot be written. What containerd answered over CRI
is the expectation (`… failed to copy: write …/ingest/…/data: no space left on device` on 1.6.20,
1.7.24 and 2.1.9, with `rpc error: code = Unknown` in 2.1.9's log line); pullwatch's report of the
log must say the pull failed with failure `disk` and that very error. Needs root (to mount).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import VERSIONS, pullwatch
from containerd import Containerd, Host
from registry import Registry

pytestmark = [pytest.mark.realcd, pytest.mark.timeout(120)]

IMAGE = "disk.test/big:1"
LAYER = 8 * 1024 * 1024
ROOT_SIZE = "2m"


@pytest.mark.parametrize("version", VERSIONS)
def test_pull_onto_a_full_disk_is_a_disk_failure(tmp_path: Path, version: str) -> None:
    registry = Registry(tmp_path / "registry")
    registry.start()
    log = tmp_path / "containerd.log"
    try:
        registry.push_image("big", "1", LAYER, b"disk" + version.encode())
        containerd = Containerd(version, "info", log, [Host("disk.test", registry.port)], "registry.k8s.io/pause:3.9")
        root = containerd.base / "root"
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={ROOT_SIZE}", "pullwatch-disk", str(root)], check=True)
        try:
            cri = containerd.start()
            answer = cri.pull(IMAGE, timeout=60)
        finally:
            containerd.stop()  # ends containerd (its rmtree leaves the mount point)
            subprocess.run(["umount", str(root)], check=True)
            shutil.rmtree(containerd.base, ignore_errors=True)
    finally:
        registry.stop()
    assert not answer.ok and answer.details is not None
    assert "no space left on device" in answer.details, answer.details
    done = pullwatch("report", "--format", "json", str(log))
    assert done.returncode == 0, done.stderr
    (pull,) = [p for p in json.loads(done.stdout)["pulls"] if p["image"] == IMAGE]
    assert (pull["status"], pull["failure"]) == ("failed", "disk")
    assert answer.details in pull["error"]
