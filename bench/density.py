"""pullwatch's pace against `grep -c PullImage` at several densities of pull lines (issue 11).

For each input kind and each share of pull lines, a seeded log (containerd 1.7, the rest ordinary
containerd chatter) is generated once under bench/out/, the page cache warmed, then
`grep -c PullImage FILE`, `pullwatch report --format json FILE` and `pullwatch report FILE` (the
table) run alternately; the medians, their ratios and pullwatch's peak RSS are printed, with the
candidate-line rate of the parser on its own (`parse_batch`, CPU time, reference route and fast route)
and the machine's load average. A density sweep of the JSON ratio is drawn as an SVG.

    python bench/density.py --quick      # 40 MB inputs, 0.5/3/10%, 3 runs (about 2-3 minutes)
    python bench/density.py              # 400 MB inputs, 5 runs, sweep 0.5-20%
    python bench/density.py --kinds short --shares 0.5,3,10 --sweep 0.5,1,2,5,10,20 --runs 7
    python bench/density.py --quick --shares 10 --parse-only   # parse_batch's rates only, both routes

Targets: JSON within 1.5x of grep at 0.5% and 2x from 3% up; the table within 1.2x of JSON;
peak RSS under 100 MB. Inputs bigger than BASE_BYTES repeat a base of about BASE_BYTES generated like
tests/logfactory.iter_big_log (whose pure-Python rendering makes ~5k lines/s), cut only between
its 20-pull logs: every copy holds complete pulls, so the work per line is that of one long log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from speed import OUT, default_pullwatch, parse_size, run, warm  # noqa: E402

KINDS = {"short": "journal-short", "text": "text", "json": "json", "journal-json": "journal-json"}
BASE_BYTES = 8_000_000
SVG_PATH = os.path.join(HERE, "density.svg")


@dataclass
class Point:
    kind: str
    share: float  # percent of lines that are pull lines, as asked
    path: str
    lines: int = 0
    candidates: int = 0
    grep: list[float] = field(default_factory=list)
    json: list[float] = field(default_factory=list)
    table: list[float] = field(default_factory=list)
    rss_kb: int = 0

    @property
    def ratio(self) -> float:
        return statistics.median(self.json) / statistics.median(self.grep)

    @property
    def table_ratio(self) -> float | None:
        return statistics.median(self.table) / statistics.median(self.json) if self.table else None

    @property
    def target(self) -> float:
        return 1.5 if self.share <= 0.5 else 2.0


def pull_ratio(share: float) -> float:
    """iter_big_log's pull_ratio for `share` (a fraction) of pull lines: a pull writes ~3.8
    lines among 3/pull_ratio chatter lines."""
    return 3 * share / (3.8 * (1 - share))


def log_path(envelope: str, share: float, size: int) -> str:
    return os.path.join(OUT, f"density-1.7-{envelope}-{share:g}pct-{size}-v2.log")


def base_lines(envelope: str, share: float, size: int) -> list[str]:
    """Whole logfactory logs (20 pulls each, as iter_big_log writes them) until `size` bytes:
    every pull of the base ends in it, so that repeating it leaves no pull open."""
    from datetime import datetime, timedelta, timezone

    from logfactory import generate as generate_log

    lines: list[str] = []
    written = 0
    chunk = 0
    while written < size:
        log = generate_log(
            seed=1 + chunk,
            pulls=20,
            version="1.7",
            envelope=envelope,
            chatter=max(int(3 / pull_ratio(share / 100)), 1),
            start=datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=chunk),
            rare_pull_chatter=True,
        )
        lines += log.lines
        written += sum(len(line) + 1 for line in log.lines)
        chunk += 1
    return lines


def generate(envelope: str, share: float, size: int) -> str:
    """The log (cached): a base of about BASE_BYTES, repeated up to `size` bytes."""
    path = log_path(envelope, share, size)
    if os.path.exists(path):
        return path
    block = "".join(line + "\n" for line in base_lines(envelope, share, min(size, BASE_BYTES))).encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        written = 0
        while written < size:
            out.write(block)
            written += len(block)
    os.replace(tmp, path)
    return path


def candidate_rate(path: str, limit: int = 40_000, repeats: int = 7) -> tuple[int, float, float, float, float]:
    """Candidate lines of `path` (up to `limit`), parse_batch's rate on them in lines per CPU
    second with the reference route alone (PULLWATCH_PARSE=reference), with the fast route's
    pure-Python loop (PULLWATCH_PARSE=python) and with the fast route with its compiled first
    route (parsers/_fastline.c), best of `repeats` runs of each, alternating; and the share of
    the lines the fast route reads."""
    from pullwatch.parsers import is_candidate, parse_batch
    from pullwatch.parsers.fastpath import UNKNOWN, fast_event

    lines: list[bytes] = []
    with open(path, "rb") as handle:
        for line in handle:
            if is_candidate(line):
                lines.append(line.rstrip(b"\r\n"))
                if len(lines) >= limit:
                    break
    best = {"reference": float("inf"), "python": float("inf"), "fast": float("inf")}
    before = os.environ.get("PULLWATCH_PARSE")
    try:
        for _ in range(repeats):
            for mode in best:
                os.environ["PULLWATCH_PARSE"] = mode
                start = time.process_time()
                parse_batch(lines)
                best[mode] = min(best[mode], time.process_time() - start)
    finally:
        if before is None:
            os.environ.pop("PULLWATCH_PARSE", None)
        else:
            os.environ["PULLWATCH_PARSE"] = before
    fast_share = sum(fast_event(line) is not UNKNOWN for line in lines) / max(len(lines), 1)
    rates = [len(lines) / best[mode] if best[mode] > 0 else float("inf") for mode in ("reference", "python", "fast")]
    return len(lines), rates[0], rates[1], rates[2], fast_share


def print_parse_rates(kinds: list[str], share: float, size: int) -> int:
    print("\nparse_batch on its own (CPU time, candidate lines per second; best of 7, alternating):")
    for kind in kinds:
        count, reference, python, fast, fast_share = candidate_rate(log_path(KINDS[kind], share, size))
        print(
            f"  {kind:<13}{count:>7,} lines  reference {reference:>9,.0f}/s  python {python:>9,.0f}/s"
            f"  compiled+python {fast:>9,.0f}/s  x{fast / reference:.1f}  ({fast_share:.0%} fast)"
        )
    return 0


def measure(point: Point, runs: int, pullwatch: str, table: bool) -> None:
    quoted = point.path.replace("'", "'\\''")
    grep_cmd = f"grep -c PullImage '{quoted}'"
    json_cmd = f"{pullwatch} report --format json '{quoted}'"
    table_cmd = f"{pullwatch} report '{quoted}'"
    point.candidates = int(run(grep_cmd)[2])  # warm-up; also: how many PullImage lines
    run(json_cmd)
    for _ in range(runs):
        point.grep.append(run(grep_cmd)[0])
        elapsed, rss, _ = run(json_cmd)
        point.json.append(elapsed)
        point.rss_kb = max(point.rss_kb, rss)
        if table:
            elapsed, rss, _ = run(table_cmd)
            point.table.append(elapsed)
            point.rss_kb = max(point.rss_kb, rss)


def svg(points: list[Point], path: str, title: str) -> None:
    """The JSON ratio against the pull-line share (log scale), one line per kind, and the
    targets as a dashed step: written by hand, no plotting library needed."""
    width, height, left, right, top, bottom = 640, 360, 60, 130, 40, 50
    shares = sorted({p.share for p in points})
    low, high = min(shares), max(shares)
    top_ratio = max([2.5] + [p.ratio * 1.1 for p in points])

    def x(share: float) -> float:
        import math

        if high == low:
            return left + (width - left - right) / 2
        return left + (math.log(share) - math.log(low)) / (math.log(high) - math.log(low)) * (width - left - right)

    def y(ratio: float) -> float:
        return top + (1 - ratio / top_ratio) * (height - top - bottom)

    colours = {"short": "#1f77b4", "text": "#2ca02c", "json": "#d62728", "journal-json": "#9467bd"}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{y(0)}" x2="{width - right}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(0)}" stroke="black"/>',
    ]
    step_size = next(s for s in (0.5, 1, 2, 5, 10, 20, 50) if top_ratio / s <= 10)
    tick = 0.0
    while tick <= top_ratio:
        out.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
        out.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" stroke="#eee"/>')
        tick += step_size
    for share in shares:
        out.append(f'<text x="{x(share):.1f}" y="{height - bottom + 16}" text-anchor="middle">{share:g}%</text>')
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">'
        "pull lines (share of all lines)</text>"
    )
    out.append(
        f'<text x="16" y="{(top + height - bottom) / 2}" transform="rotate(-90 16 {(top + height - bottom) / 2})" '
        'text-anchor="middle">report --format json / grep -c</text>'
    )
    target = [(share, 1.5 if share <= 0.5 else 2.0) for share in shares]
    step = " ".join(f"{x(s):.1f},{y(r):.1f}" for s, r in target)
    out.append(f'<polyline points="{step}" fill="none" stroke="#888" stroke-dasharray="5,4"/>')
    legend_y = top
    for kind in KINDS:
        mine = sorted((p for p in points if p.kind == kind), key=lambda p: p.share)
        if not mine:
            continue
        colour = colours[kind]
        line = " ".join(f"{x(p.share):.1f},{y(p.ratio):.1f}" for p in mine)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in mine:
            out.append(f'<circle cx="{x(p.share):.1f}" cy="{y(p.ratio):.1f}" r="3" fill="{colour}"/>')
        out.append(
            f'<line x1="{width - right + 10}" y1="{legend_y}" x2="{width - right + 30}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{width - right + 35}" y="{legend_y + 4}">{kind}</text>')
        legend_y += 18
    out.append(
        f'<line x1="{width - right + 10}" y1="{legend_y}" x2="{width - right + 30}" y2="{legend_y}" '
        'stroke="#888" stroke-dasharray="5,4"/>'
    )
    out.append(f'<text x="{width - right + 35}" y="{legend_y + 4}">target</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="400M", help="bytes of each generated log (default 400M)")
    parser.add_argument("--quick", action="store_true", help="40M inputs, 3 runs, no extra sweep points")
    parser.add_argument("--runs", type=int, default=None, help="timed runs of each command (default 5, quick 3)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--shares", default="0.5,3,10", help="pull-line shares in percent, with targets")
    parser.add_argument("--sweep", default=None, help="extra shares for the plot (default 1,2,5,20; quick none)")
    parser.add_argument("--no-table", action="store_true", help="do not time the table output (quick: short only)")
    parser.add_argument("--svg", default=SVG_PATH, help=f"where to write the plot (default {SVG_PATH})")
    parser.add_argument("--pullwatch", default=default_pullwatch(), help="command that runs pullwatch")
    parser.add_argument(
        "--parse-only", action="store_true", help="only parse_batch's rates (reference and fast), no timed runs"
    )
    args = parser.parse_args(argv)
    size = parse_size("40M" if args.quick else args.size)
    runs = args.runs or (3 if args.quick else 5)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if set(kinds) - set(KINDS):
        parser.error(f"unknown kinds: {', '.join(sorted(set(kinds) - set(KINDS)))}")
    shares = [float(s) for s in args.shares.split(",") if s.strip()]
    sweep = args.sweep if args.sweep is not None else ("" if args.quick else "1,2,5,20")
    extra = [float(s) for s in sweep.split(",") if s.strip() and float(s) not in shares]

    os.makedirs(OUT, exist_ok=True)
    wanted = [(KINDS[k], s) for k in kinds for s in shares + extra]
    missing = [(e, s) for e, s in wanted if not os.path.exists(log_path(e, s, size))]
    if missing:
        print(f"generating {len(missing)} logs of {size / 1e6:.0f} MB (once; cached in bench/out/)", flush=True)
        with ProcessPoolExecutor(max_workers=2) as pool:
            list(pool.map(generate, [e for e, _ in missing], [s for _, s in missing], [size] * len(missing)))
    if args.parse_only:
        return print_parse_rates(kinds, shares[-1], size)
    load_before = os.getloadavg()
    print(f"pullwatch: {args.pullwatch}; load average before: {load_before[0]:.2f} (cores: {os.cpu_count()})")
    points: list[Point] = []
    started = time.monotonic()
    for kind in kinds:
        for share in shares + extra:
            point = Point(kind, share, log_path(KINDS[kind], share, size))
            point.lines = warm(point.path)
            timed_table = not args.no_table and share in shares and (kind == "short" or not args.quick)
            measure(point, runs, args.pullwatch, table=timed_table)
            points.append(point)
            print(f"  {kind} {share:g}%: ratio {point.ratio:.2f}", flush=True)
    load_after = os.getloadavg()

    print(
        f"\nmedian of {runs} alternating runs, page cache warm, {size / 1e6:.0f} MB inputs, "
        f"{time.monotonic() - started:.0f} s; load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f}"
    )
    header = (
        f"{'input':<13}{'pulls':>6}{'lines':>10}{'grep s':>8}{'json s':>8}{'ratio':>7}{'target':>7}"
        f"{'table s':>8}{'tbl/json':>9}{'RSS MB':>7}  ok"
    )
    print(header)
    print("-" * len(header))
    ok_all = True
    for p in points:
        if p.share not in shares:
            continue
        table_ratio = p.table_ratio
        ok = p.ratio <= p.target and p.rss_kb / 1024 < 100 and (table_ratio is None or table_ratio <= 1.2)
        ok_all &= ok
        print(
            f"{p.kind:<13}{p.share:>5g}%{p.lines:>10,}{statistics.median(p.grep):>8.3f}{statistics.median(p.json):>8.3f}"
            f"{p.ratio:>7.2f}{p.target:>7.1f}"
            + (
                f"{statistics.median(p.table):>8.3f}{table_ratio:>9.2f}"
                if table_ratio is not None
                else f"{'-':>8}{'-':>9}"
            )
            + f"{p.rss_kb / 1024:>7.1f}  {'yes' if ok else 'NO'}"
        )
    print_parse_rates(kinds, shares[-1], size)
    title = f"pullwatch report vs grep -c, {size / 1e6:.0f} MB, median of {runs}, load {load_before[0]:.1f}"
    svg(points, args.svg, title)
    print(f"\nplot: {os.path.relpath(args.svg)}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
