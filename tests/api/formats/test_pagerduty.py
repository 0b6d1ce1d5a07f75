"""PagerDuty Events v2: trigger, acknowledge and resolve, and the reply senders expect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import pagerduty
from whisperer.api.formats.base import Ignored, PayloadError

Load = Callable[[str], Any]
KEY = "acme-dental/pm-app01/http-5xx"
REPLY = {"status": "success", "message": "Event processed", "dedup_key": KEY}


def parse(body: Any) -> Any:
    return pagerduty.parse(body, headers={})


def test_a_trigger(payload: Load) -> None:
    parsed = parse(payload("pagerduty/trigger"))
    (alert,) = parsed.alerts
    assert alert.source == "pagerduty"
    assert alert.state == "firing"
    assert alert.severity == "high"  # "error"
    assert alert.asset.name == "pm-app01.acme.internal"
    assert alert.signal == "HTTP 5xx above 5% on practice-management (pm-app01)"
    assert alert.key == KEY
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 30, 18, 204000, tzinfo=UTC)
    assert alert.labels == {
        "component": "nginx",
        "group": "practice-management",
        "class": "http-errors",
        "error_rate": "7.4%",
        "threshold": "5",
        "endpoint": "/api/appointments",
        "instance.id": "i-0b2c3d4e5f6071829",
        "instance.ip": "10.20.1.21",
    }
    assert parsed.reply == REPLY


def test_an_acknowledge_is_answered_but_carries_no_alert(payload: Load) -> None:
    body = payload("pagerduty/acknowledge")
    assert "payload" not in body
    with pytest.raises(Ignored) as caught:
        parse(body)
    assert caught.value.reply == REPLY


def test_a_resolve_without_payload_names_the_alert_by_key(payload: Load) -> None:
    body = payload("pagerduty/resolve")
    assert "payload" not in body
    parsed = parse(body)
    (alert,) = parsed.alerts
    assert (alert.state, alert.key, alert.asset.name) == ("resolved", KEY, "unknown")
    assert parsed.reply == REPLY


def test_a_resolve_with_a_payload_uses_it(payload: Load) -> None:
    body = payload("pagerduty/trigger") | {"event_action": "resolve"}
    (alert,) = parse(body).alerts
    assert (alert.state, alert.asset.name, alert.severity) == (
        "resolved",
        "pm-app01.acme.internal",
        "high",
    )


def test_a_trigger_without_dedup_key_gets_a_deterministic_one(payload: Load) -> None:
    body = payload("pagerduty/trigger")
    del body["dedup_key"]
    first, again = parse(body), parse(payload("pagerduty/trigger") | {"dedup_key": None})
    assert first.alerts[0].key == again.alerts[0].key
    assert first.reply == {**REPLY, "dedup_key": first.alerts[0].key}
    body["payload"]["summary"] = "something else"
    assert parse(body).alerts[0].key != first.alerts[0].key


def test_the_routing_key_does_not_change_the_content_key(payload: Load) -> None:
    other = payload("pagerduty/trigger") | {"routing_key": "b" * 32}
    assert parse(other).content_key == parse(payload("pagerduty/trigger")).content_key


def test_custom_details_may_be_a_string(payload: Load) -> None:
    body = payload("pagerduty/trigger")
    body["payload"]["custom_details"] = "free text"
    assert parse(body).alerts[0].labels["custom_details"] == "free text"
    body["payload"]["custom_details"] = [1, 2]
    assert "custom_details" not in parse(body).alerts[0].labels


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(event_action="escalate"), "event_action"),
        (lambda b: b.pop("event_action"), "event_action"),
        (lambda b: b.pop("payload"), "payload"),
        (lambda b: b.update(payload="HTTP 5xx"), "payload"),
        (lambda b: b["payload"].pop("severity"), "payload.severity"),
        (lambda b: b["payload"].update(severity="fatal"), "payload.severity"),
        (lambda b: b["payload"].update(severity="Critical"), "payload.severity"),
        (lambda b: b["payload"].pop("summary"), "payload.summary"),
        (lambda b: b["payload"].pop("source"), "payload.source"),
        (lambda b: b["payload"].update(timestamp="at noon"), "payload.timestamp"),
        (lambda b: b.update(event_action="acknowledge", dedup_key=None), "dedup_key"),
        (lambda b: b.update(event_action="resolve", dedup_key=""), "dedup_key"),
        (lambda b: b.update(dedup_key=42), "dedup_key"),
    ],
)
def test_errors_name_the_field(payload: Load, change: Any, field: str) -> None:
    body = payload("pagerduty/trigger")
    change(body)
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert caught.value.field == field
