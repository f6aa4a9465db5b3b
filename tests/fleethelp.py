"""Two nodes' pulls for the many-nodes tests: node-a's plan (repeats, failures, sandbox pulls)
and node-b's, which starts the same images at the same moments but ends each pull sooner and
fetches half as much, so that a line of one node ending the other's pull shows in the numbers."""

from __future__ import annotations

from dataclasses import replace

from logfactory import Line, Pull, expected, generate, pull_lines

NODES = ("node-a", "node-b")


class NodeLog:
    """One node's pulls: its log lines (containerd 1.7, in time order) and the known answers."""

    def __init__(self, pulls: list[Pull], version: str = "1.7") -> None:
        self.pulls = pulls
        timed = [(line.time, i, j, line) for i, p in enumerate(pulls) for j, line in enumerate(pull_lines(p, version))]
        self.lines: list[Line] = [line for *_, line in sorted(timed, key=lambda item: item[:3])]
        # a reader knows when a pull started unless it is a failed sandbox pull (no start line)
        starts = [(p.end if p.sandbox and p.outcome != "completed" else p.start, i) for i, p in enumerate(pulls)]
        self.expected = [expected(pulls[i], version) for _, i in sorted(starts)]


def fleet(version: str = "1.7") -> dict[str, NodeLog]:
    """node-a's pulls (with repeats, failures, sandbox pulls), and node-b's: the same images
    started at the same moments, ending sooner and fetching half as much."""
    base = generate(seed=61, pulls=24, version=version, envelope="text", chatter=0).pulls
    faster = [replace(p, seconds=round(p.seconds * 0.5, 3), bytes_read=p.bytes_read // 2) for p in base]
    return {"node-a": NodeLog(base, version), "node-b": NodeLog(faster, version)}
