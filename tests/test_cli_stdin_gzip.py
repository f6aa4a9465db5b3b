"""A gzip stream on stdin is decompressed like a .gz file (gzip -c x.log | pullwatch report -)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from logfactory import generate, write_log


@pytest.mark.parametrize("pulls", [5, 2000])  # the second is big enough to be scanned in a child process
def test_gzip_on_stdin_equals_the_plain_file(tmp_path: Path, pulls: int) -> None:
    log = tmp_path / "containerd.log"
    write_log(str(log), generate(seed=3, pulls=pulls, version="1.7", chatter=30 if pulls > 5 else 2))
    command = [shutil.which("pullwatch") or "pullwatch", "report", "--format", "json"]
    plain = subprocess.run([*command, str(log)], capture_output=True, check=True)
    packed = subprocess.run([*command, "-"], input=gzip.compress(log.read_bytes()), capture_output=True, check=True)
    assert packed.stderr == b""
    assert json.loads(packed.stdout) == json.loads(plain.stdout)
    assert len(json.loads(plain.stdout)["pulls"]) == pulls
