"""Why a pull failed: an error chain from containerd (or kubelet) to one failure class.

containerd wraps errors outward (`failed to pull and unpack image "x": failed to resolve reference
"x": …: <cause>`), so the innermost cause is the rightmost recognised phrase; the gRPC code of the
`rpc error: code = X desc =` prefix (errdefs.ToGRPC, 1.x; errgrpc.ToGRPC, 2.x) is the fallback when
no phrase is known. The text comes from registries and networks, so it is hostile input: the
phrases are plain literals in one alternation (no nested repetition), matched in one linear pass.

Phrases, checked against containerd's source (v1.6.20, v1.7.24, v2.1.9, v2.3.4) and Go's net/http:
- resolve: `failed to resolve reference %q: %w` (pull.go / client/pull.go, the client.Pull path) and
  `failed to resolve image: %w` (core/transfer/local/pull.go, the 2.1+ transfer-service path);
- statuses: 1.6 `pulling from host %s failed with status code %v: %v` (resolver.go), 1.7+
  `unexpected status from %s request to %s: %s` (remotes/errors), fetcher `unexpected status code
  %v: %s - Server message: %s`; 2.x joins the registry's JSON errors after a newline
  (`401 Unauthorized\\nunauthorized: authentication required`, errcode.go unexpectedResponseErr);
- `pull access denied, repository does not exist or may require authorization: %w` wrapping
  ErrInvalidAuthorization `authorization failed` (resolver.go);
- not found: errdefs.ErrNotFound prints `not found` (`<ref>: not found`);
- network: Go's `dial tcp …: connect: connection refused`, `lookup h on s:53: no such host`,
  `i/o timeout`, `x509: …`, `http: server gave HTTP response to HTTPS client`, `context canceled`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum


class FailureKind(str, Enum):
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    TLS = "tls"
    DNS = "dns"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    NO_PROGRESS = "no_progress"
    CANCELED = "canceled"
    DISK = "disk"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified error: the class, the gRPC code if the text had one, the pull stage that failed
    (`resolve`, `fetch`, `unpack`, or None when the text does not say) and the innermost cause."""

    kind: FailureKind
    code: str | None
    stage: str | None
    cause: str


K = FailureKind
# (literal phrase, class). Order does not matter: the rightmost occurrence in the text wins.
_PHRASES: tuple[tuple[str, FailureKind], ...] = (
    # not found
    ("not found", K.NOT_FOUND),
    ("404 Not Found", K.NOT_FOUND),
    ("manifest unknown", K.NOT_FOUND),
    ("blob unknown", K.NOT_FOUND),
    ("name unknown", K.NOT_FOUND),
    ("MANIFEST_UNKNOWN", K.NOT_FOUND),
    ("NAME_UNKNOWN", K.NOT_FOUND),
    # unauthorized (401, missing or rejected credentials)
    ("401 Unauthorized", K.UNAUTHORIZED),
    ("unauthorized", K.UNAUTHORIZED),
    ("UNAUTHORIZED", K.UNAUTHORIZED),
    ("authorization failed", K.UNAUTHORIZED),
    ("pull access denied", K.UNAUTHORIZED),
    ("insufficient_scope", K.UNAUTHORIZED),
    ("authentication required", K.UNAUTHORIZED),
    ("no basic auth credentials", K.UNAUTHORIZED),
    # forbidden (403, credentials accepted but not allowed)
    ("403 Forbidden", K.FORBIDDEN),
    ("denied: ", K.FORBIDDEN),
    ("DENIED", K.FORBIDDEN),
    ("forbidden", K.FORBIDDEN),
    # rate limited
    ("429 Too Many Requests", K.RATE_LIMITED),
    ("toomanyrequests", K.RATE_LIMITED),
    ("TOOMANYREQUESTS", K.RATE_LIMITED),
    ("rate limit", K.RATE_LIMITED),
    # TLS
    ("x509: ", K.TLS),
    ("tls: ", K.TLS),
    ("server gave HTTP response to HTTPS client", K.TLS),
    ("certificate signed by unknown authority", K.TLS),
    ("first record does not look like a TLS handshake", K.TLS),
    # DNS
    ("no such host", K.DNS),
    ("server misbehaving", K.DNS),
    ("Temporary failure in name resolution", K.DNS),
    ("Name or service not known", K.DNS),
    ("dial tcp: lookup ", K.DNS),
    # connection
    ("connection refused", K.CONNECTION),
    ("connection reset by peer", K.CONNECTION),
    ("no route to host", K.CONNECTION),
    ("network is unreachable", K.CONNECTION),
    ("broken pipe", K.CONNECTION),
    ("unexpected EOF", K.CONNECTION),
    (": EOF", K.CONNECTION),
    ("use of closed network connection", K.CONNECTION),
    ("server sent GOAWAY", K.CONNECTION),
    ("503 Service Unavailable", K.CONNECTION),
    ("502 Bad Gateway", K.CONNECTION),
    # timeout
    ("i/o timeout", K.TIMEOUT),
    ("deadline exceeded", K.TIMEOUT),
    ("Client.Timeout exceeded", K.TIMEOUT),
    ("TLS handshake timeout", K.TIMEOUT),
    ("timeout awaiting response headers", K.TIMEOUT),
    ("408 Request Timeout", K.TIMEOUT),
    ("504 Gateway Timeout", K.TIMEOUT),
    # no progress: the store's text for a pull cancelled by containerd's progress timeout
    ("because of no progress", K.NO_PROGRESS),
    ("no progress in ", K.NO_PROGRESS),
    # canceled
    ("context canceled", K.CANCELED),
    # disk
    ("no space left on device", K.DISK),
    ("disk quota exceeded", K.DISK),
    ("read-only file system", K.DISK),
)
_CLASS_OF = {phrase: kind for phrase, kind in _PHRASES}
# One alternation of escaped literals, longest first so that "404 Not Found" beats "not found"
# style overlaps at the same position: each position costs at most one try per phrase.
_PHRASE_RE = re.compile("|".join(re.escape(p) for p, _ in sorted(_PHRASES, key=lambda item: -len(item[0]))))

_GRPC = re.compile(r"rpc error: code = ([A-Za-z]{1,40}) desc = ")
_GRPC_CLASS = {
    "NotFound": K.NOT_FOUND,
    "Unauthenticated": K.UNAUTHORIZED,
    "PermissionDenied": K.FORBIDDEN,
    "DeadlineExceeded": K.TIMEOUT,
    "Canceled": K.CANCELED,
    "Unavailable": K.CONNECTION,
}
# The request's own context, not a network call, hit its deadline: nothing after the pull wrapper
# (seen on real 1.6.20 and 1.7.24 when the client's deadline expires mid-download).
_CLIENT_DEADLINE = re.compile(r'failed to pull and unpack image "[^"\\]{0,1024}": context deadline exceeded\s*$')
# Network classes that a DNS lookup in the same chain explains (a lookup that timed out is a DNS
# failure: `dial tcp: lookup reg on 10.0.0.2:53: read udp …: i/o timeout`).
_DNS_EXPLAINS = (K.TIMEOUT, K.CONNECTION)

_STAGES: tuple[tuple[str, str], ...] = (
    ("failed to resolve reference ", "resolve"),
    ("failed to resolve image: ", "resolve"),
    ("failed to copy: ", "fetch"),
    ("failed to copy after ", "fetch"),
    ("httpReadSeeker: ", "fetch"),
    ("could not fetch content", "fetch"),
    ("failed commit on ref ", "fetch"),
    ("failed to fetch ", "fetch"),
    ("failed to extract layer ", "unpack"),
    ("failed to unpack image on snapshotter", "unpack"),
    ("failed to prepare extraction snapshot", "unpack"),
    ("apply layer error", "unpack"),
)
_STAGE_OF = dict(_STAGES)
_STAGE_RE = re.compile("|".join(re.escape(p) for p, _ in _STAGES))

CAUSE_LIMIT = 300


def classify(error: str | None, *, no_progress: bool = False) -> Failure | None:
    """The failure class of one error text; None when there is no error text. `no_progress`: the
    log showed containerd cancelling this pull for lack of progress (its `context canceled` error
    then means no_progress, not a cancel by the client)."""
    if not error:
        return None
    if len(error) > _CACHED_TEXT_MAX:  # a long text is matched afresh: the cache holds no huge keys
        return _classify.__wrapped__(error, no_progress)
    return _classify(error, no_progress)


_CACHED_TEXT_MAX = 2048  # characters: at most 1024 such keys (~2 MB) stay in the cache


@functools.lru_cache(maxsize=1024)
def _classify(error: str, no_progress: bool) -> Failure:
    """classify's answer, kept for the texts seen last: a log repeats the same few error texts (one
    per failing image and cause), and matching one took ~10 µs, a tenth of a dense log's store time
    at one pull in ten lines failing (Failure is frozen: one answer can be shared)."""
    last: re.Match[str] | None = None
    saw_dns = False
    for match in _PHRASE_RE.finditer(error):
        last = match
        if _CLASS_OF[match.group()] is K.DNS:
            saw_dns = True
    grpc = _GRPC.search(error)
    code = grpc.group(1) if grpc else None
    if last is not None:
        kind = _CLASS_OF[last.group()]
        if saw_dns and kind in _DNS_EXPLAINS:
            kind = K.DNS
        cause = _cause(error, last.start())
    else:
        kind = _GRPC_CLASS.get(code or "", K.OTHER)
        cause = _cause(error, len(error))
    if kind is K.TIMEOUT and code == "DeadlineExceeded" and _CLIENT_DEADLINE.search(error):
        kind = K.CANCELED  # the CRI client's own deadline ran out (crictl --timeout): it gave up
    if no_progress and kind in (K.CANCELED, K.OTHER):
        kind = K.NO_PROGRESS
    return Failure(kind, code, _stage(error), cause)


def _cause(error: str, at: int) -> str:
    """The innermost part of the chain: from the `: ` before position `at` to the end (or the
    last segment when nothing was recognised), on one line and at most CAUSE_LIMIT characters."""
    start = error.rfind(": ", 0, at) if at < len(error) else error.rfind(": ")
    text = error[start + 2 :] if start >= 0 else error
    text = " ".join(text.split())
    return text if len(text) <= CAUSE_LIMIT else text[: CAUSE_LIMIT - 1] + "…"


def _stage(error: str) -> str | None:
    """The innermost stage named in the chain (resolve, fetch or unpack)."""
    stage = None
    for match in _STAGE_RE.finditer(error):
        stage = _STAGE_OF[match.group()]
    return stage


__all__ = ["CAUSE_LIMIT", "Failure", "FailureKind", "classify"]
