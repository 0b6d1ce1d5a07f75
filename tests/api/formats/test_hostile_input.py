"""Any JSON value, however wrong, gets a PayloadError (or Ignored/Confirm), never a crash.

Besides a fixed list of hostile bodies, every sample payload is mutated at every node
(each value replaced by null, [], {}, a number, a string, a boolean), including the alarm
inside an SNS `Message`, which is parsed a second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from whisperer.api.formats import (
    alertmanager,
    azure,
    cloudwatch,
    datadog,
    generic,
    pagerduty,
    zabbix,
)
from whisperer.api.formats.base import Confirm, Ignored, Parsed, PayloadError

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
Parser = Callable[..., Parsed]
PARSERS: dict[str, Parser] = {
    "alertmanager": alertmanager.parse,
    "grafana": alertmanager.parse,
    "generic": generic.parse,
    "datadog": datadog.parse,
    "sns": cloudwatch.parse,
    "eventbridge": cloudwatch.parse_eventbridge,
    "zabbix": zabbix.parse,
    "pagerduty": pagerduty.parse,
    "azure": azure.parse,
}
DEEP: Any = [[[[[[[[[[{"alerts": [{"labels": {"alertname": [[[[]]]]}}]}]]]]]]]]]]
HOSTILE: list[Any] = [
    None,
    [],
    [[]],
    [None],
    [{}],
    1,
    -1.5,
    "x",
    "",
    True,
    {},
    {"alerts": 5},
    {"alerts": [None]},
    {"alerts": [{"labels": []}]},
    {"alerts": [{"labels": {"alertname": 5}}]},
    {"alerts": [{"labels": {"alertname": "x"}, "status": "firing", "startsAt": []}]},
    {"Type": 5},
    {"Type": "Notification", "Message": "[]"},
    {"Type": "Notification", "Message": "null"},
    {"Type": "Notification", "Message": '{"AlarmName": [], "NewStateValue": {}}'},
    {
        "Type": "Notification",
        "Message": '{"AlarmName": "a", "NewStateValue": "ALARM", "Trigger": 5}',
    },
    {"Type": "SubscriptionConfirmation", "SubscribeURL": 5},
    {"detail-type": "CloudWatch Alarm State Change", "detail": {"state": []}},
    {"detail-type": "CloudWatch Alarm State Change", "resources": "arn", "detail": {}},
    {"schemaId": "azureMonitorCommonAlertSchema", "data": []},
    {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertTargetIDs": "x"}}},
    {"event_action": "trigger", "payload": []},
    {"event_action": "trigger", "payload": {"custom_details": [[]], "severity": 1}},
    {"event_id": {}, "event_value": []},
    {"event_id": "1", "event_value": "1", "trigger_name": "t", "event_date": "2026.02.30"},
    {"title": {"a": 1}},
    {"title": "x", "date": "nan"},
    {"title": "x", "date": "1e400"},
    {"asset_name": "a", "signature": "s", "severity": "high", "occurred_at": -1},
    DEEP,
]


def hostile_cases() -> Iterator[Any]:
    for fmt, parser in PARSERS.items():
        for i, body in enumerate(HOSTILE):
            yield pytest.param(parser, body, id=f"{fmt}-{i}")


@pytest.mark.parametrize(("parser", "body"), list(hostile_cases()))
def test_hostile_bodies_raise_only_our_errors(parser: Parser, body: Any) -> None:
    survive(parser, body)


def survive(parser: Parser, body: Any, *, headers: dict[str, str] | None = None) -> None:
    """The parser returns Parsed or raises one of ours; anything else fails the test."""
    try:
        result = parser(body, headers=headers or {})
    except (PayloadError, Ignored, Confirm):
        return
    assert isinstance(result, Parsed)
    for alert in result.alerts:
        assert alert.occurred_at.tzinfo is not None
        assert all(isinstance(v, str) for v in alert.labels.values())


REPLACEMENTS: list[Any] = [None, [], {}, 0, -7.5, "x", True, [None], {"a": {}}]


def mutations(value: Any) -> Iterator[Any]:
    """`value` with one node (at any depth) replaced by each of REPLACEMENTS."""
    yield from REPLACEMENTS
    children = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for key, child in children:
        for changed in mutations(child):
            copy: Any = dict(value) if isinstance(value, dict) else list(value)
            copy[key] = changed
            yield copy
        if isinstance(value, dict):
            yield {k: v for k, v in value.items() if k != key}  # the key removed


def samples() -> Iterator[Any]:
    for path in sorted(PAYLOADS.glob("*/*.json")):
        yield pytest.param(path.parent.name, path, id=f"{path.parent.name}/{path.stem}")


@pytest.mark.parametrize(("fmt", "path"), list(samples()))
def test_every_mutation_of_every_sample_raises_only_our_errors(fmt: str, path: Path) -> None:
    parser = PARSERS[fmt]
    body = json.loads(path.read_text())
    headers = {"x-amz-sns-rawdelivery": "true"} if path.stem == "raw-delivery" else {}
    count = 0
    for mutated in mutations(body):
        survive(parser, mutated, headers=headers)
        count += 1
    if isinstance(body, dict) and body.get("Type") == "Notification":
        for alarm in mutations(json.loads(body["Message"])):
            survive(parser, body | {"Message": json.dumps(alarm)})
            count += 1
    assert count >= len(REPLACEMENTS) * 3
