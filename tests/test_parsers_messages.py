"""containerd's pull-path messages, version by version, written by hand from the Go format strings.

These lines are independent of the fixture generator on purpose: they are what containerd's
`log.G(ctx).Infof(...)` calls produce (see the source notes in parsers/messages.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pullwatch.parsers import UnparsedLine, parse_line
from pullwatch.parsers.events import EventKind, PullEvent

ID = "sha256:" + "3b" * 32
DIGEST = "sha256:" + "c4" * 32
TIME = 'time="2026-11-27T08:00:01.000000001Z"'


def text(level: str, msg: str, **fields: str) -> str:
    """A logrus text line; `msg` is given as containerd formats it, quoting is done here."""
    from logfactory import quote

    extra = "".join(f" {key}={quote(value)}" for key, value in sorted(fields.items()))
    return f"{TIME} level={level} msg={quote(msg)}{extra}"


def parsed(line: str) -> PullEvent:
    event = parse_line(line)
    assert event is not None, line
    return event


# ---- 1.5 / 1.6 (pkg/cri/server/instrumented_service.go, image_pull.go) -------------------------


def test_start() -> None:
    event = parsed(text("info", 'PullImage "nginx:1.25"'))
    assert (event.kind, event.image, event.ref, event.level) == (
        EventKind.START,
        "nginx:1.25",
        "docker.io/library/nginx:1.25",
        "info",
    )
    assert event.time == datetime(2026, 11, 27, 8, 0, 1, tzinfo=timezone.utc)


def test_result_returns_image_reference() -> None:
    event = parsed(text("info", f'PullImage "nginx:1.25" returns image reference "{ID}"'))
    assert (event.kind, event.image, event.image_id) == (EventKind.RESULT, "nginx:1.25", ID)


def test_failed_with_error_field() -> None:
    error = (
        'failed to pull and unpack image "docker.io/library/nginx:1.25": failed to resolve reference '
        '"docker.io/library/nginx:1.25": docker.io/library/nginx:1.25: not found'
    )
    event = parsed(text("error", 'PullImage "nginx:1.25" failed', error=error))
    assert (event.kind, event.image, event.error, event.level) == (EventKind.FAILED, "nginx:1.25", error, "error")


def test_failed_without_error_field_still_fails() -> None:
    event = parsed(text("error", 'PullImage "nginx:1.25" failed'))
    assert event.kind is EventKind.FAILED and event.error is None


def test_debug_pulled_image_without_size_or_duration() -> None:
    """1.5/1.6 log this at debug only, and without size and duration."""
    msg = (
        f'Pulled image "nginx:1.25" with image id "{ID}", repo tag "docker.io/library/nginx:1.25", '
        f'repo digest "docker.io/library/nginx@{DIGEST}"'
    )
    event = parsed(text("debug", msg))
    assert event.kind is EventKind.PULLED
    assert (event.image_id, event.repo_tag, event.repo_digest) == (
        ID,
        "docker.io/library/nginx:1.25",
        f"docker.io/library/nginx@{DIGEST}",
    )
    assert event.size_bytes is None and event.duration_seconds is None


def test_normalized_ref_debug_line_is_not_a_pull_event() -> None:
    assert parse_line(text("debug", 'PullImage using normalized image ref: "docker.io/library/nginx:1.25"')) is None


@pytest.mark.parametrize(
    "error",
    [
        # 1.5 (errors.Wrapf) / 1.6-2.2 (fmt.Errorf): the configured sandbox image, then the pull.
        'failed to get sandbox image "k8s.gcr.io/pause:3.5": failed to pull image "k8s.gcr.io/pause:3.5": '
        'failed to pull and unpack image "k8s.gcr.io/pause:3.5": failed to resolve reference '
        '"k8s.gcr.io/pause:3.5": unexpected status code 403 Forbidden',
        # 2.3+ (ensurePauseImageExists): no "failed to get sandbox image" wrapper.
        'failed to pull image "k8s.gcr.io/pause:3.5": rpc error: code = NotFound desc = failed to pull '
        'and unpack image "k8s.gcr.io/pause:3.5": not found',
    ],
)
def test_run_pod_sandbox_failure_names_the_sandbox_image(error: str) -> None:
    msg = "RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:5e1c,Namespace:default,Attempt:0,} failed, error"
    event = parsed(text("error", msg, error=error))
    assert (event.kind, event.image, event.ref, event.error) == (
        EventKind.SANDBOX_FAILED,
        "k8s.gcr.io/pause:3.5",
        "k8s.gcr.io/pause:3.5",
        error,
    )


@pytest.mark.parametrize(
    "line",
    [
        text(
            "info",
            "RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:5e1c,Namespace:default,Attempt:0,} returns "
            'sandbox id "ab12"',
        ),
        text(
            "error",
            "RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:5e1c,Namespace:default,Attempt:0,} failed, error",
            error='failed to setup network for sandbox "ab12": plugin type="calico" failed (add)',
        ),
        text("info", "no timeout and will not start pulling image docker.io/library/nginx:1.25 reporter"),
        text(
            "info",
            'experimental: PullImage "docker.io/library/nginx:1.25" for runtime kata, using snapshotter devmapper',
        ),
        text("info", "trying next host", error="pulling image manifest failed", host="mirror.local"),
        text("debug", "fetch response received", host="127.0.0.1:5000", **{"response.status": "200 OK"}),
        text(
            "debug",
            "fetch response received",
            digest="sha256:" + "a" * 64,
            mediatype="application/vnd.oci.image.config.v1+json",
            **{"response.status": "200 OK"},
        ),
        text(
            "debug",
            "fetch response received",
            digest="sha256:" + "a" * 64,
            mediatype="application/vnd.oci.image.layer.v1.tar+gzip",
            **{"response.status": "404 Not Found"},
        ),
    ],
    ids=["sandbox-ok", "sandbox-network", "no-timeout", "experimental", "other-pull-words", "fetch-manifest",
         "fetch-config", "fetch-layer-404"],
)
def test_other_lines_mentioning_pulls_are_not_pull_events(line: str) -> None:
    assert parse_line(line) is None


# ---- 1.7 and 2.0 (info "Pulled image … size … in …", reporter lines) ----------------------------


def test_pulled_image_with_size_and_duration() -> None:
    msg = (
        f'Pulled image "nginx:1.25" with image id "{ID}", repo tag "docker.io/library/nginx:1.25", '
        f'repo digest "docker.io/library/nginx@{DIGEST}", size "72839123" in 2m3.1s'
    )
    event = parsed(text("info", msg))
    assert (event.kind, event.image, event.size_bytes, event.duration_seconds) == (
        EventKind.PULLED,
        "nginx:1.25",
        72839123,
        123.1,
    )


@pytest.mark.parametrize(("duration", "seconds"), [("850.5ms", 0.8505), ("950µs", 0.00095), ("1h2m3.004s", 3723.004)])
def test_pulled_image_durations(duration: str, seconds: float) -> None:
    msg = f'Pulled image "busybox" with image id "{ID}", repo tag "docker.io/library/busybox:latest", ' + (
        f'repo digest "docker.io/library/busybox@{DIGEST}", size "2000" in {duration}'
    )
    assert parsed(text("info", msg)).duration_seconds == seconds


def test_pulled_by_digest_has_no_repo_tag() -> None:
    msg = (
        f'Pulled image "busybox@{DIGEST}" with image id "{ID}", repo tag "", '
        f'repo digest "docker.io/library/busybox@{DIGEST}", size "2000" in 1s'
    )
    event = parsed(text("info", msg))
    assert event.repo_tag is None and event.ref == f"docker.io/library/busybox@{DIGEST}"


def test_pulled_image_with_a_negative_duration_has_no_duration() -> None:
    msg = f'Pulled image "busybox" with image id "{ID}", repo tag "", repo digest "", size "1" in -1.5s'
    event = parsed(text("info", msg))
    assert event.duration_seconds is None and event.size_bytes == 1


@pytest.mark.parametrize(
    ("msg", "snapshotter"),
    [
        ('PullImage "docker.io/library/nginx:1.25" with snapshotter overlayfs', "overlayfs"),  # 1.7, 2.0
        ('PullImage "docker.io/library/nginx:1.25" with snapshotter overlayfs using transfer service', "overlayfs"),
        ('PullImage "docker.io/library/nginx:1.25" with snapshotter native using client.Pull()', "native"),
        ('PullImage "docker.io/library/nginx:1.25" with snapshotter stargz, platform {amd64 linux  [] }', "stargz"),
    ],
)
def test_snapshotter_lines(msg: str, snapshotter: str) -> None:
    event = parsed(text("debug", msg))
    assert (event.kind, event.ref, event.snapshotter) == (
        EventKind.SNAPSHOTTER,
        "docker.io/library/nginx:1.25",
        snapshotter,
    )


@pytest.mark.parametrize("active", ["0", "3", "-1"])
def test_stop_pulling(active: str) -> None:
    msg = f"stop pulling image docker.io/library/nginx:1.25: active requests={active}, bytes read=72839123"
    event = parsed(text("info", msg))
    assert (event.kind, event.image, event.ref, event.bytes_read) == (
        EventKind.STOP,
        "docker.io/library/nginx:1.25",
        "docker.io/library/nginx:1.25",
        72839123,
    )


@pytest.mark.parametrize("timeout", ["1m0s", "5m0s", "30s"])
def test_cancel_pulling(timeout: str) -> None:
    event = parsed(
        text("error", f"cancel pulling image docker.io/library/nginx:1.25 because of no progress in {timeout}")
    )
    assert (event.kind, event.timeout, event.error) == (
        EventKind.CANCEL,
        timeout,
        f"cancelled: no progress in {timeout}",
    )


def test_progress_for_image_pull() -> None:
    line = (
        f'{TIME} level=debug msg="progress for image pull" activeReqs=1 lastSeenBytesRead=1048576 '
        'lastSeenTimestamp="2026-11-27T08:00:01Z" ref=docker.io/library/nginx:1.25 reportInterval=10s '
        "totalBytesRead=5242880"
    )
    event = parsed(line)
    assert (event.kind, event.ref, event.bytes_read) == (EventKind.PROGRESS, "docker.io/library/nginx:1.25", 5242880)


def test_trace_id_field_of_2_3_is_ignored() -> None:
    line = text("info", 'PullImage "nginx:1.25"') + " trace_id=4bf92f3577b34da6a3ce929d0e0e4736"
    assert parsed(line).kind is EventKind.START


def test_redacted_urls_of_1_7_30_stay_in_the_error() -> None:
    error = (
        'failed to pull and unpack image "docker.io/library/nginx:1.25": Get "https://r.example/v2/?X-Amz=[REDACTED]"'
    )
    assert parsed(text("error", 'PullImage "nginx:1.25" failed', error=error)).error == error


# ---- shapes that name a pull but match no known message: counted, never guessed ---------------


@pytest.mark.parametrize(
    "line",
    [
        text("info", 'PullImage "nginx:1.25" did something new'),
        text("info", 'Pulled image "nginx:1.25" in a new way'),
        text("info", "stop pulling image docker.io/library/nginx:1.25 early"),
        text("error", "cancel pulling image docker.io/library/nginx:1.25"),
        f'{TIME} level=info msg="PullImage \\"nginx:1.25\\" returns image reference \\"sha256:3b3b',  # cut
        f'{TIME} level=info msg="PullImage \\"nginx:1.25\\"',  # cut right after the name: not a start
        f'{TIME} level=info msg="PullImage \\"nginx:1',  # cut inside the name
        "PullImage somewhere in a line that is not a log entry",
    ],
    ids=[
        "start-tail",
        "pulled-shape",
        "stop-shape",
        "cancel-shape",
        "cut-result",
        "cut-after-name",
        "cut-name",
        "no-entry",
    ],
)
def test_unknown_shapes_are_unparsed(line: str) -> None:
    with pytest.raises(UnparsedLine):
        parse_line(line)


def test_names_are_decoded_as_go_string_literals() -> None:
    """%q escapes inside logrus's own %q quoting: two levels, decoded exactly."""
    line = f'{TIME} level=info msg="PullImage \\"we\\\\\\"ird\\\\\\\\name\\\\tü\\\\x01\\""'
    assert parsed(line).image == 'we"ird\\name\tü\x01'


IMAGE_ID = "sha256:" + "c" * 64


@pytest.mark.parametrize(
    ("msg", "kind", "name", "ref", "managed"),
    [
        # 1.6 (gogo struct), as real 1.6.20 writes them (examples/real/)
        (
            "ImageCreate event &ImageCreate{Name:registry.k8s.io/pause:3.9,Labels:map[string]string"
            "{io.cri-containerd.image: managed,},XXX_unrecognized:[],}",
            EventKind.IMAGE_CREATE, "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", True,
        ),
        (
            f"ImageUpdate event &ImageUpdate{{Name:{IMAGE_ID},Labels:map[string]string{{}},XXX_unrecognized:[],}}",
            EventKind.IMAGE_UPDATE, IMAGE_ID, IMAGE_ID, False,
        ),
        (
            "ImageDelete event &ImageDelete{Name:registry.test/again:1,XXX_unrecognized:[],}",
            EventKind.IMAGE_DELETE, "registry.test/again:1", "registry.test/again:1", False,
        ),
        # 1.7+ (protobuf text)
        (
            'ImageCreate event name:"beta:2.0"  labels:{key:"io.cri-containerd.image"  value:"managed"}',
            EventKind.IMAGE_CREATE, "beta:2.0", "docker.io/library/beta:2.0", True,
        ),
        (f'ImageDelete event name:"{IMAGE_ID}"', EventKind.IMAGE_DELETE, IMAGE_ID, IMAGE_ID, False),
    ],
    ids=["1.6-create", "1.6-update-id", "1.6-delete", "1.7-create", "1.7-delete-id"],
)
def test_image_events(msg: str, kind: EventKind, name: str, ref: str, managed: bool) -> None:
    event = parsed(text("info", msg))
    assert (event.kind, event.image, event.ref, event.managed) == (kind, name, ref, managed)


def test_image_event_of_unknown_shape_is_unparsed() -> None:
    with pytest.raises(UnparsedLine):
        parse_line(text("info", "ImageCreate event {broken"))


def test_a_layer_arriving_is_a_layer_fetch() -> None:
    digest = "sha256:" + "b" * 64
    line = text(
        "debug",
        "fetch response received",
        digest=digest,
        mediatype="application/vnd.docker.image.rootfs.diff.tar.gzip",
        **{"response.status": "200 OK"},
    )
    event = parsed(line)
    assert (event.kind, event.digest, event.image) == (EventKind.LAYER_FETCH, digest, "")
