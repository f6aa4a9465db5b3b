"""The `pullwatch` command line: `watch` (the default) and `replay` open the TUI; `report`,
`count` and `events` are the headless forms for scripts and test suites."""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

from pullwatch import __version__
from pullwatch.filtering import FilterError, exact_image_matcher, image_matcher
from pullwatch.humanize import json_text, safe_text
from pullwatch.ingest import load
from pullwatch.records import PullStatus
from pullwatch.sources import SourceError
from pullwatch.sources.children import end_children, handle_unless_ignored
from pullwatch.sources.options import SourceOptions, open_source
from pullwatch.store import PullStore

# Exit statuses (README "Exit status"): 0 ok; 1 only for a `count --expect` mismatch; 2 for usage,
# input and output errors (one line on stderr, never a traceback); 128 + N for signal N (130 Ctrl-C,
# 143 SIGTERM, 129 SIGHUP).
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_SIGNAL_BASE = 128
COMMANDS = ("watch", "replay", "report", "count", "events", "metrics")


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"pullwatch: {message} (see {self.prog} --help)\n")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """As argparse's, without ignoring a failed write: `--help > /dev/full` is an error."""
        if message:
            (file or sys.stderr).write(message)


def _add_source_options(parser: argparse.ArgumentParser, paths: bool = True) -> None:
    if paths:
        parser.add_argument(
            "paths",
            nargs="*",
            default=[],
            metavar="PATH",
            help="containerd log files, read in order: journalctl output, k3s/rke2 containerd.log, .gz; "
            "- (or none) reads stdin",
        )
    group = parser.add_argument_group("journal")
    group.add_argument("--journal", action="store_true", help="read containerd's entries from the systemd journal")
    group.add_argument(
        "--unit",
        action="append",
        metavar="NAME",
        help="systemd unit (repeatable; default containerd.service; k3s, rke2-server, rke2-agent)",
    )
    group.add_argument("--identifier", action="append", metavar="NAME", help="SYSLOG_IDENTIFIER (repeatable)")
    group.add_argument(
        "--since", metavar="WHEN", default=None, help="journal start: 1h, 30m, today, boot (default), or an ISO time"
    )
    group.add_argument("--directory", metavar="PATH", help="a copied journal directory (another node's)")
    if paths:
        parser.add_argument(
            "--node-file",
            action="append",
            metavar="NODE=PATH",
            type=_node_file,
            help="also read PATH as node NODE's log (repeatable), for logs whose lines name no host "
            "(k3s/rke2 containerd.log, logrus files); journal lines carry their host",
        )


def _node_file(text: str) -> tuple[str, str]:
    node, equals, path = text.partition("=")
    if not equals or not node or not path:
        raise argparse.ArgumentTypeError(f"--node-file takes NODE=PATH, not {text!r}")
    return node, path


def _add_node_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--node", metavar="NAME", help="only pulls on this node (journal _HOSTNAME, short-format host, --node-file)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pullwatch",
        description="Which images are being pulled, how big and how slow, "
        "and which were pulled more than once: from containerd's log, on any containerd version.",
    )
    parser.add_argument("--version", action="version", version=f"pullwatch {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    watch = sub.add_parser("watch", help="live TUI (default): the journal, a followed file, or what it finds")
    _add_source_options(watch, paths=False)
    watch.add_argument("--file", metavar="PATH", help="follow this log file (k3s/rke2 containerd.log)")
    watch.add_argument("--image", metavar="PATTERN", default="", help="pre-fill the image filter")

    replay = sub.add_parser("replay", help="TUI on a saved log, at its own pace or as fast as possible")
    replay.add_argument("paths", nargs="+", metavar="PATH")
    replay.add_argument("--speed", default="max", metavar="N|max", help="times faster than the log's clock, or max")
    replay.add_argument("--image", metavar="PATTERN", default="", help="pre-fill the image filter")

    report = sub.add_parser(
        "report",
        help="every pull and per-image totals",
        description="Every pull in the log (image, status, start, duration, size, bytes fetched, error) "
        "and per-image totals.",
        epilog="examples:\n  journalctl -u containerd -a --no-pager | pullwatch report\n"
        "  pullwatch report /var/lib/rancher/k3s/agent/containerd/containerd.log --image '*nginx*'\n"
        "  pullwatch report node.log --format json | jq '.images[] | select(.pulls > 1)'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_options(report)
    report.add_argument(
        "--image",
        metavar="PATTERN",
        default="",
        help="only these images: substring, glob (*nginx*) or re:REGEX, matched against the name as "
        "requested and the normalised one, ignoring case",
    )
    _add_node_filter(report)
    report.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table for people (default), json (a stable schema for scripts), csv (one row per pull)",
    )
    report.add_argument(
        "--all", action="store_true", help="the table lists every pull (default: a summary and the last 50)"
    )

    count = sub.add_parser(
        "count",
        help="number of pulls of one image (for test suites)",
        description="Print how many times IMAGE was pulled. The name is normalised the way containerd does "
        "it, so nginx, library/nginx and docker.io/library/nginx:latest are the same image.",
        epilog="exit status: 0, or 1 when --expect N differs from the count, 2 on bad input.\n"
        "example:\n  pullwatch count registry.k8s.io/pause:3.9 containerd.log --status completed --expect 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    count.add_argument(
        "image",
        metavar="IMAGE",
        help="image as you would pull it (nginx = docker.io/library/nginx:latest); a glob or re:REGEX counts "
        "every image it matches",
    )
    _add_source_options(count)
    count.add_argument(
        "--status",
        choices=("any", "completed", "failed", "in_progress"),
        default="any",
        help="count only pulls with this outcome (default any)",
    )
    count.add_argument("--expect", type=int, metavar="N", help="exit 1 (with a message) when the count is not N")
    _add_node_filter(count)
    count.add_argument(
        "--per-node", action="store_true", help="one line per node: NODE<tab>COUNT (- for lines that name no node)"
    )

    events = sub.add_parser(
        "events",
        help="one JSON object per pull event, as parsed",
        description="One JSON object per line for every pull-related log line, in log order: kind (start, "
        "result, failed, pulled, snapshotter, progress, stop, cancel, sandbox_failed), time, image, ref and "
        "the details the line carries.",
    )
    _add_source_options(events)
    events.add_argument("--follow", "-f", action="store_true", help="keep reading as the log grows")
    _add_node_filter(events)
    _add_metrics_parser(sub)
    return parser


def _add_metrics_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    metrics = sub.add_parser(
        "metrics",
        help="Prometheus metrics of the pulls: served on /metrics or written for node_exporter",
        description="Read the log's history, then follow it (like watch), and serve Prometheus metrics of "
        "its pulls on /metrics, or write them to a node_exporter textfile. Saved logs named as PATH are "
        "read to their end and their final numbers served. The counts are those report gives.",
        epilog="examples:\n  pullwatch metrics --journal --listen :9479\n"
        "  pullwatch metrics --file /var/lib/rancher/k3s/agent/containerd/containerd.log --listen :9479\n"
        "  pullwatch metrics --textfile /var/lib/node_exporter/textfile/pullwatch.prom",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_options(metrics)
    metrics.add_argument("--file", metavar="PATH", help="follow this log file (k3s/rke2 containerd.log)")
    out = metrics.add_mutually_exclusive_group()
    out.add_argument("--listen", metavar="HOST:PORT", help="serve /metrics here (:9479 = every interface)")
    out.add_argument(
        "--textfile",
        metavar="PATH",
        help="write node_exporter's textfile format to PATH (*.prom) instead, replacing it atomically",
    )
    metrics.add_argument(
        "--interval", type=float, default=15.0, metavar="SECONDS", help="how often --textfile is rewritten (15)"
    )
    metrics.add_argument(
        "--image-labels", action="store_true", help="add an image label (bounded by --max-images)"
    )
    metrics.add_argument(
        "--node-labels",
        action="store_true",
        help="add a node label (the pull's node; unknown when its lines name none): for one agent "
        "reading several nodes' journals, e.g. one merged by systemd-journal-remote",
    )
    metrics.add_argument(
        "--max-images",
        type=int,
        default=50,
        metavar="N",
        help="with --image-labels: the first N images seen get their own label, later ones image=other (50)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    closed = _open_closed_streams()
    handle_unless_ignored((signal.SIGTERM, signal.SIGHUP), _exit_on_signal)  # the monitor: its own (tui/launch.py)
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        # inherited across exec from a careless parent: the kernel would reap our children, and
        # their exit statuses (a failed journalctl, a scanning process killed) would be lost
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        try:
            status = _run(list(sys.argv[1:] if argv is None else argv), closed)
        except SystemExit:  # --help, --version (argparse ignores a failed write of them)
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # a write error shows here, with one line, not at the interpreter's exit
        return status
    except (SourceError, FilterError) as error:
        print(f"pullwatch: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_SIGNAL_BASE + signal.SIGINT
    except BrokenPipeError:
        _discard_stdout()  # the reader went away (| head): not an error worth a message
        return 0
    except OSError as error:  # the output cannot be written: a full disk, an I/O error
        _discard_stdout()
        where = f"{error.filename}: " if error.filename else "writing the output: "
        print(f"pullwatch: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        end_children()


def _run(args_list: list[str], closed: set[int]) -> int:
    if args_list and args_list[0] not in COMMANDS and os.path.isfile(args_list[0]):
        args_list.insert(0, "replay")  # `pullwatch saved.log` opens it
    elif args_list and not args_list[0].startswith("-") and args_list[0] not in COMMANDS:
        if "/" in args_list[0] or args_list[0].endswith((".log", ".gz", ".txt")):  # meant as `pullwatch LOG`
            print(f"pullwatch: {args_list[0]}: no such file", file=sys.stderr)
            return EXIT_USAGE
        close = difflib.get_close_matches(args_list[0], COMMANDS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SourceError(f"unknown command {args_list[0]!r}; {hint}commands: {', '.join(COMMANDS)}")
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help", "--version"):
        args_list.insert(0, "watch")
    if 1 in closed:
        raise SourceError("standard output is closed: nowhere to write (redirect it to a file or /dev/null)")
    parser = build_parser()
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        raise SourceError(f"unrecognized arguments: {' '.join(unknown)} (see pullwatch {args.command} --help)")
    args.stdin_closed = 0 in closed
    handler: Callable[[argparse.Namespace], int] = _COMMANDS[args.command]
    return handler(args)


def _open_closed_streams() -> set[int]:
    """Which of stdin, stdout and stderr were closed (`<&-`, `>&-`), each given /dev/null instead:
    Python then has no sys.stdin (an AttributeError deep in a reader), and the first file opened
    would take the free descriptor and be taken for stdin or stdout."""
    closed: set[int] = set()
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is None:
            opened = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 (lives as long as the process)
            closed.add(fd)
    return closed


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still buffered
    raises no second error ("Exception ignored … BrokenPipeError") at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def source_options(args: argparse.Namespace) -> SourceOptions:
    """The source the command line names (`watch --file PATH` is a path like the others')."""
    file = getattr(args, "file", None)
    return SourceOptions(
        paths=(file,) if file else tuple(getattr(args, "paths", ())),
        journal=args.journal,
        units=tuple(args.unit or ()),
        identifiers=tuple(args.identifier or ()),
        since=args.since,
        directory=args.directory,
        node_files=tuple(getattr(args, "node_file", None) or ()),
    )


def _check_source(args: argparse.Namespace) -> None:
    """Reading a terminal as a log would wait forever: say what to give instead."""
    if args.journal or args.directory or getattr(args, "node_file", None) or (args.paths and "-" not in args.paths):
        return
    if args.stdin_closed:
        raise SourceError("no log to read: stdin is closed; give a log file, or use --journal")
    if not args.paths and sys.stdin.isatty():
        raise SourceError("no log to read: give a log file, pipe one in (- is stdin), or use --journal")


def _read(args: argparse.Namespace) -> PullStore:
    """The whole source in a store. Nothing read is an error, not an answer (a CI job that forgot
    the path must not pass `--expect 0` on an empty stdin); lines without a pull line are said."""
    options = source_options(args)
    store = load(options)
    lines = store.stats.lines
    if lines == 0:
        raise SourceError(f"read 0 lines from {_describe(options)}")
    if store.stats.pull_lines == 0 and store.stats.unparsed_lines == 0:
        print(
            f"pullwatch: none of the {lines:,} lines read from {_describe(options)} is a containerd pull line "
            "(is it containerd's log?)",
            file=sys.stderr,
        )
    return store


def _describe(options: SourceOptions) -> str:
    if options.reads_journal:
        return options.describe_journal()
    return ", ".join("stdin" if path == "-" else path for path in options.paths) or "stdin"


def cmd_report(args: argparse.Namespace) -> int:
    import shutil

    from pullwatch import output

    matches = image_matcher(args.image)
    _check_source(args)
    store = _read(args)
    node = output.ANY_NODE if args.node is None else args.node
    if args.format == "json":
        output.write_report_json(store, matches, sys.stdout, node)
        return 0
    if args.format == "csv":
        output.write_csv(store, matches, sys.stdout, node)
        return 0
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else None  # off a tty: whole names
    output.write_table(store, matches, sys.stdout, width=width, every=args.all, node=node)
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from pullwatch.parsers.refs import normalize

    matches = exact_image_matcher(args.image)
    _check_source(args)
    store = _read(args)
    wanted = None if args.status == "any" else PullStatus(args.status)
    counted = [
        r
        for r in store.pulls
        if matches(r.image, r.ref)
        and (wanted is None or r.status is wanted)
        and (args.node is None or r.node == args.node)
    ]
    number = len(counted)
    if args.per_node:  # every node seen, in order of its first pull, with its count (0 too)
        per_node = Counter(r.node for r in counted)
        for node in dict.fromkeys(r.node for r in store.pulls if args.node is None or r.node == args.node):
            print(f"{safe_text(node or '-')}\t{per_node[node]}")
    else:
        print(number)
    if args.expect is not None and number != args.expect:
        normal = normalize(args.image)
        name = args.image if normal == args.image else f"{args.image} ({normal})"
        if args.node is not None:
            name += f" on {safe_text(args.node)}"
        status = "" if wanted is None else f"{args.status.replace('_', ' ')} "
        pulls = "pull" if args.expect == 1 else "pulls"
        print(f"pullwatch: expected {args.expect} {status}{pulls} of {name}, found {number}", file=sys.stderr)
        return EXIT_MISMATCH
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    _check_source(args)
    out = sys.stdout
    options = source_options(args)
    source = open_source(options, follow=args.follow)
    lines = 0
    try:
        from pullwatch.output import event_items
        from pullwatch.store import PullStore

        store = PullStore(keep_lines=0)  # to say, event by event, whether its pull downloaded
        for batch in source:
            lines += batch.total
            for item in event_items(store, batch.parse()):
                if args.node is None or item["node"] == args.node:
                    out.write(json_text(item) + "\n")
            out.flush()
            store.forget_ended()  # flat memory however long it follows: only what can still be matched
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()  # a follower stops its watchdog thread or journalctl child now, not at exit
    if lines == 0 and not args.follow:
        raise SourceError(f"read 0 lines from {_describe(options)}")
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP stops a command as Ctrl-C does: sources closed (`finally` blocks run),
    children ended, no traceback, exit status 128 + the signal's number."""
    raise SystemExit(EXIT_SIGNAL_BASE + signum)


def cmd_metrics(args: argparse.Namespace) -> int:
    from pullwatch.metrics.serve import MetricsOptions, run

    metrics = MetricsOptions(
        args.listen, args.textfile, args.interval, args.image_labels, args.max_images, args.node_labels
    )
    named = args.journal or args.directory or args.file or args.paths or args.node_file  # else: the node's
    return run(metrics, source_options(args) if named else None, follow=bool(args.file))


def cmd_watch(args: argparse.Namespace) -> int:
    from pullwatch.tui import run_watch

    named = args.journal or args.directory or args.file  # else: what the node has (sources/auto.py)
    return run_watch(source_options(args) if named else None, args.image)


def cmd_replay(args: argparse.Namespace) -> int:
    from pullwatch.tui import run_replay

    return run_replay(args.paths, args.speed, args.image)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "watch": cmd_watch,
    "replay": cmd_replay,
    "report": cmd_report,
    "count": cmd_count,
    "events": cmd_events,
    "metrics": cmd_metrics,
}
