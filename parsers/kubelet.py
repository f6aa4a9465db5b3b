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
- pkg/kubelet/images/image_gc_manager.go `klog.InfoS("Removing image to free bytes", "imageID", …,
  "size", …)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from parsers.gostrings import QUOTED, unquote


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


# Cheap substring tests: every line decoded here contains one of these.
KEYWORDS: tuple[str, ...] = ("Event occurred", "Event(v1.ObjectReference", "Error syncing pod", "Removing image")

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
    moment = _klog_time(header, year_from)
    body = text[header.end() :].rstrip("\r\n")
    if body.startswith('"Event occurred"'):
        return _structured_event(body, moment)
    if body.startswith("Event(v1.ObjectReference"):
        return _old_event(body, moment)
    if body.startswith('"Error syncing pod, skipping"'):
        return _sync_error(body, moment)
    if body.startswith('"Removing image to free bytes"'):
        fields = _fields(body)
        size = fields.get("size", "")
        return KubeletEvent(
            KubeletEventKind.IMAGE_REMOVED,
            moment,
            image_id=fields.get("imageID") or None,
            size_bytes=int(size) if size.isascii() and size.isdigit() else None,
        )
    return None


def _fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for match in _PAIR.finditer(body):
        key, value = match.group(1), match.group(2)
        if key not in fields:
            fields[key] = unquote(value) if value.startswith('"') else value
    return fields


def _structured_event(body: str, moment: datetime | None) -> KubeletEvent | None:
    fields = _fields(body)
    if fields.get("kind", "Pod") != "Pod":
        return None
    event = _from_message(fields.get("message", ""), moment)
    if event is None:
        return None
    event.namespace, event.pod = _split_object(fields.get("object", ""))
    return event


def _old_event(body: str, moment: datetime | None) -> KubeletEvent | None:
    match = _OLD_EVENT.match(body)
    if match is None:
        return None
    event = _from_message(body[match.end() :], moment)
    if event is None:
        return None
    event.namespace = unquote(match.group(1)) or None
    event.pod = unquote(match.group(2)) or None
    return event


def _from_message(message: str, moment: datetime | None) -> KubeletEvent | None:
    """An image_manager event message (`Pulling image "x"`, …) to an event without its pod."""
    match = _IMAGE_IN_MESSAGE.match(message)
    if match is None:
        return None
    kind = _MESSAGE_KIND[match.group(1)]
    if kind is KubeletEventKind.PRESENT and "already present on machine" not in message:
        return None  # `Container image "x" is not present with pull policy of Never`
    event = KubeletEvent(kind, moment, image=unquote(match.group(2)))
    if kind is KubeletEventKind.FAILED and message[match.end() :].startswith(": "):
        event.error = message[match.end() + 2 :]
    return event


def _sync_error(body: str, moment: datetime | None) -> KubeletEvent | None:
    fields = _fields(body)
    match = _SYNC_IMAGE_ERROR.search(fields.get("err", ""))
    if match is None:
        return None  # a pod that failed for another reason than its image
    inner = unquote(match.group(2))
    image = _CRI_IMAGE.search(inner)
    kind = KubeletEventKind.FAILED if match.group(1) == "ErrImagePull" else KubeletEventKind.BACKOFF
    namespace, pod = _split_object(fields.get("pod", ""))
    return KubeletEvent(
        kind, moment, image=unquote(image.group(1)) if image else None, namespace=namespace, pod=pod, error=inner
    )


def _split_object(text: str) -> tuple[str | None, str | None]:
    """klog.KRef/KObj text, `ns/name` (or `name` for an object without namespace)."""
    if not text:
        return None, None
    namespace, slash, name = text.partition("/")
    return (namespace or None, name or None) if slash else (None, text)


def _klog_time(header: re.Match[str], year_from: datetime | None) -> datetime | None:
    """klog's header time (local time of the node, no year, no zone) in `year_from`'s zone."""
    if year_from is None:
        return None
    _, month, day, hour, minute, second, fraction = header.groups()
    zone = year_from.tzinfo or timezone.utc
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    year = year_from.year
    if int(month) == 12 and year_from.month == 1:
        year -= 1  # a December line read in January
    elif int(month) == 1 and year_from.month == 12:
        year += 1
    try:
        return datetime(year, int(month), int(day), int(hour), int(minute), int(second), micros, zone)
    except ValueError:
        return None


__all__ = ["KEYWORDS", "KubeletEvent", "KubeletEventKind", "decode_klog", "is_candidate"]
