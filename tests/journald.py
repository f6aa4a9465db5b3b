"""A private, real systemd-journald for tests, and the commands that talk to it.

journald is started in its own mount namespace (`unshare --mount`) with empty tmpfs over
/run/systemd, /run/log and /var/log/journal, so it cannot disturb (or be disturbed by) a journald
the machine already runs, and everything it writes vanishes with it. Commands reach it by entering
that namespace with `nsenter`; the test process itself reads its journal files through
/proc/<pid>/root. Needs root (or CAP_SYS_ADMIN), util-linux and the systemd package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

JOURNALD = "/lib/systemd/systemd-journald"
# tmpfs over these inside the namespace: sockets (/run/systemd/journal), the runtime journal
# (/run/log/journal) and the persistent one (/var/log/journal, only if the machine has it).
PRIVATE_DIRS = ("/run/systemd", "/run/log", "/var/log/journal")


def missing_tools() -> list[str]:
    """What this machine lacks to run a private journald (empty when it can)."""
    missing = [tool for tool in ("unshare", "nsenter", "systemd-cat", "journalctl") if shutil.which(tool) is None]
    if not os.access(JOURNALD, os.X_OK):
        missing.append(JOURNALD)
    if os.geteuid() != 0:
        missing.append("root (to unshare a mount namespace)")
    return missing


def private_mounts_script(dirs: Iterable[str] = PRIVATE_DIRS) -> str:
    """Shell commands that put an empty tmpfs over each directory (creating /run/log if absent)."""
    steps = ["set -e"]
    for directory in dirs:
        if directory == "/var/log/journal" and not os.path.isdir(directory):
            continue
        steps.append(f"mkdir -p {directory}")
        steps.append(f"mount -t tmpfs -o mode=0755 pullwatch-test {directory}")
    return "; ".join(steps)


def in_private_namespace(script: str) -> list[str]:
    """A command running `script` in a new mount namespace with empty journal directories."""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", f"{private_mounts_script()}; {script}"]


class PrivateJournald:
    """A running journald in its own mount namespace; `command()` wraps a command to run beside it."""

    def __init__(self) -> None:
        if not Path("/etc/machine-id").is_file() or not Path("/etc/machine-id").read_text().strip():
            subprocess.run(["systemd-machine-id-setup"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            in_private_namespace(f"exec {JOURNALD}"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.root = Path(f"/proc/{self.process.pid}/root")
        deadline = time.monotonic() + 10
        while not self._serving():
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.stop()
                raise RuntimeError(f"systemd-journald did not start: {error.strip()}")
            time.sleep(0.02)

    def _serving(self) -> bool:
        """The private journald is up: the process is journald itself (so `unshare` has made the
        namespace and the tmpfs mounts, then exec'd it), in a mount namespace other than ours, and
        its stream socket exists on that namespace's fresh tmpfs. Looking for the socket alone
        would find the host's, on a machine that runs journald, before the private mounts exist."""
        pid = self.process.pid
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            namespaced = os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
        except OSError:
            return False
        if not namespaced or os.path.realpath(exe) != os.path.realpath(JOURNALD):
            return False
        return (self.root / "run/systemd/journal/stdout").exists()

    @property
    def journal_dir(self) -> Path:
        """The runtime journal directory, as seen from outside the namespace."""
        return self.root / "run/log/journal"

    def command(self, args: Sequence[str]) -> list[str]:
        """`args` to run inside journald's mount namespace."""
        return ["nsenter", f"--mount=/proc/{self.process.pid}/ns/mnt", "--", *args]

    def write(self, identifier: str, lines: Iterable[str | bytes], unit: str | None = None) -> None:
        """Log `lines` through systemd-cat, as a service's stdout; with `unit`, from inside a cgroup
        named like that unit's, so that journald records _SYSTEMD_UNIT=unit."""
        text = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
        if unit is None:
            subprocess.run(self.command(["systemd-cat", "-t", identifier]), input=text, check=True)
            return
        # journald looks up the unit when it reads the stream, from /proc/<pid>/cgroup: the
        # writer must still be alive then, so its stdin stays open until the entries are stored.
        before = self.entries(identifier)
        cgroup = unit_cgroup(unit)
        try:
            writer = subprocess.Popen(
                self.command(["systemd-cat", "-t", identifier]),
                stdin=subprocess.PIPE,
                preexec_fn=lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())),
            )
            assert writer.stdin is not None
            writer.stdin.write(text)
            writer.stdin.flush()
            try:
                self.wait_for(identifier, before + text.count(b"\n"))
            finally:
                writer.stdin.close()
                writer.wait(10)
        finally:
            remove_cgroup(cgroup)

    def entries(self, identifier: str) -> int:
        """How many entries journald has stored for `identifier` (read with journalctl)."""
        result = subprocess.run(
            self.command(["journalctl", "--no-pager", "-o", "cat", "-a", f"SYSLOG_IDENTIFIER={identifier}"]),
            capture_output=True,
            check=False,
        )
        return len(result.stdout.splitlines())

    def wait_for(self, identifier: str, count: int, timeout: float = 10) -> None:
        """Block until journald has stored `count` entries for `identifier` (systemd-cat returns
        before journald has read the whole stream)."""
        deadline = time.monotonic() + timeout
        while self.entries(identifier) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"journald stored {self.entries(identifier)} of {count} entries for {identifier}")
            time.sleep(0.02)

    def stop(self) -> None:
        end_process(self.process)


def end_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a journald the tests started (kill it after 10 s) and close its stderr."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


def have_systemd_python() -> bool:
    """systemd-python (the journal extra) is installed: the in-process backend can be tested."""
    import importlib.util

    try:
        return importlib.util.find_spec("systemd.journal") is not None
    except ImportError:
        return False


needs_systemd_python = pytest.mark.skipif(
    not have_systemd_python(), reason="systemd-python is not installed (pip install '.[journal]')"
)
BACKENDS = (pytest.param("systemd", marks=needs_systemd_python), "journalctl")


def unique_name(prefix: str = "pwtest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---- cgroups: journald names a unit after the cgroup of the process that logs -------------------


def systemd_cgroup_root() -> Path:
    """The hierarchy journald reads a process's unit from (as systemd decides it: the unified
    hierarchy when there is one, else the legacy name=systemd one)."""
    mounts = {}
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            before, after = line.split(" - ", 1)
            fstype, _, options = after.split()[:3]
            mounts[before.split()[4]] = (fstype, options)
    for point in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if mounts.get(point, ("",))[0] == "cgroup2":
            return Path(point)
    if "name=systemd" in mounts.get("/sys/fs/cgroup/systemd", ("", ""))[1]:
        return Path("/sys/fs/cgroup/systemd")
    raise RuntimeError("no cgroup hierarchy for systemd found under /sys/fs/cgroup")


def unit_cgroup(unit: str) -> Path:
    path = systemd_cgroup_root() / "system.slice" / unit
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_cgroup(path: Path) -> None:
    """Remove the unit's cgroup, then system.slice if nothing else uses it (rmdir of a cgroup in
    use fails, which is what we want)."""
    for directory in (path, path.parent):
        deadline = time.monotonic() + 2
        while True:
            try:
                directory.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if directory != path or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # the last process of the cgroup is still exiting
