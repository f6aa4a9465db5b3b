"""Running one of the cached real containerd builds with its own root, state, socket and config.

Each instance writes its stderr (containerd's log, logrus text as in a k3s containerd.log) to
`log`, appending. Registries are reached only through hosts.toml files under `certs.d`, one per
registry host name, so image names in the log are stable whatever ports the test uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cri import CRI

CACHE = Path(os.environ.get("REALCD_CACHE", Path(__file__).resolve().parent / ".cache"))

# version -> Debian suite it comes from (scripts/realcd-setup.sh extracts them)
SUITES = {"1.6.20": "bookworm", "1.7.24": "trixie", "2.1.9": "sid"}


def binary(version: str) -> Path:
    return CACHE / SUITES[version] / "root" / "usr" / "bin" / "containerd"


def have(version: str) -> bool:
    return binary(version).is_file()


@dataclass
class Host:
    """A registry host name as images spell it, and the http endpoint containerd must use for it."""

    name: str
    port: int


def _hosts_toml(port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    return f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'


def config_toml(version: str, base: Path, level: str, sandbox_image: str, progress_timeout: str) -> str:
    """config.toml for `version`: version 2 (1.6, 1.7) or version 3 (2.x)."""
    common = (
        f'root = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs",'
        ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",'
        ' "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]\n'
        f'[grpc]\n  address = "{base}/containerd.sock"\n'
        f'[ttrpc]\n  address = "{base}/containerd.sock.ttrpc"\n'
        f'[debug]\n  level = "{level}"\n'
    )
    if version.startswith("1."):
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        timeout = f'  image_pull_progress_timeout = "{progress_timeout}"\n' if not version.startswith("1.6") else ""
        return (
            "version = 2\n" + common
            + f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{base}/opt"\n'
            + f'[{cri}]\n  sandbox_image = "{sandbox_image}"\n  disable_apparmor = true\n'
            + '  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
            + timeout
            + f'[{cri}.containerd]\n  snapshotter = "native"\n'
            + f'[{cri}.cni]\n  bin_dir = "{base}/cni/bin"\n  conf_dir = "{base}/cni/conf"\n'
            + f'[{cri}.registry]\n  config_path = "{base}/certs.d"\n'
        )
    return (
        "version = 3\n" + common
        + f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{base}/opt"\n'
        + '[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "native"\n'
        + f'  image_pull_progress_timeout = "{progress_timeout}"\n'
        + f'[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = "{sandbox_image}"\n'
        + f'[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "{base}/certs.d"\n'
        + '[plugins."io.containerd.cri.v1.runtime"]\n  disable_apparmor = true\n'
        + '[plugins."io.containerd.cri.v1.runtime".cni]\n'
        + f'  bin_dirs = ["{base}/cni/bin"]\n  conf_dir = "{base}/cni/conf"\n'
        + '[plugins."io.containerd.grpc.v1.cri"]\n  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
        + '[plugins."io.containerd.transfer.v1.local"]\n'
        + '  [[plugins."io.containerd.transfer.v1.local".unpack_config]]\n'
        + '    platform = "linux/amd64"\n    snapshotter = "native"\n'
    )


class Containerd:
    """One containerd process; `start()` returns when its CRI answers Version."""

    def __init__(self, version: str, level: str, log: Path, hosts: list[Host], sandbox_image: str,
                 progress_timeout: str = "5s") -> None:
        self.version = version
        self.level = level
        self.log = log
        # short path: unix socket names are limited to 108 bytes
        self.base = Path(tempfile.mkdtemp(prefix="rcd-", dir="/tmp"))
        for sub in ("root", "state", "opt", "cni/bin", "cni/conf"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        for host in hosts:
            directory = self.base / "certs.d" / host.name
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "hosts.toml").write_text(_hosts_toml(host.port))
        self.config = self.base / "config.toml"
        self.config.write_text(config_toml(version, self.base, level, sandbox_image, progress_timeout))
        self.socket = self.base / "containerd.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cri: CRI | None = None

    def start(self) -> CRI:
        out = open(self.log, "ab")  # noqa: SIM115 - the process owns it
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.base)}
        self.proc = subprocess.Popen(
            [str(binary(self.version)), "--config", str(self.config)], stdout=out, stderr=out, env=env,
            cwd=self.base, start_new_session=True,
        )
        cri = CRI(self.socket)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd {self.version} exited {self.proc.returncode}: see {self.log}")
            if self.socket.exists() and cri.version(timeout=2).ok:
                self.cri = cri
                return cri
            time.sleep(0.1)
        raise RuntimeError(f"containerd {self.version} did not answer CRI Version in 30s: see {self.log}")

    def stop(self) -> None:
        if self.cri is not None:
            self.cri.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # the native snapshotter leaves plain files; nothing is mounted
        shutil.rmtree(self.base, ignore_errors=True)
