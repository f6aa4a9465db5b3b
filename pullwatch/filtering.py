"""Image filters shared by `--image`, `count` and the TUI's `/`: substring, glob or `re:` regex."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from pullwatch.parsers.refs import normalize

GLOB_CHARS = "*?["


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
