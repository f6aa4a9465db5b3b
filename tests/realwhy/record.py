"""Record the real containerd logs of tests/test_why_real.py (run by hand; not a test).

Uses the realcd harness modules (tests/realcd: Containerd, Registry, free_port) and its cached
Debian builds of containerd (scripts/realcd-setup.sh). One containerd at debug level pulls through
registry host configurations made to fail in known ways, and the answers and ports are saved next
to the log as the expected answers:

- docker.io: a mirror on a closed port, then an empty registry as second mirror (404), then the
  registry that has the image (`beta:2.0`): two mirrors skipped, served by the third host;
- tls.test: https to a plain-http registry; dns.test: a name that does not resolve;
  down.test: a closed port; registry.test/nope:1: an image the registry does not have;
  auth.test: a registry with htpasswd auth, pulled from without credentials (401);
  limit.test / deny.test: an endpoint answering every request 429 (Docker Hub's rate-limit body) /
  403 (a `DENIED` body), as registries do;
- registry.test/app:1 pulled, removed with RemoveImage, pulled again.

    python tests/realwhy/record.py 1.7.24 [--harness /work/wt-realcd/tests/realcd]
"""

from __future__ import annotations

import argparse
import crypt
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent


def start_auth_registry(work: Path, port: int) -> subprocess.Popen[bytes]:
    """docker-registry with htpasswd auth (user `u`), its storage empty: anonymous pulls get 401."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "htpasswd").write_text("u:" + crypt.crypt("p", crypt.mksalt(crypt.METHOD_BLOWFISH)) + "\n")
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work}/storage\n"
        f"auth:\n  htpasswd:\n    realm: realwhy\n    path: {work}/htpasswd\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    binary = shutil.which("docker-registry")
    assert binary is not None, "docker-registry is not installed: run scripts/realcd-setup.sh"
    log = open(work / "registry.log", "ab")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
        except urllib.error.HTTPError:
            return proc  # 401: up, and asking for credentials
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the auth registry did not answer on /v2/ in 20s")


REFUSALS = {
    "/v2/limited/": (
        429,
        "TOOMANYREQUESTS",
        "You have reached your pull rate limit. https://www.docker.com/increase-rate-limit",
    ),
    "/v2/denied/": (403, "DENIED", "requested access to the resource is denied"),
}


class Refusing(BaseHTTPRequestHandler):
    """Answers /v2/limited/… with 429 and /v2/denied/… with 403, with a registry error body."""

    def _answer(self, body: bool) -> None:
        status, code, message = next((v for k, v in REFUSALS.items() if self.path.startswith(k)), (404, "", ""))
        data = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("version")
    parser.add_argument("--harness", default=str(HERE.parent / "realcd"))
    parser.add_argument("--work", default="/tmp/realwhy")
    args = parser.parse_args()
    sys.path.insert(0, args.harness)
    from containerd import Containerd  # type: ignore[import-not-found]
    from registry import Registry, free_port  # type: ignore[import-not-found]

    version = args.version
    log = HERE / f"containerd-{version}-why.log"
    log.unlink(missing_ok=True)
    work = Path(args.work) / version
    reg, empty = Registry(work / "reg"), Registry(work / "empty")
    reg.start()
    empty.start()
    auth_port = free_port()
    auth = start_auth_registry(work / "auth", auth_port)
    refusing = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=refusing.serve_forever, daemon=True).start()
    refusing_url = f"http://127.0.0.1:{refusing.server_address[1]}"
    answers: dict[str, object] = {}
    try:
        reg.push_image("library/beta", "2.0", 64 * 1024, b"beta" + version.encode())
        reg.push_image("app", "1", 64 * 1024, b"app" + version.encode())
        dead = free_port()
        cd = Containerd(version, "debug", log, [], "registry.k8s.io/pause:3.9")
        live = f"http://127.0.0.1:{reg.port}"

        def hosts(name: str, server: str, *mirrors: str) -> None:
            (cd.base / "certs.d" / name).mkdir(parents=True, exist_ok=True)
            blocks = "".join(f'[host."{h}"]\n  capabilities = ["pull", "resolve"]\n\n' for h in (*mirrors, server))
            (cd.base / "certs.d" / name / "hosts.toml").write_text(f'server = "{server}"\n\n{blocks}')

        hosts("docker.io", live, f"http://127.0.0.1:{dead}", f"http://127.0.0.1:{empty.port}")
        hosts("tls.test", f"https://127.0.0.1:{reg.port}")
        hosts("dns.test", "http://nosuch.invalid:5000")
        hosts("down.test", f"http://127.0.0.1:{dead}")
        hosts("registry.test", live)
        hosts("auth.test", f"http://127.0.0.1:{auth_port}")
        hosts("limit.test", refusing_url)
        hosts("deny.test", refusing_url)
        cri = cd.start()
        try:
            pulls = []
            for image in [
                "beta:2.0",
                "tls.test/app:1",
                "dns.test/app:1",
                "down.test/app:1",
                "registry.test/nope:1",
                "auth.test/app:1",
                "limit.test/limited:1",
                "deny.test/denied:1",
                "registry.test/app:1",
            ]:
                answer = cri.pull(image, timeout=40)
                pulls.append({"image": image, "ok": answer.ok, "code": answer.code, "details": answer.details})
            removed = cri.remove("registry.test/app:1")
            again = cri.pull("registry.test/app:1", timeout=40)
            pulls.append({"image": "registry.test/app:1", "ok": again.ok, "code": again.code, "details": again.details})
            answers = {
                "version": version,
                "hosts": {
                    "dead_mirror": f"127.0.0.1:{dead}",
                    "empty_mirror": f"127.0.0.1:{empty.port}",
                    "registry": f"127.0.0.1:{reg.port}",
                },
                "pulls": pulls,
                "removed": {"image": "registry.test/app:1", "ok": removed.ok},
            }
        finally:
            cd.stop()
    finally:
        reg.stop()
        auth.terminate()
        auth.wait(10)
        refusing.shutdown()
        empty.stop()
    (HERE / f"containerd-{version}-why.json").write_text(json.dumps(answers, indent=1) + "\n")


if __name__ == "__main__":
    main()
