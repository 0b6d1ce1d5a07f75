"""PagerDuty's own Python client (`pagerduty.EventsApiV2Client`) against a real shim process
serving TLS: it puts the key only in the body's `routing_key` and refuses a base URL that
is not https. Trigger, acknowledge, resolve; then the certificate is renewed on disk and
served without a restart."""

from __future__ import annotations

import contextlib
import ssl
import uuid
from pathlib import Path
from typing import Any

import pagerduty
import pytest
from support.cluster import wait_for
from support.pki import LoopbackCA, served_serial
from support.shim import shim_process

from whisperer.operator.kube import KubeClient
from whisperer.operator.services.alerts import fingerprint


def alert_of(admin: KubeClient, hooks: Any, dedup_key: str) -> dict[str, Any]:
    name = "al-" + fingerprint(
        company=hooks.company, source="pagerduty", identity=f"key:{dedup_key}"
    )
    return admin.get("alerts", name, hooks.namespace)


def events_client(key: str, url: str, ca: Path) -> pagerduty.EventsApiV2Client:
    """The client as a user makes it, trusting the test CA; no retries on network errors
    (they would only slow a failing test down)."""
    client = pagerduty.EventsApiV2Client(
        key, base_url=url, verify=ssl.create_default_context(cafile=str(ca))
    )
    client.max_network_attempts = 0
    return client


def test_trigger_acknowledge_resolve_over_tls(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    ca = LoopbackCA(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = ca.issue(cert, key)
    tls = ("--tls-cert", str(cert), "--tls-key", str(key), "--tls-reload-seconds", "0.2")
    with (
        shim_process(hooks.webhook_kubeconfig, *tls, log=tmp_path / "shim.log") as shim,
        contextlib.ExitStack() as stack,
    ):
        with pytest.raises(pagerduty.UrlError):
            pagerduty.EventsApiV2Client(hooks.key, base_url=shim.url.replace("https", "http"))
        client = stack.enter_context(events_client(hooks.key, shim.url, ca.cert))
        dedup = f"disk-{uuid.uuid4().hex[:8]}"
        got = client.trigger(
            "Disk almost full on pm-db01",
            "pm-db01.acme.internal",
            dedup_key=dedup,
            severity="critical",
            custom_details={"used": "96%"},
        )
        assert got == dedup
        spec = alert_of(admin, hooks, dedup)["spec"]
        assert spec["state"] == "firing" and spec["severity"] == "critical"
        assert spec["asset"] == {"name": "pm-db01", "known": True}
        assert client.acknowledge(dedup) == dedup
        assert alert_of(admin, hooks, dedup)["spec"]["state"] == "firing"
        assert client.resolve(dedup) == dedup
        assert alert_of(admin, hooks, dedup)["spec"]["state"] == "resolved"

        assert served_serial(shim.port, ca.cert) == first
        renewed = ca.issue(cert, key)
        wait_for(
            lambda: served_serial(shim.port, ca.cert) == renewed,
            timeout=15,
            interval=0.1,
            what="the shim to serve the renewed certificate",
        )
        fresh = stack.enter_context(events_client(hooks.key, shim.url, ca.cert))
        again = f"cpu-{uuid.uuid4().hex[:8]}"
        assert fresh.trigger("CPU high", "pm-db01.acme.internal", dedup_key=again) == again
        assert shim.proc is not None and shim.proc.poll() is None  # never restarted


def test_a_wrong_routing_key_gets_401(hooks: Any, tmp_path: Path) -> None:
    ca = LoopbackCA(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    ca.issue(cert, key)
    tls = ("--tls-cert", str(cert), "--tls-key", str(key))
    with shim_process(hooks.webhook_kubeconfig, *tls, log=tmp_path / "shim.log") as shim:
        with (
            events_client("aw_" + "x" * 43, shim.url, ca.cert) as client,
            pytest.raises(pagerduty.HttpError) as caught,
        ):
            client.trigger("x", "pm-db01.acme.internal")
        assert caught.value.response is not None
        assert caught.value.response.status_code == 401
