"""Datadog templates: strings everywhere, hosts in titles, variables left unexpanded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import datadog
from whisperer.api.formats.base import PayloadError

Load = Callable[[str], Any]


def parse(body: Any) -> Any:
    (alert,) = datadog.parse(body, headers={}).alerts
    return alert


def test_an_extended_template_trigger(payload: Load) -> None:
    alert = parse(payload("datadog/firing"))
    assert alert.source == "datadog"
    assert alert.state == "firing"
    assert alert.signal == "PostgreSQL connections near max on pm-db01"
    assert alert.severity == "high"  # P2
    assert alert.asset.name == "pm-db01.acme.internal"
    assert alert.key == "6021388470218373655"  # $ALERT_CYCLE_KEY
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 20, tzinfo=UTC)  # "1795684800000"
    assert alert.message.startswith("Connections are at 92%")
    assert "%%%" not in alert.message
    assert alert.labels["alert_id"] == "148823901"
    assert alert.labels["env"] == "prod"  # from $TAGS
    assert alert.labels["org_id"] == "412093"


def test_its_recovery_resolves_the_same_alert(payload: Load) -> None:
    firing, resolved = parse(payload("datadog/firing")), parse(payload("datadog/resolved"))
    assert resolved.state == "resolved"
    assert (resolved.key, resolved.signal, resolved.asset) == (
        firing.key,
        firing.signal,
        firing.asset,
    )
    assert resolved.occurred_at > firing.occurred_at


def test_the_default_template_gives_host_and_transition_only_in_the_title(payload: Load) -> None:
    alert = parse(payload("datadog/default-template"))
    assert alert.asset.name == "clinic-fs01.acme.internal"
    assert alert.state == "firing"
    assert alert.signal == "Disk almost full on file server"
    assert alert.severity == "medium"
    assert alert.occurred_at == datetime(2026, 11, 26, 10, 50, tzinfo=UTC)


def test_a_recovered_title_resolves_under_the_same_signal(payload: Load) -> None:
    body = payload("datadog/default-template")
    triggered = parse(body)
    body["title"] = body["title"].replace("[Triggered on", "[Recovered on")
    recovered = parse(body)
    assert recovered.state == "resolved"
    assert recovered.signal == triggered.signal


def test_unexpanded_variables_count_as_absent(payload: Load) -> None:
    body = payload("datadog/firing")
    body |= {
        "hostname": "$HOSTNAME",
        "alert_transition": "$ALERT_TRANSITION",
        "alert_priority": "$ALERT_PRIORITY",
        "alert_cycle_key": "$ALERT_CYCLE_KEY",
        "alert_title": "$ALERT_TITLE",
        "tags": "$TAGS",
    }
    alert = parse(body)
    assert alert.asset.name == "pm-db01.acme.internal"  # from the title
    assert alert.severity == "high"  # [P2] in the title
    assert alert.state == "firing"  # [Triggered ...] in the title
    assert alert.signal == "PostgreSQL connections near max on pm-db01"
    assert alert.key == "148823901:pm-db01.acme.internal"  # monitor id and group
    assert "$" not in "".join(alert.labels.values())


def test_a_host_tag_names_the_host_when_nothing_else_does() -> None:
    alert = parse({"title": "Backup stale", "tags": "env:prod, host:pm-db01, role:db"})
    assert alert.asset.name == "pm-db01"
    assert alert.labels["role"] == "db"


def test_form_fields_read_like_json(payload: Load) -> None:
    form = {k: v for k, v in payload("datadog/firing").items() if isinstance(v, str)}
    assert parse(form).key == parse(payload("datadog/firing")).key


def test_unquoted_numbers_are_accepted() -> None:
    alert = parse({"title": "x", "date": 1795684800000, "alert_id": 148823901})
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 20, tzinfo=UTC)
    assert alert.labels["alert_id"] == "148823901"


@pytest.mark.parametrize(
    ("transition", "state"),
    [
        ("Triggered", "firing"),
        ("Re-Triggered", "firing"),
        ("Warn", "firing"),
        ("Re-Warn", "firing"),
        ("No Data", "firing"),
        ("Re-No Data", "firing"),
        ("Renotify", "firing"),
        ("Recovered", "resolved"),
    ],
)
def test_each_transition(transition: str, state: str) -> None:
    assert parse({"title": "x", "alert_transition": transition}).state == state


def test_alert_type_success_resolves_without_a_transition() -> None:
    assert parse({"title": "x", "alert_type": "success"}).state == "resolved"
    warning = parse({"title": "x", "alert_type": "warning"})
    assert (warning.state, warning.severity) == ("firing", "medium")


def test_extra_template_fields_are_ignored() -> None:
    alert = parse({"title": "x", "snapshot": {"url": ["a"]}, "custom": [1, 2], "flag": True})
    assert alert.signal == "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "no title"}, "title"),
        ({"title": "$EVENT_TITLE"}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": "x", "date": "last tuesday"}, "date"),
        ({"title": "x", "hostname": {"name": "a"}}, "hostname"),
    ],
)
def test_errors_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        datadog.parse(body, headers={})
    assert caught.value.field == field
