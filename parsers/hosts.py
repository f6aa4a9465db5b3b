"""Which registry host containerd asked: its resolver's log lines to HostEvents. No I/O.

The lines and their fields, checked against remotes/docker/resolver.go (v1.6.20, v1.7.24) and
core/remotes/docker/resolver.go (v2.1.9, v2.3.4):
- `resolving` (debug), `resolved` (debug, `desc.digest=`): field `host=` (the ctx logger of the
  resolve loop); 2.3 adds `method=` and `url=` (query redacted except `ns`);
- `trying next host` (info, `error=`): a request to that host failed; 1.x also
  `trying next host - response was http.StatusNotFound`; 2.x `trying next host after status: S`
  and, for the last host, `fetch failed after status: S` / `fetch failed` (`nextHostOrFail`);
- `do request` (debug, `url=`, `request.method=`) and `fetch response received` (debug,
  `response.status=`): every HTTP request, inside the resolve loop with `host=` too.
A URL names the repository (`/v2/<repo>/manifests/<tag|digest>`, `/blobs/<digest>`) and, for a
mirror, the upstream registry in `?ns=` (request.addNamespace, only when the host is a proxy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from pullwatch.parsers.envelope import LogEntry


class HostEventKind(str, Enum):
    RESOLVING = "resolving"  # about to ask this host for the manifest
    RESOLVED = "resolved"  # this host answered the manifest: it serves the pull
    NEXT_HOST = "next_host"  # this host failed, containerd tries the next one
    LAST_HOST_FAILED = "last_host_failed"  # 2.x: the last host failed too ("fetch failed")
    REQUEST = "request"  # one HTTP request (debug `do request`)
    RESPONSE = "response"  # its response (debug `fetch response received`)


@dataclass(slots=True)
class HostEvent:
    kind: HostEventKind
    host: str | None = None  # host:port as configured (a mirror, or the registry itself)
    url: str | None = None
    method: str | None = None
    status: str | None = None  # HTTP status text, `404 Not Found`
    error: str | None = None
    digest: str | None = None
    ref: str | None = None  # the image reference the URL names, when it names one
    blob: bool = False  # the URL is a blob's (a layer or config), not a manifest's

    def to_json(self) -> dict[str, str | bool | None]:
        return {
            "kind": self.kind.value,
            "host": self.host,
            "url": self.url,
            "method": self.method,
            "status": self.status,
            "error": self.error,
            "digest": self.digest,
            "ref": self.ref,
            "blob": self.blob,
        }


# Every resolver message starts with one of these (checked with str.startswith).
MESSAGE_PREFIXES = (
    "resolving",
    "resolved",
    "trying next host",
    "fetch failed",
    "do request",
    "fetch response received",
)
_AFTER_STATUS = re.compile(r"(trying next host|fetch failed) after status: ([^\r\n]{1,200})")
# 1.x logs no url= at info level, but the error of `trying next host` quotes it (net/http's
# `Head "URL": …`, url.Error).
_URL_IN_ERROR = re.compile(r'(?:Head|Get) "(https?://[^"\s]{1,2048})"')
_V2_PATH = re.compile(r"/v2/([^?#]{1,512})/(manifests|blobs)/([^/?#]{1,256})")
# containerd talks to docker.io at registry-1.docker.io without `ns=` (RegistryHost.isProxy).
_DOCKER_HUB_HOST = "registry-1.docker.io"


def decode_host_message(entry: LogEntry) -> HostEvent | None:
    """The host event this logrus entry reports, None when it is not a resolver line."""
    msg = entry.msg
    if not msg.startswith(MESSAGE_PREFIXES):
        return None
    fields = entry.fields
    if msg == "resolving":
        kind = HostEventKind.RESOLVING
    elif msg == "resolved":
        kind = HostEventKind.RESOLVED
    elif msg in ("trying next host", "trying next host - response was http.StatusNotFound"):
        kind = HostEventKind.NEXT_HOST
    elif msg == "fetch failed":
        if "host" not in fields:
            return None  # the fetcher's debug line for one blob, not a resolve host
        kind = HostEventKind.LAST_HOST_FAILED
    elif msg == "do request":
        kind = HostEventKind.REQUEST
    elif msg == "fetch response received":
        kind = HostEventKind.RESPONSE
    elif match := _AFTER_STATUS.fullmatch(msg):
        kind = HostEventKind.NEXT_HOST if match.group(1) == "trying next host" else HostEventKind.LAST_HOST_FAILED
        event = _event(kind, fields)
        event.status = match.group(2)
        return event
    else:
        return None
    event = _event(kind, fields)
    if msg.endswith("http.StatusNotFound"):
        event.status = "404 Not Found"
    return event


def next_host_line(error: str | None, host: str | None) -> tuple[HostEvent, str]:
    """A `trying next host` line whose only fields are error and host, as the compiled route
    (parsers/_fastline.c) reads them: its HostEvent, and the reference it names ("" for none)."""
    fields = {} if error is None else {"error": error}
    if host is not None:
        fields["host"] = host
    event = _event(HostEventKind.NEXT_HOST, fields)
    return event, event.ref or ""


def _event(kind: HostEventKind, fields: dict[str, str]) -> HostEvent:
    url = fields.get("url") or None
    error = fields.get("error") or None
    if url is None and error is not None:
        url = _url_in_error(error)
    host = fields.get("host") or None  # absent outside the resolve loop (the fetcher's requests)
    ref = ref_from_url(url) if url else None
    return HostEvent(
        kind,
        host=host,
        url=url,
        method=fields.get("method") or fields.get("request.method") or None,
        status=fields.get("response.status") or None,
        error=error,
        digest=fields.get("desc.digest") or None,
        ref=ref,
        blob=url is not None and "/blobs/" in url,
    )


@lru_cache(maxsize=256)
def _url_in_error(error: str) -> str | None:
    """The URL a 1.x error quotes (a node's errors repeat: one mirror failing for every pull)."""
    quoted = _URL_IN_ERROR.search(error)
    return quoted.group(1) if quoted else None


@lru_cache(maxsize=1024)  # (a pure function of a URL a node's log repeats)
def ref_from_url(url: str) -> str | None:
    """The normalised image reference a registry URL asks for: `https://m:5000/v2/library/nginx/
    manifests/1.25?ns=docker.io` → `docker.io/library/nginx:1.25`; a blob URL names the repository
    and the blob digest (`…@sha256:…`). None when the URL is not a /v2/ manifest or blob URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    match = _V2_PATH.fullmatch(parts.path)
    if match is None or not parts.netloc:
        return None
    repo, _, obj = match.groups()
    namespaces = parse_qs(parts.query).get("ns")
    registry = namespaces[0] if namespaces else parts.netloc
    if registry == _DOCKER_HUB_HOST:
        registry = "docker.io"
    separator = "@" if ":" in obj else ":"
    return f"{registry}/{repo}{separator}{obj}"


def repository_of(ref: str) -> str:
    """`docker.io/library/nginx:1.25` → `docker.io/library/nginx` (digest or tag removed)."""
    at = ref.find("@")
    if at >= 0:
        return ref[:at]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


__all__ = [
    "MESSAGE_PREFIXES",
    "HostEvent",
    "HostEventKind",
    "decode_host_message",
    "next_host_line",
    "ref_from_url",
    "repository_of",
]
