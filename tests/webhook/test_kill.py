"""A shim killed (SIGKILL) with requests in flight loses no delivery it answered 2xx: the
answer waits for the durable write, so every 202 is an Alert in the API server. The
senders then retry what got no answer against a new shim, and each alert counts once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from support.shim import ShimProcess

from whisperer.operator.kube import KubeClient

SENDERS = 24
REQUESTS = 400
KILL_AFTER = 60  # answers


async def storm(
    url: str, key: str, bodies: list[tuple[str, dict[str, Any]]], *, kill: ShimProcess | None
) -> dict[str, tuple[int, list[str]]]:
    """POST every (delivery id, body) from SENDERS concurrent senders; kill the shim after
    KILL_AFTER answers. Returns the answers received: delivery id -> (status, alerts)."""
    answers: dict[str, tuple[int, list[str]]] = {}
    queue = list(reversed(bodies))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def sender() -> None:
            while queue:
                delivery, body = queue.pop()
                headers = {"X-API-Key": key, "X-Delivery-ID": delivery}
                try:
                    async with http.post(
                        url + "/v1/alerts/generic", json=body, headers=headers
                    ) as response:
                        got = await response.json(content_type=None)
                        answers[delivery] = (response.status, got.get("alerts", []))
                except (aiohttp.ClientError, TimeoutError):
                    continue  # no answer: the sender would retry later
                if kill is not None and len(answers) == KILL_AFTER:
                    kill.kill()

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return answers


def test_no_2xx_is_lost_when_the_shim_is_killed(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    bodies = [
        (
            f"{tag}-{i}",
            {
                "asset_name": "pm-db01.acme.internal",
                # a few alerts take many reports, so group commits are in flight too
                "signature": f"Kill{tag}-{i % 150}",
                "severity": "high",
                "message": f"report {i}",
            },
        )
        for i in range(REQUESTS)
    ]
    shim = ShimProcess(hooks.webhook_kubeconfig, log=tmp_path / "shim.log")
    shim.start()
    try:
        answered = asyncio.run(storm(shim.url, hooks.key, bodies, kill=shim))
    finally:
        shim.kill()
    accepted = {d: alerts for d, (status, alerts) in answered.items() if status == 202}
    unanswered = [b for b in bodies if b[0] not in answered]
    assert len(accepted) >= KILL_AFTER and unanswered, "the kill came after the storm"
    assert all(status in (202, 503) for status, _ in answered.values()), answered

    stored = {a["metadata"]["name"]: a for a in admin.list("alerts", namespace=hooks.namespace)}
    lost = [d for d, alerts in accepted.items() if not set(alerts) <= set(stored)]
    assert not lost, f"{len(lost)} deliveries answered 202 are not in the API server"
    counted = sum(stored[name]["spec"]["occurrences"] for name in {a[0] for a in accepted.values()})
    assert counted >= len(accepted)

    again = ShimProcess(hooks.webhook_kubeconfig, log=tmp_path / "shim-2.log")
    again.start()
    try:  # every sender retries all it sent: what landed before the kill counts once
        retried = asyncio.run(storm(again.url, hooks.key, bodies, kill=None))
    finally:
        again.stop()
    assert {status for status, _ in retried.values()} == {202} and len(retried) == REQUESTS
    names = {a for _, alerts in retried.values() for a in alerts}
    stored = {a["metadata"]["name"]: a for a in admin.list("alerts", namespace=hooks.namespace)}
    assert sum(stored[n]["spec"]["occurrences"] for n in names) == REQUESTS
