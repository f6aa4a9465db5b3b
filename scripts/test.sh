#!/usr/bin/env bash
# Set up everything the tests need on a machine that has never seen pullwatch, then run them:
# Debian packages (tmux for the terminal tests, systemd for a real journald and systemd-cat,
# libsystemd-dev + pkg-config to build systemd-python, prometheus for the metrics round trip,
# systemd-journal-remote, real containerd builds and a registry for tests/realcd), a venv with
# pullwatch installed, then ruff, mypy (pullwatch and tests), lint-imports (the layers in
# pyproject.toml) and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v tmux >/dev/null || packages+=(tmux)
command -v systemd-cat >/dev/null && [ -x /lib/systemd/systemd-journald ] || packages+=(systemd)
command -v journalctl >/dev/null || packages+=(systemd)
dpkg -s libsystemd-dev >/dev/null 2>&1 || packages+=(libsystemd-dev)
command -v pkg-config >/dev/null || packages+=(pkg-config)
command -v gcc >/dev/null || packages+=(gcc)
# the headers the compiled parser route (parsers/_fastline.c) builds against
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || packages+=(python3-dev)
# a real Prometheus scrapes `pullwatch metrics` (tests/prometheus.py starts the binary itself)
command -v prometheus >/dev/null || packages+=(prometheus)
# several nodes' journals merged into one directory (tests/journalremote.py)
[ -x /lib/systemd/systemd-journal-remote ] || packages+=(systemd-journal-remote)
if [ ${#packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian packages: ${packages[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    else
        echo "missing Debian packages: ${packages[*]} (install them, or run this as root)" >&2
        exit 2
    fi
fi

# real containerd 1.6/1.7/2.1 (extracted from Debian's packages into tests/realcd/.cache, never
# installed) and Debian's docker-registry, for the realcd tests
if [ "$(id -u)" = 0 ]; then
    bash scripts/realcd-setup.sh
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# A build/ left by an older tree would put its stale modules into the install: build afresh.
rm -rf build
.venv/bin/python -m pip install -q '.[journal,test]'

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
# .venv/bin/pytest, not `python -m pytest`: -m would put this directory first on sys.path, and the
# tests would import the tree's pullwatch/ (no compiled _fastline there) instead of the installed one.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/pytest "$@"
