"""`pullwatch metrics --journal` against a real, private systemd-journald: the history logged
before it started, then entries logged while it runs, counted as the log was made to say."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from journald import PrivateJournald, missing_tools, unique_name
from logfactory import generate
from metricshelp import MetricsServer, expected_samples, key, parse, pull_samples

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def private_journald() -> Iterator[PrivateJournald]:
    if os.geteuid() != 0:
        pytest.skip("a private systemd-journald needs root (CI runs the tests as root)")
    missing = missing_tools()
    assert not missing, f"missing for a private journald: {missing} (Debian: apt-get install systemd util-linux)"
    instance = PrivateJournald()
    yield instance
    instance.stop()


@pytest.mark.parametrize("backend", ["systemd", "journalctl"])
def test_metrics_of_the_journal_history_then_live(private_journald: PrivateJournald, backend: str) -> None:
    ident = unique_name()
    log = generate(seed=31, pulls=16, version="1.7", envelope="text", chatter=2)
    history, live = log.lines[: len(log.lines) // 2], log.lines[len(log.lines) // 2 :]  # pulls span both
    private_journald.write(ident, history)
    private_journald.wait_for(ident, len(history))
    env = {**os.environ, "PULLWATCH_JOURNAL_BACKEND": backend}
    server = MetricsServer(["--journal", "--identifier", ident], env=env, wrap=private_journald.command)
    exact, _ = expected_samples(log.expected)
    try:
        lines_key = key("pullwatch_log_lines_read_total")
        first = parse(server.scrape())  # served only once the history is read: all of it at once
        assert first[lines_key] == len(history)
        private_journald.write(ident, live)
        private_journald.wait_for(ident, len(log.lines))
        final = server.wait_for(lambda s: s.get(lines_key) == len(log.lines) and pull_samples(s) == exact)
    finally:
        status, err = server.stop()
    assert pull_samples(final) == exact
    assert status == 128 + 15 and "Traceback" not in err, err
