"""Which pod asked for a pull: kubelet's image lines matched to containerd's pulls.

kubelet names the image as the pod spec writes it and containerd as the CRI request did; both are
compared normalised. Every kubelet `Pulling` line is one CRI PullImage call, logged within
milliseconds of containerd's `PullImage` line (either side: kubelet logs its events
asynchronously), so it belongs to the pull of that image whose start is nearest to it, within
WINDOW; a kubelet failure line (event or pod_workers error) to the pull whose end is nearest. A
line as near to two pulls as makes no difference (TIE) goes to both. When several pods' lines
fall to one pull (two pods pulling one image at once), every one is listed and none is chosen,
on that pull and on the other pulls at that moment that no line of their own claims.

An image is named by a key: (node, normalised reference) in the store, so that one node's kubelet
lines never name another node's pulls of the same image.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# kubelet logs its event as it calls the runtime; a pull queued behind others by kubelet's serial
# puller (serializeImagePulls, the default) starts later and gets no pod rather than a guess.
WINDOW = timedelta(seconds=2)
TIE = timedelta(milliseconds=10)
# Lines and pulls kept per image while later lines may still match them.
MAX_KEPT_PER_REF = 256


@dataclass(slots=True)
class _Claim:
    pod: str  # "namespace/name"
    time: datetime
    at_end: bool  # a failure line: compared with the pull's end, not its start


@dataclass(slots=True)
class _Pull:
    key: int
    start: datetime | None
    end: datetime | None


@dataclass(slots=True)
class _Image:
    """One image's kubelet lines and pulls that later lines or pulls may still match."""

    claims: deque[_Claim] = field(default_factory=lambda: deque(maxlen=MAX_KEPT_PER_REF))
    pulls: deque[_Pull] = field(default_factory=lambda: deque(maxlen=MAX_KEPT_PER_REF))
    newest: datetime | None = None  # the newest time of a pull of it


class PodMatcher:
    """Kept per image for WINDOW past the newest time seen; answers the pods of each pull."""

    def __init__(self, window: timedelta = WINDOW) -> None:
        self.window = window
        self._span = 2 * window  # how far behind the newest time lines and pulls are kept
        self._images: dict[Hashable, _Image] = {}  # one lookup per call: a pull's start and end come for every pull

    def pull_started(self, key: int, ref: Hashable, time: datetime | None) -> dict[int, list[str]]:
        """A containerd pull began; returns the pods of every pull whose answer changed."""
        image = self._image(ref)
        image.pulls.append(_Pull(key, time, None))
        return self._after_pull(image, time)

    def pull_ended(self, key: int, ref: Hashable, time: datetime | None) -> dict[int, list[str]]:
        """A pull ended (a pull with no start line, a sandbox pull, is added here)."""
        image = self._image(ref)
        pulls = image.pulls
        for pull in reversed(pulls):  # the pull that ends is usually among the latest to start
            if pull.key == key:
                pull.end = time
                break
        else:
            pulls.append(_Pull(key, None, time))
        return self._after_pull(image, time)

    def kubelet_line(self, ref: Hashable, pod: str, time: datetime | None, *, at_end: bool) -> dict[int, list[str]]:
        """A kubelet line naming `pod` for image `ref` (`at_end`: it reports the pull's failure)."""
        if time is None:
            return {}  # no time, no match: never guess
        image = self._image(ref)
        image.claims.append(_Claim(pod, time, at_end))
        return self._resolve(image)

    def _image(self, ref: Hashable) -> _Image:
        image = self._images.get(ref)
        if image is None:
            image = self._images[ref] = _Image()
        return image

    def _after_pull(self, image: _Image, time: datetime | None) -> dict[int, list[str]]:
        if time is not None and (image.newest is None or time > image.newest):
            image.newest = time
        if image.claims:
            return self._resolve(image)
        # No kubelet line names the image (no kubelet lines in the input, say): no pull has a pod;
        # only the pulls too old for a later line are dropped, as _prune would. Working it all out
        # for every pull was two thirds of the store's time on a dense log (bench/density.py).
        if image.newest is not None:
            horizon = image.newest - self._span
            pulls = image.pulls
            while pulls and (pulls[0].end or pulls[0].start or horizon) < horizon:
                pulls.popleft()
        return {}

    def _resolve(self, image: _Image) -> dict[int, list[str]]:
        pulls = list(image.pulls)
        pods: dict[int, list[str]] = {}
        near: dict[int, set[int]] = {}  # pull key -> the claims within WINDOW of it (by index)
        for index, claim in enumerate(image.claims):
            distances = []
            for pull in pulls:
                anchor = pull.end if claim.at_end else pull.start
                if anchor is not None and abs(claim.time - anchor) <= self.window:
                    distances.append((abs(claim.time - anchor), pull.key))
                    near.setdefault(pull.key, set()).add(index)
            if not distances:
                continue
            best = min(distance for distance, _ in distances)
            for distance, key in distances:
                if distance - best <= TIE:
                    listed = pods.setdefault(key, [])
                    if claim.pod not in listed:
                        listed.append(claim.pod)
        for key, listed in list(pods.items()):
            if len(listed) < 2:
                continue
            for other in pulls:  # the same moment's pulls that no line of their own claims
                if other.key not in pods and near.get(other.key, set()) & near.get(key, set()):
                    pods[other.key] = listed
        self._prune(image)
        return pods

    def _prune(self, image: _Image) -> None:
        """Drop what no later line can match (older than two windows before the newest time)."""
        times = [c.time for c in image.claims]
        times += [t for p in image.pulls for t in (p.start, p.end) if t is not None]
        if not times:
            return
        horizon = max(times) - self._span
        claims = image.claims
        while claims and claims[0].time < horizon:
            claims.popleft()
        pulls = image.pulls
        while pulls and (pulls[0].end or pulls[0].start or horizon) < horizon:
            pulls.popleft()


def split_pod(pods: list[str]) -> tuple[str | None, str | None]:
    """(namespace, pod) when exactly one pod asked, else (None, None): never guess."""
    if len(pods) != 1:
        return None, None
    namespace, _, name = pods[0].rpartition("/")
    return namespace or None, name


__all__ = ["WINDOW", "PodMatcher", "split_pod"]
