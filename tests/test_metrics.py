"""`pullwatch metrics`: the numbers it serves are report's on the same input, unknown values are
never zeros, labels stay bounded, and it follows a live file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clihelp import assert_usage_error, run
from logfactory import Pull, generate, pull_lines, render, write_log
from metricshelp import MetricsServer, expected_samples, key, parse, pull_samples, sums_of

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_NAMES = sorted(json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8")))


def textfile_samples(tmp_path: Path, *args: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = tmp_path / "pullwatch.prom"
    done = run(["metrics", *args, "--textfile", str(out)])
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["pullwatch.prom"]  # no temporary file left behind
    return parse(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_textfile_agrees_with_report_on_each_example(tmp_path: Path, name: str) -> None:
    path = str(EXAMPLES / name)
    report = json.loads(run(["report", "--format", "json", path]).stdout)
    samples = textfile_samples(tmp_path, path)
    exact, sums = expected_samples(report["pulls"])
    assert pull_samples(samples) == exact
    assert sums_of(samples) == pytest.approx(sums)
    assert samples[key("pullwatch_log_lines_read_total")] == report["stats"]["lines"]
    assert samples[key("pullwatch_unparsed_lines_total")] == report["stats"]["unparsed_lines"]
    # Repeats served from the store, image by image: report's count where it knows it; where it
    # does not (null: some repeat's download is unknown), at least one repeat counted as unknown.
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    by_image = textfile_samples(labelled, path, "--image-labels")
    known = 0
    for image in report["images"]:
        repeats = {
            dict(k[1])["downloaded"]: v
            for k, v in by_image.items()
            if k[0] == "pullwatch_repeat_pulls_total" and ("image", image["ref"]) in k[1]
        }
        if image["cached_repeats"] is None:
            assert repeats["unknown"] > 0, image
        else:
            assert repeats["false"] == image["cached_repeats"], image
            known += image["cached_repeats"]
    assert samples.get(key("pullwatch_repeat_pulls_total", downloaded="false"), 0) >= known


def test_served_metrics_are_the_generated_logs_known_answers(tmp_path: Path) -> None:
    """Against what the log was made to say (not what report prints): 60 pulls of containerd 1.7."""
    log = generate(seed=7, pulls=60, version="1.7", envelope="journal-short")
    path = tmp_path / "node.log"
    write_log(str(path), log)
    server = MetricsServer([str(path)])
    try:
        text = server.scrape()
    finally:
        status, err = server.stop()
    samples = parse(text)
    exact, sums = expected_samples(log.expected)
    assert pull_samples(samples) == exact
    assert sums_of(samples) == pytest.approx(sums, abs=0.01)  # the known answers are rounded to ms
    assert samples[key("pullwatch_log_lines_read_total")] == len(log.lines)
    assert parse(text, "process_resident_memory_bytes")  # the agent's own memory, for its limits
    assert status == 128 + 15, err
    assert "Traceback" not in err


def test_unknown_sizes_and_bytes_are_counted_not_added_as_zero(tmp_path: Path) -> None:
    """containerd 1.5 logs no size and no bytes read: no byte counter at all, every pull unknown."""
    log = generate(seed=3, pulls=20, version="1.5", envelope="journal-short")
    path = tmp_path / "old.log"
    write_log(str(path), log)
    out = tmp_path / "out"
    out.mkdir()
    samples = textfile_samples(out, str(path))
    names = {k[0] for k in samples}
    assert "pullwatch_pulled_bytes_total" not in names
    assert "pullwatch_downloaded_bytes_total" not in names
    completed = sum(1 for p in log.expected if p["status"] == "completed")
    ended = sum(1 for p in log.expected if p["status"] != "in_progress")
    assert sum(v for k, v in samples.items() if k[0] == "pullwatch_pulls_size_unknown_total") == completed
    assert sum(v for k, v in samples.items() if k[0] == "pullwatch_pulls_downloaded_unknown_total") == ended
    repeats = {dict(k[1])["downloaded"]: v for k, v in samples.items() if k[0] == "pullwatch_repeat_pulls_total"}
    assert repeats["true"] == repeats["false"] == 0 < repeats["unknown"]


def test_image_labels_are_capped(tmp_path: Path) -> None:
    path = str(EXAMPLES / "containerd-1.7-journal.log")
    report = json.loads(run(["report", "--format", "json", path]).stdout)
    first_seen: list[str] = []
    for pull in run_events_refs(path, {p["ref"] for p in report["pulls"]}):
        if pull not in first_seen:
            first_seen.append(pull)
    samples = textfile_samples(tmp_path, path, "--image-labels", "--max-images", "3")
    images = {dict(k[1])["image"] for k in samples if k[0] == "pullwatch_pulls_total"}
    assert images <= {*first_seen[:3], "other"} and "other" in images
    total = sum(v for k, v in samples.items() if k[0] == "pullwatch_pulls_total")
    assert total == sum(1 for p in report["pulls"] if p["status"] != "in_progress")
    for ref in first_seen[:3]:
        ended = sum(1 for p in report["pulls"] if p["ref"] == ref and p["status"] != "in_progress")
        assert sum(v for k, v in samples.items() if k[0] == "pullwatch_pulls_total" and ("image", ref) in k[1]) == ended


def run_events_refs(path: str, pulled: set[str]) -> list[str]:
    """The refs of `pulled` in the order their first line appears in the log (what "first seen"
    means). Not every event names a pulled image: host and kubelet lines name none, and image
    events also name image ids (sha256:…) and digests."""
    done = run(["events", path])
    refs = (json.loads(line)["ref"] for line in done.stdout.splitlines())
    return [ref for ref in refs if ref in pulled]


def test_follows_a_growing_file(tmp_path: Path) -> None:
    """A pull that starts shows as in progress with an age; its end lines move it to completed,
    and the bytes-read line that comes just before its end is counted once."""
    from datetime import datetime, timezone

    start = datetime.now(timezone.utc).replace(microsecond=0)
    pull = Pull(image="nginx:1.25", start=start, seconds=3.5, size=70_000_000, bytes_read=1234)
    lines = [render(line, "k3s") for line in pull_lines(pull, "1.7")]
    path = tmp_path / "containerd.log"
    path.write_text(lines[0] + "\n", encoding="utf-8")
    server = MetricsServer(["--file", str(path)])
    try:
        samples = server.wait_for(lambda s: s.get(key("pullwatch_pulls_in_progress")) == 1)
        assert samples[key("pullwatch_pulls_in_progress")] == 1
        assert samples[key("pullwatch_oldest_pull_in_progress_seconds")] >= 0
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines[1:]))
            handle.flush()
            os.fsync(handle.fileno())
        done = key("pullwatch_pulls_total", status="completed", registry="docker.io")
        samples = server.wait_for(lambda s: s.get(done) == 1)
    finally:
        status, err = server.stop()
    assert samples[done] == 1
    assert samples[key("pullwatch_pulls_in_progress")] == 0
    assert key("pullwatch_oldest_pull_in_progress_seconds") not in samples
    assert samples[key("pullwatch_pulled_bytes_total", registry="docker.io")] == 70_000_000
    assert samples[key("pullwatch_downloaded_bytes_total", registry="docker.io")] == 1234
    assert samples[key("pullwatch_pull_duration_seconds_sum", registry="docker.io")] == pytest.approx(3.5)
    assert status == 128 + 15 and "Traceback" not in err, err


def test_a_followed_file_is_served_once_its_history_is_read(tmp_path: Path) -> None:
    """The first scrape already has every pull the file held: partial first numbers from a
    restarted agent would look like a counter reset to Prometheus."""
    log = generate(seed=11, pulls=80, version="1.7", envelope="k3s")
    path = tmp_path / "containerd.log"
    write_log(str(path), log)
    server = MetricsServer(["--file", str(path)])
    try:
        samples = parse(server.scrape())
    finally:
        server.stop()
    assert pull_samples(samples) == expected_samples(log.expected)[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["examples/containerd-1.7-journal.log"], ["--listen", "--textfile"]),
        (["examples/containerd-1.7-journal.log", "--listen", "nowhere"], ["HOST:PORT"]),
        (["examples/containerd-1.7-journal.log", "--textfile", "/tmp/x.txt"], [".prom"]),
        (["examples/containerd-1.7-journal.log", "--textfile", "/nonexistent/dir/x.prom"], ["cannot write"]),
        (["examples/containerd-1.7-journal.log", "--listen", ":1", "--textfile", "/tmp/x.prom"], ["not allowed"]),
        (["/no/such.log", "--textfile", "/tmp/x.prom"], ["/no/such.log"]),
        (["examples/containerd-1.7-journal.log", "--textfile", "/tmp/x.prom", "--max-images", "0"], ["--max-images"]),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], words: list[str]) -> None:
    os.chdir(EXAMPLES.parent)
    assert_usage_error(run(["metrics", *args]), *words)


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    server = MetricsServer([str(EXAMPLES / "containerd-1.5-journal.log")])
    try:
        done = run(["metrics", str(EXAMPLES / "containerd-1.5-journal.log"), "--listen", f"127.0.0.1:{server.port}"])
    finally:
        server.stop()
    assert_usage_error(done, "cannot listen", str(server.port))


def test_hostile_image_names_are_escaped_label_values(tmp_path: Path) -> None:
    """A name with an escape sequence, a quote, a backslash and a newline (Go-quoted in the log)
    becomes a label value that parses back, with no control character in the output."""
    from datetime import datetime, timezone

    evil = 'ev\x1b[31mil"\\\n:1'
    start = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    path = tmp_path / "evil.log"
    path.write_text("".join(render(line, "text") + "\n" for line in pull_lines(Pull(evil, start, 1.0, 10, 1), "1.7")))
    out = tmp_path / "m.prom"
    done = run(["metrics", str(path), "--image-labels", "--textfile", str(out)])
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text
    images = {dict(k[1])["image"] for k in parse(text) if k[0] == "pullwatch_pulls_total"}
    assert images == {r'ev\x1b[31mil"\\x0a:1'}  # the backslash kept, ESC and newline shown as \xNN
    registries = {dict(k[1])["registry"] for k in parse(text) if k[0] == "pullwatch_pulls_total"}
    assert registries == {"unknown"}


def test_with_no_source_it_reads_what_the_node_has_never_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Auto-picking as watch does, except that finding nothing is an error: metrics of the
    bundled sample would pass for the node's."""
    from pullwatch.metrics.serve import metrics_source
    from pullwatch.sources import SourceError, auto

    pick = auto.pick_source
    nothing = pick(containerd_units=(), embedded_logs=(), embedded_units=(), probe=lambda units: None)
    monkeypatch.setattr(auto, "pick_source", lambda: nothing)
    with pytest.raises(SourceError, match="No containerd log found") as raised:
        metrics_source(None)
    assert "sample" not in str(raised.value)

    log = tmp_path / "containerd.log"
    write_log(str(log), generate(seed=2, pulls=3, version="2.0", envelope="k3s"))
    found = pick(containerd_units=(), embedded_logs=(str(log),), embedded_units=(), probe=lambda units: None)
    monkeypatch.setattr(auto, "pick_source", lambda: found)
    source = metrics_source(None)
    assert source.live and source.description == f"file: {log}"
    first = next(source.batches)
    assert first.total > 0
    source.batches.close()  # type: ignore[attr-defined]
