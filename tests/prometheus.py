"""A real Prometheus server for tests: Debian's `prometheus` binary started on 127.0.0.1 with a
private config and storage directory and a one-second scrape interval (never the package's
systemd service), and its HTTP query API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
SCRAPE_INTERVAL = "1s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """Prometheus scraping `targets` ({job: "127.0.0.1:PORT"}) into `directory`."""

    def __init__(
        self,
        directory: Path,
        targets: Mapping[str, str],
        labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """`labels`: per job, labels added to its series (as a ServiceMonitor adds `node`)."""
        assert Path(PROMETHEUS).is_file(), "no prometheus binary: apt-get install prometheus (scripts/test.sh does)"
        directory.mkdir(parents=True, exist_ok=True)
        jobs = "".join(
            f"  - job_name: {json.dumps(job)}\n    static_configs:\n      - targets: [{json.dumps(target)}]\n"
            f"        labels: {json.dumps(dict((labels or {}).get(job, {})))}\n"
            for job, target in targets.items()
        )
        config = directory / "prometheus.yml"
        config.write_text(
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL}\n  evaluation_interval: {SCRAPE_INTERVAL}\n"
            f"scrape_configs:\n{jobs}",
            encoding="utf-8",
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "prometheus.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout}s: {self.log.read_text(errors='replace')}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector: [{"metric": {...}, "value": [time, "text"]}, …]."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        return list(body["data"]["result"])

    def values(self, promql: str, *labels: str) -> dict[tuple[str, ...], float]:
        """The result as {(label values…): number}."""
        return {
            tuple(item["metric"].get(label, "") for label in labels): float(item["value"][1])
            for item in self.query(promql)
        }

    def wait_for(self, promql: str, predicate: Any, *labels: str, timeout: float = 30) -> dict[tuple[str, ...], float]:
        """Query until `predicate(values)` holds (scrapes come every second); the last values."""
        deadline = time.monotonic() + timeout
        while True:
            values = self.values(promql, *labels)
            if predicate(values) or time.monotonic() > deadline:
                return values
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
