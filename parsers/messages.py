"""containerd's pull-path messages (1.5 → 2.x) to PullEvents.

Patterns follow the Go format strings exactly (docs/formats.md §1, with the source of each):
image names are `%q`-quoted, so they are matched as Go string literals and decoded, never with a
greedy `.+` that would also swallow the "returns image reference" line.

Checked against containerd's source (github.com/containerd/containerd):
- start / failed / result: `Infof("PullImage %q", …)`, `WithError(err).Errorf("PullImage %q failed", …)`,
  `Infof("PullImage %q returns image reference %q", …)` in internal/cri/instrument/
  instrumented_service.go (2.x, commit 04d0bebd); same strings in pkg/cri/instrument (1.7) and
  pkg/cri/server/instrumented_service.go (1.5/1.6).
- `Infof("Pulled image %q with image id %q, repo tag %q, repo digest %q, size %q in %s", name, imageID,
  repoTag, repoDigest, strconv.FormatInt(size, 10), elapsed)` in internal/cri/server/images/image_pull.go
  (commits 01e6340e, 27519435-era) and pkg/cri/server/image_pull.go (1.7); the 1.5/1.6 form is
  `Debugf("Pulled image %q with image id %q, repo tag %q, repo digest %q", …)` (pkg/cri/server/
  image_pull.go, commit 00d102da).
- `Debugf("PullImage %q with snapshotter %s", …)` (1.7, 2.0), `… %s using client.Pull()` /
  `… %s using transfer service` (2.1+), and a development-branch form `… %s, platform %v`: any tail
  after the snapshotter name is accepted.
- `Infof("stop pulling image %s: active requests=%v, bytes read=%v", …)` and
  `Errorf("cancel pulling image %s because of no progress in %v", …)` in both the client.Pull and the
  transfer-service reporters (image_pull.go, commit 01e6340e); active requests is an int32 counter.
- `logrus.Infof("ImageCreate event %+v", e)` (and ImageUpdate, ImageDelete) in the CRI event
  monitor, pkg/cri/server/events.go (1.6, 1.7) and internal/cri/server/events.go (2.x): 1.6 prints
  the gogo struct `&ImageCreate{Name:x,Labels:map[string]string{io.cri-containerd.image: managed,},…}`,
  1.7+ the protobuf text `name:"x"  labels:{key:"io.cri-containerd.image"  value:"managed"}`
  (docs/formats.md §5, read from real 1.6.20/1.7.24/2.1.9 runs).
- `fetch response received` (debug, core/remotes/docker/fetcher.go) with `digest=` and `mediatype=`:
  an HTTP response for that blob; only layers are kept (a manifest and a config are fetched on
  every pull, cached or not).
- `WithError(err).Errorf("RunPodSandbox for %+v failed, error", metadata)` (instrumented_service.go);
  sandbox-image pulls fail as `failed to pull image %q: %w` inside it (podsandbox ensureImageExists,
  1.x helpers.go `errors.Wrapf(err, "failed to pull image %q", ref)`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pullwatch.parsers.durations import parse_go_duration
from pullwatch.parsers.envelope import LogEntry
from pullwatch.parsers.events import EventKind, PullEvent
from pullwatch.parsers.gostrings import QUOTED, unquote
from pullwatch.parsers.refs import normalize


class MessageError(ValueError):
    """The message names a pull but does not have the shape of any known pull message."""


_Q = "(" + QUOTED + ")"
_START = re.compile(r"PullImage " + _Q)
_RESULT = re.compile(r"PullImage " + _Q + r" returns image reference " + _Q)
_FAILED = re.compile(r"PullImage " + _Q + r" failed")
_SNAPSHOTTER = re.compile(r"PullImage " + _Q + r" with snapshotter ([^\s,]*),?(.*)", re.DOTALL)
_PULLED = re.compile(
    r"Pulled image "
    + _Q
    + r" with image id "
    + _Q
    + r", repo tag "
    + _Q
    + r", repo digest "
    + _Q
    + r"(?:, size "
    + _Q
    + r" in (\S+))?"
)
_STOP = re.compile(r"stop pulling image (\S+): active requests=(-?\d+), bytes read=(\d+)")
_CANCEL = re.compile(r"cancel pulling image (\S+) because of no progress in (\S+)")
_GOGO_IMAGE_EVENT = re.compile(r"&Image(?:Create|Update|Delete)\{Name:([^,{}]*),(.*)\}", re.DOTALL)
_PROTO_IMAGE_EVENT = re.compile(r"name:(" + QUOTED + r")(.*)", re.DOTALL)
_IMAGE_ID = re.compile(r"sha256:[a-f0-9]{64}")
_MANAGED = ("io.cri-containerd.image: managed", 'key:"io.cri-containerd.image"  value:"managed"',
            'key:"io.cri-containerd.image" value:"managed"')
_LAYER_TYPES = ("layer", "rootfs.diff")
_SANDBOX_IMAGE = re.compile(r'failed to pull image "([^"\\]*(?:\\.[^"\\]*)*)"')
# Messages that mention a pull but are not pull events of their own.
_IGNORED_PREFIXES = ("PullImage using normalized image ref", "experimental: PullImage")


# Byte counts are Go int64/uint64 values: at most 20 digits. Checked before int(), which refuses
# more than 4,300 digits with a ValueError and is quadratic below that.
_MAX_COUNT = 2**64 - 1


def byte_count(text: str) -> int | None:
    """A logged byte count, or None (unknown, never 0) when it is not a number Go could print."""
    if not (0 < len(text) <= 20 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= _MAX_COUNT else None


def _event(kind: EventKind, image: str, entry: LogEntry, raw: str) -> PullEvent:
    return PullEvent(kind, image, normalize(image), entry.time, entry.level, raw=raw)


def _pull_image(entry: LogEntry, raw: str) -> PullEvent | None:
    msg = entry.msg
    if msg.startswith(_IGNORED_PREFIXES):
        return None
    if msg.endswith('"') and (match := _START.fullmatch(msg)):
        return _event(EventKind.START, unquote(match.group(1)), entry, raw)
    if match := _RESULT.fullmatch(msg):
        event = _event(EventKind.RESULT, unquote(match.group(1)), entry, raw)
        event.image_id = unquote(match.group(2))
        return event
    if match := _FAILED.fullmatch(msg):
        event = _event(EventKind.FAILED, unquote(match.group(1)), entry, raw)
        event.error = entry.fields.get("error")
        return event
    if match := _SNAPSHOTTER.fullmatch(msg):
        event = _event(EventKind.SNAPSHOTTER, unquote(match.group(1)), entry, raw)
        event.snapshotter = match.group(2)
        tail = match.group(3).strip()
        event.pull_method = tail[len("using ") :] if tail.startswith("using ") else None
        return event
    raise MessageError(f"unknown PullImage message: {msg[:200]!r}")


def _pulled(entry: LogEntry, raw: str) -> PullEvent | None:
    match = _PULLED.fullmatch(entry.msg)
    if match is None:
        raise MessageError(f"unknown Pulled image message: {entry.msg[:200]!r}")
    image, image_id, repo_tag, repo_digest, size, duration = match.groups()
    event = _event(EventKind.PULLED, unquote(image), entry, raw)
    event.image_id = unquote(image_id) or None
    event.repo_tag = unquote(repo_tag) or None
    event.repo_digest = unquote(repo_digest) or None
    if size is not None:
        event.size_bytes = byte_count(unquote(size))
        seconds = parse_go_duration(duration)
        event.duration_seconds = seconds if seconds is not None and seconds >= 0 else None
    return event


def _stop(entry: LogEntry, raw: str) -> PullEvent | None:
    match = _STOP.fullmatch(entry.msg)
    if match is None:
        raise MessageError(f"unknown stop message: {entry.msg[:200]!r}")
    event = _event(EventKind.STOP, match.group(1), entry, raw)
    event.bytes_read = byte_count(match.group(3))
    return event


def _cancel(entry: LogEntry, raw: str) -> PullEvent | None:
    match = _CANCEL.fullmatch(entry.msg)
    if match is None:
        raise MessageError(f"unknown cancel message: {entry.msg[:200]!r}")
    event = _event(EventKind.CANCEL, match.group(1), entry, raw)
    event.timeout = match.group(2)
    event.error = f"cancelled: no progress in {match.group(2)}"
    return event


def _progress(entry: LogEntry, raw: str) -> PullEvent | None:
    ref = entry.fields.get("ref")
    if entry.msg != "progress for image pull" or not ref:
        return None
    event = _event(EventKind.PROGRESS, ref, entry, raw)
    event.bytes_read = byte_count(entry.fields.get("totalBytesRead", ""))
    return event


def _sandbox(entry: LogEntry, raw: str) -> PullEvent | None:
    if not (entry.msg.startswith("RunPodSandbox for ") and entry.msg.endswith(" failed, error")):
        return None
    error = entry.fields.get("error", "")
    match = _SANDBOX_IMAGE.search(error)
    if match is None:
        return None  # the sandbox failed for another reason than its image
    event = _event(EventKind.SANDBOX_FAILED, unquote('"' + match.group(1) + '"'), entry, raw)
    event.error = error
    return event


def _image_event(entry: LogEntry, raw: str) -> PullEvent | None:
    """An image store change the CRI saw: the name is a tag, a digest reference or an image id."""
    word, _, rest = entry.msg.partition(" event ")
    kind = {"ImageCreate": EventKind.IMAGE_CREATE, "ImageUpdate": EventKind.IMAGE_UPDATE,
            "ImageDelete": EventKind.IMAGE_DELETE}.get(word)
    if kind is None or not rest:
        return None  # another message that starts with the word
    if match := _GOGO_IMAGE_EVENT.fullmatch(rest):
        name, tail = match.group(1), match.group(2)
    elif match := _PROTO_IMAGE_EVENT.fullmatch(rest):
        name, tail = unquote(match.group(1)), match.group(2)
    else:
        raise MessageError(f"unknown image event message: {entry.msg[:200]!r}")
    ref = name if _IMAGE_ID.fullmatch(name) else normalize(name)
    event = PullEvent(kind, name, ref, entry.time, entry.level, raw=raw)
    event.managed = any(label in tail for label in _MANAGED)
    return event


def _fetch(entry: LogEntry, raw: str) -> PullEvent | None:
    if entry.msg != "fetch response received":
        return None
    digest, mediatype = entry.fields.get("digest"), entry.fields.get("mediatype", "")
    if not digest or not any(word in mediatype for word in _LAYER_TYPES):
        return None  # the manifest (resolve) or the config: fetched on every pull
    if not entry.fields.get("response.status", "200").startswith(("200", "206")):
        return None  # 404 for a missing blob, …: nothing arrived
    event = PullEvent(EventKind.LAYER_FETCH, "", "", entry.time, entry.level, raw=raw)
    event.digest = digest
    return event


# First word(s) of the message -> its decoder. Checked with str.startswith, cheapest first.
_DISPATCH: tuple[tuple[str, Callable[[LogEntry, str], PullEvent | None]], ...] = (
    ("PullImage", _pull_image),  # a bare or run-on "PullImage…" is a pull message of unknown shape
    ("experimental: PullImage", _pull_image),
    ("Pulled image ", _pulled),
    ("stop pulling image ", _stop),
    ("cancel pulling image ", _cancel),
    ("progress for image pull", _progress),
    ("RunPodSandbox for ", _sandbox),
    ("ImageCreate event ", _image_event),
    ("ImageUpdate event ", _image_event),
    ("ImageDelete event ", _image_event),
    ("fetch response received", _fetch),
)


def decode_message(entry: LogEntry, raw: str) -> PullEvent | None:
    """The pull event this entry reports, None when it reports none; raises MessageError for a
    pull message of unknown shape (so that it is counted, not silently dropped)."""
    msg = entry.msg
    for prefix, decoder in _DISPATCH:
        if msg.startswith(prefix):
            return decoder(entry, raw)
    return None
