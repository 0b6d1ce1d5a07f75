"""The webhook shim is alive without a cluster and ready only while the API server answers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support.cluster import Cluster

from whisperer.api.app import create_app
from whisperer.operator.kube import KubeClient


def test_healthz_needs_nothing() -> None:
    with TestClient(create_app()) as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_without_a_cluster_is_503_with_retry_after() -> None:
    with TestClient(create_app()) as http:
        response = http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_readyz_with_the_real_api_server(cluster: Cluster) -> None:
    app = create_app()
    app.state.kube = KubeClient.from_kubeconfig(str(cluster.identity("operator")))
    try:
        with TestClient(app) as http:
            response = http.get("/readyz")
    finally:
        app.state.kube.close()
    assert response.status_code == 200
    assert response.json()["apiserver"].startswith("v1.")


def test_readyz_when_the_api_server_is_unreachable(cluster: Cluster, tmp_path: object) -> None:
    import re
    from pathlib import Path

    dead = re.sub(
        r"server: \"?https://127\.0\.0\.1:\d+\"?",
        "server: https://127.0.0.1:1",
        cluster.kubeconfig.read_text(),
    )
    path = Path(str(tmp_path)) / "dead"
    path.write_text(dead)
    app = create_app()
    app.state.kube = KubeClient.from_kubeconfig(str(path))
    try:
        with TestClient(app) as http:
            response = http.get("/readyz")
    finally:
        app.state.kube.close()
    assert response.status_code == 503
    assert "did not answer" in response.json()["reason"]
