"""The shim's promises, over real HTTP against the real API server: authentication, limits,
exactly one Alert per alert, group commit, and 503 (never a 2xx) when it cannot write."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.cluster import wait_for
from support.shim import (
    Proxy,
    apiserver_port,
    apost,
    credentials,
    kubeconfig_through,
    post,
    running_shim,
)

from whisperer.api.state import Settings
from whisperer.operator.kube import KubeClient


def generic(
    asset: str = "pm-db01.acme.internal", signature: str = "DiskSpaceLow", **extra: Any
) -> dict[str, Any]:
    return {
        "asset_name": asset,
        "signature": signature,
        "severity": "high",
        "message": "disk 96% full",
        "tool_source": "nagios",
        **extra,
    }


def alert(admin: KubeClient, ns: str, name: str) -> dict[str, Any]:
    return admin.get("alerts", name, ns)


def test_generic_alert_is_written_and_resolved_to_the_inventory(
    hooks: Any, admin: KubeClient
) -> None:
    status, body, _ = post(
        hooks,
        "/v1/alerts/generic",
        generic(asset="10.20.1.15", signature=f"CpuHigh{uuid.uuid4().hex[:4]}"),
    )
    assert status == 202, body
    assert body["status"] == "accepted" and body["accepted"] == 1
    obj = alert(admin, hooks.namespace, body["alerts"][0])
    assert obj["spec"]["asset"] == {"name": "pm-db01", "known": True}  # found by IP
    assert obj["spec"]["severity"] == "high"
    assert obj["spec"]["state"] == "firing"
    assert obj["spec"]["occurrences"] == 1
    assert obj["metadata"]["labels"]["alertwhisperer.io/company"] == hooks.company


def test_unknown_asset_is_kept_and_marked(hooks: Any, admin: KubeClient) -> None:
    status, body, _ = post(hooks, "/v1/alerts/generic", generic(asset="mystery-box-7"))
    assert status == 202
    obj = alert(admin, hooks.namespace, body["alerts"][0])
    assert obj["spec"]["asset"] == {"name": "mystery-box-7", "known": False}


@pytest.mark.parametrize("how", ["x-api-key", "bearer", "basic", "query"])
def test_every_way_of_presenting_the_key_works(hooks: Any, how: str) -> None:
    headers: dict[str, str] = {}
    path = "/v1/alerts/generic"
    if how == "bearer":
        headers["Authorization"] = f"Bearer {hooks.key}"
    elif how == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"am:{hooks.key}".encode()).decode()
    elif how == "query":
        path += f"?api_key={hooks.key}"
    key = hooks.key if how == "x-api-key" else ""
    status, body, _ = post(hooks, path, generic(), key=key, headers=headers)
    assert status == 202, body


@pytest.mark.parametrize(
    ("key", "status", "detail"),
    [
        ("", 401, "no API key"),
        ("aw_" + "x" * 43, 401, "authentication failed"),
    ],
)
def test_bad_keys_are_refused(hooks: Any, key: str, status: int, detail: str) -> None:
    got, body, headers = post(hooks, "/v1/alerts/generic", generic(), key=key)
    assert got == status
    assert detail in body["detail"]
    assert headers["Content-Type"].startswith("application/problem+json")
    assert hooks.key not in json.dumps(body)


def test_a_body_cannot_name_another_company(hooks: Any, admin: KubeClient) -> None:
    status, body, _ = post(
        hooks, "/v1/alerts/generic", generic(labels={"company": hooks.signed}, company=hooks.signed)
    )
    # Unknown top-level fields are refused or ignored, but the alert never lands elsewhere.
    if status == 202:
        obj = alert(admin, hooks.namespace, body["alerts"][0])
        assert obj["metadata"]["namespace"] == hooks.namespace
    else:
        assert status == 400


def _sign(secret: str, body: bytes, ts: int) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={mac}", "X-Timestamp": str(ts)}


def test_signed_company_needs_a_valid_fresh_signature(hooks: Any) -> None:
    body = json.dumps(generic()).encode()
    now = int(time.time())
    status, problem, _ = post(hooks, "/v1/alerts/generic", None, key=hooks.signed_key, raw=body)
    assert status == 401 and "signature" in problem["detail"]
    status, problem, _ = post(
        hooks,
        "/v1/alerts/generic",
        None,
        key=hooks.signed_key,
        raw=body,
        headers=_sign(hooks.signed_secret, body, now - 600),
    )
    assert status == 401
    status, problem, _ = post(
        hooks,
        "/v1/alerts/generic",
        None,
        key=hooks.signed_key,
        raw=body + b" ",
        headers=_sign(hooks.signed_secret, body, now),
    )
    assert status == 401
    status, accepted, _ = post(
        hooks,
        "/v1/alerts/generic",
        None,
        key=hooks.signed_key,
        raw=body,
        headers=_sign(hooks.signed_secret, body, now),
    )
    assert status == 202, accepted
    assert hooks.signed_secret not in json.dumps(problem)


def test_same_delivery_twice_is_one_occurrence(hooks: Any, admin: KubeClient) -> None:
    delivery = uuid.uuid4().hex
    payload = generic(signature=f"Dup{delivery[:6]}")
    first = post(hooks, "/v1/alerts/generic", payload, headers={"X-Delivery-ID": delivery})
    second = post(hooks, "/v1/alerts/generic", payload, headers={"X-Delivery-ID": delivery})
    assert first[0] == second[0] == 202
    assert second[1]["duplicate"] is True
    assert second[1]["alerts"] == first[1]["alerts"]
    obj = alert(admin, hooks.namespace, first[1]["alerts"][0])
    assert obj["spec"]["occurrences"] == 1


def test_redelivery_after_a_restart_is_still_one_occurrence(
    hooks: Any, admin: KubeClient, cluster: Any
) -> None:
    """The fast path is in memory; the Alert's recorded deliveries survive a restart."""
    delivery = uuid.uuid4().hex
    payload = generic(signature=f"Restart{delivery[:6]}")
    status, body, _ = post(
        hooks, "/v1/alerts/generic", payload, headers={"X-Delivery-ID": delivery}
    )
    assert status == 202
    with running_shim(hooks.webhook_kubeconfig, Settings()) as (url, _):
        again = asyncio.run(
            apost(
                url,
                "/v1/alerts/generic",
                payload,
                key=hooks.key,
                headers={"X-Delivery-ID": delivery},
                raw=None,
            )
        )
    assert again[0] == 202
    assert alert(admin, hooks.namespace, body["alerts"][0])["spec"]["occurrences"] == 1


async def _many(
    url: str, key: str, payloads: list[tuple[dict[str, Any], dict[str, str]]]
) -> list[int]:
    async with aiohttp.ClientSession() as session:

        async def one(body: dict[str, Any], headers: dict[str, str]) -> int:
            async with session.post(
                url + "/v1/alerts/generic", json=body, headers={"X-API-Key": key, **headers}
            ) as response:
                await response.read()
                return response.status

        return list(await asyncio.gather(*(one(b, h) for b, h in payloads)))


def test_fifty_concurrent_copies_of_one_delivery_make_one_alert(
    hooks: Any, admin: KubeClient
) -> None:
    delivery = uuid.uuid4().hex
    payload = generic(signature=f"Storm{delivery[:6]}")
    statuses = asyncio.run(
        _many(hooks.url, hooks.key, [(payload, {"X-Delivery-ID": delivery})] * 50)
    )
    assert statuses == [202] * 50
    name = post(hooks, "/v1/alerts/generic", payload, headers={"X-Delivery-ID": delivery})[1]
    obj = alert(admin, hooks.namespace, name["alerts"][0])
    assert obj["spec"]["occurrences"] == 1


def test_fifty_concurrent_distinct_reports_share_writes(hooks: Any, admin: KubeClient) -> None:
    signature = f"Flood{uuid.uuid4().hex[:6]}"
    writes_before = hooks.state.metrics.api_writes._value.get()
    payloads = [
        (generic(signature=signature), {"X-Delivery-ID": uuid.uuid4().hex}) for _ in range(50)
    ]
    assert asyncio.run(_many(hooks.url, hooks.key, payloads)) == [202] * 50
    writes = hooks.state.metrics.api_writes._value.get() - writes_before
    name = post(hooks, "/v1/alerts/generic", generic(signature=signature))[1]["alerts"][0]
    obj = alert(admin, hooks.namespace, name)
    assert obj["spec"]["occurrences"] == 51  # 50 + the lookup post
    assert writes < 50, f"{writes} API writes for 50 reports: no group commit"


def test_limits_and_malformed_input(hooks: Any) -> None:
    status, problem, _ = post(hooks, "/v1/alerts/generic", None, raw=b"{not json")
    assert status == 400 and "malformed JSON" in problem["detail"]
    status, problem, _ = post(hooks, "/v1/alerts/generic", {"severity": "high"})
    assert status == 400 and problem["field"]
    status, problem, _ = post(hooks, "/v1/alerts/generic", None, raw=b"[" + b" " * 2_000_000 + b"]")
    assert status == 413
    got = asyncio.run(_get(hooks.url + "/v1/alerts/generic"))
    assert got[0] == 405 and got[1].startswith("application/problem+json")


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", "")


def test_rate_limit_answers_503_with_retry_after(hooks: Any) -> None:
    statuses = [post(hooks, "/v1/alerts/generic", generic(), key=hooks.slow_key) for _ in range(5)]
    limited = [s for s in statuses if s[0] != 202]
    assert limited, "five requests at once went through a 1/s, burst 2 bucket"
    assert all(s[0] == 503 for s in limited)
    assert all(int(s[2]["Retry-After"]) >= 1 for s in limited)


def test_api_server_unreachable_gives_503_then_retries_land_once(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    proxy = Proxy(apiserver_port(hooks.webhook_kubeconfig))
    proxy.start()
    kubeconfig = kubeconfig_through(hooks.webhook_kubeconfig, proxy, tmp_path / "kubeconfig")
    signature = f"Outage{uuid.uuid4().hex[:6]}"
    deliveries = [
        (generic(signature=signature, message=f"report {i}"), {"X-Delivery-ID": uuid.uuid4().hex})
        for i in range(10)
    ]
    try:
        with running_shim(kubeconfig, Settings(write_timeout=2.0)) as (url, _):
            proxy.stop()  # the API server goes away mid-stream
            statuses = asyncio.run(_many(url, hooks.key, deliveries))
            assert statuses == [503] * 10
            proxy.start()
            # The senders retry every delivery; some twice (a retry storm).
            again = asyncio.run(_many(url, hooks.key, deliveries + deliveries[:5]))
            assert again == [202] * 15
    finally:
        proxy.close()
    name = post(hooks, "/v1/alerts/generic", generic(signature=signature))[1]["alerts"][0]
    assert alert(admin, hooks.namespace, name)["spec"]["occurrences"] == 11  # 10 + lookup


def test_key_rotation_both_keys_work_during_grace(hooks: Any, admin: KubeClient) -> None:
    from kubernetes import client

    client.CustomObjectsApi(admin.api_client).patch_cluster_custom_object(
        "alertwhisperer.io",
        "v1alpha1",
        "companies",
        hooks.signed,
        {"metadata": {"annotations": {"alertwhisperer.io/rotate-credentials": "t1"}}},
    )
    new = wait_for(
        lambda: (c := credentials(admin, hooks.signed)).rotation == "t1" and c,
        timeout=30,
        what="the rotation",
    )
    body = json.dumps(generic()).encode()
    for key in (hooks.signed_key, new.current_api_key()):
        for secret in new.valid_hmac_secrets():
            status, problem, _ = post(
                hooks,
                "/v1/alerts/generic",
                None,
                key=key,
                raw=body,
                headers=_sign(secret, body, int(time.time())),
            )
            assert status == 202, problem


def test_metrics_are_exported(hooks: Any) -> None:
    text = asyncio.run(_text(hooks.url + "/metrics"))
    assert "whisperer_webhook_alerts_accepted_total" in text
    assert "whisperer_webhook_commit_batch_size_bucket" in text


async def _text(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def test_a_suspended_company_is_refused_with_403(hooks: Any, admin: KubeClient) -> None:
    from kubernetes import client

    api = client.CustomObjectsApi(admin.api_client)
    api.patch_cluster_custom_object(
        "alertwhisperer.io", "v1alpha1", "companies", hooks.company, {"spec": {"suspended": True}}
    )
    try:
        _, problem, _ = wait_for(
            lambda: (r := post(hooks, "/v1/alerts/generic", generic()))[0] == 403 and r,
            timeout=20,
            what="the suspension to reach the shim",
        )
        assert f"company {hooks.company} is suspended" in problem["detail"]
    finally:
        api.patch_cluster_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            "companies",
            hooks.company,
            {"spec": {"suspended": False}},
        )
    wait_for(
        lambda: post(hooks, "/v1/alerts/generic", generic())[0] == 202,
        timeout=20,
        what="the company to be accepted again",
    )
