"""Several nodes' logs in one input: resolver and kubelet lines go only to their own node's pulls.

Two nodes pull the same image at the same moment and their lines interleave, as in
`journalctl -u containerd -u kubelet` of a journal gathered from both (journal short prefixes whose
host differs) or `journalctl -o json` (records whose _HOSTNAME differs). The lines are the messages
and fields of containerd 1.x's resolver at debug (remotes/docker/resolver.go: `resolving`,
`do request`, `trying next host`, `resolved`, none of the last two naming the image), its CRI
`PullImage` / `Pulled image` lines, and kubelet's client-go "Event occurred" line. What each node
did is the test's own setup: node-a's mirror refuses and the registry serves it, node-b asks the
registry directly; web-a runs on node-a, web-b on node-b.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from logfactory import kubelet_pulling, quote

T0 = datetime(2026, 12, 2, 5, 0, 0, tzinfo=timezone.utc)
HUB = "registry-1.docker.io"
MIRROR = "mirror.local:5000"
IMAGE = "nginx:1.25"
IMAGE_ID = "sha256:" + "a" * 64
DIGEST = "docker.io/library/nginx@sha256:" + "d" * 64


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def logrus(moment: datetime, level: str, msg: str, fields: str = "") -> str:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return f'time="{stamp}" level={level} msg={quote(msg)} {fields}'.rstrip()


def manifest_url(host: str) -> str:
    ns = "" if host == HUB else "?ns=docker.io"
    return f"https://{host}/v2/library/nginx/manifests/1.25{ns}"


def pulling(moment: datetime, pod: str) -> str:
    return kubelet_pulling(moment, pod, IMAGE)


def request(moment: datetime, host: str) -> str:
    fields = f"host={quote(host)} request.method=HEAD url={quote(manifest_url(host))}"
    return logrus(moment, "debug", "do request", fields)


def node_lines() -> list[tuple[str, str, str, datetime]]:
    """(node, unit, line, time), in the order the journal interleaves them."""
    refused = (
        f'failed to do request: Head "{manifest_url(MIRROR)}": '
        "dial tcp 10.0.0.9:5000: connect: connection refused"
    )
    mirror = f"host={quote(MIRROR)}"
    resolved = f"desc.digest={quote(DIGEST[-71:])} host={HUB}"
    pulled = (
        f"Pulled image {quote(IMAGE)} with image id {quote(IMAGE_ID)}, repo tag "
        f'{quote("docker.io/library/nginx:1.25")}, repo digest {quote(DIGEST)}, size "1000" in '
    )
    rows: list[tuple[str, str, int, str]] = [
        ("node-a", "containerd", 0, logrus(at(0), "info", f"PullImage {quote(IMAGE)}")),
        ("node-b", "containerd", 1, logrus(at(1), "info", f"PullImage {quote(IMAGE)}")),
        ("node-a", "kubelet", 2, pulling(at(2), "default/web-a")),
        ("node-b", "kubelet", 3, pulling(at(3), "default/web-b")),
        ("node-a", "containerd", 4, logrus(at(4), "debug", "resolving", f"host={quote(MIRROR)}")),
        ("node-b", "containerd", 5, logrus(at(5), "debug", "resolving", f"host={HUB}")),
        ("node-a", "containerd", 6, request(at(6), MIRROR)),
        ("node-b", "containerd", 7, request(at(7), HUB)),
        ("node-a", "containerd", 8, logrus(at(8), "info", "trying next host", f"error={quote(refused)} {mirror}")),
        ("node-a", "containerd", 9, logrus(at(9), "debug", "resolving", f"host={HUB}")),
        ("node-a", "containerd", 10, request(at(10), HUB)),
        # both nodes now wait for the same host: 1.x's `resolved` names only the host
        ("node-b", "containerd", 11, logrus(at(11), "debug", "resolved", resolved)),
        ("node-a", "containerd", 12, logrus(at(12), "debug", "resolved", resolved)),
        ("node-b", "containerd", 500, logrus(at(500), "info", pulled + "499ms")),
        ("node-a", "containerd", 900, logrus(at(900), "info", pulled + "900ms")),
    ]
    return [(node, unit, text, at(ms)) for node, unit, ms, text in rows]


def short_prefix(node: str, unit: str, moment: datetime) -> str:
    """journalctl's default (short) prefix: month, day, time, host, identifier[pid]."""
    return f"{moment:%b %d %H:%M:%S} {node} {unit}[{100 if unit == 'containerd' else 200}]: "


def report(path: Path) -> list[dict[str, Any]]:
    done = run(["report", "--format", "json", str(path)])
    assert done.returncode == 0, done.stderr
    pulls: list[dict[str, Any]] = json.loads(done.stdout)["pulls"]
    return pulls


def expect_each_node_its_own(pulls: list[dict[str, Any]]) -> None:
    by_node = {p["node"]: p for p in pulls}
    assert set(by_node) == {"node-a", "node-b"} and len(pulls) == 2
    a, b = by_node["node-a"], by_node["node-b"]
    assert [(h["host"], h["outcome"]) for h in a["hosts"]] == [(MIRROR, "failed"), (HUB, "served")]
    assert (a["served_by"], a["mirrors_skipped"]) == (HUB, [MIRROR])
    assert [(h["host"], h["outcome"]) for h in b["hosts"]] == [(HUB, "served")]
    assert (b["served_by"], b["mirrors_skipped"]) == (HUB, [])
    assert (a["namespace"], a["pod"], a["pods"]) == ("default", "web-a", ["default/web-a"])
    assert (b["namespace"], b["pod"], b["pods"]) == ("default", "web-b", ["default/web-b"])


@pytest.mark.parametrize("form", ["short", "json"])
def test_two_nodes_pulling_one_image_at_once_get_only_their_own_hosts_and_pods(tmp_path: Path, form: str) -> None:
    path = tmp_path / f"two-nodes.{form}"
    if form == "short":
        text = "".join(short_prefix(node, unit, moment) + line + "\n" for node, unit, line, moment in node_lines())
    else:
        text = "".join(
            json.dumps(
                {
                    "__REALTIME_TIMESTAMP": str(int(moment.timestamp() * 1e6)),
                    "_HOSTNAME": node,
                    "_SYSTEMD_UNIT": f"{unit}.service",
                    "SYSLOG_IDENTIFIER": unit,
                    "MESSAGE": line,
                }
            )
            + "\n"
            for node, unit, line, moment in node_lines()
        )
    path.write_text(text)
    expect_each_node_its_own(report(path))


def test_one_node_input_is_unchanged(tmp_path: Path) -> None:
    """node-a's lines alone, with and without a journal prefix: the same hosts and pod as above."""
    own = [row for row in node_lines() if row[0] == "node-a"]
    for name, text in [
        ("prefixed", "".join(short_prefix(n, u, m) + line + "\n" for n, u, line, m in own)),
        ("bare", "".join(line + "\n" for _, _, line, _ in own)),
    ]:
        path = tmp_path / f"{name}.log"
        path.write_text(text)
        (pull,) = report(path)
        assert pull["node"] == ("node-a" if name == "prefixed" else None)
        assert [(h["host"], h["outcome"]) for h in pull["hosts"]] == [(MIRROR, "failed"), (HUB, "served")]
        assert (pull["namespace"], pull["pod"]) == ("default", "web-a")
