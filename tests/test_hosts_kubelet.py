"""Resolver host lines (parsers/hosts.py) and kubelet's image lines (parsers/kubelet.py).

containerd lines are logrus text as TextFormatter writes them (fields sorted, a value quoted when it
has a character outside [A-Za-z0-9-._/@^+]); messages and fields are those of resolver.go at the
tags named. kubelet lines are klog text (strconv.Quote of string values) around the messages of
image_manager.go, pod_workers.go, image_gc_manager.go and client-go's event logging.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from logfactory import quote

from pullwatch.parsers import UnparsedLine, parse_why_line
from pullwatch.parsers.envelope import decode_envelope
from pullwatch.parsers.events import EventKind
from pullwatch.parsers.hosts import HostEventKind, decode_host_message, ref_from_url, repository_of
from pullwatch.parsers.kubelet import KubeletEventKind, decode_klog, is_klog, resolve_time

T = 'time="2026-12-02T05:00:00.000000000Z"'
MIRROR_URL = "https://mirror.local:5000/v2/library/nginx/manifests/1.25?ns=docker.io"


def host_event(line: str):  # type: ignore[no-untyped-def]
    return decode_host_message(decode_envelope(line))


# (containerd, logrus line, kind, host, status, ref named by the line)
HOST_CASES = [
    (
        "1.6/1.7/2.1",
        f'{T} level=debug msg=resolving host="mirror.local:5000"',
        HostEventKind.RESOLVING,
        "mirror.local:5000",
        None,
        None,
    ),
    (
        "1.x",
        f'{T} level=debug msg=resolved desc.digest="sha256:{"d" * 64}" host=registry-1.docker.io',
        HostEventKind.RESOLVED,
        "registry-1.docker.io",
        None,
        None,
    ),
    (
        "1.x",
        f'{T} level=info msg="trying next host" error="failed to do request: Head \\"{MIRROR_URL}\\": dial tcp '
        f'10.0.0.9:5000: connect: connection refused" host="mirror.local:5000"',
        HostEventKind.NEXT_HOST,
        "mirror.local:5000",
        None,
        "docker.io/library/nginx:1.25",  # from the URL quoted in the error (1.x has no url= at info)
    ),
    (
        "1.x",
        f'{T} level=info msg="trying next host - response was http.StatusNotFound" host="mirror.local:5000"',
        HostEventKind.NEXT_HOST,
        "mirror.local:5000",
        "404 Not Found",
        None,
    ),
    (
        "2.x",
        f'{T} level=info msg="trying next host after status: 404 Not Found" host="mirror.local:5000"',
        HostEventKind.NEXT_HOST,
        "mirror.local:5000",
        "404 Not Found",
        None,
    ),
    (
        "2.x",
        f'{T} level=info msg="fetch failed after status: 401 Unauthorized" host="localhost:5000"',
        HostEventKind.LAST_HOST_FAILED,
        "localhost:5000",
        "401 Unauthorized",
        None,
    ),
    (
        "2.3",
        f'{T} level=debug msg=resolving host="mirror.local:5000" method=HEAD url="{MIRROR_URL}"',
        HostEventKind.RESOLVING,
        "mirror.local:5000",
        None,
        "docker.io/library/nginx:1.25",
    ),
    (
        "1.x/2.x",
        f'{T} level=debug msg="do request" host=registry-1.docker.io request.header.accept="application/json, */*" '
        f'request.method=HEAD url="https://registry-1.docker.io/v2/library/nginx/manifests/1.25"',
        HostEventKind.REQUEST,
        "registry-1.docker.io",
        None,
        "docker.io/library/nginx:1.25",
    ),
    (
        "blob request (no host field)",
        f'{T} level=debug msg="fetch response received" response.status="200 OK" '
        f'url="https://mirror.local:5000/v2/library/nginx/blobs/sha256:{"e" * 64}?ns=docker.io"',
        HostEventKind.RESPONSE,
        None,
        "200 OK",
        f"docker.io/library/nginx@sha256:{'e' * 64}",
    ),
]


@pytest.mark.parametrize(("version", "line", "kind", "host", "status", "ref"), HOST_CASES)
def test_host_lines(
    version: str, line: str, kind: HostEventKind, host: str, status: str | None, ref: str | None
) -> None:
    event = host_event(line)
    assert event is not None
    assert (event.kind, event.host, event.status, event.ref) == (kind, host, status, ref)


def test_host_line_error_and_method_fields() -> None:
    line = (
        f'{T} level=info msg="trying next host" error="failed to do request: Head \\"{MIRROR_URL}\\": EOF" '
        f'host="mirror.local:5000" method=HEAD url="{MIRROR_URL}"'
    )
    event = host_event(line)
    assert event is not None
    assert event.error == f'failed to do request: Head "{MIRROR_URL}": EOF'
    assert event.method == "HEAD" and event.url == MIRROR_URL


@pytest.mark.parametrize(
    "line",
    [
        f'{T} level=debug msg="fetch failed" error="unexpected EOF" digest="sha256:{"f" * 64}"',  # a blob, no host
        f'{T} level=debug msg=fetch digest="sha256:{"f" * 64}" mediatype=application/json size=1',
        f'{T} level=info msg="resolving the weather"',
        f'{T} level=info msg="PullImage \\"nginx\\""',
    ],
)
def test_not_host_lines(line: str) -> None:
    assert host_event(line) is None


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        ("https://registry.k8s.io/v2/pause/manifests/3.9", "registry.k8s.io/pause:3.9"),
        (
            "http://localhost:5000/v2/team/app/manifests/sha256:" + "a" * 64,
            "localhost:5000/team/app@sha256:" + "a" * 64,
        ),
        ("https://m:5000/v2/library/busybox/manifests/latest?ns=docker.io", "docker.io/library/busybox:latest"),
        ("https://m:5000/v2/", None),
        ("not a url", None),
        ("https://m/v2/x/tags/list", None),
    ],
)
def test_ref_from_url(url: str, ref: str | None) -> None:
    assert ref_from_url(url) == ref


def test_repository_of() -> None:
    assert repository_of("localhost:5000/app:1.0") == "localhost:5000/app"
    assert repository_of("localhost:5000/app") == "localhost:5000/app"
    assert repository_of("docker.io/library/nginx@sha256:" + "a" * 64) == "docker.io/library/nginx"


# ---- kubelet ----

YEAR = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)
JOURNAL = "Dec 02 05:36:31 node1 kubelet[1234]: "


def klog(level: str, source: str, msg: str, *pairs: tuple[str, str]) -> str:
    fields = " ".join(f"{key}={quote(value)}" for key, value in pairs)
    return f"{level}1202 05:36:31.123456    1234 {source}] {quote(msg)} {fields}"


def event_line(reason: str, message: str, obj: str = "default/web-0", kind: str = "Pod") -> str:
    return klog(
        "I",
        "event.go:389",
        "Event occurred",
        ("object", obj),
        ("fieldPath", "spec.containers{web}"),
        ("kind", kind),
        ("apiVersion", "v1"),
        ("type", "Normal"),
        ("reason", reason),
        ("message", message),
    )


CRI_NOT_FOUND = (
    'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nosuch:1.0": failed to '
    'resolve reference "docker.io/library/nosuch:1.0": docker.io/library/nosuch:1.0: not found'
)


def test_pulling_event_with_journal_prefix() -> None:
    event = decode_klog(JOURNAL + event_line("Pulling", 'Pulling image "nginx:1.25"'), YEAR)
    assert event is not None
    assert (event.kind, event.image, event.namespace, event.pod) == (
        KubeletEventKind.PULLING,
        "nginx:1.25",
        "default",
        "web-0",
    )
    assert event.time == datetime(2026, 12, 2, 5, 36, 31, 123456, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("message", "kind", "image"),
    [
        (
            'Successfully pulled image "nginx:1.25" in 1.2s (1.2s including waiting). Image size: 1 bytes.',
            KubeletEventKind.PULLED,
            "nginx:1.25",
        ),
        ('Container image "nginx:1.25" already present on machine', KubeletEventKind.PRESENT, "nginx:1.25"),
        ('Back-off pulling image "nosuch:1.0"', KubeletEventKind.BACKOFF, "nosuch:1.0"),
        (f'Failed to pull image "nosuch:1.0": {CRI_NOT_FOUND}', KubeletEventKind.FAILED, "nosuch:1.0"),
    ],
)
def test_image_manager_events(message: str, kind: KubeletEventKind, image: str) -> None:
    event = decode_klog(event_line("Any", message), YEAR)
    assert event is not None and (event.kind, event.image, event.pod) == (kind, image, "web-0")
    if kind is KubeletEventKind.FAILED:
        assert event.error == CRI_NOT_FOUND


def test_events_that_are_not_pulls() -> None:
    assert (
        decode_klog(
            event_line("ErrImageNeverPull", 'Container image "x" is not present with pull policy of Never'), YEAR
        )
        is None
    )
    assert (
        decode_klog(event_line("ScalingReplicaSet", "Scaled up replica set web to 1", kind="Deployment"), YEAR) is None
    )
    assert decode_klog(event_line("Started", "Started container web"), YEAR) is None


def test_old_unstructured_event() -> None:
    line = (
        'I0102 03:04:05.000001    1234 event.go:278] Event(v1.ObjectReference{Kind:"Pod", Namespace:"prod", '
        'Name:"api-1", UID:"u", APIVersion:"v1", ResourceVersion:"9", FieldPath:"spec.containers{api}"}): '
        "type: 'Normal' reason: 'Pulling' Pulling image \"registry.local/api:2\""
    )
    event = decode_klog(line, datetime(2027, 1, 2, tzinfo=timezone.utc))
    assert event is not None
    assert (event.kind, event.image, event.namespace, event.pod) == (
        KubeletEventKind.PULLING,
        "registry.local/api:2",
        "prod",
        "api-1",
    )
    assert event.time is not None and event.time.year == 2027


def test_pod_workers_err_image_pull() -> None:
    err = 'failed to "StartContainer" for "web" with ErrImagePull: ' + quote(CRI_NOT_FOUND)
    line = klog(
        "E",
        "pod_workers.go:1301",
        "Error syncing pod, skipping",
        ("err", err),
        ("pod", "default/web-0"),
        ("podUID", "0a1b2c"),
    )
    event = decode_klog(JOURNAL + line, YEAR)
    assert event is not None
    assert (event.kind, event.image, event.namespace, event.pod, event.error) == (
        KubeletEventKind.FAILED,
        "docker.io/library/nosuch:1.0",
        "default",
        "web-0",
        CRI_NOT_FOUND,
    )


def test_pod_workers_backoff_and_unrelated_errors() -> None:
    err = 'failed to "StartContainer" for "web" with ImagePullBackOff: ' + quote('Back-off pulling image "nosuch:1.0"')
    event = decode_klog(
        klog("E", "pod_workers.go:1301", "Error syncing pod, skipping", ("err", err), ("pod", "default/web-0")), YEAR
    )
    assert event is not None and (event.kind, event.image) == (KubeletEventKind.BACKOFF, "nosuch:1.0")
    crash = 'failed to "StartContainer" for "web" with CrashLoopBackOff: "back-off 10s restarting failed container"'
    assert (
        decode_klog(
            klog("E", "pod_workers.go:1301", "Error syncing pod, skipping", ("err", crash), ("pod", "default/web-0")),
            YEAR,
        )
        is None
    )


def test_image_gc_line() -> None:
    line = (
        "I1202 05:36:31.123456    1234 image_gc_manager.go:375] "
        f'"Removing image to free bytes" imageID="sha256:{"a" * 64}" size=162019241 runtimeHandler=""'
    )
    event = decode_klog(line, YEAR)
    assert event is not None
    assert (event.kind, event.image_id, event.size_bytes) == (
        KubeletEventKind.IMAGE_REMOVED,
        "sha256:" + "a" * 64,
        162019241,
    )


def test_no_year_means_no_time_and_bad_lines_are_none() -> None:
    event = decode_klog(event_line("Pulling", 'Pulling image "nginx"'))
    assert event is not None and event.time is None
    assert decode_klog("Pulling image but no klog header Event occurred", YEAR) is None
    assert (
        decode_klog('I1399 99:99:99.0 1 event.go:1] "Event occurred" message="Pulling image \\"x\\""', YEAR) is not None
    )
    hostile = "I1202 05:36:31.1 1 e.go:1] " + '"Event occurred" ' + "message=" + '"\\' * 100_000
    assert decode_klog(hostile, YEAR) is None


# Kubelet lines as published: a kind node's kubelet.log quoted in kubernetes-sigs/kueue's issue
# about the e2e flake of 2025-10-22 (kubelet 1.31), a kind 1.22 kubelet journal quoted in a
# kubernetes issue.
PUBLISHED = [
    (
        r'Oct 22 17:17:42 kind-worker kubelet[277]: I1022 17:17:42.021229     277 event.go:389] "Event occurred" '
        r'object="pytorch-e2e-fcjhp/pytorch-simple-worker-1" fieldPath="spec.initContainers{init-pytorch}" '
        r'kind="Pod" apiVersion="v1" type="Normal" reason="Pulling" message="Pulling image \"alpine:3.10\""',
        KubeletEventKind.PULLING,
        "alpine:3.10",
        "pytorch-e2e-fcjhp",
        "pytorch-simple-worker-1",
    ),
    (
        r'Dec 28 02:17:44 kind-worker2 kubelet[248]: I1228 02:17:44.371335     248 event.go:291] "Event occurred" '
        r'object="default/pod2" kind="Pod" apiVersion="v1" type="Normal" reason="Pulling" '
        r'message="Pulling image \"centos:7\""',
        KubeletEventKind.PULLING,
        "centos:7",
        "default",
        "pod2",
    ),
]


CRIO_ERR_IMAGE_PULL = (
    r"Feb 01 05:37:45.731611 ci-op-vyccmv3h-4ef92-xs5k5-master-0 kubenswrapper[2213]: E0201 05:37:45.730879 2213 "
    r'pod_workers.go:965] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"oauth-proxy\" '
    r"with ErrImagePull: \"rpc error: code = Unknown desc = copying system image from manifest list: reading "
    r"signatures: parsing signature https://registry.redhat.io/containers/sigstore/openshift4/ose-oauth-proxy"
    r"@sha256=f968922564c3eea1c69d6bbe529d8970784d6cae8935afaf674d9fa7c0f72ea3/signature-9: unrecognized "
    r'signature format, starting with binary 0x3c\"" pod="openshift-e2e-loki/loki-promtail-plm74" '
    r"podUID=59b26cbf-3421-407c-98ee-986b5a091ef4"
)


def test_an_err_image_pull_naming_no_image_is_not_a_candidate() -> None:
    """CRI-O's error (openshift/origin's monitor test) names no image: nothing to match it to a
    pull with, so it is not read at all (its words are not among the candidates' keywords)."""
    assert is_klog(CRIO_ERR_IMAGE_PULL) and "ErrImagePull" in CRIO_ERR_IMAGE_PULL
    assert decode_klog(CRIO_ERR_IMAGE_PULL, YEAR) is None


@pytest.mark.parametrize(("line", "kind", "image", "namespace", "pod"), PUBLISHED)
def test_published_kubelet_lines(
    line: str, kind: KubeletEventKind, image: str | None, namespace: str, pod: str
) -> None:
    event = decode_klog(line, YEAR)
    assert event is not None
    assert (event.kind, event.image, event.namespace, event.pod) == (kind, image, namespace, pod)


def test_klog_time_takes_year_and_zone_of_a_reference() -> None:
    event = decode_klog(event_line("Pulling", 'Pulling image "nginx"'))
    assert event is not None and event.time is None and event.clock == (12, 2, 5, 36, 31, 123456)
    plus2 = timezone(timedelta(hours=2))
    resolve_time(event, datetime(2027, 1, 1, 0, 0, 5, tzinfo=plus2))  # read in January: last year's December
    assert event.time == datetime(2026, 12, 2, 5, 36, 31, 123456, tzinfo=plus2)
    assert is_klog(event_line("Pulling", "x")) and not is_klog('time="2026-12-02T05:00:00Z" level=info msg=x')


# ---- hostile input: anything with the keywords parses to an event, None, or a counted error ----

_PIECES = st.sampled_from(
    [
        '"Event occurred" ',
        'reason="Pulling" ',
        'message="Pulling image \\"',
        "I1202 05:36:31.123456    1 event.go:1] ",
        '"Error syncing pod, skipping" err="',
        "with ErrImagePull: ",
        'pod="ns/p" ',
        'time="2026-12-02T05:00:00Z" level=info msg=',
        '"trying next host" host="h:1" error="Head \\"https://h/v2/a/manifests/1?ns=x\\"',
        "msg=resolving host=h ",
        'url="https://h/v2/',
        "\\",
        '"',
        "\x1b[31m",
        " ",
    ]
)


@given(st.lists(_PIECES | st.text(max_size=20), max_size=30).map("".join))
def test_why_lines_never_raise_anything_but_unparsed(line: str) -> None:
    try:
        event = parse_why_line(line)
    except UnparsedLine:
        return
    assert event is None or event.kind in (EventKind.HOST, EventKind.KUBELET)
    if event is not None:
        json.dumps(event.to_json())  # always serialisable


def test_long_hostile_kubelet_line_is_bounded_work() -> None:
    line = 'I1202 05:36:31.1 1 e.go:1] "Event occurred" message="Pulling image \\"' + "\\x" * 200_000
    assert parse_why_line(line) is None  # a cut value: no image name to give
    line = JOURNAL + klog("E", "pod_workers.go:1", "Error syncing pod, skipping", ("err", "ErrImagePull: " * 50_000))
    assert parse_why_line(line) is None
