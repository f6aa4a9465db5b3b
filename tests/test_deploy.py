"""deploy/: the manifests are valid Kubernetes objects (kubernetes-validate's bundled schemas,
strict, with no network), they mount what pullwatch reads, their flags are pullwatch's, their
names agree with each other, and the scrape job passes Prometheus's own config check."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelp import run

from pullwatch.cli import build_parser
from pullwatch.sources.auto import EMBEDDED_LOGS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The oldest Kubernetes still maintained by the big distributions, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
READ_PATHS = ("/var/log/journal", "/run/log/journal", "/etc/machine-id", *(os.path.dirname(p) for p in EMBEDDED_LOGS))


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if doc]


def one(kind: str) -> dict[str, Any]:
    found = [doc for doc in documents("daemonset.yaml") if doc["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def container() -> dict[str, Any]:
    containers = one("DaemonSet")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def validate(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate on `path`, in a network namespace of its own (no network at all)
    where unshare can: the schemas it uses are the ones it ships."""
    command = [sys.executable, "-m", "kubernetes_validate", "--strict", *options, str(path)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        command = ["unshare", "--net", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_are_valid_kubernetes_objects_offline(version: str) -> None:
    done = validate(DEPLOY / "daemonset.yaml", "-k", version)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.findall(r"INFO .* passed for resource (\S+)", done.stdout)
    kinds = sorted(doc["kind"].lower() + "/" + doc["metadata"]["name"] for doc in documents("daemonset.yaml"))
    assert sorted(passed) == kinds, done.stdout


@pytest.mark.parametrize("field", ["containerPort", "volumeMount"])
def test_the_validator_rejects_a_broken_manifest(tmp_path: Path, field: str) -> None:
    """It really checks: a port given as text, or a misspelt field (strict), fails."""
    daemonset = one("DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]["containers"][0]
    if field == "containerPort":
        spec["ports"][0]["containerPort"] = "9479"
    else:
        spec["volumeMount"] = spec.pop("volumeMounts")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(daemonset), encoding="utf-8")
    done = validate(broken)
    assert done.returncode != 0
    assert field in done.stdout, done.stdout


def test_every_path_pullwatch_reads_is_mounted_read_only_from_the_host() -> None:
    pod = one("DaemonSet")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = container()["volumeMounts"]
    assert all(mount["readOnly"] is True for mount in mounts)
    host_paths = {}
    for mount in mounts:
        host = volumes[mount["name"]]["hostPath"]["path"]
        assert host == mount["mountPath"], mount  # pullwatch looks where the node keeps them
        host_paths[host] = mount
    assert sorted(host_paths) == sorted(READ_PATHS)


def test_the_flags_in_the_manifest_and_the_image_are_pullwatchs() -> None:
    args = container()["args"]
    image_cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Containerfile").read_text(encoding="utf-8"), re.M)
    assert image_cmd is not None
    assert yaml.safe_load(image_cmd.group(1)) == args  # the image runs what the DaemonSet says
    assert args[0] == "metrics"
    help_text = run(["metrics", "--help"]).stdout
    for flag in (arg.split("=")[0] for arg in args if arg.startswith("-")):
        assert re.search(rf"(^|\s){re.escape(flag)}\b", help_text), flag
    parsed, unknown = build_parser().parse_known_args(args)
    assert unknown == [] and parsed.command == "metrics"
    port = int(parsed.listen.rpartition(":")[2])
    assert [p["containerPort"] for p in container()["ports"]] == [port]


def test_the_scrape_objects_find_the_pods() -> None:
    pod_labels = one("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    port_name = container()["ports"][0]["name"]
    service = one("Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port_name]
    monitor = documents("servicemonitor.yaml")[0]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1" and monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]]
    relabel = monitor["spec"]["endpoints"][0]["relabelings"][0]
    assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_node_name"] and relabel["targetLabel"] == "node"


def test_the_resource_requests_cover_what_bench_measured() -> None:
    """bench/README.md's measured table: the largest peak RSS must fit in the memory request."""
    text = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    # input  size  lines  baseline s  pullwatch s  ratio  RSS MB  ok
    row = re.compile(r"^\S+ +\d+M +[\d,]+ +[\d.]+ +[\d.]+ +[\d.]+ +([\d.]+) +(?:yes|no)$", re.M)
    peaks = [float(peak) for peak in row.findall(text)]
    assert len(peaks) >= 5, "bench/README.md has no measured table"
    requests = container()["resources"]["requests"]
    limits = container()["resources"]["limits"]
    memory = int(requests["memory"].removesuffix("Mi")) * 2**20
    assert max(peaks) * 1e6 < memory < int(limits["memory"].removesuffix("Mi")) * 2**20


def test_the_plain_scrape_job_passes_promtool(tmp_path: Path) -> None:
    """promtool checks the job. Debian builds Prometheus without Kubernetes discovery, so the
    checked copy finds a static target instead; names, intervals and relabeling are checked as written."""
    promtool = shutil.which("promtool")
    assert promtool, "no promtool: apt-get install prometheus (scripts/test.sh does)"
    config = yaml.safe_load((DEPLOY / "prometheus-scrape.yaml").read_text(encoding="utf-8"))
    job = config["scrape_configs"][0]
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [one("Service")["metadata"]["namespace"]]
    keep = {tuple(r["source_labels"]): r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert keep[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)] == container_label()
    assert keep[("__meta_kubernetes_pod_container_port_name",)] == container()["ports"][0]["name"]
    del job["kubernetes_sd_configs"]
    job["static_configs"] = [{"targets": ["127.0.0.1:9479"]}]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run([promtool, "check", "config", str(checked)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, shlex.join(done.args) + "\n" + done.stdout + done.stderr
    job["relabel_configs"][0]["action"] = "kepe"  # and it does check: a wrong action fails
    checked.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert subprocess.run([promtool, "check", "config", str(checked)], capture_output=True, check=False).returncode


def container_label() -> str:
    return str(one("DaemonSet")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"])
