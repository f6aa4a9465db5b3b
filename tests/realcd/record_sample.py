"""Record the bundled sample (pullwatch/sample/containerd-1.7-journal.log) from real containerd.

    .venv/bin/python tests/realcd/record_sample.py      # as root, after scripts/realcd-setup.sh

A node's morning, compressed: containerd 1.7.24 at info level (image_pull_progress_timeout 10s)
starts a pod (its sandbox image is pulled inside RunPodSandbox), then six images are pulled at once
through a throttled registry, some are pulled again (cache hits), one name does not exist, one
pull stalls mid-layer until containerd cancels it for no progress (its retry succeeds), and one
image is removed (as kubelet's image GC does) and pulled again. containerd's stderr goes to a private journald through
`systemd-cat -t containerd`, and the sample is what `journalctl -o short -t containerd` shows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: journald.py

from containerd import Containerd, Host
from journald import PrivateJournald
from proxy import Proxy
from registry import Registry
from test_realcd_live import stop_group

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "pullwatch" / "sample" / "containerd-1.7-journal.log"
MIB = 1024 * 1024
RATE = 1 * MIB  # bytes/s per connection: a 12 MiB layer takes about 12 s
# repository in the local registry -> (tag, layer size)
IMAGES = {
    "kube-apiserver": ("v1.34.2", 12 * MIB),
    "coredns/coredns": ("v1.11.1", 6 * MIB),
    "library/nginx": ("1.25", 5 * MIB),
    "library/redis": ("7.2", 4 * MIB),
    "prometheus/node-exporter": ("v1.8.1", 3 * MIB),
    "team/app": ("dev", 2 * MIB),
    "pause": ("3.9", 300 * 1024),
    "fluxcd/source-controller": ("v1.3.0", 4 * MIB),
}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="realcd-sample-"))
    journald = PrivateJournald()
    registry = Registry(work / "registry")
    registry.start()
    for repo, (tag, size) in IMAGES.items():
        registry.push_image(repo, tag, size)
    proxy = Proxy(registry.port, rate=RATE)
    proxy.start()
    stall = Proxy(registry.port, rate=RATE, stall_after=512 * 1024)  # ghcr.io: stalls until told not to
    stall.start()
    log = work / "containerd.log"
    log.touch()
    hosts = [Host(name, proxy.port) for name in ("docker.io", "quay.io", "localhost:5000")]
    hosts += [Host("registry.k8s.io", proxy.port), Host("ghcr.io", stall.port)]
    node = Containerd("1.7.24", "info", log, hosts, "registry.k8s.io/pause:3.9", progress_timeout="10s")
    feeder = subprocess.Popen(
        journald.command(["sh", "-c", f"exec tail -n +1 -F {log} | systemd-cat -t containerd"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        cri = node.start()
        threads: list[threading.Thread] = []

        def pull(image: str, delay: float = 0.0) -> None:
            def run() -> None:
                time.sleep(delay)
                print(image, cri.pull(image, timeout=120).code or "ok", flush=True)

            thread = threading.Thread(target=run)
            thread.start()
            threads.append(thread)

        def wait() -> None:
            for thread in threads:
                thread.join()
            threads.clear()

        print("sandbox", cri.run_pod_sandbox("web-0").code, flush=True)  # fails later: no CNI
        redis = "docker.io/library/redis:7.2"
        flux = "ghcr.io/fluxcd/source-controller:v1.3.0"
        for delay, image in enumerate(("registry.k8s.io/kube-apiserver:v1.34.2",
                                       "registry.k8s.io/coredns/coredns:v1.11.1", "nginx:1.25", redis,
                                       "quay.io/prometheus/node-exporter:v1.8.1", "localhost:5000/team/app:dev")):
            pull(image, delay * 0.7)
        wait()
        time.sleep(2)
        pull(flux)  # stalls after 512 KiB: cancelled for no progress after 15-20 s
        pull("nginx:1.25", 1.0)
        pull(redis, 1.5)
        pull("busybox:1.36", 2.5)  # not in the registry
        pull("localhost:5000/team/app:dev", 4.0)
        wait()
        stall.stall_after = None
        time.sleep(1)
        pull(flux)  # the retry gets the whole layer
        pull("registry.k8s.io/coredns/coredns:v1.11.1", 1.0)
        wait()
        time.sleep(1)
        print("rmi", cri.remove("nginx:1.25").ok, flush=True)  # what kubelet's image GC does
        time.sleep(1)
        pull("nginx:1.25")  # downloaded again
        pull("registry.k8s.io/kube-apiserver:v1.34.2", 1.0)
        pull("quay.io/prometheus/node-exporter:v1.8.1", 2.0)
        pull(redis, 3.0)
        pull("registry.k8s.io/pause:3.9", 4.0)
        wait()
        time.sleep(1)
        for delay, image in enumerate(("registry.k8s.io/kube-apiserver:v1.34.2", "nginx:1.25", flux,
                                       "localhost:5000/team/app:dev", "registry.k8s.io/coredns/coredns:v1.11.1")):
            pull(image, delay * 0.8)
        wait()
        time.sleep(1)
    finally:
        node.stop()
        time.sleep(1)
        stop_group(feeder)
        proxy.stop()
        stall.stop()
        registry.stop()
    shown = subprocess.run(
        journald.command(["journalctl", "--no-pager", "-a", "-o", "short", "-t", "containerd"]),
        capture_output=True, text=True, check=True,
    ).stdout
    journald.stop()
    SAMPLE.write_text(shown, encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    print(SAMPLE, len(shown.splitlines()), "lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
