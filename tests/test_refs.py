"""Reference normalisation as containerd's CRI does it (distribution/reference.ParseDockerRef).

Expected values follow distribution/reference normalize.go / regexp.go: the first component is a
domain only if it is `localhost`, contains `.` or `:`, or has an upper-case letter; Docker Hub
names get `library/`; a digest drops the tag; invalid references come back unchanged.
"""

from __future__ import annotations

import pytest

from pullwatch.parsers.refs import normalize

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "ref"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/library/nginx:latest", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("index.docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/rancher/mirrored-pause:3.6", "docker.io/rancher/mirrored-pause:3.6"),
        ("rancher/k3s:v1.30.0-k3s1", "docker.io/rancher/k3s:v1.30.0-k3s1"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        ("localhost/x", "localhost/x:latest"),
        ("registry:5000/a/b:tag", "registry:5000/a/b:tag"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
        ("quay.io/prometheus/node-exporter:v1.8.1", "quay.io/prometheus/node-exporter:v1.8.1"),
        ("[::1]:5000/x:1", "[::1]:5000/x:1"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
        # A digest is kept; a tag next to it is dropped (ParseDockerRef returns the digested form).
        (f"nginx@{DIGEST}", f"docker.io/library/nginx@{DIGEST}"),
        (f"nginx:1.25@{DIGEST}", f"docker.io/library/nginx@{DIGEST}"),
        (f"gcr.io/distroless/static:nonroot@{DIGEST}", f"gcr.io/distroless/static@{DIGEST}"),
        # An upper-case first component is a domain, not a Docker Hub namespace.
        ("Registry.Example/team/app:1", "Registry.Example/team/app:1"),
        ("Foo/bar", "Foo/bar:latest"),
        # Separators allowed inside path components.
        ("a__b/c--d/e.f_g:1", "docker.io/a__b/c--d/e.f_g:1"),
        # "sha256:<64 hex>" parses as repository "sha256" with a 64-character tag.
        (DIGEST, "docker.io/library/" + DIGEST),
    ],
)
def test_normalises_like_containerd(image: str, ref: str) -> None:
    assert normalize(image) == ref


@pytest.mark.parametrize(
    "image",
    [
        "",
        "NGINX",  # repository names must be lower case
        "library/NGINX",
        "nginx:",
        "nginx:1:2",
        "-x",
        "x//y",
        "x/",
        "a b",
        'nginx"',
        "ngïnx",
        "nginx@sha256:abc",  # digest too short
        "nginx@sha256:" + "A" * 64,  # upper-case hex
        "nginx@md5:" + "a" * 32,  # unknown algorithm
        "0123456789abcdef" * 4,  # a bare 64-hex identifier is refused
        "nginx:" + "t" * 129,  # tags are at most 128 characters
        "registry.example/" + "a" * 250,  # names are at most 255 characters
        "[markup]",
        "x\x1b[31m",
    ],
)
def test_invalid_references_come_back_unchanged(image: str) -> None:
    assert normalize(image) == image


def test_normalising_twice_changes_nothing() -> None:
    for image in ("nginx", "index.docker.io/library/busybox:1", f"nginx:1@{DIGEST}", "localhost:5000/x"):
        assert normalize(normalize(image)) == normalize(image)
