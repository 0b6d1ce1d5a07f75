"""Every format, posted over real HTTP and read back as Alert resources: firing, resolved,
batches, and the traps of FORMATS.md that only show end to end."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from support.cluster import REPO
from support.pki import https_server, self_signed, sign_sns
from support.shim import post, running_shim

from whisperer.api.fetch import https_getter
from whisperer.api.state import Settings
from whisperer.operator.kube import KubeClient

PAYLOADS = REPO / "tests" / "api" / "payloads"

# format folder -> (endpoint, firing sample, resolved sample, inventory asset or None)
PAIRS = {
    "alertmanager": ("/v1/alerts/alertmanager", "firing", "resolved"),
    "grafana": ("/v1/alerts/grafana", "firing", "resolved"),
    "generic": ("/v1/alerts/generic", "firing", "resolved"),
    "datadog": ("/v1/alerts/datadog", "firing", "resolved"),
    "eventbridge": ("/v1/alerts/eventbridge", "firing", "resolved"),
    "zabbix": ("/v1/alerts/zabbix", "problem", "recovery"),
    "pagerduty": ("/v1/alerts/pagerduty", "trigger", "resolve"),
    "azure": ("/v1/alerts/azure", "log-fired", "log-resolved"),
}


def load(fmt: str, name: str) -> Any:
    return json.loads((PAYLOADS / fmt / f"{name}.json").read_text())


def alerts(admin: KubeClient, ns: str, names: list[str]) -> list[dict[str, Any]]:
    return [admin.get("alerts", n, ns) for n in names]


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_firing_then_resolved_is_one_alert(fmt: str, hooks: Any, admin: KubeClient) -> None:
    path, firing, resolved = PAIRS[fmt]
    status, body, _ = post(hooks, path, load(fmt, firing))
    assert status == 202, body
    names = body.get("alerts")
    if fmt == "pagerduty":
        assert body["status"] == "success" and body["dedup_key"]
        names = None
    fired = alerts(admin, hooks.namespace, names) if names else None
    if fired:
        assert all(a["spec"]["state"] == "firing" for a in fired)
        assert all(a["spec"]["asset"]["known"] for a in fired), [a["spec"]["asset"] for a in fired]
    status, body, _ = post(hooks, path, load(fmt, resolved))
    assert status == 202, body
    if fmt != "pagerduty":
        back = alerts(admin, hooks.namespace, body["alerts"])
        assert all(a["spec"]["state"] == "resolved" for a in back)
        assert all(a["spec"].get("resolvedAt") for a in back)
        if fired:
            assert {a["metadata"]["name"] for a in back} <= {a["metadata"]["name"] for a in fired}
            # A resolution changes the state, not what the alert is about.
            assert {a["spec"]["asset"]["name"] for a in back} == {
                a["spec"]["asset"]["name"] for a in fired
            }


def test_pagerduty_resolve_without_payload_resolves_the_trigger(
    hooks: Any, admin: KubeClient
) -> None:
    trigger = load("pagerduty", "trigger")
    trigger["dedup_key"] = "pd-" + hooks.company
    post(hooks, "/v1/alerts/pagerduty", trigger)
    acked = post(
        hooks,
        "/v1/alerts/pagerduty",
        {"routing_key": "x", "event_action": "acknowledge", "dedup_key": trigger["dedup_key"]},
    )
    assert acked[0] == 202 and acked[1]["status"] == "success"
    resolve = {"routing_key": "x", "event_action": "resolve", "dedup_key": trigger["dedup_key"]}
    assert post(hooks, "/v1/alerts/pagerduty", resolve)[0] == 202
    found = [
        a
        for a in admin.list("alerts", hooks.namespace)
        if a["spec"].get("labels", {}).get("tool_key") == trigger["dedup_key"]
    ]
    assert len(found) == 1
    assert found[0]["spec"]["state"] == "resolved"
    assert found[0]["spec"]["asset"]["known"] is True  # kept from the trigger


def test_alertmanager_batch_mixes_firing_and_resolved(hooks: Any, admin: KubeClient) -> None:
    status, body, _ = post(hooks, "/v1/alerts/alertmanager", load("alertmanager", "batch"))
    assert status == 202 and body["accepted"] >= 2
    states = {a["spec"]["state"] for a in alerts(admin, hooks.namespace, body["alerts"])}
    assert states == {"firing", "resolved"}


def test_alertmanager_ha_peers_count_once(hooks: Any, admin: KubeClient) -> None:
    first = load("alertmanager", "firing")
    first["groupKey"] = first.get("groupKey", "g") + hooks.company  # fresh content
    peer = copy.deepcopy(first)
    peer["externalURL"] = "http://alertmanager-1.monitoring:9093"
    a = post(hooks, "/v1/alerts/alertmanager", first)
    b = post(hooks, "/v1/alerts/alertmanager", peer)
    assert a[0] == b[0] == 202 and b[1]["duplicate"] is True
    counts = [x["spec"]["occurrences"] for x in alerts(admin, hooks.namespace, a[1]["alerts"])]
    second = [x["spec"]["occurrences"] for x in alerts(admin, hooks.namespace, b[1]["alerts"])]
    assert counts == second


def test_zabbix_update_is_not_a_new_problem(hooks: Any) -> None:
    status, body, _ = post(hooks, "/v1/alerts/zabbix", load("zabbix", "update"))
    assert status == 200 and body["status"] == "ignored"


def test_datadog_form_encoding(hooks: Any, admin: KubeClient) -> None:
    from urllib.parse import urlencode

    fields = {k: str(v) for k, v in load("datadog", "firing").items()}
    status, body, _ = post(
        hooks,
        "/v1/alerts/datadog",
        None,
        raw=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 202, body
    assert alerts(admin, hooks.namespace, body["alerts"])[0]["spec"]["source"] == "datadog"


def test_sns_signed_confirmation_and_notifications(
    hooks: Any, admin: KubeClient, tmp_path: Path
) -> None:
    key, cert, cert_key = self_signed(tmp_path)
    served = {"/SimpleNotificationService-test.pem": cert.read_bytes()}
    settings = Settings(sns_cert_hosts=re.compile(r"^127\.0\.0\.1$"))
    with (
        https_server(cert, cert_key, served) as (base, hits),
        running_shim(hooks.webhook_kubeconfig, settings) as (url, state),
    ):
        state.fetch = https_getter(ca_file=str(cert))
        shim = type("S", (), {"url": url, "key": hooks.key})()

        def signed(name: str) -> dict[str, Any]:
            message = load("sns", name)
            message["SigningCertURL"] = f"{base}/SimpleNotificationService-test.pem"
            if "SubscribeURL" in message:
                message["SubscribeURL"] = f"{base}/?Action=ConfirmSubscription&Token=t"
            sign_sns(message, key)
            return message

        text_plain = {"Content-Type": "text/plain; charset=UTF-8"}
        status, body, _ = post(
            shim, "/v1/alerts/sns", signed("subscription-confirmation"), headers=text_plain
        )
        assert status == 200 and body["status"] == "confirmed"
        assert any("ConfirmSubscription" in h for h in hits)
        status, fired, _ = post(shim, "/v1/alerts/sns", signed("firing"), headers=text_plain)
        assert status == 202, fired
        alert = admin.get("alerts", fired["alerts"][0], hooks.namespace)
        assert alert["spec"]["source"] == "cloudwatch"
        assert alert["spec"]["asset"] == {"name": "pm-db01", "known": True}
        forged = signed("resolved")
        forged["Message"] = forged["Message"].replace("OK", "ALARM")
        assert post(shim, "/v1/alerts/sns", forged, headers=text_plain)[0] == 401
        status, body, _ = post(shim, "/v1/alerts/sns", signed("resolved"), headers=text_plain)
        assert status == 202
        assert (
            admin.get("alerts", fired["alerts"][0], hooks.namespace)["spec"]["state"] == "resolved"
        )
        evil = signed("firing")
        evil["SigningCertURL"] = "https://evil.example/cert.pem"
        assert post(shim, "/v1/alerts/sns", evil, headers=text_plain)[0] == 401
