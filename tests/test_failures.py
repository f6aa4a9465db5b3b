"""Failure classes of containerd error chains (parsers/failures.py).

Each text is assembled from containerd's format strings at the tag named (the wrapper's
`failed to pull and unpack image %q: %w`, the resolve wrapper, the resolver's status errors)
around Go's own net/http, net and crypto/tls error texts; the expected class is what that cause is.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullwatch.parsers.failures import _PHRASE_RE, _PHRASES, CAUSE_LIMIT, FailureKind, classify

REF = "localhost:5000/app:1.0"
HUB = "docker.io/library/nginx:1.25"


def v1(cause: str, code: str | None = None, ref: str = REF) -> str:
    """1.6/1.7 client.Pull chain (pull.go `failed to resolve reference %q: %w`)."""
    text = f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": {cause}'
    return f"rpc error: code = {code} desc = {text}" if code else text


def v2(cause: str, code: str | None = None, ref: str = REF) -> str:
    """2.1+ transfer-service chain (core/transfer/local/pull.go `failed to resolve image: %w`)."""
    text = f'failed to pull and unpack image "{ref}": failed to resolve image: {cause}'
    return f"rpc error: code = {code} desc = {text}" if code else text


def fetch(cause: str, ref: str = HUB) -> str:
    """A blob fetch failing after resolution (content/helpers.go `failed to copy: %w`)."""
    return f'failed to pull and unpack image "{ref}": failed to copy: httpReadSeeker: failed open: {cause}'


HEAD = "https://localhost:5000/v2/app/manifests/1.0"
CASES = [
    # not found: errdefs.ErrNotFound, `%s: %w` of the ref (resolver.go, both lines)
    ("1.6 not found", v1(f"{REF}: not found", "NotFound"), FailureKind.NOT_FOUND, "resolve", "NotFound"),
    ("2.1 not found", v2(f"{REF}: not found", "NotFound"), FailureKind.NOT_FOUND, "resolve", "NotFound"),
    (
        "1.7 blob 404",
        fetch(f"content at https://registry-1.docker.io/v2/library/nginx/blobs/sha256:{'a' * 64} not found: not found"),
        FailureKind.NOT_FOUND,
        "fetch",
        None,
    ),
    # unauthorized: 1.6 resolver status text, 1.7+ remotes/errors ErrUnexpectedStatus
    (
        "1.6 401",
        v1("pulling from host localhost:5000 failed with status code [manifests 1.0]: 401 Unauthorized"),
        FailureKind.UNAUTHORIZED,
        "resolve",
        None,
    ),
    (
        "1.7 401",
        v1(f"unexpected status from HEAD request to {HEAD}: 401 Unauthorized"),
        FailureKind.UNAUTHORIZED,
        "resolve",
        None,
    ),
    (
        "2.1 401",
        v2(f"unexpected status from HEAD request to {HEAD}: 401 Unauthorized"),
        FailureKind.UNAUTHORIZED,
        "resolve",
        None,
    ),
    (
        "2.x 401 with registry errors joined",
        v2(f"unexpected status from GET request to {HEAD}: 401 Unauthorized\nunauthorized: authentication required"),
        FailureKind.UNAUTHORIZED,
        "resolve",
        None,
    ),
    (
        "docker hub: no such repository",
        v1(
            "pull access denied, repository does not exist or may require authorization: server message: "
            "insufficient_scope: authorization failed",
            ref="docker.io/library/nosuchimage:latest",
        ),
        FailureKind.UNAUTHORIZED,
        "resolve",
        None,
    ),
    # forbidden
    (
        "403",
        v2(f"unexpected status from HEAD request to {HEAD}: 403 Forbidden"),
        FailureKind.FORBIDDEN,
        "resolve",
        None,
    ),
    (
        "403 with registry denied",
        v2(f"unexpected status from GET request to {HEAD}: 403 Forbidden\ndenied: requested access is denied"),
        FailureKind.FORBIDDEN,
        "resolve",
        None,
    ),
    # rate limited: fetcher.go `unexpected status code %v: %s - Server message: %s`
    (
        "1.7 hub 429 on a blob",
        fetch(
            f"unexpected status code https://registry-1.docker.io/v2/library/nginx/blobs/sha256:{'b' * 64}: "
            "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. "
            "You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
        ),
        FailureKind.RATE_LIMITED,
        "fetch",
        None,
    ),
    (
        "2.1 429 on the manifest",
        v2(f"unexpected status from HEAD request to {HEAD}: 429 Too Many Requests", ref=REF),
        FailureKind.RATE_LIMITED,
        "resolve",
        None,
    ),
    # TLS (crypto/x509, crypto/tls, net/http)
    (
        "unknown CA",
        v1(
            f'failed to do request: Head "{HEAD}": tls: failed to verify certificate: x509: certificate signed by '
            "unknown authority"
        ),
        FailureKind.TLS,
        "resolve",
        None,
    ),
    (
        "plain-http registry",
        v2(f'failed to do request: Head "{HEAD}": http: server gave HTTP response to HTTPS client'),
        FailureKind.TLS,
        "resolve",
        None,
    ),
    # DNS (net.DNSError)
    (
        "no such host",
        v1(
            'failed to do request: Head "https://nosuch.invalid/v2/app/manifests/1.0": dial tcp: lookup nosuch.invalid '
            "on 127.0.0.53:53: no such host"
        ),
        FailureKind.DNS,
        "resolve",
        None,
    ),
    (
        "DNS server timed out",
        v2(
            'failed to do request: Head "https://reg.example/v2/app/manifests/1.0": dial tcp: lookup reg.example on '
            "10.0.0.2:53: read udp 10.0.0.5:40000->10.0.0.2:53: i/o timeout"
        ),
        FailureKind.DNS,
        "resolve",
        None,
    ),
    # connection
    (
        "1.x refused",
        v1(f'failed to do request: Head "{HEAD}": dial tcp 127.0.0.1:5000: connect: connection refused'),
        FailureKind.CONNECTION,
        "resolve",
        None,
    ),
    (
        "2.1 refused (gRPC Unknown)",
        v2(f'failed to do request: Head "{HEAD}": dial tcp 127.0.0.1:5000: connect: connection refused', "Unknown"),
        FailureKind.CONNECTION,
        "resolve",
        "Unknown",
    ),
    (
        "reset mid-blob",
        fetch(
            'failed to do request: Get "https://registry-1.docker.io/v2/library/nginx/blobs/sha256:x": read tcp '
            "10.0.0.5:41234->1.2.3.4:443: read: connection reset by peer"
        ),
        FailureKind.CONNECTION,
        "fetch",
        None,
    ),
    (
        "registry closed the connection",
        v1(f'failed to do request: Head "{HEAD}": EOF'),
        FailureKind.CONNECTION,
        "resolve",
        None,
    ),
    # timeout
    (
        "dial timeout",
        v1(f'failed to do request: Head "{HEAD}": dial tcp 10.255.255.1:5000: i/o timeout'),
        FailureKind.TIMEOUT,
        "resolve",
        None,
    ),
    (
        "TLS handshake timeout",
        v2(f'failed to do request: Head "{HEAD}": net/http: TLS handshake timeout'),
        FailureKind.TIMEOUT,
        "resolve",
        None,
    ),
    (
        "deadline",
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
        FailureKind.TIMEOUT,
        None,
        "DeadlineExceeded",
    ),
    # canceled: the client went away (crictl ^C, kubelet's context)
    (
        "client canceled",
        f'rpc error: code = Canceled desc = failed to pull and unpack image "{HUB}": context canceled',
        FailureKind.CANCELED,
        None,
        "Canceled",
    ),
    (
        "client deadline (real 1.7.24, crictl-style timeout mid-download)",
        'rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "slow.test/cancel:1": '
        "context deadline exceeded",
        FailureKind.CANCELED,
        None,
        "DeadlineExceeded",
    ),
    (
        "HTTP client timeout is a timeout",
        fetch('failed to do request: Get "https://r/v2/x/blobs/sha256:x": context deadline exceeded'),
        FailureKind.TIMEOUT,
        "fetch",
        None,
    ),
    # no progress: the store's error for containerd's own progress-timeout cancel
    ("no progress", "cancelled: no progress in 5m0s", FailureKind.NO_PROGRESS, None, None),
    # disk
    (
        "disk full while unpacking",
        f'failed to pull and unpack image "{HUB}": failed to extract layer sha256:{"c" * 64}: write '
        "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/12/fs/usr/lib/x: no space left on "
        "device: unknown",
        FailureKind.DISK,
        "unpack",
        None,
    ),
    # other
    (
        "unpack mismatch",
        f'failed to pull and unpack image "{HUB}": failed to unpack image on snapshotter overlayfs: mismatched '
        "image rootfs and manifest layers",
        FailureKind.OTHER,
        "unpack",
        None,
    ),
    # only the gRPC code says it
    (
        "gRPC Unavailable only",
        "rpc error: code = Unavailable desc = connection closed",
        FailureKind.CONNECTION,
        None,
        "Unavailable",
    ),
    (
        "gRPC PermissionDenied only",
        "rpc error: code = PermissionDenied desc = nope",
        FailureKind.FORBIDDEN,
        None,
        "PermissionDenied",
    ),
]


@pytest.mark.parametrize(("name", "text", "kind", "stage", "code"), CASES, ids=[c[0] for c in CASES])
def test_classify_real_chains(name: str, text: str, kind: FailureKind, stage: str | None, code: str | None) -> None:
    failure = classify(text)
    assert failure is not None
    assert (failure.kind, failure.stage, failure.code) == (kind, stage, code)
    assert failure.cause and "\n" not in failure.cause and failure.cause in " ".join(text.split())


def test_no_error_is_no_failure() -> None:
    assert classify(None) is None
    assert classify("") is None


def test_progress_timeout_turns_context_canceled_into_no_progress() -> None:
    text = f'rpc error: code = Canceled desc = failed to pull and unpack image "{HUB}": context canceled'
    failure = classify(text, no_progress=True)
    assert failure is not None and failure.kind is FailureKind.NO_PROGRESS
    # …but not a failure whose innermost cause is something else
    refused = classify(v1(f'failed to do request: Head "{HEAD}": connect: connection refused'), no_progress=True)
    assert refused is not None and refused.kind is FailureKind.CONNECTION


def test_innermost_cause_wins_over_outer_wording() -> None:
    # "not found" appears outside ("image not found" wrapper); the innermost cause is the 401
    text = f"image not found locally: {v1(f'unexpected status from HEAD request to {HEAD}: 401 Unauthorized')}"
    failure = classify(text)
    assert failure is not None and failure.kind is FailureKind.UNAUTHORIZED
    assert failure.cause == "401 Unauthorized"


def test_unrecognised_text_is_other_with_its_last_segment() -> None:
    failure = classify("something: went: sideways")
    assert failure is not None
    assert (failure.kind, failure.code, failure.stage, failure.cause) == (FailureKind.OTHER, None, None, "sideways")


def test_phrase_regex_is_only_escaped_literals() -> None:
    """No quantifier or group in the alternation: matching is linear in the text."""
    alternatives = _PHRASE_RE.pattern.split("|")
    assert sorted(alternatives) == sorted(re.escape(p) for p, _ in _PHRASES)


def test_hostile_long_error_is_classified_and_cause_bounded() -> None:
    text = ": " * 200_000 + "x" * 100_000 + ": connection refused" + ": a" * 50_000
    failure = classify(text)
    assert failure is not None and failure.kind is FailureKind.CONNECTION
    assert len(failure.cause) <= CAUSE_LIMIT


@given(st.text(max_size=400))
def test_any_text_classifies_without_error(text: str) -> None:
    failure = classify(text)
    if text:
        assert failure is not None and failure.kind in FailureKind and len(failure.cause) <= CAUSE_LIMIT


def test_a_long_error_text_is_classified_but_not_kept() -> None:
    from pullwatch.parsers.failures import _classify

    long_text = "failed to resolve reference: no such host " + "x" * 100_000
    before = _classify.cache_info().currsize
    failure = classify(long_text)
    assert failure is not None and failure == _classify.__wrapped__(long_text, False)
    assert _classify.cache_info().currsize == before  # a hostile log cannot pin huge keys in memory
    assert classify("dial tcp: lookup x: no such host") == classify("dial tcp: lookup x: no such host")
