"""Several nodes' journals merged the way a fleet collects them: one real, private journald per
node (its own mount and UTS namespace, so it stamps _HOSTNAME with that node's name), exported
with `journalctl -o export` and written by Debian's systemd-journal-remote into one directory,
one file per host (remote-HOST.journal, as its --split-mode=host names them)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from journald import JOURNALD, end_process, private_mounts_script

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def missing_tools() -> list[str]:
    missing = []
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        missing.append(f"{JOURNAL_REMOTE} (apt-get install systemd-journal-remote)")
    if not os.access(JOURNALD, os.X_OK):
        missing.append(JOURNALD)
    if os.geteuid() != 0:
        missing.append("root (to unshare mount and UTS namespaces)")
    return missing


class NodeJournald:
    """A private journald that believes it runs on `hostname`."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        script = f"hostname {hostname}; {private_mounts_script()}; exec {JOURNALD}"
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        root = Path(f"/proc/{self.process.pid}/root")
        deadline = time.monotonic() + 10
        while not (root / "run/systemd/journal/stdout").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"systemd-journald for {hostname} did not start")
            time.sleep(0.02)

    def command(self, args: Sequence[str]) -> list[str]:
        return ["nsenter", f"--mount=/proc/{self.process.pid}/ns/mnt", "--", *args]

    def write(self, identifier: str, lines: Iterable[str]) -> None:
        """Log `lines` as `identifier` and wait until journald has stored them all."""
        text = "".join(line + "\n" for line in lines).encode()
        want = text.count(b"\n") + len(self.export(identifier).split(b"\n\n")) - 1
        subprocess.run(self.command(["systemd-cat", "-t", identifier]), input=text, check=True)
        deadline = time.monotonic() + 10
        while len(self.export(identifier).split(b"\n\n")) - 1 < want:
            if time.monotonic() > deadline:
                raise TimeoutError(f"journald on {self.hostname} did not store {want} entries")
            time.sleep(0.05)

    def export(self, identifier: str) -> bytes:
        """Its entries for `identifier` in the journal export format (what journal-upload sends)."""
        done = subprocess.run(
            self.command(["journalctl", "-o", "export", "-a", f"SYSLOG_IDENTIFIER={identifier}"]),
            capture_output=True,
            check=True,
        )
        return done.stdout

    def stop(self) -> None:
        end_process(self.process)


def merge(nodes: Iterable[NodeJournald], identifier: str, directory: Path) -> list[Path]:
    """systemd-journal-remote writes each node's entries into `directory`/remote-HOST.journal."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for node in nodes:
        output = directory / f"remote-{node.hostname}.journal"
        done = subprocess.run(
            [JOURNAL_REMOTE, f"--output={output}", "-"], input=node.export(identifier), capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        written.append(output)
    return written
