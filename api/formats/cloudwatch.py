"""CloudWatch alarm state changes, through SNS (`parse`) or EventBridge (`parse_eventbridge`).

SNS posts an envelope (as text/plain) whose `Message` is the alarm as a JSON string, to be
parsed a second time; with raw delivery (header `x-amz-sns-rawdelivery: true`) the body is
the alarm itself. A SubscriptionConfirmation raises `Confirm`, an UnsubscribeConfirmation
`Ignored`; the router checks the SNS signature (`sns_signature.verify`) before parsing.
ALARM is firing, OK resolved, INSUFFICIENT_DATA neither (`Ignored`). CloudWatch has no
severity: ALARM is `high` unless the alarm description says `severity=<word>`. The asset
is the first dimension that names one (InstanceId, DBInstanceIdentifier, ...), from
`Trigger.Dimensions` or, for metric-math and anomaly alarms, `Trigger.Metrics[]`.
The `content_key` of a transition is the same through SNS and EventBridge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from whisperer.api.formats import severity, strictjson
from whisperer.api.formats.base import (
    ROOT,
    AssetHint,
    Confirm,
    Ignored,
    JsonObject,
    Parsed,
    PayloadError,
    RawAlert,
    Severity,
    State,
    as_list,
    as_object,
    digest,
    header,
    hint,
    path,
    required_text,
    text,
)
from whisperer.api.formats.base import (
    delivery_id as delivery,
)

ALARM_SEVERITY: Severity = "high"
STATES: dict[str, State] = {"ALARM": "firing", "OK": "resolved"}
# Dimensions that name the asset, best first (compared lower-cased).
ASSET_DIMENSIONS = (
    "instanceid",
    "dbinstanceidentifier",
    "dbclusteridentifier",
    "cacheclusterid",
    "volumeid",
    "filesystemid",
    "loadbalancername",
    "loadbalancer",
    "functionname",
    "autoscalinggroupname",
    "clustername",
    "servicename",
    "queuename",
    "bucketname",
)
_SEVERITY_WORD = re.compile(r"\bseverity\s*[=:]\s*(?P<word>[A-Za-z0-9]+)", re.IGNORECASE)
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:cloudwatch:(?P<region>[a-z0-9-]+):(?P<account>\d*):")
_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def parse(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """An SNS delivery (envelope, or raw) of a CloudWatch alarm notification."""
    body = as_object(payload, field=ROOT)
    if (header(headers, "x-amz-sns-rawdelivery") or "").lower() == "true":
        message_id = header(headers, "x-amz-sns-message-id")
        return _alarm(body, at=ROOT, delivery_id=delivery(message_id, field="x-amz-sns-message-id"))
    kind = required_text(body, "Type")
    if kind == "SubscriptionConfirmation":
        raise Confirm(
            subscribe_url=required_text(body, "SubscribeURL"),
            topic_arn=required_text(body, "TopicArn"),
        )
    if kind == "UnsubscribeConfirmation":
        raise Ignored("SNS unsubscribe confirmation")
    if kind != "Notification":
        raise PayloadError("Type", f"unknown SNS message type {kind[:40]!r}")
    message = required_text(body, "Message")
    alarm = strictjson.loads(message, field="Message")
    message_id = delivery(text(body, "MessageId"), field="MessageId") or delivery(
        header(headers, "x-amz-sns-message-id"), field="x-amz-sns-message-id"
    )
    return _alarm(as_object(alarm, field="Message"), at="Message", delivery_id=message_id)


def parse_eventbridge(payload: Any, *, headers: Mapping[str, str]) -> Parsed:
    """An EventBridge "CloudWatch Alarm State Change" event (API destination)."""
    event = as_object(payload, field=ROOT)
    if text(event, "detail-type") != "CloudWatch Alarm State Change":
        raise PayloadError("detail-type", "must be 'CloudWatch Alarm State Change'")
    detail = as_object(event.get("detail"), field="detail")
    state = as_object(detail.get("state"), field="detail.state")
    resources = as_list(event.get("resources", []), field="resources")
    arn = resources[0] if resources else None
    if arn is not None and not isinstance(arn, str):
        raise PayloadError("resources[0]", "must be the alarm ARN, a string")
    config = detail.get("configuration")
    config = as_object(config, field="detail.configuration") if config is not None else {}
    stamp = text(state, "timestamp", at="detail.state")
    return _transition(
        name=required_text(detail, "alarmName", at="detail"),
        arn=arn,
        value=required_text(state, "value", at="detail.state"),
        value_field="detail.state.value",
        occurred=(
            _when(stamp, field="detail.state.timestamp")
            if stamp
            else _when(text(event, "time"), field="time")
        ),
        description=text(config, "description", at="detail.configuration"),
        reason=text(state, "reason", at="detail.state"),
        dimensions=_eventbridge_dimensions(config),
        labels={"region": text(event, "region"), "account_id": text(event, "account")},
        delivery_id=delivery(text(event, "id"), field="id"),
    )


def _alarm(alarm: JsonObject, *, at: str, delivery_id: str | None) -> Parsed:
    """The alarm of an SNS notification (`at` is `Message`, or the body when raw)."""
    raw_trigger = alarm.get("Trigger")
    at_trigger = path(at, "Trigger")
    trigger = as_object(raw_trigger, field=at_trigger) if raw_trigger is not None else {}
    arn = text(alarm, "AlarmArn", at=at)
    found = _ARN_REGION.match(arn or "")
    return _transition(
        name=required_text(alarm, "AlarmName", at=at),
        arn=arn,
        value=required_text(alarm, "NewStateValue", at=at),
        value_field=path(at, "NewStateValue"),
        occurred=_when(text(alarm, "StateChangeTime", at=at), field=path(at, "StateChangeTime")),
        description=text(alarm, "AlarmDescription", at=at),
        reason=text(alarm, "NewStateReason", at=at),
        dimensions=_sns_dimensions(trigger, at=at_trigger),
        labels={
            "region": found["region"] if found else None,
            "region_name": text(alarm, "Region", at=at),
            "account_id": text(alarm, "AWSAccountId", at=at, numbers=True),
            "namespace": text(trigger, "Namespace", at=at_trigger),
            "metric_name": text(trigger, "MetricName", at=at_trigger),
            "old_state": text(alarm, "OldStateValue", at=at),
        },
        delivery_id=delivery_id,
    )


def _transition(
    *,
    name: str,
    arn: str | None,
    value: str,
    value_field: str,
    occurred: datetime,
    description: str | None,
    reason: str | None,
    dimensions: Mapping[str, str],
    labels: Mapping[str, str | None],
    delivery_id: str | None,
) -> Parsed:
    """One alarm state change, whichever way it came."""
    if value == "INSUFFICIENT_DATA":
        raise Ignored("CloudWatch INSUFFICIENT_DATA is neither firing nor resolved")
    if value not in STATES:
        raise PayloadError(value_field, "must be ALARM, OK or INSUFFICIENT_DATA")
    wanted = _SEVERITY_WORD.search(description or "")
    named = {k: v for k, v in labels.items() if v}
    named |= {_snake(k): v for k, v in dimensions.items()}
    alert = RawAlert(
        source="cloudwatch",
        asset=_asset(dimensions),
        signal=name,
        severity=severity.from_label(wanted["word"]) if wanted else ALARM_SEVERITY,
        state=STATES[value],
        occurred_at=occurred,
        message=reason or description or "",
        labels=named,
        key=arn or name,
    )
    content = digest(arn or name, value, occurred.isoformat())
    return Parsed(alerts=(alert,), delivery_id=delivery_id, content_key=content)


def _asset(dimensions: Mapping[str, str]) -> AssetHint:
    by_name = {k.lower(): v for k, v in dimensions.items()}
    names = [by_name.get(d) for d in ASSET_DIMENSIONS] + list(dimensions.values())
    return hint(names, instance_id=by_name.get("instanceid"))


def _when(raw: str | None, *, field: str) -> datetime:
    return severity.parse_time(raw, field=field) if raw else datetime.now(UTC)


def _sns_dimensions(trigger: JsonObject, *, at: str) -> dict[str, str]:
    """`Trigger.Dimensions`, and every `Trigger.Metrics[].MetricStat.Metric.Dimensions`."""
    found = _pairs(trigger.get("Dimensions"), at=path(at, "Dimensions"))
    metrics = trigger.get("Metrics")
    at_list = path(at, "Metrics")
    for i, metric in enumerate(as_list(metrics, field=at_list) if metrics is not None else []):
        at_metric = path(at_list, i)
        stat, at_metric = _get(
            as_object(metric, field=at_metric), ("MetricStat", "Metric"), at=at_metric
        )
        dims = _pairs(stat.get("Dimensions"), at=path(at_metric, "Dimensions"))
        found |= {k: v for k, v in dims.items() if k not in found}
    return found


def _pairs(raw: object, *, at: str) -> dict[str, str]:
    """A list of {name, value} (either case) as a dict."""
    pairs: dict[str, str] = {}
    for i, item in enumerate(as_list(raw, field=at) if raw is not None else []):
        entry = {k.lower(): v for k, v in as_object(item, field=f"{at}[{i}]").items()}
        name = required_text(entry, "name", at=f"{at}[{i}]")
        pairs.setdefault(name, required_text(entry, "value", at=f"{at}[{i}]", numbers=True))
    return pairs


def _eventbridge_dimensions(config: JsonObject) -> dict[str, str]:
    """`detail.configuration.metrics[].metricStat.metric.dimensions` (objects), merged."""
    found: dict[str, str] = {}
    metrics = config.get("metrics")
    at_list = "detail.configuration.metrics"
    for i, metric in enumerate(as_list(metrics, field=at_list) if metrics is not None else []):
        at = f"{at_list}[{i}]"
        stat, at = _get(as_object(metric, field=at), ("metricStat", "metric"), at=at)
        raw = stat.get("dimensions")
        at = path(at, "dimensions")
        dims = as_object(raw, field=at) if raw is not None else {}
        for name in dims:
            value = text(dims, name, at=at, numbers=True)
            if value:
                found.setdefault(name, value)
    return found


def _get(obj: JsonObject, keys: tuple[str, ...], *, at: str) -> tuple[JsonObject, str]:
    """A nested object and its path; {} when a step is absent (expressions: no MetricStat)."""
    for key in keys:
        value = obj.get(key)
        at = path(at, key)
        if value is None:
            return {}, at
        obj = as_object(value, field=at)
    return obj, at


def _snake(name: str) -> str:
    """`InstanceId` -> `instance_id`, `DBInstanceIdentifier` -> `db_instance_identifier`."""
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return _SNAKE.sub("_", spaced).lower()
