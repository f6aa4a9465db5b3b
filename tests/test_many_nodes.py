"""Many nodes' logs in one reading: every pull gets its node (journald _HOSTNAME, the host field
of journal short lines, or --node-file NODE=PATH), lines of one node never end another node's
pull, and report, count and events group, filter and count per node. Both nodes start the same
images at the same moments, but node-b's pulls end sooner and fetch less, so a line of one
node ending the other's pull would show in the numbers."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clihelp import run
from fleethelp import NODES, NodeLog, fleet
from journalremote import NodeJournald, merge, missing_tools
from logfactory import render
from metricshelp import parse

pytestmark = pytest.mark.timeout(180)
COMPARED = ("image", "ref", "status", "size_bytes", "bytes_read")


def comparable(pull: dict[str, Any]) -> dict[str, Any]:
    got = {key: pull[key] for key in COMPARED}
    seconds = pull["duration_seconds"]
    got["duration_seconds"] = None if seconds is None else round(seconds, 3)
    return got


def check_per_node(report: dict[str, Any], logs: dict[str, NodeLog]) -> None:
    """Each node has exactly the pulls its log was made to have; images and repeats per node."""
    for node, log in logs.items():
        pulls = [p for p in report["pulls"] if p["node"] == node]
        assert [comparable(p) for p in pulls] == log.expected, node
        images = [i for i in report["images"] if i["node"] == node]
        pulls_of = {ref: [p for p in log.expected if p["ref"] == ref] for ref in {p["ref"] for p in log.expected}}
        assert sorted((i["ref"], i["pulls"]) for i in images) == sorted((r, len(p)) for r, p in pulls_of.items())
        cached = sum(sum(1 for p in pulls[1:] if p["bytes_read"] == 0) for pulls in pulls_of.values())
        assert sum(i["cached_repeats"] for i in images) == cached
    assert {p["node"] for p in report["pulls"]} == set(logs)


def count_per_node(args: list[str], image: str) -> dict[str, int]:
    done = run(["count", image, *args, "--per-node"])
    assert done.returncode == 0, done.stderr
    return {node: int(number) for node, number in (line.split("\t") for line in done.stdout.splitlines())}


@pytest.fixture(scope="module")
def merged_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two nodes' real journals, merged by systemd-journal-remote into one directory."""
    if os.geteuid() != 0:
        pytest.skip("private journalds need root (CI runs the tests as root)")
    missing = missing_tools()
    assert not missing, f"missing: {missing}"
    nodes = [NodeJournald(name) for name in NODES]
    logs = fleet()
    try:
        # alternate chunks, so that in the merged journal (ordered by entry time) the nodes' lines
        # interleave while pulls are open on both
        texts = {node.hostname: [render(line, "text") for line in logs[node.hostname].lines] for node in nodes}
        for start in range(0, max(map(len, texts.values())), 8):
            for node in nodes:
                if texts[node.hostname][start : start + 8]:
                    node.write("containerd", texts[node.hostname][start : start + 8])
        directory = tmp_path_factory.mktemp("remote")
        assert len(merge(nodes, "containerd", directory)) == 2
    finally:
        for node in nodes:
            node.stop()
    yield directory


@pytest.mark.parametrize("backend", ["systemd", "journalctl"])
def test_a_journal_merged_by_systemd_journal_remote(
    merged_journal: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULLWATCH_JOURNAL_BACKEND", backend)
    source = ["--directory", str(merged_journal), "--identifier", "containerd"]
    done = run(["report", "--format", "json", *source])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    logs = fleet()
    check_per_node(report, logs)
    nginx = sum(1 for p in logs["node-a"].expected if p["ref"] == "docker.io/library/nginx:1.25")
    assert count_per_node(source, "nginx:1.25") == {node: nginx for node in NODES}
    only_b = json.loads(run(["report", "--format", "json", *source, "--node", "node-b"]).stdout)
    assert [comparable(p) for p in only_b["pulls"]] == logs["node-b"].expected
    events = run(["events", *source, "--node", "node-a"]).stdout.splitlines()
    assert events and {json.loads(line)["node"] for line in events} == {"node-a"}
    assert run(["count", "nginx:1.25", *source, "--node", "node-a", "--expect", str(nginx)]).returncode == 0


def test_journal_short_lines_of_several_hosts(tmp_path: Path) -> None:
    """A syslog-style file that mixes hosts: the host field of each line names its node."""
    logs = fleet()
    timed = [(line.time, host, order, line) for host, log in logs.items() for order, line in enumerate(log.lines)]
    timed.sort(key=lambda item: item[:3])
    path = tmp_path / "fleet.log"
    path.write_text("".join(render(line, "journal-short", host=host) + "\n" for _, host, _, line in timed))
    report = json.loads(run(["report", "--format", "json", str(path)]).stdout)
    check_per_node(report, logs)
    assert table_header(run(["report", str(path)]).stdout)[:2] == ["#", "node"]  # a node column: two nodes
    one = tmp_path / "one.log"
    one_node = [render(line, "journal-short", host=host) for _, host, _, line in timed if host == "node-a"]
    one.write_text("".join(line + "\n" for line in one_node))
    assert "node" not in table_header(run(["report", str(one)]).stdout)  # one node: no column


def table_header(table: str) -> list[str]:
    """The column names of the pulls table of the plain-text report: its first row that starts
    with "#", cells separated by two spaces or more."""
    header = next(line.strip() for line in table.splitlines() if line.strip().startswith("#"))
    return re.split(r"\s{2,}", header)


def test_node_files_name_the_node_of_logs_that_do_not(tmp_path: Path) -> None:
    """k3s containerd.log lines name no host: --node-file says whose each file is. Without it the
    two files read as one unknown node, and every pull of the second looks like a repeat."""
    logs = fleet("2.0")
    paths = []
    for node, log in logs.items():
        path = tmp_path / f"{node}.log"
        path.write_text("".join(render(line, "k3s") + "\n" for line in log.lines))
        paths.append(path)
    named = [f"--node-file={node}={path}" for node, path in zip(NODES, paths, strict=True)]
    report = json.loads(run(["report", "--format", "json", *named]).stdout)
    check_per_node(report, logs)
    busybox = sum(p["image"] == "busybox" for p in logs["node-a"].expected)
    assert busybox and count_per_node(named, "busybox") == {node: busybox for node in NODES}
    out = tmp_path / "m.prom"
    assert run(["metrics", *named, "--node-labels", "--textfile", str(out)]).returncode == 0
    nodes = {dict(labels).get("node") for name, labels in parse(out.read_text()) if name == "pullwatch_pulls_total"}
    assert nodes == set(NODES)
    unnamed = json.loads(run(["report", "--format", "json", *map(str, paths)]).stdout)
    assert {p["node"] for p in unnamed["pulls"]} == {None}
    assert sum(i["pulls"] for i in unnamed["images"]) == 2 * len(logs["node-a"].expected)
    assert len(unnamed["images"]) == len({p["ref"] for p in logs["node-a"].expected})  # one node's, twice


def test_a_bad_node_file_is_a_one_line_error(tmp_path: Path) -> None:
    done = run(["report", "--node-file", "no-equals-sign"])
    assert done.returncode == 2 and "NODE=PATH" in done.stderr and "Traceback" not in done.stderr
    done = run(["report", "--node-file", f"a={tmp_path / 'missing.log'}"])
    assert done.returncode == 2 and "missing.log" in done.stderr and len(done.stderr.splitlines()) == 1


def test_metrics_with_node_labels(tmp_path: Path) -> None:
    """One agent reading several nodes' log: --node-labels counts each node's pulls apart, and a
    repeat is a repeat on its own node."""
    logs = fleet()
    timed = [(line.time, host, order, line) for host, log in logs.items() for order, line in enumerate(log.lines)]
    timed.sort(key=lambda item: item[:3])
    path = tmp_path / "fleet.log"
    path.write_text("".join(render(line, "journal-short", host=host) + "\n" for _, host, _, line in timed))
    out = tmp_path / "fleet.prom"
    done = run(["metrics", str(path), "--node-labels", "--textfile", str(out)])
    assert done.returncode == 0, done.stderr
    samples = parse(out.read_text())

    def by_node(name: str, **labels: str) -> dict[str, float]:
        totals: dict[str, float] = {}
        for (sample, found), value in samples.items():
            found_labels = dict(found)
            if sample == name and labels.items() <= found_labels.items():
                totals[found_labels["node"]] = totals.get(found_labels["node"], 0) + value
        return totals

    for node, log in logs.items():
        ended: list[dict[str, Any]] = [p for p in log.expected if p["status"] != "in_progress"]
        assert by_node("pullwatch_pulls_total")[node] == len(ended)
        assert by_node("pullwatch_downloaded_bytes_total")[node] == sum(p["bytes_read"] or 0 for p in ended)
        refs = [p["ref"] for p in ended]
        assert by_node("pullwatch_repeat_pulls_total")[node] == len(refs) - len(set(refs))
        cached = sum(1 for i, p in enumerate(ended) if p["ref"] in refs[:i] and p["bytes_read"] == 0)
        assert by_node("pullwatch_repeat_pulls_total", downloaded="false")[node] == cached
        assert by_node("pullwatch_pulls_in_progress")[node] == 0
