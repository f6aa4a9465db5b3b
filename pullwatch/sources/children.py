"""The child processes sources start (the scanning child, journalctl), so that a command ending on
a signal or an error ends them too: a child blocked on a quiet pipe or journal would otherwise
outlive pullwatch until it next writes (seconds, or forever for `journalctl -f`)."""

from __future__ import annotations

import subprocess
import weakref

_CHILDREN: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()


def track(child: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    _CHILDREN.add(child)
    return child


def end_children(grace: float = 1.0) -> None:
    """Terminate every tracked child still running; kill one that outlasts `grace` seconds."""
    running = [child for child in list(_CHILDREN) if child.poll() is None]
    for child in running:
        child.terminate()
    for child in running:
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
