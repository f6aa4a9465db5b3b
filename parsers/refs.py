"""Image reference normalisation, the way containerd's CRI does it
(`distribution/reference.ParseDockerRef`): `nginx` -> `docker.io/library/nginx:latest`.

Follows github.com/distribution/reference `normalize.go` (splitDockerDomain, ParseNormalizedNamed,
ParseDockerRef) and `regexp.go` (the reference grammar), read at commits 4ca14034 / 00a09fa3:
the first path component is a domain only if it is `localhost`, contains `.` or `:`, or has an
upper-case letter; `index.docker.io` becomes `docker.io`; Docker Hub names without a namespace get
`library/`; a reference with a digest loses its tag; one without either gets `:latest`. Anything
the grammar rejects is returned unchanged (containerd then fails the pull with "failed to parse
image reference"), so odd names still group with themselves instead of vanishing (docs/formats.md §4).
"""

from __future__ import annotations

import re
from functools import lru_cache

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of distribution/reference regexp.go (Go's \w is ASCII, hence re.ASCII).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = r"(?:" + _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = _HOST + r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    r"((?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?",
    re.ASCII,
)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")
# go-digest: the algorithms it knows and the length of their lower-case hex encoding.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX = re.compile(r"[a-f0-9]+")


@lru_cache(maxsize=4096)
def normalize(image: str) -> str:
    """The normalised reference (ParseDockerRef), or `image` unchanged when it is not a valid
    reference."""
    if not image or _IDENTIFIER.fullmatch(image):
        return image
    domain, remainder = _split_docker_domain(image)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        return image  # "repository name must be lowercase"
    match = _REFERENCE.fullmatch(domain + "/" + remainder)
    if match is None:
        return image
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        return image
    if digest is not None:
        if not _valid_digest(digest):
            return image
        return f"{name}@{digest}"  # ParseDockerRef keeps the digest and drops the tag
    return f"{name}:{tag or 'latest'}"


def _split_docker_domain(name: str) -> tuple[str, str]:
    """splitDockerDomain: where the domain ends and the repository path begins."""
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_PREFIX + name
    if first == "localhost":
        domain, remainder = first, rest
    elif first == LEGACY_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif any(c in first for c in ".:") or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def _valid_digest(digest: str) -> bool:
    """go-digest Validate: a known algorithm and lower-case hex of its exact length."""
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_HEX_LENGTH.get(algorithm)
    return length is not None and len(encoded) == length and _LOWER_HEX.fullmatch(encoded) is not None
