"""Debian's docker-registry on 127.0.0.1 with filesystem storage, and pushing small OCI images to it.

The registry is started here, with a private config, never through its packaged service. Images
are pushed over the registry HTTP API (blob upload, then the manifest) with urllib: one layer of
random bytes, so every image is distinct content and a pull of it really downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pushed:
    """One image as pushed: its repository, tag, manifest digest and layer."""

    repo: str
    tag: str
    digest: str
    layer_digest: str
    layer_size: int
    config_digest: str
    size: int  # manifest + config + layer, what a full download fetches


class Registry:
    """A running docker-registry process (start/stop) and its HTTP API."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("docker-registry")
        if binary is None:
            raise RuntimeError("docker-registry is not installed: run scripts/realcd-setup.sh")
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        log = open(self.workdir / "registry.log", "ab")  # noqa: SIM115 - the process owns it
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log, env={**os.environ})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/v2/", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None:
                    text = (self.workdir / "registry.log").read_text()
                    raise RuntimeError(f"docker-registry exited: {text}") from None
                time.sleep(0.1)
        raise RuntimeError("docker-registry did not answer on /v2/ in 20s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _request(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        return urllib.request.urlopen(request, timeout=30)

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        with self._request("POST", f"{self.url}/v2/{repo}/blobs/uploads/") as answer:
            location = answer.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        with self._request("PUT", f"{location}{separator}digest={digest}", data, headers) as answer:
            assert answer.status == 201, answer.status
        return digest

    def push_image(self, repo: str, tag: str, layer_bytes: int, seed: bytes | None = None) -> Pushed:
        """An image with one layer holding `layer_bytes` random bytes (incompressible)."""
        payload = os.urandom(layer_bytes) if seed is None else _seeded(seed, layer_bytes)
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo("data.bin")
            info.size = len(payload)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(payload))
        uncompressed = tar.getvalue()
        layer = gzip.compress(uncompressed, mtime=0)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/data.bin"]},
                "rootfs": {"type": "layers", "diff_ids": [sha256(uncompressed)]},
            },
            sort_keys=True,
        ).encode()
        layer_digest = self.push_blob(repo, layer)
        config_digest = self.push_blob(repo, config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
            },
            sort_keys=True,
        ).encode()
        headers = {"Content-Type": OCI_MANIFEST}
        with self._request("PUT", f"{self.url}/v2/{repo}/manifests/{tag}", manifest, headers) as answer:
            assert answer.status == 201, answer.status
        return Pushed(repo, tag, sha256(manifest), layer_digest, len(layer), config_digest,
                      len(manifest) + len(config) + len(layer))

    def delete_blob(self, repo: str, digest: str) -> None:
        with self._request("DELETE", f"{self.url}/v2/{repo}/blobs/{digest}") as answer:
            assert answer.status == 202, answer.status


def _seeded(seed: bytes, size: int) -> bytes:
    """Deterministic bytes that do not compress (for recordings that should be reproducible)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def blob_gets(registry: Registry, digest: str) -> int:
    """How many GETs of blob `digest` the registry has answered 200 (its access log, any repository).

    This is the ground truth of "was it downloaded": the registry began sending the blob.
    """
    log = registry.workdir / "registry.log"
    if not log.exists():
        return 0
    pattern = re.compile(rf'"GET /v2/\S+/blobs/{re.escape(digest)}(\?\S*)? HTTP/1\.1" 200 ')
    return sum(1 for line in log.read_text(errors="replace").splitlines() if pattern.search(line))


def bytes_sent(registry: Registry, repo: str) -> int:
    """Body bytes the registry has sent for GETs of `repo`'s manifests and blobs (its access log)."""
    log = registry.workdir / "registry.log"
    if not log.exists():
        return 0
    pattern = re.compile(rf'"GET /v2/{re.escape(repo)}/(?:manifests|blobs)/\S+ HTTP/1\.1" 20[06] (\d+) ')
    return sum(int(m.group(1)) for line in log.read_text(errors="replace").splitlines() if (m := pattern.search(line)))
