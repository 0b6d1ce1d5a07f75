"""Two shim processes (`whisperer-webhook`, as two replicas behind the chart's Service) against
one API server: a delivery that reaches both at the same moment (a sender's retry through
the load balancer, or two Alertmanager HA peers sending the same notification) counts once,
and reports spread over both replicas are all counted (no lost update): the Alert's name,
its recorded delivery digests and compare-and-swap writes do it, not per-process memory."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from support.cluster import REPO
from support.shim import shim_process

from whisperer.operator.kube import KubeClient

ALERTS, DELIVERIES = 6, 60


async def post_both(
    urls: list[str], path: str, key: str, body: dict[str, Any], headers: dict[str, str]
) -> list[tuple[int, list[str]]]:
    """POST the same delivery to every shim at once."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def one(url: str) -> tuple[int, list[str]]:
            async with http.post(
                url + path, json=body, headers={"X-API-Key": key, **headers}
            ) as response:
                got = await response.json(content_type=None)
                return response.status, sorted(got.get("alerts", []))

        return list(await asyncio.gather(*(one(u) for u in urls)))


def test_two_shims_given_the_same_delivery_at_once_count_it_once(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    kubeconfig = hooks.webhook_kubeconfig
    with (
        shim_process(kubeconfig, log=tmp_path / "a.log") as a,
        shim_process(kubeconfig, log=tmp_path / "b.log") as b,
    ):
        urls = [a.url, b.url]

        async def deliveries() -> list[list[tuple[int, list[str]]]]:
            return list(
                await asyncio.gather(
                    *(
                        post_both(
                            urls,
                            "/v1/alerts/generic",
                            hooks.key,
                            {
                                "asset_name": "pm-db01.acme.internal",
                                "signature": f"Scale{tag}-{i % ALERTS}",
                                "severity": "high",
                                "message": f"report {i}",
                            },
                            {"X-Delivery-ID": f"{tag}-{i}"},
                        )
                        for i in range(DELIVERIES)
                    )
                )
            )

        answers = asyncio.run(deliveries())
        # Both replicas answer 202 with the same Alert: the second recognised the first's.
        assert all([s for s, _ in pair] == [202, 202] for pair in answers), answers
        assert all(pair[0][1] == pair[1][1] for pair in answers), answers
        names = {n for pair in answers for n in pair[0][1]}
        assert len(names) == ALERTS
        stored = {x["metadata"]["name"]: x for x in admin.list("alerts", namespace=hooks.namespace)}
        assert sum(stored[n]["spec"]["occurrences"] for n in names) == DELIVERIES

        # Alertmanager HA peers: the same notification, no delivery id, from both at once.
        body = json.loads((REPO / "api/examples/alertmanager.json").read_text())
        peers = copy.deepcopy(body)
        peers["groupKey"] = f'{{}}:{{alertname="Scale{tag}"}}'
        for alert in peers["alerts"]:
            alert["labels"]["alertname"] = f"Scale{tag}"
            alert["fingerprint"] = uuid.uuid4().hex[:16]
        pair = asyncio.run(post_both(urls, "/v1/alerts/alertmanager", hooks.key, peers, {}))
        assert [s for s, _ in pair] == [202, 202], pair
        assert pair[0][1] == pair[1][1] and pair[0][1]
        for name in pair[0][1]:
            assert admin.get("alerts", name, hooks.namespace)["spec"]["occurrences"] == 1
