"""The example logs in examples/: up to date with their generator, and read right by the command."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from clihelp import run

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))


def _make_examples() -> Any:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_what_make_examples_writes() -> None:
    built = _make_examples().build()
    assert sorted(built) == sorted(EXPECTED)
    for name, (lines, expected) in built.items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == "".join(line + "\n" for line in lines), name
        assert expected == EXPECTED[name], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_on_each_example(name: str) -> None:
    done = run(["report", "--format", "json", str(EXAMPLES / name)])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    got = [
        {
            **{key: pull[key] for key in ("image", "ref", "status", "size_bytes", "bytes_read")},
            "duration_seconds": None if pull["duration_seconds"] is None else round(pull["duration_seconds"], 3),
        }
        for pull in report["pulls"]
    ]
    assert got == EXPECTED[name]
    assert report["stats"]["unparsed_lines"] == 0
