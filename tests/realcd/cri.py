"""A CRI client for the realcd tests: the runtime.v1 calls kubelet makes to pull images.

The messages come from cri_min.proto, compiled with grpcio-tools into the test cache the first
time they are needed, so no generated code is committed.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

HERE = Path(__file__).resolve().parent
GEN = HERE / ".cache" / "gen"


def messages() -> ModuleType:
    """cri_min_pb2, compiled on first use."""
    target = GEN / "cri_min_pb2.py"
    source = HERE / "cri_min.proto"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        from grpc_tools import protoc

        GEN.mkdir(parents=True, exist_ok=True)
        rc = protoc.main(["protoc", f"-I{HERE}", f"--python_out={GEN}", str(source)])
        if rc != 0:
            raise RuntimeError(f"protoc failed on {source} ({rc})")
    if str(GEN) not in sys.path:
        sys.path.insert(0, str(GEN))
    return importlib.import_module("cri_min_pb2")


@dataclass
class Answer:
    """What one gRPC call answered: the reply, or the status code and details of its error."""

    ok: bool
    reply: Any = None
    code: str | None = None
    details: str | None = None


class CRI:
    """runtime.v1 ImageService and RuntimeService on one containerd socket."""

    def __init__(self, socket: Path) -> None:
        self.pb = messages()
        self.channel = grpc.insecure_channel(f"unix://{socket}")

    def close(self) -> None:
        self.channel.close()

    def _call(self, service: str, method: str, request: Any, reply_type: Any, timeout: float) -> Answer:
        stub = self.channel.unary_unary(
            f"/runtime.v1.{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=reply_type.FromString,
        )
        try:
            return Answer(True, stub(request, timeout=timeout))
        except grpc.RpcError as error:
            return Answer(False, None, error.code().name, error.details())

    def version(self, timeout: float = 5) -> Answer:
        return self._call("RuntimeService", "Version", self.pb.VersionRequest(), self.pb.VersionResponse, timeout)

    def pull(self, image: str, timeout: float = 60) -> Answer:
        request = self.pb.PullImageRequest(image=self.pb.ImageSpec(image=image))
        return self._call("ImageService", "PullImage", request, self.pb.PullImageResponse, timeout)

    def remove(self, image: str, timeout: float = 30) -> Answer:
        request = self.pb.RemoveImageRequest(image=self.pb.ImageSpec(image=image))
        return self._call("ImageService", "RemoveImage", request, self.pb.RemoveImageResponse, timeout)

    def images(self, timeout: float = 10) -> list[Any]:
        request = self.pb.ListImagesRequest()
        answer = self._call("ImageService", "ListImages", request, self.pb.ListImagesResponse, timeout)
        if not answer.ok:
            raise RuntimeError(f"ListImages failed: {answer.code} {answer.details}")
        return list(answer.reply.images)

    def run_pod_sandbox(self, name: str, timeout: float = 60) -> Answer:
        meta = self.pb.PodSandboxMetadata(name=name, uid=f"uid-{name}", namespace="realcd", attempt=0)
        request = self.pb.RunPodSandboxRequest(config=self.pb.PodSandboxConfig(metadata=meta, hostname=name))
        return self._call("RuntimeService", "RunPodSandbox", request, self.pb.RunPodSandboxResponse, timeout)
