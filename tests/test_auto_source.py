"""With no source named, pullwatch picks what the node has: containerd's journal unit, else the
containerd.log of k3s/rke2, else the bundled sample with a note on how to name a log.
(The journal case runs against a real journald in test_journal.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from followhelp import InProcessFollower, candidates, expected_events
from logfactory import generate

from pullwatch.parsers import is_candidate
from pullwatch.sources import SourceError, follow
from pullwatch.sources.auto import pick_source, sample_path

pytestmark = pytest.mark.timeout(60)


def no_journal(units: object) -> SourceError:
    return SourceError("no journal found in /run/log/journal or /var/log/journal: is systemd-journald running?")


def test_k3s_log_when_the_journal_has_no_containerd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "IDLE_SECONDS", 0.2)
    rke2 = tmp_path / "rke2" / "agent" / "containerd" / "containerd.log"
    rke2.parent.mkdir(parents=True)
    lines = generate(seed=31, pulls=5, version="1.7", envelope="k3s", chatter=2).lines
    rke2.write_text("".join(line + "\n" for line in lines[:20]))
    picked = pick_source(embedded_logs=[str(tmp_path / "k3s" / "containerd.log"), str(rke2)], probe=no_journal)
    assert (picked.kind, picked.description, picked.path, picked.note) == ("file", f"file: {rke2}", str(rke2), None)

    once = list(picked.batches(False))
    assert sum(batch.total for batch in once) == 20
    follower = InProcessFollower(picked.batches(True))
    follower.wait_total(20)
    with open(rke2, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines[20:]))
    follower.wait_total(len(lines))
    time.sleep(0.2)
    follower.close()
    assert follower.events() == expected_events(lines)


def test_journal_first_then_files_then_k3s_units(tmp_path: Path) -> None:
    """containerd.service wins over a k3s file; a k3s unit only counts when no file exists."""
    log = tmp_path / "containerd.log"
    log.write_text("")
    asked: list[list[str]] = []

    def journal_with(*units: str):  # type: ignore[no-untyped-def]
        def probe(wanted: list[str]) -> SourceError | None:
            asked.append(list(wanted))
            return None if wanted[0] in units else SourceError(f"no journal entries for unit {wanted[0]}")

        return probe

    assert pick_source(embedded_logs=[str(log)], probe=journal_with("containerd.service")).kind == "journal"
    picked = pick_source(embedded_logs=[str(log)], probe=journal_with("k3s.service"))
    assert (picked.kind, picked.path) == ("file", str(log))
    asked.clear()
    picked = pick_source(embedded_logs=[str(tmp_path / "absent.log")], probe=journal_with("rke2-agent.service"))
    assert (picked.kind, picked.description, picked.units) == (
        "journal",
        "journal: rke2-agent.service",
        ("rke2-agent.service",),
    )
    assert asked == [["containerd.service"], ["k3s.service"], ["rke2-server.service"], ["rke2-agent.service"]]


def test_bundled_sample_with_a_note(tmp_path: Path) -> None:
    absent = [str(tmp_path / "k3s.log"), str(tmp_path / "rke2.log")]
    picked = pick_source(embedded_logs=absent, probe=no_journal)
    assert (picked.kind, picked.description, picked.path) == ("sample", "bundled sample log", sample_path())
    assert picked.note == (
        f"No containerd log found: looked for journal unit containerd.service, {absent[0]}, {absent[1]} "
        "(no journal found in /run/log/journal or /var/log/journal: is systemd-journald running?). "
        "Showing the bundled sample; name a log with --journal --unit NAME, --file PATH, or replay PATH."
    )
    sample = Path(sample_path()).read_text().splitlines()
    batches = list(picked.batches(False))
    assert sum(batch.total for batch in batches) == len(sample)
    assert [line for batch in batches for line in batch.lines] == candidates([s for s in sample if is_candidate(s)])
    assert len(expected_events(sample)) > 10
