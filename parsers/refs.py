"""Image reference normalisation, the way containerd's CRI does it
(`distribution/reference.ParseDockerRef`): `nginx` -> `docker.io/library/nginx:latest`."""

from __future__ import annotations

from functools import lru_cache

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"


@lru_cache(maxsize=4096)
def normalize(image: str) -> str:
    """The normalised reference; input that is not a reference at all is returned unchanged,
    so that odd names still group with themselves instead of vanishing."""
    name = image.strip()
    if not name or any(c.isspace() for c in name) or '"' in name:
        return image
    if _is_image_id(name):
        return name
    digest = ""
    if "@" in name:
        name, _, digest = name.partition("@")
        if not name or not digest:
            return image
    domain, remainder = _split_domain(name)
    tag = ""
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not remainder or not tag:
            return image
    if not remainder:
        return image
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = "library/" + remainder
    base = f"{domain}/{remainder}"
    if digest:
        return f"{base}@{digest}"  # ParseDockerRef drops the tag when a digest is present
    return f"{base}:{tag or 'latest'}"


def _split_domain(name: str) -> tuple[str, str]:
    slash = name.find("/")
    first = name[:slash]
    if slash == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        return DEFAULT_DOMAIN, name
    if first == LEGACY_DOMAIN:
        return DEFAULT_DOMAIN, name[slash + 1 :]
    return first, name[slash + 1 :]


def _is_image_id(name: str) -> bool:
    """`sha256:<64 hex>` is an image id, not a name, and is left alone."""
    head, _, tail = name.partition(":")
    return head == "sha256" and len(tail) == 64 and all(c in "0123456789abcdef" for c in tail)
