"""kubelet's image lines (klog) to KubeletEvents: which pod asked for an image. No I/O.

klog text: `I1202 05:36:31.123456    1234 event.go:389] "Event occurred" object="ns/pod" … reason="Pulling"
message="Pulling image \\"nginx:1.25\\""`; string values are Go-quoted (%q), other values bare.
Sources (kubernetes/kubernetes, checked via the code index):
- client-go tools/record/event.go `StartStructuredLogging`: `loggerV.Info("Event occurred", "object",
  klog.KRef(ns, name), "fieldPath", …, "kind", …, "apiVersion", …, "type", …, "reason", …, "message", …)`,
  logged at kubelet -v≥3; the older `StartLogging` form `Event(v1.ObjectReference{Kind:"Pod",
  Namespace:"ns", Name:"pod", …}): type: 'Normal' reason: 'Pulling' Pulling image "x"`;
- pkg/kubelet/images/image_manager.go event messages: `Pulling image %q`, `Successfully pulled image
  %q in %v…`, `Container image %q already present on machine…`, `Failed to pull image %q: %v`,
  `Back-off pulling image %q…` (the image as written in the pod spec, `container.Image`);
- pkg/kubelet/pod_workers.go `klog.ErrorS(err, "Error syncing pod, skipping", "pod", klog.KObj(pod),
  "podUID", …)`, whose err for an image reads `failed to "StartContainer" for "c" with ErrImagePull:
  "<CRI error>"` (or `ImagePullBackOff: "Back-off pulling image \\"x\\"…"`), at any verbosity;
- pkg/kubelet/images/image_gc_manager.go, the line kubelet logs (at any verbosity) just before it
  calls the runtime's RemoveImage with the image id: `klog.InfoS("Removing image to free bytes",
  "imageID", image.id, "size", image.size)` (1.2x up to 1.28), with `"runtimeHandler",
  image.runtimeHandlerUsedToPullImage` added from 1.29 (in freeImage, which disk-usage GC, the
  age limit imageMaximumGCAge and the eviction manager's DeleteUnusedImages all call: the line
  does not say which); glog-era kubelets `glog.Infof("[imageGCManager]: Removing image %q to free
  %d bytes", image.id, image.size)`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from pullwatch.parsers.envelope import EnvelopeError, journal_host, journal_message, journal_prefix_host
from pullwatch.parsers.gostrings import QUOTED, unquote


class KubeletEventKind(str, Enum):
    PULLING = "pulling"  # kubelet asks the runtime for the image
    PULLED = "pulled"  # kubelet saw the pull succeed
    PRESENT = "present"  # no pull: the image was already on the node
    FAILED = "failed"  # the pull failed (event or pod_workers error)
    BACKOFF = "backoff"  # kubelet is waiting before pulling again
    IMAGE_REMOVED = "image_removed"  # image garbage collection removed an image


@dataclass(slots=True)
class KubeletEvent:
    kind: KubeletEventKind
    time: datetime | None
    image: str | None = None  # as kubelet wrote it (the pod spec's image string)
    namespace: str | None = None
    pod: str | None = None
    error: str | None = None
    image_id: str | None = None  # IMAGE_REMOVED only
    size_bytes: int | None = None  # IMAGE_REMOVED only
    clock: tuple[int, int, int, int, int, int] | None = None  # klog's month, day, h, m, s, µs (no year)
    node: str | None = None  # the host of a journal prefix or a journal record's _HOSTNAME

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "kind": self.kind.value,
            "image": self.image,
            "namespace": self.namespace,
            "pod": self.pod,
            "error": self.error,
            "image_id": self.image_id,
            "size_bytes": self.size_bytes,
        }


# Cheap substring tests: every line decoded here contains one of these (kubelet logs many events
# and pod errors; only those about images are candidates). All contain " image", the block
# scanner's shared anchor, so they cost it no extra pass: `Container image "x" already present`,
# and pod_workers' ErrImagePull errors, whose CRI error says `failed to pull and unpack image`.
KEYWORDS: tuple[str, ...] = (
    "ulling image",  # Pulling image, Back-off pulling image
    "ulled image",  # Successfully pulled image
    "Container image",  # … already present on machine
    "ailed to pull image",  # Failed to pull image; a sandbox image's ErrImagePull error
    "unpack image",  # ErrImagePull errors: failed to pull and unpack image "x"
    "Removing image to free bytes",
    "imageGCManager]: Removing image",
)

_HEADER = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? +\d+ [^\s\]]{1,256}\] ")
_PAIR = re.compile(r"([A-Za-z][\w.\-]{0,63})=(" + QUOTED + r"|[^\s\"]*)")
_IMAGE_IN_MESSAGE = re.compile(
    r"(Pulling image|Successfully pulled image|Container image|Failed to pull image|Back-off pulling image) ("
    + QUOTED
    + ")"
)
_MESSAGE_KIND = {
    "Pulling image": KubeletEventKind.PULLING,
    "Successfully pulled image": KubeletEventKind.PULLED,
    "Container image": KubeletEventKind.PRESENT,
    "Failed to pull image": KubeletEventKind.FAILED,
    "Back-off pulling image": KubeletEventKind.BACKOFF,
}
_OLD_EVENT = re.compile(
    r"Event\(v1\.ObjectReference\{Kind:\"Pod\", Namespace:(" + QUOTED + r"), Name:(" + QUOTED + r")"
    r".{0,2000}?\}\): type: '[A-Za-z]{1,20}' reason: '([A-Za-z]{1,40})' "
)
_OLD_GC = re.compile(r"\[imageGCManager\]: Removing image (" + QUOTED + r") to free (\d{1,20}) bytes")
_SYNC_IMAGE_ERROR = re.compile(r"with (ErrImagePull|ImagePullBackOff): (" + QUOTED + ")")
_CRI_IMAGE = re.compile(
    r"(?:failed to pull and unpack image|failed to pull image|Back-off pulling image) (" + QUOTED + ")"
)


def is_candidate(line: str) -> bool:
    """Whether the line may be one of kubelet's image lines (no parsing)."""
    return any(keyword in line for keyword in KEYWORDS)


def decode_klog(text: str, year_from: datetime | None = None) -> KubeletEvent | None:
    """The kubelet event in one klog text line (a journal or syslog prefix is skipped), None when
    the line is not one of kubelet's image lines. klog prints no year: it is taken from
    `year_from` (the journal's own timestamp, or the last containerd time); without it the
    event has no time."""
    if not is_candidate(text):
        return None
    header = _HEADER.search(text, 0, 512)
    if header is None:
        return None
    event = _decode_body(text[header.end() :].rstrip("\r\n"))
    if event is not None:
        _, month, day, hour, minute, second, fraction = header.groups()
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        event.clock = (int(month), int(day), int(hour), int(minute), int(second), micros)
        if header.start() > 0:
            event.node = journal_prefix_host(text, header.start())
        if year_from is not None:
            resolve_time(event, year_from)
    return event


class NotKlog(ValueError):
    """The line carries no klog header: it is not a kubelet (or other Kubernetes) line."""


def decode_kubelet_line(line: str, fallback: datetime | None = None) -> KubeletEvent | None:
    """decode_klog for a line as a source gives it: klog text (a journal prefix is skipped) or a
    `journalctl -o json` record whose MESSAGE is klog text. The journal's own time (the record's
    __REALTIME_TIMESTAMP, or `fallback` from a journal reader) is the event's time: it has a year
    and a zone, which klog's header lacks. The event's node is the record's _HOSTNAME or the
    journal prefix's host, as for containerd's lines. Raises NotKlog for a line without a klog
    header."""
    text = line.strip()
    node = None
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: `[[[[…` nested past the stack
            raise NotKlog("bad JSON") from None
        if not isinstance(record, dict):
            raise NotKlog("journal record without MESSAGE")
        try:
            text, stamp = journal_message(record)
        except EnvelopeError as error:
            raise NotKlog(str(error)) from None
        fallback = stamp or fallback
        node = journal_host(record)
    if not is_klog(text):
        raise NotKlog("no klog header")
    event = decode_klog(text)
    if event is not None:
        event.node = node or event.node
        if fallback is not None:
            event.time = fallback
    return event


def is_klog_record(line: str) -> bool:
    """Whether a `journalctl -o json` record's MESSAGE is a klog line."""
    if not line.lstrip().startswith("{"):
        return False
    try:
        decode_kubelet_line(line)
    except NotKlog:
        return False
    return True


def is_klog(text: str) -> bool:
    """Whether the line carries a klog header (kubelet's, or another Kubernetes component's)."""
    return _HEADER.search(text, 0, 512) is not None


def resolve_time(event: KubeletEvent, reference: datetime) -> None:
    """Give the event its time from klog's header: the year (and the zone: klog prints the node's
    local time, as containerd's logrus does) of `reference`, a time of the same log; a December
    line read against a January reference belongs to the year before, and the reverse."""
    if event.clock is None:
        return
    month, day, hour, minute, second, micros = event.clock
    year = reference.year
    if month == 12 and reference.month == 1:
        year -= 1
    elif month == 1 and reference.month == 12:
        year += 1
    try:
        event.time = datetime(year, month, day, hour, minute, second, micros, reference.tzinfo or timezone.utc)
    except ValueError:
        event.time = None


def _decode_body(body: str) -> KubeletEvent | None:
    """The event of the message after the klog header (its time is set by the caller)."""
    if body.startswith('"Event occurred"'):
        return _structured_event(body)
    if body.startswith("Event(v1.ObjectReference"):
        return _old_event(body)
    if body.startswith('"Error syncing pod, skipping"'):
        return _sync_error(body)
    if body.startswith('"Removing image to free bytes"'):
        fields = _fields(body)
        size = fields.get("size", "")
        return KubeletEvent(
            KubeletEventKind.IMAGE_REMOVED,
            None,
            image_id=fields.get("imageID") or None,
            size_bytes=int(size) if size.isascii() and size.isdigit() else None,
        )
    if body.startswith("[imageGCManager]: Removing image "):
        match = _OLD_GC.match(body)
        if match is None:
            return None
        image_id = unquote(match.group(1)) or None
        return KubeletEvent(KubeletEventKind.IMAGE_REMOVED, None, image_id=image_id, size_bytes=int(match.group(2)))
    return None


def _fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _PAIR.finditer(body):
        key, value = match.group(1), match.group(2)
        if key not in fields:
            fields[key] = unquote(value) if value.startswith('"') else value
    return fields


def _structured_event(body: str) -> KubeletEvent | None:
    fields = _fields(body)
    if fields.get("kind", "Pod") != "Pod":
        return None
    event = _from_message(fields.get("message", ""))
    if event is None:
        return None
    event.namespace, event.pod = _split_object(fields.get("object", ""))
    return event


def _old_event(body: str) -> KubeletEvent | None:
    match = _OLD_EVENT.match(body)
    if match is None:
        return None
    event = _from_message(body[match.end() :])
    if event is None:
        return None
    event.namespace = unquote(match.group(1)) or None
    event.pod = unquote(match.group(2)) or None
    return event


def _from_message(message: str) -> KubeletEvent | None:
    """An image_manager event message (`Pulling image "x"`, …) to an event without its pod."""
    match = _IMAGE_IN_MESSAGE.match(message)
    if match is None:
        return None
    kind = _MESSAGE_KIND[match.group(1)]
    if kind is KubeletEventKind.PRESENT and "already present on machine" not in message:
        return None  # `Container image "x" is not present with pull policy of Never`
    event = KubeletEvent(kind, None, image=unquote(match.group(2)))
    if kind is KubeletEventKind.FAILED and message[match.end() :].startswith(": "):
        event.error = message[match.end() + 2 :]
    return event


def _sync_error(body: str) -> KubeletEvent | None:
    fields = _fields(body)
    match = _SYNC_IMAGE_ERROR.search(fields.get("err", ""))
    if match is None:
        return None  # a pod that failed for another reason than its image
    inner = unquote(match.group(2))
    image = _CRI_IMAGE.search(inner)
    kind = KubeletEventKind.FAILED if match.group(1) == "ErrImagePull" else KubeletEventKind.BACKOFF
    namespace, pod = _split_object(fields.get("pod", ""))
    return KubeletEvent(
        kind, None, image=unquote(image.group(1)) if image else None, namespace=namespace, pod=pod, error=inner
    )


def _split_object(text: str) -> tuple[str | None, str | None]:
    """klog.KRef/KObj text, `ns/name` (or `name` for an object without namespace)."""
    if not text:
        return None, None
    namespace, slash, name = text.partition("/")
    return (namespace or None, name or None) if slash else (None, text)


__all__ = [
    "KEYWORDS",
    "KubeletEvent",
    "KubeletEventKind",
    "NotKlog",
    "decode_klog",
    "decode_kubelet_line",
    "is_candidate",
    "is_klog",
    "resolve_time",
]
