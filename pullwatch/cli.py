"""The `pullwatch` command line: `watch` (the default) and `replay` open the TUI; `report`,
`count` and `events` are the headless forms for scripts and test suites."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence

from pullwatch import __version__
from pullwatch.filtering import FilterError, exact_image_matcher, image_matcher
from pullwatch.ingest import load
from pullwatch.records import PullStatus
from pullwatch.sources import SourceError
from pullwatch.sources.options import SourceOptions, open_source
from pullwatch.store import PullStore

EXIT_MISMATCH = 1
EXIT_USAGE = 2
COMMANDS = ("watch", "replay", "report", "count", "events")


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line on stderr and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"pullwatch: {message} (see {self.prog} --help)\n")


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

    events = sub.add_parser(
        "events",
        help="one JSON object per pull event, as parsed",
        description="One JSON object per line for every pull-related log line, in log order: kind (start, "
        "result, failed, pulled, snapshotter, progress, stop, cancel, sandbox_failed), time, image, ref and "
        "the details the line carries.",
    )
    _add_source_options(events)
    events.add_argument("--follow", "-f", action="store_true", help="keep reading as the log grows")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and os.path.isfile(args_list[0]):
        args_list.insert(0, "replay")  # `pullwatch saved.log` opens it
    elif args_list and not args_list[0].startswith("-") and args_list[0] not in COMMANDS:
        if "/" in args_list[0] or args_list[0].endswith((".log", ".gz", ".txt")):  # meant as `pullwatch LOG`
            print(f"pullwatch: {args_list[0]}: no such file", file=sys.stderr)
            return EXIT_USAGE
        close = difflib.get_close_matches(args_list[0], COMMANDS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        print(f"pullwatch: unknown command {args_list[0]!r}; {hint}commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help", "--version"):
        args_list.insert(0, "watch")
    parser = build_parser()
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        print(
            f"pullwatch: unrecognized arguments: {' '.join(unknown)} (see pullwatch {args.command} --help)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        handler: Callable[[argparse.Namespace], int] = _COMMANDS[args.command]
        return handler(args)
    except (SourceError, FilterError) as error:
        print(f"pullwatch: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a traceback
        return 0


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
    )


def _check_source(args: argparse.Namespace) -> None:
    """Reading a terminal as a log would wait forever: say what to give instead."""
    if not args.paths and not args.journal and not args.directory and sys.stdin.isatty():
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
    if args.format == "json":
        output.write_report_json(store, matches, sys.stdout)
        return 0
    if args.format == "csv":
        output.write_csv(store, matches, sys.stdout)
        return 0
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else None  # off a tty: whole names
    output.write_table(store, matches, sys.stdout, width=width, every=args.all)
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from pullwatch.parsers.refs import normalize

    matches = exact_image_matcher(args.image)
    _check_source(args)
    store = _read(args)
    wanted = None if args.status == "any" else PullStatus(args.status)
    number = sum(1 for r in store.pulls if matches(r.image, r.ref) and (wanted is None or r.status is wanted))
    print(number)
    if args.expect is not None and number != args.expect:
        normal = normalize(args.image)
        name = args.image if normal == args.image else f"{args.image} ({normal})"
        status = "" if wanted is None else f"{args.status.replace('_', ' ')} "
        pulls = "pull" if args.expect == 1 else "pulls"
        print(f"pullwatch: expected {args.expect} {status}{pulls} of {name}, found {number}", file=sys.stderr)
        return EXIT_MISMATCH
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    _check_source(args)
    out = sys.stdout
    if args.follow:
        signal.signal(signal.SIGTERM, _exit_on_signal)
    options = source_options(args)
    source = open_source(options, follow=args.follow)
    lines = 0
    try:
        for batch in source:
            lines += batch.total
            for event in batch.parse().events:
                out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            out.flush()
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()  # a follower stops its watchdog thread or journalctl child now, not at exit
    if lines == 0 and not args.follow:
        raise SourceError(f"read 0 lines from {_describe(options)}")
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM stops a follower as Ctrl-C does: sources closed, no traceback, exit 128+15."""
    raise SystemExit(128 + signum)


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
}
