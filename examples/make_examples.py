"""Write the example logs in this folder, one per containerd version line, and their answers.

The logs come from tests/logfactory.py, the same generator the tests use, so what pullwatch must
report for each is known; expected.json holds it (checked by tests/test_cli_examples.py, which
also checks that these files are what this script writes). Run from anywhere:

    python3 examples/make_examples.py
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from logfactory import generate  # noqa: E402

UTC = timezone.utc
# file name -> (containerd version, envelope, time zone, debug level, first day, seed)
EXAMPLES: dict[str, tuple[str, str, timezone, bool, datetime, int]] = {
    "containerd-1.5-journal.log": ("1.5", "journal-short", UTC, False, datetime(2026, 11, 20, 7), 100),
    "containerd-1.6-journal-debug.log": ("1.6", "journal-precise", UTC, True, datetime(2026, 11, 21, 7), 101),
    "containerd-1.7-journal.log": ("1.7", "journal-short", UTC, False, datetime(2026, 11, 22, 7), 120),
    "containerd-2.0-k3s.log": ("2.0", "k3s", timezone(timedelta(hours=2)), False, datetime(2026, 11, 23, 7), 117),
    "containerd-2.1-journal.json": ("2.1", "journal-json", UTC, True, datetime(2026, 11, 24, 7), 104),
    "containerd-2.3-json.log": ("2.3", "json", UTC, False, datetime(2026, 11, 25, 7), 114),
}
PULLS = 24
# The sample bundled with pullwatch (pullwatch/sample/) is not generated: it is a recording of real
# containerd 1.7.24 (tests/realcd/record_sample.py).
CHATTER = 8  # non-pull lines per pull: a few hundred lines per file


def build() -> dict[str, tuple[list[str], list[dict[str, object]]]]:
    """Each example's lines and the pulls pullwatch must report for it, in start order."""
    made = {}
    for name, (version, envelope, zone, debug, first, seed) in EXAMPLES.items():
        log = generate(
            seed=seed,
            pulls=PULLS,
            version=version,
            envelope=envelope,
            chatter=CHATTER,
            debug=debug,
            tz=zone,
            start=first.replace(tzinfo=UTC),
        )
        made[name] = (log.lines, log.expected)
    return made


def main() -> None:
    made = build()
    for name, (lines, _) in made.items():
        (HERE / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    answers = {name: expected for name, (_, expected) in made.items()}
    (HERE / "expected.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, (lines, expected) in made.items():
        failed = sum(p["status"] == "failed" for p in expected)
        print(f"{name}: {len(lines)} lines, {len(expected)} pulls ({failed} failed)")


if __name__ == "__main__":
    main()
