"""Realistic containerd logs with known answers, for tests, the benchmark and the bundled sample.

Each containerd version line writes a pull differently (docs/formats.md):
1.5/1.6 log only start and result at info (no size, no duration); 1.7+ add "Pulled image … size
… in …" and "stop pulling image … bytes read"; 2.1+ change the debug snapshotter line. Sandbox
(pause) images are pulled without start/result lines. The factory renders the same pulls in each
envelope (logrus text, logrus JSON, TTY, journalctl short and JSON, k3s file) and returns what a
correct reader must report.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pullwatch.parsers.refs import normalize

VERSIONS = ("1.5", "1.6", "1.7", "2.0", "2.1", "2.3")
ENVELOPES = (
    "text",
    "json",
    "tty",
    "journal-short",
    "journal-precise",
    "journal-iso",
    "journal-trimmed",
    "journal-json",
    "journal-json-bytes",
    "k3s",
)
IMAGES = (
    "nginx:1.25",
    "docker.io/library/redis:7.2",
    "registry.k8s.io/kube-apiserver:v1.34.2",
    "quay.io/prometheus/node-exporter:v1.8.1",
    "ghcr.io/fluxcd/source-controller:v1.3.0",
    "busybox",
    "index.docker.io/rancher/mirrored-pause:3.6",
    "registry.k8s.io/coredns/coredns:v1.11.1",
    "gcr.io/distroless/static@sha256:" + "ab" * 32,
    "localhost:5000/team/app:dev",
)
SANDBOX_IMAGE = "registry.k8s.io/pause:3.9"
# Sandbox (pause) images are tiny; these are the sizes containerd reports for them.
PAUSE_SIZES = {SANDBOX_IMAGE: 321_520, "index.docker.io/rancher/mirrored-pause:3.6": 301_773}


def image_id_of(image: str) -> str:
    """A stable image id per image (pulled again, the same image has the same id), derived from
    the normalized name so that seeds stay reproducible and aliases of one image agree."""
    return "sha256:" + hashlib.sha256(normalize(image).encode()).hexdigest()


@dataclass
class Pull:
    """One pull to write, and (through `expected`) what pullwatch must report for it."""

    image: str
    start: datetime
    seconds: float
    size: int
    bytes_read: int
    outcome: str = "completed"  # completed | failed | cancelled
    sandbox: bool = False
    image_id: str = ""  # empty: the image's own stable id (image_id_of)

    def __post_init__(self) -> None:
        if not self.image_id:
            self.image_id = image_id_of(self.image)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


@dataclass
class Line:
    time: datetime
    level: str
    msg: str
    fields: dict[str, str] = field(default_factory=dict)


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration.String()."""
    if seconds < 1e-6:
        return f"{round(seconds * 1e9)}ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}".rstrip("0").rstrip(".") + "µs"
    if seconds < 1:
        return f"{seconds * 1e3:.6f}".rstrip("0").rstrip(".") + "ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if minutes or hours:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text


def pull_lines(pull: Pull, version: str, debug: bool = False) -> list[Line]:
    """The lines containerd `version` writes for `pull`, in time order."""
    req, norm = pull.image, normalize(pull.image)
    modern = version not in ("1.5", "1.6")
    lines: list[Line] = []
    t0, t1 = pull.start, pull.end
    if not pull.sandbox:
        lines.append(Line(t0, "info", f"PullImage {quote(req)}"))
        if debug and norm != req:
            lines.append(Line(t0, "debug", f"PullImage using normalized image ref: {quote(norm)}"))
    if debug and modern:
        suffix = " using transfer service" if version in ("2.1", "2.3") else ""
        lines.append(Line(t0, "debug", f"PullImage {quote(norm)} with snapshotter overlayfs{suffix}"))
        for step in range(1, int(pull.seconds // 10) + 1):
            so_far = pull.bytes_read * step * 10 // max(int(pull.seconds), 1)
            lines.append(
                Line(
                    t0 + timedelta(seconds=10 * step),
                    "debug",
                    "progress for image pull",
                    {
                        "activeReqs": "1",
                        "ref": norm,
                        "totalBytesRead": str(so_far),
                    },
                )
            )
    repo_tag = "" if "@" in norm else norm
    repository = norm.split("@")[0] if "@" in norm else norm.rsplit(":", 1)[0]
    # A pull by digest reports that digest; otherwise the manifest digest is as stable as the id.
    repo_digest = norm if "@" in norm else repository + "@sha256:" + pull.image_id[7:][::-1]
    if pull.outcome == "completed":
        if modern:
            lines.append(
                Line(t1, "info", f"stop pulling image {norm}: active requests=0, bytes read={pull.bytes_read}")
            )
            lines.append(
                Line(
                    t1,
                    "info",
                    (
                        f"Pulled image {quote(req)} with image id {quote(pull.image_id)}, repo tag {quote(repo_tag)}, "
                        f"repo digest {quote(repo_digest)}, size {quote(str(pull.size))} in {go_duration(pull.seconds)}"
                    ),
                )
            )
        elif debug:
            lines.append(
                Line(
                    t1,
                    "debug",
                    (
                        f"Pulled image {quote(req)} with image id {quote(pull.image_id)}, repo tag {quote(repo_tag)}, "
                        f"repo digest {quote(repo_digest)}"
                    ),
                )
            )
        if not pull.sandbox:
            lines.append(Line(t1, "info", f"PullImage {quote(req)} returns image reference {quote(pull.image_id)}"))
        return lines
    error = f'failed to pull and unpack image "{norm}": failed to resolve reference "{norm}": not found'
    if pull.outcome == "cancelled":
        # 1.7+ cancel a pull that makes no progress; 1.5/1.6 have no such timeout, so the pull is
        # cancelled by its caller (kubelet's deadline) and only the failure is logged.
        if modern:
            timeout = "1m0s" if version == "1.7" else "5m0s"
            lines.append(Line(t1, "error", f"cancel pulling image {norm} because of no progress in {timeout}"))
        error = f'rpc error: code = Canceled desc = failed to pull and unpack image "{norm}": context canceled'
    elif modern:
        error = "rpc error: code = NotFound desc = " + error
    if modern:
        lines.append(Line(t1, "info", f"stop pulling image {norm}: active requests=0, bytes read={pull.bytes_read}"))
    if pull.sandbox:
        lines.append(
            Line(
                t1,
                "error",
                "RunPodSandbox for &PodSandboxMetadata{Name:web-0,Uid:1234,Namespace:default,Attempt:0,} failed, error",
                {"error": f'failed to get sandbox image "{req}": failed to pull image "{req}": {error}'},
            )
        )
    else:
        lines.append(Line(t1, "error", f"PullImage {quote(req)} failed", {"error": error}))
    return lines


def expected(pull: Pull, version: str, debug: bool = False) -> dict[str, object]:
    """What a correct reader reports for `pull` (only the fields that the version logs)."""
    modern = version not in ("1.5", "1.6")
    status = "completed" if pull.outcome == "completed" else "failed"
    has_size = modern and status == "completed"
    # 2.1+ pull through the transfer service, whose bytes-read counter stays idle (docs/formats.md);
    # the debug snapshotter line says so, and then pullwatch reports no bytes read at all
    transfer = debug and version in ("2.1", "2.3")
    return {
        "image": pull.image,
        "ref": normalize(pull.image),
        "status": status,
        "size_bytes": pull.size if has_size else None,
        "bytes_read": pull.bytes_read if modern and not transfer else None,
        "duration_seconds": round(pull.seconds, 3) if (not pull.sandbox or has_size) else None,
    }


CHATTER: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("info", 'StartContainer for "{id}" returns successfully', {}),
    ("info", "shim disconnected", {"id": "{id}", "namespace": "k8s.io"}),
    ("info", 'CreateContainer within sandbox "{id}" for container &ContainerMetadata{{Name:app,Attempt:0,}}', {}),
    (
        "info",
        "RunPodSandbox for &PodSandboxMetadata{{Name:web-{n},Uid:{id},Namespace:default,Attempt:0,}} "
        'returns sandbox id "{id}"',
        {},
    ),
    ("info", 'ImageCreate event name:"sha256:{id}"  labels:{{key:"io.cri-containerd.image"  value:"managed"}}', {}),
    (
        "info",
        "trying next host",
        {
            "error": 'failed to do request: Head "https://mirror.local/v2/": dial tcp: i/o timeout',
            "host": "mirror.local",
        },
    ),
    (
        "debug",
        "fetch response received",
        {"host": "registry-1.docker.io", "response.header.content-length": "{n}", "response.status": "200 OK"},
    ),
    ("debug", "resolving", {"host": "registry-1.docker.io"}),
    ("warning", 'cleanup warnings time="{time}" level=info msg="starting signal loop" namespace=k8s.io', {}),
    ("info", 'TaskExit event in podsandbox handler container_id:"{id}"  id:"{id}"  pid:{n}  exit_status:137', {}),
)


# Lines that pullwatch reads although no pull of the log made them (an image event of an unrelated
# image, a resolver line): on a node they come with pulls, so benchmark logs (`rare_pull_chatter`)
# make them as rare as pull lines, not one line in ten (which made bench/ parse chatter). The test
# logs keep them common, to test that they make no pull.
_PULL_ADJACENT = ("ImageCreate event", "trying next host", "fetch response received", "resolving")
CHATTER_WEIGHTS = tuple(1 if msg.startswith(_PULL_ADJACENT) else 60 for _, msg, _ in CHATTER)


def chatter_line(rng: random.Random, moment: datetime, debug: bool, weights: Sequence[int] | None = None) -> Line:
    while True:
        level, msg, fields = rng.choice(CHATTER) if weights is None else rng.choices(CHATTER, weights)[0]
        if debug or level != "debug":
            break
    ident = f"{rng.getrandbits(256):064x}"
    n = str(rng.randrange(1, 99999))
    fill = {"id": ident, "n": n, "time": moment.isoformat()}
    return Line(moment, level, msg.format(**fill), {k: v.format(**fill) for k, v in fields.items()})


# ---- envelopes ---------------------------------------------------------------------------------

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")


def logrus_value(value: str) -> str:
    """logrus TextFormatter.needsQuoting: bare when every rune is safe, else %q. The empty string
    is bare too (`key=`): containerd does not set QuoteEmptyFields."""
    return value if all(c in _SAFE for c in value) else quote(value)


def logrus_time(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{moment.microsecond % 1000:03d}"
    offset = moment.strftime("%z")
    return text + ("Z" if offset in ("", "+0000") else offset[:3] + ":" + offset[3:])


def render_text(line: Line) -> str:
    parts = [f"time={quote(logrus_time(line.time))}", f"level={line.level}", f"msg={logrus_value(line.msg)}"]
    parts += [f"{key}={logrus_value(value)}" for key, value in sorted(line.fields.items())]
    return " ".join(parts)


def render_json(line: Line) -> str:
    record = {"time": logrus_time(line.time), "level": line.level, "msg": line.msg, **line.fields}
    text = json.dumps(dict(sorted(record.items())), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_tty(line: Line) -> str:
    """logrus printColored without the colour codes: `%s[%s] %-44s ` then ` key=value` per field
    (so a trailing space when there are no fields, two spaces before the first field)."""
    level = line.level[:4].upper()
    fields = "".join(f" {key}={logrus_value(value)}" for key, value in sorted(line.fields.items()))
    return f"{level}[{logrus_time(line.time)}] {line.msg:<44} {fields}"


def render(line: Line, envelope: str, host: str = "node-1", pid: int = 812) -> str:
    if envelope in ("text", "k3s"):
        return render_text(line)
    if envelope == "json":
        return render_json(line)
    if envelope == "tty":
        return render_tty(line)
    utc = line.time.astimezone(timezone.utc)
    if envelope == "journal-short":
        return f"{utc.strftime('%b %d %H:%M:%S')} {host} containerd[{pid}]: {render_text(line)}"
    if envelope == "journal-precise":
        return f"{utc.strftime('%b %d %H:%M:%S.%f')} {host} containerd[{pid}]: {render_text(line)}"
    if envelope == "journal-iso":
        return f"{utc.strftime('%Y-%m-%dT%H:%M:%S+0000')} {host} containerd[{pid}]: {render_text(line)}"
    if envelope == "journal-trimmed":  # what people paste: the date and host cut off
        return f"containerd[{pid}]: {render_text(line)}"
    if envelope in ("journal-json", "journal-json-bytes"):
        # journalctl -o json: MESSAGE is a string, or an array of byte values when journald
        # considers it binary (e.g. invalid UTF-8); both carry the logrus text line.
        text = render_text(line)
        message: object = text if envelope == "journal-json" else list(text.encode())
        return journal_json(message, line.time, host, pid)
    raise ValueError(envelope)


def journal_json(message: object, moment: datetime, host: str = "node-1", pid: int = 812) -> str:
    """One `journalctl -o json` record (compact separators, as journalctl writes them)."""
    return json.dumps(
        {
            "__REALTIME_TIMESTAMP": str(int(moment.timestamp() * 1e6)),
            "_SYSTEMD_UNIT": "containerd.service",
            "PRIORITY": "6",
            "SYSLOG_IDENTIFIER": "containerd",
            "_PID": str(pid),
            "_HOSTNAME": host,
            "MESSAGE": message,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


# ---- whole logs ---------------------------------------------------------------------------------


@dataclass
class GeneratedLog:
    lines: list[str]
    pulls: list[Pull]
    expected: list[dict[str, object]]  # in start order


def image_size(image: str) -> int:
    """A stable size per image (the same image has the same size every time it is pulled)."""
    if image in PAUSE_SIZES:
        return PAUSE_SIZES[image]
    return 700_000 + zlib.crc32(image.encode()) % 900_000_000


def make_pulls(
    rng: random.Random,
    count: int,
    start: datetime,
    repeat_ratio: float = 0.3,
    fail_ratio: float = 0.1,
    sandbox: bool = True,
    overlap_same_image: bool = False,
) -> list[Pull]:
    pulls: list[Pull] = []
    moment = start
    for index in range(count):
        moment += timedelta(seconds=round(rng.uniform(0.5, 20), 3))
        image = rng.choice(IMAGES[:3]) if rng.random() < repeat_ratio else rng.choice(IMAGES)
        outcome = "completed"
        roll = rng.random()
        if roll < fail_ratio:
            outcome = "failed"
        elif roll < fail_ratio * 1.3:
            outcome = "cancelled"
        is_sandbox = sandbox and index % 17 == 5
        if is_sandbox:
            image = SANDBOX_IMAGE
        size = image_size(image)
        if not overlap_same_image:
            # kubelet pulls one image at a time per reference unless told otherwise: a repeat
            # starts after the previous pull of the same image ended.
            busy = max((p.end for p in pulls if p.image == image), default=moment)
            if busy >= moment:
                moment = busy + timedelta(seconds=round(rng.uniform(0.5, 5), 3))
        cached = any(p.image == image and p.outcome == "completed" for p in pulls)
        pulls.append(
            Pull(
                image=image,
                start=moment,
                seconds=round(rng.uniform(0.05, 180), 3),
                size=size,
                bytes_read=0 if cached and outcome == "completed" else rng.randrange(1, size),
                outcome="failed" if is_sandbox and outcome == "cancelled" else outcome,
                sandbox=is_sandbox,
            )
        )
    return pulls


def generate(
    seed: int = 1,
    pulls: int = 40,
    version: str = "1.7",
    envelope: str = "text",
    chatter: int = 20,
    debug: bool = False,
    tz: timezone = timezone.utc,
    start: datetime | None = None,
    rare_pull_chatter: bool = False,
) -> GeneratedLog:
    """A whole log: `pulls` pulls (interleaved, some repeated, some failed) among `chatter`
    non-pull lines per pull, sorted by time as containerd writes them."""
    weights = CHATTER_WEIGHTS if rare_pull_chatter else None
    rng = random.Random(seed)
    begin = (start or datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)).astimezone(tz)
    plan = make_pulls(rng, pulls, begin, sandbox=version not in ("1.5", "1.6"))
    timed: list[tuple[datetime, int, Line]] = []
    order = 0
    for pull in plan:
        for line in pull_lines(pull, version, debug):
            timed.append((line.time, order, line))
            order += 1
    end = max((p.end for p in plan), default=begin)
    span = (end - begin).total_seconds() or 1.0
    for _ in range(chatter * max(pulls, 1)):
        moment = begin + timedelta(seconds=rng.uniform(0, span))
        timed.append((moment, order, chatter_line(rng, moment, debug, weights)))
        order += 1
    timed.sort(key=lambda item: (item[0], item[1]))
    lines = [render(line, envelope) for _, _, line in timed]
    # A reader knows when a pull started unless it is a failed sandbox pull (no start, no duration).
    wanted = sorted(
        (
            (p.end if p.sandbox and p.outcome != "completed" else p.start, i, expected(p, version, debug))
            for i, p in enumerate(plan)
        ),
        key=lambda item: (item[0], item[1]),
    )
    return GeneratedLog(lines, plan, [w for _, _, w in wanted])


def write_log(path: str, log: GeneratedLog) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for line in log.lines:
            handle.write(line + "\n")


def iter_big_log(
    seed: int, target_bytes: int, version: str = "1.7", envelope: str = "journal-short", pull_ratio: float = 0.005
) -> Iterator[str]:
    """Lines for a large benchmark log (about `pull_ratio` of them pull lines), generated in chunks."""
    written = 0
    chunk = 0
    chatter = max(int(3 / pull_ratio), 1)  # a pull writes about 3 info lines
    while written < target_bytes:
        log = generate(
            seed=seed + chunk,
            pulls=20,
            version=version,
            envelope=envelope,
            chatter=chatter,
            start=datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=chunk),
            rare_pull_chatter=True,
        )
        for line in log.lines:
            written += len(line) + 1
            yield line
            if written >= target_bytes:
                return
        chunk += 1


def quote(text: str) -> str:
    """Encode like Go's strconv.Quote, as containerd's %q does (the inverse of gostrings.unquote)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(char)])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif not char.isprintable() and code >= 0x80:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def klog_line(moment: datetime, file: str, msg: str, *pairs: tuple[str, str]) -> str:
    """kubelet's klog structured line (`I1202 05:00:00.000000    4242 file.go:1] "msg" k="v"`)."""
    fields = " ".join(f"{key}={quote(value)}" for key, value in pairs)
    head = "E" if "Error" in msg else "I"
    return f"{head}{moment:%m%d %H:%M:%S.%f}    4242 {file}] {quote(msg)} {fields}"


def kubelet_pulling(moment: datetime, pod: str, image: str) -> str:
    """client-go's structured "Event occurred" line for kubelet's `Pulling image` event (-v>=3)."""
    return klog_line(
        moment,
        "event.go:389",
        "Event occurred",
        ("object", pod),
        ("fieldPath", "spec.containers{app}"),
        ("kind", "Pod"),
        ("apiVersion", "v1"),
        ("type", "Normal"),
        ("reason", "Pulling"),
        ("message", f"Pulling image {quote(image)}"),
    )
