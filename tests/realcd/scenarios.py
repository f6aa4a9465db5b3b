"""The scripted scenarios: what the realcd tests make a real containerd do, and what it answered.

`record(version, level, workdir)` starts a registry, two proxies (throttling, stalling) and one
containerd, runs every scenario in order on it, and returns a `Recording`: containerd's log file
plus, per pull, the image asked for, the gRPC answer (status code, image reference) and whether
the registry really sent the image's layer during that pull (from the registry's access log).
These are the expected answers of the tests; pullwatch's output is what they are checked against.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from containerd import Containerd, Host
from cri import CRI, Answer
from proxy import Proxy
from registry import Pushed, Registry, blob_gets, bytes_sent, free_port

SMALL = 256 * 1024  # a plain image's layer
BIG = 1024 * 1024  # layers of the throttled/stalled images
RATE = 512 * 1024  # bytes/s per connection through the throttling proxy: a BIG layer takes ~2s
STALL_AFTER = 128 * 1024  # bytes a stalled connection sends before it stops
SANDBOX_IMAGE = "registry.k8s.io/pause:3.9"


@dataclass
class Pull:
    """One PullImage call (or the sandbox pull of a RunPodSandbox call) and its ground truth."""

    scenario: str
    image: str  # as sent to PullImage
    normalized: str  # what containerd normalises it to
    ok: bool
    code: str | None  # gRPC status code name when it failed
    image_ref: str | None  # the image id PullImage returned
    # the registry began sending this image's layer during the call; None for one of several
    # concurrent pulls of one image when the layer was sent fewer times than there were pulls
    # (which of them fetched is a race: see `group_downloads`)
    downloaded: bool | None
    started: str  # wall clock, RFC 3339 (containerd logs in UTC)
    finished: str
    via: str = "PullImage"  # or RunPodSandbox
    size: int | None = None  # bytes of manifest + config + layer as pushed (the image's size)
    sent: int | None = None  # bytes the registry sent for this image during the call (access log)
    group_downloads: int | None = None  # concurrent pulls of one image: layer downloads among them


@dataclass
class Recording:
    version: str
    level: str
    log: Path
    pulls: list[Pull] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)  # RemoveImage calls: image, time
    sandbox: dict[str, object] = field(default_factory=dict)  # RunPodSandbox answer, sandbox image present after

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["log"] = self.log.name
        return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class _Run:
    """State shared by the scenarios of one recording."""

    def __init__(self, rec: Recording, cri: CRI, reg: Registry, images: dict[str, Pushed]) -> None:
        self.rec, self.cri, self.reg, self.images = rec, cri, reg, images

    def pull(self, scenario: str, image: str, normalized: str, key: str, timeout: float = 60) -> Pull:
        layer, repo = self.images[key].layer_digest, self.images[key].repo
        before, sent_before = blob_gets(self.reg, layer), bytes_sent(self.reg, repo)
        started = _now()
        answer = self.cri.pull(image, timeout=timeout)
        finished = _now()
        time.sleep(0.3)  # the registry writes its access line as the response ends
        pull = _pull(scenario, image, normalized, answer, blob_gets(self.reg, layer) > before, started, finished)
        pull.size = self.images[key].size if key not in ("nope", "down") else None
        pull.sent = bytes_sent(self.reg, repo) - sent_before
        self.rec.pulls.append(pull)
        return pull

    def together(self, scenario: str, pulls: list[tuple[str, str, str]]) -> None:
        """Pull several images at once (threads); `downloaded` is judged per image for the whole group."""
        digests = {key: self.images[key].layer_digest for _, _, key in pulls}
        before = {key: blob_gets(self.reg, d) for key, d in digests.items()}
        results: list[tuple[str, str, str, Answer, str, str]] = []
        lock = threading.Lock()

        def one(image: str, normalized: str, key: str) -> None:
            started = _now()
            answer = self.cri.pull(image, timeout=60)
            with lock:
                results.append((image, normalized, key, answer, started, _now()))

        threads = [threading.Thread(target=one, args=p) for p in pulls]
        for t in threads:
            t.start()
            time.sleep(0.2)  # distinct start times, still well inside each other's ~2s pull
        for t in threads:
            t.join()
        time.sleep(0.3)
        fetched = {key: blob_gets(self.reg, d) - before[key] for key, d in digests.items()}
        pulls_of = {key: sum(1 for _, _, k in pulls if k == key) for key in digests}
        for image, normalized, key, answer, started, finished in sorted(results, key=lambda r: r[4]):
            # a layer sent once for two pulls of one image: one fetched, the other waited for its
            # content; which one is a race (1.7's per-pull bytes read show either)
            downloaded = None if 0 < fetched[key] < pulls_of[key] else fetched[key] > 0
            pull = _pull(scenario, image, normalized, answer, downloaded, started, finished)
            pull.size = self.images[key].size
            pull.group_downloads = fetched[key]
            self.rec.pulls.append(pull)


def _pull(scenario: str, image: str, normalized: str, answer: Answer, downloaded: bool | None, started: str,
          finished: str) -> Pull:
    ref = answer.reply.image_ref if answer.ok else None
    return Pull(scenario, image, normalized, answer.ok, answer.code, ref, downloaded, started, finished)


def record(version: str, level: str, workdir: Path, log: Path | None = None) -> Recording:
    """Run every scenario on a fresh containerd `version` at `level`; its log goes to `log`."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = log or workdir / f"containerd-{version}-{level}.log"
    rec = Recording(version, level, log)
    reg = Registry(workdir / "registry")
    reg.start()
    slow = Proxy(reg.port, rate=RATE)
    stall = Proxy(reg.port, stall_after=STALL_AFTER)
    slow.start()
    stall.start()
    cd = None
    try:
        seed = f"{version}-{level}".encode()
        images = {
            "first": reg.push_image("first", "1", SMALL, seed + b"first"),
            "again": reg.push_image("again", "1", SMALL, seed + b"again"),
            "bydigest": reg.push_image("bydigest", "1", SMALL, seed + b"bydigest"),
            "beta": reg.push_image("library/beta", "2.0", SMALL, seed + b"beta"),
            "broken": reg.push_image("broken", "1", SMALL, seed + b"broken"),
            "same": reg.push_image("same", "1", BIG, seed + b"same"),
            "left": reg.push_image("left", "1", BIG, seed + b"left"),
            "right": reg.push_image("right", "1", BIG, seed + b"right"),
            "stall": reg.push_image("stall", "1", BIG, seed + b"stall"),
            "cancel": reg.push_image("cancel", "1", BIG, seed + b"cancel"),
            "pause": reg.push_image("pause", "3.9", SMALL, seed + b"pause"),
        }
        images["nope"] = images["first"]  # never pushed under this name; its layer is not asked for
        images["down"] = images["first"]
        # the same manifest under a second tag: new name, content already in the store
        manifest = reg._request("GET", f"{reg.url}/v2/first/manifests/1",
                                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).read()
        reg._request("PUT", f"{reg.url}/v2/first/manifests/alias", manifest,
                     {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}).close()
        reg.delete_blob("broken", images["broken"].layer_digest)
        hosts = [Host("registry.test", reg.port), Host("docker.io", reg.port), Host("registry.k8s.io", reg.port),
                 Host("slow.test", slow.port), Host("stall.test", stall.port), Host("down.test", free_port())]
        cd = Containerd(version, level, log, hosts, SANDBOX_IMAGE)
        cri = cd.start()
        run = _Run(rec, cri, reg, images)

        run.pull("first", "registry.test/first:1", "registry.test/first:1", "first")
        run.pull("repeat", "registry.test/first:1", "registry.test/first:1", "first")
        run.pull("new-tag", "registry.test/first:alias", "registry.test/first:alias", "first")
        run.pull("remove-then-pull", "registry.test/again:1", "registry.test/again:1", "again")
        rec.removed.append({"image": "registry.test/again:1", "time": _now(),
                            "ok": str(cri.remove("registry.test/again:1").ok)})
        run.pull("remove-then-pull", "registry.test/again:1", "registry.test/again:1", "again")
        by_digest = f"registry.test/bydigest@{images['bydigest'].digest}"
        run.pull("by-digest", by_digest, by_digest, "bydigest")
        run.pull("short-name", "beta:2.0", "docker.io/library/beta:2.0", "beta")
        run.pull("index-docker-io", "index.docker.io/library/beta:2.0", "docker.io/library/beta:2.0", "beta")
        run.pull("not-found", "registry.test/nope:1", "registry.test/nope:1", "nope")
        run.pull("registry-down", "down.test/app:1", "down.test/app:1", "down")
        run.pull("blob-missing", "registry.test/broken:1", "registry.test/broken:1", "broken")
        run.together("concurrent-same", [("slow.test/same:1", "slow.test/same:1", "same")] * 2)
        run.together("concurrent-different", [("slow.test/left:1", "slow.test/left:1", "left"),
                                              ("slow.test/right:1", "slow.test/right:1", "right")])
        # 1.7 cancels a pull with no progress for image_pull_progress_timeout (5s); 1.6 has no such
        # timeout, and under 2.1's transfer service the CRI's progress tracker never sees a request
        # (active requests=0), so it never fires: there the client's 8s deadline ends the pull
        run.pull("no-progress", "stall.test/stall:1", "stall.test/stall:1", "stall",
                 timeout=30 if version.startswith("1.7") else 8)
        run.pull("client-cancel", "slow.test/cancel:1", "slow.test/cancel:1", "cancel", timeout=1.0)
        _sandbox(run, images["pause"])
    finally:
        if cd is not None:
            cd.stop()
        slow.stop()
        stall.stop()
        reg.stop()
    return rec


def _sandbox(run: _Run, pause: Pushed) -> None:
    """RunPodSandbox: 1.x pulls the sandbox image first; 2.x sets up the network first (no CNI here)."""
    before = blob_gets(run.reg, pause.layer_digest)
    started = _now()
    answer = run.cri.run_pod_sandbox("realcd-pod", timeout=60)
    finished = _now()
    time.sleep(0.3)
    present = any(SANDBOX_IMAGE in image.repo_tags for image in run.cri.images())
    run.rec.sandbox = {"ok": answer.ok, "code": answer.code, "details": answer.details,
                       "sandbox_image_present": present, "started": started, "finished": finished}
    downloaded = blob_gets(run.reg, pause.layer_digest) > before
    if present or downloaded:
        # the sandbox image was pulled inside the call: a pull with no PullImage of its own
        ids = [image.id for image in run.cri.images() if SANDBOX_IMAGE in image.repo_tags]
        run.rec.pulls.append(Pull("sandbox", SANDBOX_IMAGE, SANDBOX_IMAGE, present, None if present else "UNKNOWN",
                                  ids[0] if ids else None, downloaded, started, finished, via="RunPodSandbox",
                                  size=pause.size))


def save(recordings: list[Recording], path: Path) -> None:
    path.write_text(json.dumps([r.to_json() for r in recordings], indent=2) + "\n")
