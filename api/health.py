"""Liveness and readiness: the shim is ready only while the API server answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from whisperer.operator.errors import WhispererError
from whisperer.operator.kube import KubeClient

router = APIRouter(tags=["health"])


def get_kube(request: Request) -> KubeClient | None:
    """The Kubernetes client made at startup (None when the shim runs without a cluster)."""
    kube: KubeClient | None = getattr(request.app.state, "kube", None)
    return kube


Kube = Annotated[KubeClient | None, Depends(get_kube)]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    shim = getattr(request.app.state, "shim", None)
    if shim is None:
        return Response(status_code=404)
    return Response(generate_latest(shim.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
def readyz(kube: Kube, response: Response) -> dict[str, str]:
    """Ready when the API server answers; 503 (with Retry-After) otherwise."""
    if kube is None:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return {"status": "unavailable", "reason": "no Kubernetes client configured"}
    try:
        version = kube.server_version()
    except WhispererError as exc:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return {"status": "unavailable", "reason": str(exc)}
    return {"status": "ok", "apiserver": version}
