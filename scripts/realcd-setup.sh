#!/usr/bin/env bash
# Fetch the real containerd builds the realcd tests run (Debian's packages, extracted into a cache,
# never installed) and make sure Debian's docker-registry binary is present. Idempotent: a suite whose
# binary is already extracted and prints the expected version is skipped. Run as root (apt-get).
#
#   scripts/realcd-setup.sh            # all three suites
#   REALCD_CACHE=/some/dir scripts/realcd-setup.sh
#
# Layout: $REALCD_CACHE/<suite>/root/usr/bin/containerd (dpkg-deb -x of the package) and
# $REALCD_CACHE/<suite>/version (the Debian package version that was extracted).
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${REALCD_CACHE:-$PWD/tests/realcd/.cache}"
mirror="${REALCD_MIRROR:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# suite -> upstream version its binary must print (containerd --version)
declare -A want=([bookworm]=1.6.20 [trixie]=1.7.24 [sid]=2.1.9)
mkdir -p "$cache"

fetch_suite() {
    local suite=$1 dir="$cache/$1"
    local bin="$dir/root/usr/bin/containerd"
    if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " v\?${want[$suite]}"; then
        echo "containerd ${want[$suite]} ($suite): cached"
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/deb"
    echo "deb [signed-by=$keyring] $mirror $suite main" > "$dir/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
                -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
                -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get -qq "${opts[@]}" update
    (cd "$dir/deb" && apt-get -qq "${opts[@]}" download containerd)
    local deb; deb=$(ls "$dir"/deb/containerd_*.deb)
    dpkg-deb -f "$deb" Version > "$dir/version"
    dpkg-deb -x "$deb" "$dir/root"
    rm -rf "$dir/lists" "$dir/cache"
    "$bin" --version | grep -q " v\?${want[$suite]}" || {
        echo "containerd from $suite is $("$bin" --version), expected ${want[$suite]}" >&2; exit 1; }
    echo "containerd ${want[$suite]} ($suite): extracted $(cat "$dir/version")"
}

for suite in bookworm trixie sid; do
    fetch_suite "$suite"
    "$cache/$suite/root/usr/bin/containerd" --version
done

# The registry: Debian's docker-registry (distribution 2.8). The tests start it themselves on
# 127.0.0.1 with a private config; its packaged systemd service is stopped and not relied on.
if ! command -v docker-registry >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
fi
docker-registry --version
