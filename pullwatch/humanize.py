"""Numbers and log text for people: sizes, durations, times, rates, and text from logs made safe
to print (visibly escaped for people, JSON-escaped for machines). Shared by the headless output and
the TUI (below both)."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any


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
    """For people (table, CSV, monitor): every character a terminal or a reader can be fooled by
    shown as a visible escape (`\\x1b`, `\\u202e`, `\\U000e0001`). That is what str.isprintable
    refuses: C0 and C1 controls, DEL, bidi controls, zero-width and other format characters, line
    separators, surrogates, unassigned code points. The one definition of unsafe text."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _visible(c) for c in text)


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _compiled_writer() -> Any:
    """The compiled writer (pullwatch/_jsontext.c), None where it was not built (it is optional)
    or PULLWATCH_JSON=python asks for this module's own."""
    if os.environ.get("PULLWATCH_JSON") == "python":
        return None
    try:
        return importlib.import_module("pullwatch._jsontext")
    except ImportError:
        return None


COMPILED: Any = _compiled_writer()


def json_text(value: object, indent: int | None = None, level: int = 0) -> str:
    """json_text_python's text, by the compiled writer where it takes the value (every report's):
    a dict a pull of JSON costs it ~1 µs where json's encoder and this module's indenting take ~6."""
    if COMPILED is not None:
        text: str | None = COMPILED.json_text(value, indent, level)
        if text is not None:
            return text
    return json_text_python(value, indent, level)


def json_text_python(value: object, indent: int | None = None, level: int = 0) -> str:
    """For machines (report JSON, events): json.dumps, with the characters safe_text escapes
    written as JSON `\\u` escapes, so that a decoder reads back the exact value and a terminal
    shown the output sees no control. (json.dumps escapes C0 only, and writes DEL, C1 and bidi
    controls raw.) Outside strings, indented JSON holds only printable text and newlines. `level`:
    the text of a value nested that many levels deep in an indented document (every line after
    the first indented by `level` * `indent` more), as a streamed report writes its pulls."""
    text = _indented(value, indent, level) if indent is not None else json.dumps(value, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:
        return text  # json escapes C0 in strings (a raw newline is the indent's): only DEL is left raw
    if text.isprintable() or (indent is not None and text.replace("\n", "").isprintable()):
        return text
    return "\n".join(line if line.isprintable() else "".join(map(_json_char, line)) for line in text.split("\n"))


# (indent, level) -> the C encoder of a dict's scalars at that depth, and the text around its items
_FLAT: dict[tuple[int, int], tuple[Callable[[object], str], str, str]] = {}
_SCALARS = frozenset((str, int, float, bool, type(None)))  # what the C encoder writes as the indented one does


def _indented(value: object, indent: int, level: int = 0) -> str:
    """json.dumps(value, indent=indent) `level` levels deep, the same text. json's indented writer
    is pure Python (its C encoder runs only without indent); a dict's scalars (a pull's record) are
    written by the C encoder instead, its item separator carrying the newline and the indent, and
    only its lists and dicts (a pull's hosts or pods) by the indented writer."""
    if type(value) is dict and value:
        flat = _FLAT.get((indent, level))
        if flat is None:
            pad = "\n" + " " * (indent * (level + 1))
            encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=("," + pad, ": "))
            flat = _FLAT[(indent, level)] = (encoder.encode, "{" + pad, "\n" + " " * (indent * level) + "}")
        encode, head, tail = flat
        if _SCALARS.issuperset(map(type, value.values())):
            return head + encode(value)[1:-1] + tail  # (keys of any type: the C encoder writes them as json.dumps)
        if all(type(key) is str for key in value):  # (as a key of its own below, only a str is written the same)
            parts, run = [], {}
            for key, item in value.items():
                if type(item) in _SCALARS:
                    run[key] = item
                else:
                    if run:
                        parts.append(encode(run)[1:-1])
                        run = {}
                    parts.append(json.dumps(key, ensure_ascii=False) + ": " + _indented(item, indent, level + 1))
            if run:
                parts.append(encode(run)[1:-1])
            return head + ("," + head[1:]).join(parts) + tail
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * (indent * level)) if level else text


def _json_char(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"  # a UTF-16 pair, as JSON has it


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
