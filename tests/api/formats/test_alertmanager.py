"""Alertmanager and Grafana notifications: per-alert state, the asset, and HA-safe dedupe."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import alertmanager
from whisperer.api.formats.base import PayloadError
from whisperer.operator.services.alerts import Report, new_alert

Load = Callable[[str], Any]
ZERO = "0001-01-01T00:00:00Z"


def parse(body: Any) -> Any:
    return alertmanager.parse(body, headers={})


def minimal(**alert: Any) -> dict[str, Any]:
    """A notification with one firing alert, fields overridable."""
    base = {
        "status": "firing",
        "labels": {"alertname": "NodeDown", "instance": "pm-db01.acme.internal:9100"},
        "annotations": {},
        "startsAt": "2026-11-26T09:00:00Z",
        "endsAt": ZERO,
        "fingerprint": "0123456789abcdef",
    }
    return {"version": "4", "status": "firing", "groupKey": "{}:{}", "alerts": [base | alert]}


def test_a_firing_notification(payload: Load) -> None:
    parsed = parse(payload("alertmanager/firing"))
    (alert,) = parsed.alerts
    assert alert.source == "alertmanager"
    assert alert.state == "firing"
    assert alert.signal == "NodeFilesystemAlmostFull"
    assert alert.severity == "critical"
    assert alert.asset.name == "pm-db01.acme.internal"  # the :9100 port is gone
    assert alert.asset.hostnames == ("pm-db01.acme.internal",)
    assert alert.key == "9f3c2b1a0d4e5f67"
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 12, 3, 511296, tzinfo=UTC)
    assert alert.message == "Disk /var/lib/postgresql on pm-db01 is 94% full"
    assert alert.labels["mountpoint"] == "/var/lib/postgresql"
    assert parsed.delivery_id is None
    assert parsed.content_key


def test_the_resolved_notification_keeps_the_key_and_uses_ends_at(payload: Load) -> None:
    (firing,) = parse(payload("alertmanager/firing")).alerts
    (resolved,) = parse(payload("alertmanager/resolved")).alerts
    assert resolved.state == "resolved"
    assert resolved.key == firing.key
    assert resolved.occurred_at == datetime(2026, 11, 26, 9, 41, 33, 511296, tzinfo=UTC)


def test_one_post_mixes_firing_and_resolved(payload: Load) -> None:
    alerts = parse(payload("alertmanager/batch")).alerts
    assert [(a.signal, a.state) for a in alerts] == [
        ("HighHTTPErrorRate", "firing"),
        ("NodeFilesystemAlmostFull", "resolved"),
    ]
    assert alerts[0].asset.name == "10.20.1.21"
    assert alerts[0].asset.ip_addresses == ("10.20.1.21",)
    assert alerts[0].asset.hostnames == ()  # `service` is a fallback, not a host name
    assert alerts[0].severity == "medium"  # "warning"


def test_go_escapes_ampersands_and_the_parser_never_sees_them() -> None:
    raw = json.dumps(minimal(annotations={"summary": "disk & inodes low"}))
    go = raw.replace("&", "\\u0026")
    assert "\\u0026" in go and "&" not in go
    (alert,) = parse(json.loads(go)).alerts
    assert alert.message == "disk & inodes low"


def test_the_sample_files_are_go_escaped(payload_text: Callable[[str], str]) -> None:
    text = payload_text("alertmanager/firing")
    assert "\\u0026" in text
    (alert,) = parse(json.loads(text)).alerts
    assert alert.labels["job"] == "node"


def test_ends_at_zero_while_firing_is_unset_not_year_one() -> None:
    (alert,) = parse(minimal(endsAt=ZERO)).alerts
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    before = datetime.now(UTC)
    (resolved,) = parse(minimal(status="resolved", endsAt=ZERO)).alerts
    assert resolved.occurred_at >= before  # no end given: now, never 0001-01-01


def test_a_firing_alert_keeps_the_end_its_sender_gave_and_folds_it_into_the_alert() -> None:
    (alert,) = parse(minimal(endsAt="2026-11-26T09:05:00Z")).alerts
    assert alert.ends_at == datetime(2026, 11, 26, 9, 5, tzinfo=UTC)  # stale past it
    (unset,) = parse(minimal(endsAt=ZERO)).alerts
    assert unset.ends_at is None
    (resolved,) = parse(minimal(status="resolved", endsAt="2026-11-26T09:05:00Z")).alerts
    assert resolved.ends_at is None  # an end that happened is a resolution, not a deadline
    report = Report(
        company="acme",
        fingerprint="0123456789abcdef",
        source="alertmanager",
        asset="db01",
        asset_known=True,
        signal="host-down",
        raw_signal="NodeDown",
        severity="high",
        state="firing",
        occurred_at=alert.occurred_at,
        ends_at=alert.ends_at,
    )
    assert new_alert([report], "company-acme")["spec"]["endsAt"] == "2026-11-26T09:05:00.000Z"


def test_ha_peers_with_different_external_urls_share_one_content_key(payload: Load) -> None:
    first = parse(payload("alertmanager/firing"))
    peer_body = payload("alertmanager/firing-ha-peer")
    assert peer_body["externalURL"] != payload("alertmanager/firing")["externalURL"]
    peer_body["receiver"] = "another-receiver"
    assert parse(peer_body).content_key == first.content_key
    assert parse(payload("alertmanager/resolved")).content_key != first.content_key


def test_the_content_key_follows_the_alerts_not_their_order() -> None:
    body = minimal()
    second = dict(body["alerts"][0], fingerprint="fedcba9876543210")
    both = dict(body, alerts=[body["alerts"][0], second])
    swapped = dict(body, alerts=[second, body["alerts"][0]])
    assert parse(both).content_key == parse(swapped).content_key
    assert parse(both).content_key != parse(body).content_key
    later = minimal(startsAt="2026-11-26T09:05:00Z")
    assert parse(later).content_key != parse(body).content_key


def test_grafana_is_told_apart(payload: Load) -> None:
    for name in ("grafana/firing", "grafana/resolved", "grafana/batch"):
        assert {a.source for a in parse(payload(name)).alerts} == {"grafana"}
    body = payload("grafana/firing")
    del body["orgId"]
    assert parse(body).alerts[0].source == "grafana"  # version 1 + Grafana fields
    plain = minimal()
    plain["version"] = "1"
    assert parse(plain).alerts[0].source == "alertmanager"


def test_grafana_batch_and_host_label(payload: Load) -> None:
    alerts = parse(payload("grafana/batch")).alerts
    assert [(a.asset.name, a.state, a.severity) for a in alerts] == [
        ("CLINIC-FS01", "firing", "critical"),
        ("pm-app01.acme.internal", "resolved", "high"),
    ]
    (firing,) = parse(payload("grafana/firing")).alerts
    assert alerts[1].key == firing.key


@pytest.mark.parametrize(
    ("labels", "name"),
    [
        ({"instance": "[fe80::1]:9100"}, "fe80::1"),
        ({"instance": "pm-db01:9100"}, "pm-db01"),
        ({"instance": "pm-db01"}, "pm-db01"),
        ({"nodename": "pm-app01.acme.internal"}, "pm-app01.acme.internal"),
        ({"pod": "api-7d9f", "service": "api"}, "api-7d9f"),
        ({"service": "practice-management"}, "practice-management"),
        ({}, "unknown"),
    ],
)
def test_the_asset_from_labels(labels: dict[str, str], name: str) -> None:
    (alert,) = parse(minimal(labels={"alertname": "X", **labels})).alerts
    assert alert.asset.name == name


def test_an_instance_id_label_is_kept_as_such() -> None:
    labels = {"alertname": "X", "instance": "10.20.1.15:9100", "instance_id": "i-0a1b2c3d4e5f60718"}
    (alert,) = parse(minimal(labels=labels)).alerts
    assert alert.asset.instance_id == "i-0a1b2c3d4e5f60718"
    assert alert.asset.ip_addresses == ("10.20.1.15",)


def test_a_missing_fingerprint_becomes_a_stable_hash_of_the_labels() -> None:
    body = minimal(labels={"alertname": "X", "instance": "a", "job": "node"})
    del body["alerts"][0]["fingerprint"]
    reordered = minimal(labels={"job": "node", "instance": "a", "alertname": "X"})
    del reordered["alerts"][0]["fingerprint"]
    key = parse(body).alerts[0].key
    assert len(key) == 16
    assert key == parse(reordered).alerts[0].key


def test_truncated_alerts_are_kept_on_each_alert(payload: Load) -> None:
    body = payload("alertmanager/batch")
    body["truncatedAlerts"] = 3
    assert {a.labels["truncated_alerts"] for a in parse(body).alerts} == {"3"}
    assert "truncated_alerts" not in parse(payload("alertmanager/batch")).alerts[0].labels


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["alerts"][1]["labels"].pop("alertname"), "alerts[1].labels.alertname"),
        (lambda b: b["alerts"][0]["labels"].update(port=9100), "alerts[0].labels.port"),
        (lambda b: b["alerts"][0].update(status="pending"), "alerts[0].status"),
        (lambda b: b["alerts"][0].update(startsAt="soon"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][1].update(annotations=[]), "alerts[1].annotations"),
        (lambda b: b.update(truncatedAlerts="3"), "truncatedAlerts"),
        (lambda b: b.update(alerts={}), "alerts"),
    ],
)
def test_errors_name_the_exact_field(payload: Load, change: Any, field: str) -> None:
    body = payload("alertmanager/batch")
    change(body)
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert caught.value.field == field
