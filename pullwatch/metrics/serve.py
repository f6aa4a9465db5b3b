"""`pullwatch metrics`: read the log's history, then follow it, feeding one store; serve what the
collector reads from it on /metrics, or write it to a node_exporter textfile.

One thread feeds the store (the source iterators block while they wait for lines); the HTTP
server's thread, or the textfile writer's, reads it through the collector. A lock taken per batch
keeps a scrape from seeing a batch half applied.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server, write_to_textfile
from prometheus_client.process_collector import ProcessCollector

from pullwatch.ingest import ingest
from pullwatch.metrics.collector import DEFAULT_MAX_IMAGES, PullCollector
from pullwatch.sources import LineBatch, SourceError
from pullwatch.sources.children import handle_unless_ignored
from pullwatch.sources.options import SourceOptions, open_source
from pullwatch.store import PullStore

DEFAULT_INTERVAL = 15.0


@dataclass(frozen=True, slots=True)
class MetricsOptions:
    """Where the metrics go, and their labels."""

    listen: str | None = None  # HOST:PORT to serve /metrics on
    textfile: str | None = None  # else a node_exporter *.prom file to rewrite
    interval: float = DEFAULT_INTERVAL  # seconds between textfile rewrites
    image_labels: bool = False
    max_images: int = DEFAULT_MAX_IMAGES
    node_labels: bool = False  # a node label, for one agent reading several nodes' journals


@dataclass
class MetricsSource:
    batches: Iterator[LineBatch]
    live: bool  # follows a node's log: ages are measured on the wall clock, not the log's
    description: str


def metrics_source(options: SourceOptions | None, follow: bool = False) -> MetricsSource:
    """The source `watch` would read for the same options (None: what the node has), except that
    saved logs are read to their end unless `follow` (`--file`), and that finding no log is an
    error: metrics of the bundled sample would pass for a node's."""
    if options is not None and options.reads_journal:
        return MetricsSource(open_source(options, follow=True), True, options.describe_journal())
    if options is not None and (options.paths or options.node_files):
        if options.paths == ("-",) and sys.stdin.isatty():
            raise SourceError("metrics -: stdin is a terminal, not a log")
        names = [*options.paths, *(f"{node}={path}" for node, path in options.node_files)]
        return MetricsSource(open_source(options, follow=follow), follow, ", ".join(names))
    from pullwatch.sources.auto import pick_source

    picked = pick_source()
    if picked.kind == "sample":
        note = (picked.note or "").split(" Showing the bundled sample")[0]
        raise SourceError(f"{note} Name a log with --journal --unit NAME, --file PATH, or a saved log PATH.")
    return MetricsSource(picked.batches(True), True, picked.description)


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT or :PORT (every interface); port 0 picks a free one."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]") if host.startswith("[") else host
    if not colon or not port.isdigit() or int(port) > 65535:
        raise SourceError(f"--listen takes HOST:PORT (127.0.0.1:9479, :9479, [::]:9479), not {text!r}")
    return host or "0.0.0.0", int(port)


class Exporter:
    """The store, its lock and the registry that serves the collector."""

    def __init__(
        self, live: bool, image_labels: bool, max_images: int, process_metrics: bool, node_labels: bool = False
    ) -> None:
        self.live = live
        self.store = PullStore(keep_lines=0)
        self.lock = threading.Lock()
        self.newest: datetime | None = None  # newest log time seen: "now" for a saved log
        self.done = False
        self.registry = CollectorRegistry()
        self.registry.register(
            PullCollector(
                self.store,
                self.lock,
                now=self._now,
                source_done=lambda: self.done,
                image_labels=image_labels,
                max_images=max_images,
                node_labels=node_labels,
            )
        )
        if process_metrics:
            ProcessCollector(registry=self.registry)  # the agent's own CPU and memory, for its limits

    def _now(self) -> datetime | None:
        return datetime.now(timezone.utc) if self.live else self.newest

    def feed(self, batches: Iterator[LineBatch], on_ready: Callable[[], None]) -> None:
        """Apply every batch; call `on_ready` once the history is read: at the first idle batch
        of a live source (a followed source yields an empty one after a second of quiet), or
        at the end of the source."""
        ready = False
        for batch in batches:
            if self.live and not ready and not batch.total and not batch.lines:
                ready = True
                on_ready()
            with self.lock:
                for event in ingest(self.store, batch).events:
                    if event.time is not None and (self.newest is None or event.time > self.newest):
                        self.newest = event.time
        with self.lock:
            self.done = True
        if not ready:
            on_ready()


def run(metrics: MetricsOptions, options: SourceOptions | None, follow: bool = False) -> int:
    """Serve or write the metrics of the source `options` names (None: what the node has);
    `follow`: its one file is followed, not read to its end."""
    listen = parse_listen(metrics.listen) if metrics.listen else None
    textfile = metrics.textfile
    if listen is None and textfile is None:
        raise SourceError("metrics needs --listen HOST:PORT or --textfile PATH")
    if textfile is not None and not textfile.endswith(".prom"):
        raise SourceError(f"--textfile {textfile}: node_exporter reads only files ending in .prom")
    if metrics.max_images < 1:
        raise SourceError("--max-images takes a number of at least 1")
    if not metrics.interval > 0:
        raise SourceError("--interval takes a positive number of seconds")
    source = metrics_source(options, follow)
    exporter = Exporter(
        source.live, metrics.image_labels, metrics.max_images, listen is not None, node_labels=metrics.node_labels
    )
    handle_unless_ignored((signal.SIGTERM,), _exit_on_signal)
    stop = threading.Event()
    servers = []

    def publish() -> None:
        """Only once the history is read: a restarted agent that served its first, partial counts
        would look to Prometheus like a counter reset, and increase() would count the history twice."""
        if listen is not None:
            servers.append(_serve(listen, exporter, source.description))
        if textfile is not None:
            _write(textfile, exporter)
            if source.live:
                writer = threading.Thread(target=_keep_writing, args=(textfile, exporter, metrics.interval, stop))
                writer.daemon = True
                writer.start()

    try:
        exporter.feed(source.batches, publish)
        if textfile is not None:
            _write(textfile, exporter)
        if listen is not None:
            stop.wait()  # serve the final numbers until stopped (SIGTERM, Ctrl-C)
        return 0
    finally:
        stop.set()
        close = getattr(source.batches, "close", None)
        if close is not None:
            close()  # a follower stops its watchdog thread or journalctl child now
        for server in servers:
            server.shutdown()


def _serve(listen: tuple[str, int], exporter: Exporter, description: str) -> WSGIServer:
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    try:
        server, _ = start_http_server(listen[1], listen[0], registry=exporter.registry)
    except OSError as error:
        raise SourceError(f"cannot listen on {host}:{listen[1]}: {error.strerror or error}") from None
    url = f"http://{host}:{server.server_port}/metrics"
    print(f"pullwatch: metrics of {description} on {url}", file=sys.stderr, flush=True)
    return server


def _write(path: str, exporter: Exporter) -> None:
    """node_exporter may read the file at any moment: write a temporary file beside it and rename
    it over the old one (prometheus_client does both), so it never sees half a file."""
    try:
        write_to_textfile(path, exporter.registry)
    except OSError as error:
        raise SourceError(f"cannot write {path}: {error.strerror or error}") from None


def _keep_writing(path: str, exporter: Exporter, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            _write(path, exporter)
        except SourceError as error:
            print(f"pullwatch: {error}", file=sys.stderr, flush=True)


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM (a pod stopping) ends as Ctrl-C does: sources closed, exit 128+15."""
    raise SystemExit(128 + signum)
