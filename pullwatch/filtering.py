"""Image filters shared by `--image`, `count` and the TUI's `/`: substring, glob or `re:` regex.
The TUI's filter also takes `node:NAME` words (a node's name, or a glob of names)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from pullwatch.parsers.refs import normalize

GLOB_CHARS = "*?["
NODE_PREFIX = "node:"
NO_NODE = "-"  # the name tables give lines that name no node


class FilterError(ValueError):
    """The pattern is not a valid regular expression."""


def image_matcher(pattern: str) -> Callable[[str, str], bool]:
    """A test on (image as requested, normalised ref). Substring and glob ignore case."""
    if not pattern:
        return lambda image, ref: True
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:], re.IGNORECASE)
        except re.error as error:
            raise FilterError(f"bad regular expression {pattern[3:]!r}: {error}") from None
        return lambda image, ref: bool(regex.search(image) or regex.search(ref))
    if any(char in pattern for char in GLOB_CHARS):
        glob = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        return lambda image, ref: bool(glob.match(image) or glob.match(ref))
    needle = pattern.lower()
    return lambda image, ref: needle in image.lower() or needle in ref.lower()


def exact_image_matcher(image: str) -> Callable[[str, str], bool]:
    """For `count IMAGE`: the same normalised reference (`nginx` = docker.io/library/nginx:latest);
    a glob or `re:` pattern is used as a pattern instead."""
    if image.startswith("re:") or any(char in image for char in GLOB_CHARS):
        return image_matcher(image)
    wanted = normalize(image)
    return lambda _image, ref: ref == wanted


def split_node_words(text: str) -> tuple[list[str], str]:
    """The names of a filter's `node:NAME` words, and the rest of it: the image pattern
    (`node:worker-2 nginx` -> (["worker-2"], "nginx")). A bare `node:` names no node yet."""
    words = text.split(" ")
    nodes = [word[len(NODE_PREFIX) :] for word in words if word.startswith(NODE_PREFIX)]
    rest = " ".join(word for word in words if not word.startswith(NODE_PREFIX)).strip()
    return [name for name in nodes if name], rest


def node_matcher(names: list[str]) -> Callable[[str | None], bool]:
    """A test on a pull's node: any of `names`, each a name or a glob, ignoring case (host names
    do); `-` is a pull whose lines name no node. No names: every node."""
    if not names:
        return lambda node: True
    globs = [re.compile(fnmatch.translate(name), re.IGNORECASE) for name in names]
    return lambda node: any(glob.match(node or NO_NODE) for glob in globs)
