"""The private-journald harness itself (tests/journald.py) on a machine that already runs journald:
it must wait for its own journald, not take the host's socket for it (issue 10, item 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from journald import missing_tools

pytestmark = pytest.mark.timeout(120)
TESTS = Path(__file__).resolve().parent

# Run in a mount namespace of its own where /run/systemd is a tmpfs holding a "host journald":
# a socket at /run/systemd/journal/stdout that nothing serves. The harness starts its journald,
# logs through it and reads the entries back.
SCRIPT = textwrap.dedent(
    """
    import socket, sys
    sys.path.insert(0, sys.argv[1])
    from journald import PrivateJournald, unique_name
    import os
    os.makedirs("/run/systemd/journal", exist_ok=True)
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host.bind("/run/systemd/journal/stdout")
    host.listen(16)  # the host's journald, busy elsewhere: connections queue, nothing is stored
    for attempt in range(int(sys.argv[2])):
        journald = PrivateJournald()
        try:
            name = unique_name()
            journald.write(name, [f"line {n}" for n in range(5)])
            journald.wait_for(name, 5, timeout=5)
        finally:
            journald.stop()
    print("ok")
    """
)


def test_the_private_journald_is_waited_for_even_when_the_host_has_a_journal_socket() -> None:
    if os.geteuid() != 0:
        pytest.skip("a private systemd-journald needs root (CI runs the tests as root)")
    missing = missing_tools()
    assert not missing, f"missing for a private journald: {missing}"
    outer = 'set -e; mkdir -p /run/systemd; mount -t tmpfs -o mode=0755 pullwatch-host /run/systemd; exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            outer,
            "sh",
            sys.executable,
            "-c",
            SCRIPT,
            str(TESTS),
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
