"""A point-event stream through the real shim (generic endpoint, event times in the body)
and the real operator, against the real API server: reports within the staleness timeout
go on with their incident, a higher severity raises it, a quiet gap makes a new episode,
and a low problem that keeps coming back is known noise. Everything runs on event time,
so posting four hours of events in seconds decides as four hours would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from support.cluster import wait_for
from support.shim import post

from whisperer.operator.kube import KubeClient

T0 = datetime(2022, 1, 23, 12, 0, tzinfo=UTC)


def event(asset: str, signature: str, minutes: float, severity: str) -> dict[str, Any]:
    return {
        "asset_name": asset,
        "signature": signature,
        "severity": severity,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "tool_source": "wazuh",
    }


def test_a_point_event_stream_through_the_shim_and_the_operator(
    hooks: Any, own: Any, admin: KubeClient
) -> None:
    """On a company of its own: the other tests' events move the shared company's event
    time (days ahead of these), and everything here would be stale on arrival."""
    s = uuid.uuid4().hex[:6]
    web, dns = f"web-{s}", f"dns-{s}"
    login, query = f"PAM login failed {s}", f"DNS long query {s}"
    names: dict[str, str] = {}

    def send(asset: str, signature: str, minutes: float, severity: str = "low") -> str:
        status, body, _ = post(
            hooks, "/v1/alerts/generic", event(asset, signature, minutes, severity), key=own.key
        )
        assert status == 202, body
        name = str(body["alerts"][0])
        names[signature] = name
        at = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")
        wait_for(  # one report at a time: the shim would fold a burst into one write
            lambda: (
                admin.get("alerts", name, own.namespace).get("status", {}).get("reportedAt") or ""
            ).startswith(at),
            timeout=30,
            what=f"the report at {minutes} min to be accounted for",
        )
        return name

    def incident(name: str) -> dict[str, Any]:
        ref = admin.get("alerts", name, own.namespace)["status"]["incidentRef"]["name"]
        return dict(admin.get("incidents", ref, own.namespace))

    alert = send(web, login, 0)
    send(dns, query, 0)
    first = incident(alert)
    send(web, login, 5)  # goes on
    assert incident(alert)["metadata"]["name"] == first["metadata"]["name"]
    send(web, login, 12, "high")  # the attack: the same host and signal, louder
    raised = wait_for(
        lambda: (s := incident(alert)["status"]).get("rules", {}).get("severity") == "high" and s,
        timeout=30,
        what="the rise",
    )
    assert "SeverityRaised" in [e["type"] for e in raised["timeline"]]
    assert raised["correlation"]["noise"] is False
    dns_alert = send(dns, query, 60)  # quiet an hour: a new episode of the same incident
    episode = wait_for(
        lambda: (s := incident(dns_alert)["status"]).get("reopened") == 1 and s,
        timeout=30,
        what="the DNS recurrence to reopen its incident",
    )
    assert episode["correlation"]["noise"] is True  # low, and it came back: pages nobody
    assert any("1h 0m quiet" in e["message"] for e in episode["timeline"])
    send(web, login, 180)  # three hours on: the first incident went stale long ago
    again = incident(alert)
    assert again["metadata"]["name"] != first["metadata"]["name"]
    old = admin.get("incidents", first["metadata"]["name"], own.namespace)["status"]
    assert old["phase"] == "Resolved" and old["resolvedBy"] == "stale"
    later = wait_for(
        lambda: (s := incident(alert)["status"]).get("alerts") and s,
        timeout=30,
        what="the new incident's status",
    )
    assert later["correlation"]["noise"] is True  # a low problem that opened an incident before
    mine = [
        i
        for i in admin.list("incidents", own.namespace)
        if (i.get("status", {}).get("aggregationKey") or "").startswith((web, dns))
    ]
    assert len(mine) == 3
