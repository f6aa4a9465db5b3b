"""Numbers and log text for people: sizes, durations, times, rates, and names from logs made safe
to print. Shared by the headless output and the TUI (below both)."""

from __future__ import annotations

from datetime import datetime


def human_bytes(count: int | None) -> str:
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def short_time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def mib_per_second(count: int | None, seconds: float | None) -> str:
    """MiB per second, as containerd's own throughput metric counts it; "-" when unknown."""
    if not count or not seconds:
        return "-"
    return f"{count / 1048576 / seconds:.1f}"


def safe_text(text: str) -> str:
    """Neutralise control characters (escape sequences) in names that come from logs."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in text)


def short_name(name: str, width: int) -> str:
    """An image name in `width` characters, the registry and path given up first
    (`…/kube-apiserver:v1.34.2`), then the end of what is left (`…/static@sha256:abab…`)."""
    if len(name) <= width:
        return name
    if width < 2:
        return name[:width]
    parts = name.split("/")
    for start in range(1, len(parts)):
        shorter = "…/" + "/".join(parts[start:])
        if len(shorter) <= width:
            return shorter
    last = "…/" + parts[-1] if len(parts) > 1 else name
    return last[: width - 1] + "…"
