"""CloudWatch alarms through SNS and EventBridge: envelopes, states, dimensions, dedupe."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import cloudwatch
from whisperer.api.formats.base import Confirm, Ignored, PayloadError

Load = Callable[[str], Any]
CPU_ARN = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:acme-dental-pm-db01-cpu-high"


def sns(body: Any, **headers: str) -> Any:
    return cloudwatch.parse(body, headers=headers)


def with_alarm(body: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> Any:
    """The envelope with its Message (the alarm, a JSON string) changed."""
    alarm = json.loads(body["Message"])
    change(alarm)
    return body | {"Message": json.dumps(alarm)}


def test_a_notification_is_parsed_twice(payload: Load) -> None:
    body = payload("sns/firing")
    assert isinstance(body["Message"], str)
    parsed = sns(body)
    (alert,) = parsed.alerts
    assert alert.source == "cloudwatch"
    assert alert.signal == "acme-dental-pm-db01-cpu-high"
    assert alert.state == "firing"
    assert alert.key == CPU_ARN
    assert alert.asset.name == "i-0a1b2c3d4e5f60718"
    assert alert.asset.instance_id == "i-0a1b2c3d4e5f60718"
    assert alert.labels["instance_id"] == "i-0a1b2c3d4e5f60718"
    assert alert.labels["region"] == "us-east-1"  # from the ARN, not "US East (N. Virginia)"
    assert alert.labels["region_name"] == "US East (N. Virginia)"
    assert alert.message.startswith("Threshold Crossed")
    assert parsed.delivery_id == "5b1c3a8e-2f4d-5e6f-8a9b-0c1d2e3f4a5b"


def test_the_offset_without_a_colon_is_read(payload: Load) -> None:
    (alert,) = sns(payload("sns/firing")).alerts
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 15, 7, 423000, tzinfo=UTC)


def test_a_null_description_means_the_default_severity(payload: Load) -> None:
    assert json.loads(payload("sns/firing")["Message"])["AlarmDescription"] is None
    (alert,) = sns(payload("sns/firing")).alerts
    assert alert.severity == cloudwatch.ALARM_SEVERITY == "high"


def test_the_description_can_set_the_severity(payload: Load) -> None:
    def describe(alarm: dict[str, Any]) -> None:
        alarm["AlarmDescription"] = "Disk on pm-db01. Severity: low"

    (alert,) = sns(with_alarm(payload("sns/firing"), describe)).alerts
    assert alert.severity == "low"


def test_ok_resolves_the_same_alarm(payload: Load) -> None:
    (firing,) = sns(payload("sns/firing")).alerts
    (resolved,) = sns(payload("sns/resolved")).alerts
    assert resolved.state == "resolved"
    assert resolved.key == firing.key
    assert resolved.occurred_at == datetime(2026, 11, 26, 9, 45, 7, 611000, tzinfo=UTC)


def test_insufficient_data_is_neither(payload: Load) -> None:
    with pytest.raises(Ignored):
        sns(payload("sns/insufficient-data"))


def test_metric_math_alarms_carry_their_dimensions_in_metrics(payload: Load) -> None:
    alarm = json.loads(payload("sns/metric-math")["Message"])
    assert "Dimensions" not in alarm["Trigger"]
    (alert,) = sns(payload("sns/metric-math")).alerts
    assert alert.asset.instance_id == "i-0b2c3d4e5f6071829"
    assert alert.severity == "critical"  # "severity=critical" in the description


def test_raw_delivery_is_the_alarm_itself(payload: Load) -> None:
    body = payload("sns/raw-delivery")
    parsed = sns(body, **{"x-amz-sns-rawdelivery": "true", "x-amz-sns-message-id": "m-1"})
    (alert,) = parsed.alerts
    assert alert.signal == "acme-dental-pm-app01-5xx-ratio"
    assert parsed.delivery_id == "m-1"
    assert parsed.content_key == sns(payload("sns/metric-math")).content_key


def test_the_message_id_header_stands_in_for_a_missing_field(payload: Load) -> None:
    body = payload("sns/firing")
    del body["MessageId"]
    assert sns(body, **{"x-amz-sns-message-id": "hdr-1"}).delivery_id == "hdr-1"


def test_a_subscription_confirmation_asks_to_be_confirmed(payload: Load) -> None:
    with pytest.raises(Confirm) as caught:
        sns(payload("sns/subscription-confirmation"))
    assert caught.value.subscribe_url.startswith(
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
    )
    assert caught.value.topic_arn == "arn:aws:sns:us-east-1:111122223333:acme-dental-cloudwatch"


def test_an_unsubscribe_confirmation_is_ignored(payload: Load) -> None:
    with pytest.raises(Ignored):
        sns(payload("sns/unsubscribe-confirmation"))


def test_dimension_names_are_case_insensitive(payload: Load) -> None:
    def rds(alarm: dict[str, Any]) -> None:
        alarm["Trigger"]["Namespace"] = "AWS/RDS"
        alarm["Trigger"]["Dimensions"] = [{"Name": "DBInstanceIdentifier", "Value": "pm-db01"}]

    (alert,) = sns(with_alarm(payload("sns/firing"), rds)).alerts
    assert alert.asset.name == "pm-db01"
    assert alert.asset.instance_id is None
    assert alert.labels["db_instance_identifier"] == "pm-db01"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(Message="ALARM on pm-db01"), "Message"),
        (lambda b: b.update(Message="[1, 2]"), "Message"),
        (lambda b: b.pop("Message"), "Message"),
        (lambda b: b.update(Type="Telegram"), "Type"),
        (lambda b: b.pop("Type"), "Type"),
    ],
)
def test_envelope_errors_name_the_field(payload: Load, change: Any, field: str) -> None:
    body = payload("sns/firing")
    change(body)
    with pytest.raises(PayloadError) as caught:
        sns(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: a.pop("AlarmName"), "Message.AlarmName"),
        (lambda a: a.update(NewStateValue="BROKEN"), "Message.NewStateValue"),
        (lambda a: a.update(StateChangeTime="now"), "Message.StateChangeTime"),
        (
            lambda a: a["Trigger"].update(Dimensions={"InstanceId": "i-1"}),
            "Message.Trigger.Dimensions",
        ),
        (
            lambda a: a["Trigger"]["Dimensions"][0].pop("value"),
            "Message.Trigger.Dimensions[0].value",
        ),
    ],
)
def test_alarm_errors_name_the_field(payload: Load, change: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        sns(with_alarm(payload("sns/firing"), change))
    assert caught.value.field == field


def eventbridge(body: Any) -> Any:
    return cloudwatch.parse_eventbridge(body, headers={})


def test_an_eventbridge_state_change(payload: Load) -> None:
    parsed = eventbridge(payload("eventbridge/firing"))
    (alert,) = parsed.alerts
    assert (alert.signal, alert.state, alert.key) == (
        "acme-dental-pm-db01-cpu-high",
        "firing",
        CPU_ARN,
    )
    assert alert.asset.instance_id == "i-0a1b2c3d4e5f60718"
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 15, 7, 423000, tzinfo=UTC)
    assert parsed.delivery_id == "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"
    (resolved,) = eventbridge(payload("eventbridge/resolved")).alerts
    assert (resolved.state, resolved.key) == ("resolved", CPU_ARN)


def test_the_same_transition_has_one_content_key_by_either_path(payload: Load) -> None:
    assert (
        eventbridge(payload("eventbridge/firing")).content_key
        == sns(payload("sns/firing")).content_key
    )
    assert (
        eventbridge(payload("eventbridge/resolved")).content_key
        == sns(payload("sns/resolved")).content_key
    )
    assert sns(payload("sns/firing")).content_key != sns(payload("sns/resolved")).content_key


def test_eventbridge_insufficient_data_and_other_events(payload: Load) -> None:
    body = payload("eventbridge/firing")
    body["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    with pytest.raises(Ignored):
        eventbridge(body)
    other = payload("eventbridge/firing") | {
        "detail-type": "EC2 Instance State-change Notification"
    }
    with pytest.raises(PayloadError) as caught:
        eventbridge(other)
    assert caught.value.field == "detail-type"


def test_eventbridge_without_resources_keys_on_the_alarm_name(payload: Load) -> None:
    body = payload("eventbridge/firing")
    del body["resources"]
    (alert,) = eventbridge(body).alerts
    assert alert.key == "acme-dental-pm-db01-cpu-high"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["detail"].pop("alarmName"), "detail.alarmName"),
        (lambda e: e["detail"]["state"].pop("value"), "detail.state.value"),
        (lambda e: e.update(resources=[{"arn": "x"}]), "resources[0]"),
        (
            lambda e: e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
                dimensions=[]
            ),
            "detail.configuration.metrics[0].metricStat.metric.dimensions",
        ),
    ],
)
def test_eventbridge_errors_name_the_field(payload: Load, change: Any, field: str) -> None:
    body = payload("eventbridge/firing")
    change(body)
    with pytest.raises(PayloadError) as caught:
        eventbridge(body)
    assert caught.value.field == field


def test_metric_math_errors_name_the_nested_field(payload: Load) -> None:
    def bad(alarm: dict[str, Any]) -> None:
        alarm["Trigger"]["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"] = "i-1"

    with pytest.raises(PayloadError) as caught:
        sns(with_alarm(payload("sns/metric-math"), bad))
    assert caught.value.field == "Message.Trigger.Metrics[1].MetricStat.Metric.Dimensions"


def test_raw_delivery_errors_name_fields_at_the_top(payload: Load) -> None:
    body = payload("sns/raw-delivery")
    del body["AlarmName"]
    with pytest.raises(PayloadError) as caught:
        sns(body, **{"x-amz-sns-rawdelivery": "true"})
    assert caught.value.field == "AlarmName"


def test_eventbridge_falls_back_to_the_event_time(payload: Load) -> None:
    body = payload("eventbridge/firing")
    del body["detail"]["state"]["timestamp"]
    (alert,) = eventbridge(body).alerts
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 15, 7, tzinfo=UTC)
    body["time"] = "later"
    with pytest.raises(PayloadError) as caught:
        eventbridge(body)
    assert caught.value.field == "time"
