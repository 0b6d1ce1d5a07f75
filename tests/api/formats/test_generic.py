"""Our own format: one alert or a batch, strict about its own vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import generic
from whisperer.api.formats.base import PayloadError

Load = Callable[[str], Any]


def parse(body: Any, **headers: str) -> Any:
    return generic.parse(body, headers=headers)


def test_one_firing_alert(payload: Load) -> None:
    (alert,) = parse(payload("generic/firing")).alerts
    assert alert.source == "generic"
    assert alert.asset.name == "pm-db01"
    assert alert.signal == "postgres_replication_lag"
    assert alert.severity == "high"
    assert alert.state == "firing"
    assert alert.key == "acme-pg-checks/pm-db01/replication-lag"
    assert alert.labels == {
        "check": "pg_replication_lag",
        "standby": "pm-db02",
        "ip": "10.20.1.15",
        "tool_source": "acme-pg-checks",
    }
    assert alert.occurred_at == datetime(2026, 11, 26, 10, 5, tzinfo=UTC)


def test_its_resolution_keeps_the_key(payload: Load) -> None:
    (firing,) = parse(payload("generic/firing")).alerts
    (resolved,) = parse(payload("generic/resolved")).alerts
    assert resolved.state == "resolved"
    assert resolved.key == firing.key
    assert resolved.occurred_at > firing.occurred_at


def test_a_batch_mixes_states_aliases_and_epoch_times(payload: Load) -> None:
    backup, lag = parse(payload("generic/batch")).alerts
    assert (backup.state, lag.state) == ("firing", "resolved")
    assert backup.severity == "critical"  # "crit"
    assert backup.occurred_at == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert backup.labels["tool_source"] == "veeam"


def test_the_delivery_id_comes_from_either_header(payload: Load) -> None:
    body = payload("generic/firing")
    assert parse(body, **{"x-delivery-id": "d-1"}).delivery_id == "d-1"
    assert parse(body, **{"webhook-id": "msg_2"}).delivery_id == "msg_2"
    assert parse(body, **{"X-Delivery-ID": "d-3"}).delivery_id == "d-3"
    assert parse(body).delivery_id is None


def test_the_same_body_has_the_same_content_key(payload: Load) -> None:
    assert (
        parse(payload("generic/firing")).content_key == parse(payload("generic/firing")).content_key
    )
    assert (
        parse(payload("generic/firing")).content_key
        != parse(payload("generic/resolved")).content_key
    )


def test_defaults_firing_now_no_labels() -> None:
    before = datetime.now(UTC)
    (alert,) = parse({"asset_name": "pm-app01", "signature": "http_down", "severity": "P1"}).alerts
    assert alert.state == "firing"
    assert alert.severity == "critical"
    assert alert.occurred_at >= before
    assert alert.labels == {}
    assert alert.key == ""
    assert alert.message == ""


def test_an_ip_as_asset_name_is_filed_as_an_address() -> None:
    (alert,) = parse({"asset_name": "10.20.1.15", "signature": "ping", "severity": "low"}).alerts
    assert alert.asset.ip_addresses == ("10.20.1.15",)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signature": "s", "severity": "high"}, "asset_name"),
        ({"asset_name": " ", "signature": "s", "severity": "high"}, "asset_name"),
        ({"asset_name": "a", "severity": "high"}, "signature"),
        ({"asset_name": "a", "signature": "s"}, "severity"),
        ({"asset_name": "a", "signature": "s", "severity": "urgent"}, "severity"),
        ({"asset_name": "a", "signature": "s", "severity": "high", "status": "open"}, "status"),
        ({"asset_name": "a", "signature": "s", "severity": "high", "labels": {"n": 1}}, "labels.n"),
        ({"asset_name": "a", "signature": "s", "severity": "high", "labels": []}, "labels"),
        ({"asset_name": 7, "signature": "s", "severity": "high"}, "asset_name"),
        (
            {"asset_name": "a", "signature": "s", "severity": "high", "occurred_at": "x"},
            "occurred_at",
        ),
        (
            [{"asset_name": "a", "signature": "s", "severity": "high"}, {"asset_name": "b"}],
            "[1].signature",
        ),
        ([{"asset_name": "a", "signature": "s", "severity": "nope"}], "[0].severity"),
        ([], "body"),
        ([None], "[0]"),
    ],
)
def test_errors_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert caught.value.field == field


def test_a_batch_has_a_size_limit() -> None:
    one = {"asset_name": "a", "signature": "s", "severity": "info"}
    assert len(parse([one] * generic.MAX_BATCH).alerts) == generic.MAX_BATCH
    with pytest.raises(PayloadError, match="1 to"):
        parse([one] * (generic.MAX_BATCH + 1))
