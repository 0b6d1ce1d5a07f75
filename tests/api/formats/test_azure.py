"""Azure Monitor common alert schema: log alerts point at a workspace, not the machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import azure
from whisperer.api.formats.base import PayloadError

Load = Callable[[str], Any]
ALERTS = "/subscriptions/5e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7/providers/Microsoft.AlertsManagement"


def parse(body: Any) -> Any:
    (alert,) = azure.parse(body, headers={}).alerts
    return alert


def test_a_log_alert_names_the_machine_not_the_workspace(payload: Load) -> None:
    body = payload("azure/log-fired")
    (target,) = body["data"]["essentials"]["alertTargetIDs"]
    assert "/workspaces/" in target
    alert = parse(body)
    assert alert.source == "azure-monitor"
    assert alert.asset.name == "CLINIC-FS01"
    assert alert.asset.resource_id is None  # the workspace is not the asset
    assert alert.labels["alert_target_ids"] == target  # but it is kept
    assert alert.state == "firing"
    assert alert.severity == "high"  # Sev1
    assert alert.signal == "Low free space on clinic file server D:"
    assert alert.key == f"{ALERTS}/alerts/9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 1, 44, 657230, tzinfo=UTC)
    assert alert.labels["signal_type"] == "Log"
    assert alert.labels["monitoring_service"] == "Log Alerts V2"
    assert alert.labels["severity"] == "Sev1"
    assert alert.message == "Less than 10% free on D: of the clinic file server"


def test_its_resolution_keeps_the_key_and_uses_resolved_time(payload: Load) -> None:
    fired, resolved = parse(payload("azure/log-fired")), parse(payload("azure/log-resolved"))
    assert resolved.state == "resolved"
    assert resolved.key == fired.key
    assert resolved.occurred_at == datetime(2026, 11, 26, 10, 16, 45, 117890, tzinfo=UTC)


def test_a_metric_alert_targets_the_resource_lower_cased_for_matching(payload: Load) -> None:
    alert = parse(payload("azure/metric-fired"))
    assert alert.asset.name == "pm-db01"
    assert alert.asset.resource_id == (
        "/subscriptions/5e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7/resourcegroups/acme-dental-arc"
        "/providers/microsoft.hybridcompute/machines/pm-db01"
    )
    assert "Microsoft.HybridCompute" in alert.labels["alert_target_ids"]
    assert alert.severity == "medium"  # Sev2


def test_a_log_alert_without_configuration_items_uses_the_computer_dimension(
    payload: Load,
) -> None:
    body = payload("azure/log-fired")
    body["data"]["essentials"]["configurationItems"] = []
    assert parse(body).asset.name == "CLINIC-FS01"
    body["data"]["alertContext"] = None
    assert parse(body).asset.name == "acme-dental-law"  # only the workspace is left


def test_a_resource_without_configuration_items_is_named_by_its_id(payload: Load) -> None:
    body = payload("azure/metric-fired")
    body["data"]["essentials"]["configurationItems"] = None
    assert parse(body).asset.name == "pm-db01"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(schemaId="Microsoft.Insights/activityLogs"), "schemaId"),
        (lambda b: b.pop("schemaId"), "schemaId"),
        (lambda b: b.update(data=[]), "data"),
        (lambda b: b["data"].pop("essentials"), "data.essentials"),
        (
            lambda b: b["data"]["essentials"].update(monitorCondition="Open"),
            "data.essentials.monitorCondition",
        ),
        (lambda b: b["data"]["essentials"].pop("alertRule"), "data.essentials.alertRule"),
        (lambda b: b["data"]["essentials"].pop("alertId"), "data.essentials.alertId"),
        (
            lambda b: b["data"]["essentials"].update(alertTargetIDs="x"),
            "data.essentials.alertTargetIDs",
        ),
        (
            lambda b: b["data"]["essentials"].update(configurationItems=[1]),
            "data.essentials.configurationItems[0]",
        ),
        (
            lambda b: b["data"]["essentials"].update(firedDateTime="today"),
            "data.essentials.firedDateTime",
        ),
    ],
)
def test_errors_name_the_field(payload: Load, change: Any, field: str) -> None:
    body = payload("azure/log-fired")
    change(body)
    with pytest.raises(PayloadError) as caught:
        azure.parse(body, headers={})
    assert caught.value.field == field
