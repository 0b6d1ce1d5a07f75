"""Azure Monitor action group webhooks in the common alert schema as a RawAlert.

Only the common schema (`schemaId: azureMonitorCommonAlertSchema`) is accepted: turn it on
in the action group. From `data.essentials`: `alertId` (the key), `alertRule` (the
signal), `severity` Sev0..Sev4, `monitorCondition` Fired/Resolved, `firedDateTime` or
`resolvedDateTime`, `description`, `alertTargetIDs` and `configurationItems`. A log alert
targets its Log Analytics workspace (or Application Insights component), not the machine:
then the asset comes from `configurationItems` (or a Computer/Host dimension of the
condition), never from the workspace, whose id is kept only in the labels. Resource ids
are lower-cased for matching (Azure is inconsistent about their case); the labels keep
them as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from whisperer.api.formats import severity
from whisperer.api.formats.base import (
    ROOT,
    AssetHint,
    JsonObject,
    Parsed,
    PayloadError,
    RawAlert,
    State,
    as_list,
    as_object,
    digest,
    hint,
    required_text,
    text,
)

SCHEMA_ID = "azureMonitorCommonAlertSchema"
CONDITIONS: dict[str, State] = {"fired": "firing", "resolved": "resolved"}
NOT_THE_ASSET = ("/microsoft.operationalinsights/workspaces/", "/microsoft.insights/components/")
HOST_DIMENSIONS = frozenset({"computer", "host", "hostname"})
AT = "data.essentials"


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """The alert of one Azure Monitor notification."""
    body = as_object(payload, field=ROOT)
    if body.get("schemaId") != SCHEMA_ID:
        raise PayloadError("schemaId", f"must be {SCHEMA_ID!r} (enable the common schema)")
    data = as_object(body.get("data"), field="data")
    essentials = as_object(data.get("essentials"), field=AT)
    condition = required_text(essentials, "monitorCondition", at=AT)
    state = CONDITIONS.get(condition.lower())
    if state is None:
        raise PayloadError(f"{AT}.monitorCondition", "must be Fired or Resolved")
    targets = _strings(essentials, "alertTargetIDs")
    raw_severity = text(essentials, "severity", at=AT)
    alert = RawAlert(
        source="azure-monitor",
        asset=_asset(
            items=_strings(essentials, "configurationItems"),
            targets=targets,
            context=data.get("alertContext"),
        ),
        signal=required_text(essentials, "alertRule", at=AT),
        severity=severity.from_azure(raw_severity),
        state=state,
        occurred_at=_occurred_at(essentials, state=state),
        message=text(essentials, "description", at=AT) or "",
        labels=_labels(essentials, targets=targets, raw_severity=raw_severity),
        key=required_text(essentials, "alertId", at=AT),
    )
    content = digest(
        alert.key,
        condition,
        essentials.get("firedDateTime"),
        essentials.get("resolvedDateTime"),
    )
    return Parsed(alerts=(alert,), content_key=content)


def _strings(essentials: JsonObject, key: str) -> list[str]:
    """A list of strings (null or absent: empty); blanks dropped."""
    raw = essentials.get(key)
    items = as_list(raw, field=f"{AT}.{key}") if raw is not None else []
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise PayloadError(f"{AT}.{key}[{i}]", "must be a string")
        if item.strip():
            out.append(item.strip())
    return out


def _asset(*, items: list[str], targets: list[str], context: object) -> AssetHint:
    """Configuration items, then host dimensions, then the target's name; a workspace is
    only a name of last resort, never the resource id to match."""
    machines = [t.lower() for t in targets if not any(s in t.lower() for s in NOT_THE_ASSET)]
    resource_id = machines[0] if machines else None
    names = [*items, *_host_dimensions(context)]
    target = resource_id or next(iter(targets), None)
    if target:
        names.append(target.rstrip("/").rsplit("/", 1)[-1])
    return hint(names, resource_id=resource_id)


def _host_dimensions(context: object) -> list[str]:
    """Host names in a log or metric condition's dimensions (`allOf[].dimensions[]`)."""
    if not isinstance(context, Mapping) or not isinstance(context.get("condition"), Mapping):
        return []
    found: list[str] = []
    all_of = context["condition"].get("allOf")
    for criterion in all_of if isinstance(all_of, list) else []:
        dims = criterion.get("dimensions") if isinstance(criterion, Mapping) else None
        for dim in dims if isinstance(dims, list) else []:
            if not isinstance(dim, Mapping):
                continue
            name, value = dim.get("name"), dim.get("value")
            if isinstance(name, str) and name.lower() in HOST_DIMENSIONS and isinstance(value, str):
                found.append(value)
    return found


def _occurred_at(essentials: JsonObject, *, state: State) -> datetime:
    if state == "resolved" and essentials.get("resolvedDateTime") is not None:
        return severity.parse_time(essentials["resolvedDateTime"], field=f"{AT}.resolvedDateTime")
    if essentials.get("firedDateTime") is not None:
        return severity.parse_time(essentials["firedDateTime"], field=f"{AT}.firedDateTime")
    return datetime.now(UTC)


def _labels(
    essentials: JsonObject, *, targets: list[str], raw_severity: str | None
) -> dict[str, str]:
    fields = {
        "signal_type": "signalType",
        "monitoring_service": "monitoringService",
        "alert_rule": "alertRule",
        "monitor_condition": "monitorCondition",
    }
    labels = {label: v for label, key in fields.items() if (v := text(essentials, key, at=AT))}
    if raw_severity:
        labels["severity"] = raw_severity
    if targets:
        labels["alert_target_ids"] = ",".join(targets)
    return labels
