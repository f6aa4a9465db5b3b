"""The distribution: one top-level package, `pullwatch`, whose subpackages are exactly the folders
of the repo (parsers/ and tui/ become pullwatch.parsers and pullwatch.tui), with the data files
the code opens. Built for real with pip from a copy of the source (a stale build/ of the working
tree cannot leak into it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "pullwatch", "parsers", "tui")

pytestmark = pytest.mark.timeout(600)


def folder_packages() -> set[str]:
    """Every folder with an __init__.py, named as installed: pullwatch/…, parsers/… -> pullwatch.parsers…"""
    found = set()
    for top, name in (("pullwatch", "pullwatch"), ("parsers", "pullwatch.parsers"), ("tui", "pullwatch.tui")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            if top == "pullwatch" and relative[:1] in (("parsers",), ("tui",)):
                continue  # the symlinks: counted under their own folder
            found.add(".".join((name, *relative)))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("pullwatch-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_top_level_is_pullwatch_only(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"pullwatch"}
    for name in wheel.namelist():
        if name.endswith(".dist-info/top_level.txt"):
            assert wheel.read(name).decode().split() == ["pullwatch"]


def test_wheel_packages_are_the_folders(wheel: zipfile.ZipFile) -> None:
    inits = [name for name in wheel.namelist() if name.endswith("/__init__.py")]
    packages = {name.removesuffix("/__init__.py").replace("/", ".") for name in inits}
    assert packages == folder_packages()
    assert {"pullwatch.parsers", "pullwatch.tui", "pullwatch.tui.panes", "pullwatch.sources"} <= packages


def test_wheel_holds_the_data_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "pullwatch/sample/containerd-1.7-journal.log" in names
    assert "pullwatch/tui/app.tcss" in names
    modules = {n for n in names if n.endswith(".py")}
    for top, prefix in (("parsers", "pullwatch/parsers/"), ("tui", "pullwatch/tui/")):
        expected = {prefix + p.relative_to(ROOT / top).as_posix() for p in (ROOT / top).rglob("*.py")}
        assert expected <= modules


def test_runs_next_to_folders_named_like_its_subpackages(tmp_path: Path) -> None:
    """A directory holding its own parsers/ and tui/ (the repo itself, or any project) does not
    shadow pullwatch's: nothing imports a top-level `parsers` or `tui`."""
    for name in ("parsers", "tui"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('not pullwatch: ' + __name__)\n")
    sample = ROOT / "pullwatch" / "sample" / "containerd-1.7-journal.log"
    done = subprocess.run(
        [sys.executable, "-m", "pullwatch", "count", "nginx:1.25", str(sample)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()
    imported = subprocess.run(
        [sys.executable, "-c", "import pullwatch.tui.app, pullwatch.parsers; print(pullwatch.tui.app.__name__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "pullwatch.tui.app"
