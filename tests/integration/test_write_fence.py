"""The fence on the operator's asyncio client (kube/aio.py) against the real API server: with
leader election, a replica that does not hold the Lease sends no write at all."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from support.cluster import Cluster

from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube, NotLeaderError


def test_a_fenced_client_refuses_writes_before_sending_them_and_still_reads(
    cluster: Cluster, admin: KubeClient
) -> None:
    name = f"fenced-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Alert",
        "metadata": {"name": name, "namespace": "alert-whisperer"},
        "spec": {},
    }
    leading = [False]

    async def main() -> None:
        kube = AsyncKube.from_kubeconfig(str(cluster.kubeconfig))
        kube.fence = lambda: leading[0]
        try:
            with pytest.raises(NotLeaderError, match="not the leader"):
                await kube.create("alerts", body, "alert-whisperer")
            with pytest.raises(NotLeaderError):
                await kube.patch("alerts", name, {"spec": {}}, "alert-whisperer")
            with pytest.raises(NotFoundError):  # reads pass the fence; nothing was created
                await kube.get("alerts", name, "alert-whisperer")
            assert await kube.version()
        finally:
            await kube.close()

    asyncio.run(main())
    with pytest.raises(NotFoundError):
        admin.get("alerts", name, "alert-whisperer")
