"""Zabbix media type parameters: literal macros, updates, severities and server-local dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.api.formats import zabbix
from whisperer.api.formats.base import Ignored, PayloadError

Load = Callable[[str], Any]


def parse(body: Any) -> Any:
    (alert,) = zabbix.parse(body, headers={}).alerts
    return alert


def test_a_problem(payload: Load) -> None:
    alert = parse(payload("zabbix/problem"))
    assert alert.source == "zabbix"
    assert alert.state == "firing"
    assert alert.severity == "high"  # NSEVERITY 4
    assert alert.key == "4417351"
    assert alert.signal == "pm-db01: Free disk space is less than 10% on /var/lib/postgresql"
    assert alert.asset.name == "pm-db01"
    assert alert.asset.hostnames == ("pm-db01", "pm-db01.acme.internal")
    assert alert.asset.ip_addresses == ("10.20.1.15",)
    assert alert.occurred_at == datetime(2026, 11, 26, 9, 20, 41, tzinfo=UTC)
    assert alert.message.startswith("Problem started at 09:20:41")


def test_literal_macros_that_do_not_apply_are_absent(payload: Load) -> None:
    body = payload("zabbix/problem")
    assert body["event_recovery_id"] == "{EVENT.RECOVERY.ID}"
    alert = parse(body)
    assert "event_recovery_id" not in alert.labels
    assert "{" not in "".join(alert.labels.values())


def test_the_recovery_keeps_the_key_and_its_own_time(payload: Load) -> None:
    problem, recovery = parse(payload("zabbix/problem")), parse(payload("zabbix/recovery"))
    assert recovery.state == "resolved"
    assert recovery.key == problem.key
    assert recovery.occurred_at == datetime(2026, 11, 26, 10, 2, 13, tzinfo=UTC)
    assert recovery.labels["event_recovery_id"] == "4417398"


def test_an_acknowledgement_is_not_a_new_problem(payload: Load) -> None:
    with pytest.raises(Ignored):
        zabbix.parse(payload("zabbix/update"), headers={})


def test_non_trigger_events_are_ignored(payload: Load) -> None:
    with pytest.raises(Ignored):
        zabbix.parse(payload("zabbix/problem") | {"event_source": "3"}, headers={})


def test_an_unresolved_or_literal_host_ip_is_absent(payload: Load) -> None:
    for value in ("{HOST.IP}", "*UNKNOWN*", ""):
        assert parse(payload("zabbix/problem") | {"host_ip": value}).asset.ip_addresses == ()


def test_macro_spelled_parameter_names_are_the_same_parameter() -> None:
    alert = parse(
        {
            "{EVENT.ID}": "77",
            "EVENT.VALUE": "1",
            "Trigger_Name": "High CPU on pm-app01",
            "HOST.HOST": "pm-app01.acme.internal",
            "EVENT_NSEVERITY": 5,
        }
    )
    assert (alert.key, alert.state, alert.severity) == ("77", "firing", "critical")
    assert alert.asset.name == "pm-app01.acme.internal"


@pytest.mark.parametrize(
    ("nseverity", "word", "expected"),
    [
        ("5", "Disaster", "critical"),
        ("3", "Average", "medium"),
        ("1", "Information", "info"),
        ("0", "Not classified", "info"),
        ("{EVENT.NSEVERITY}", "Disaster", "critical"),
        ("{EVENT.NSEVERITY}", "Average", "medium"),
        ("{EVENT.NSEVERITY}", "{EVENT.SEVERITY}", "medium"),
        ("9", "Warning", "medium"),
    ],
)
def test_severity_from_the_number_else_the_word(
    payload: Load, nseverity: str, word: str, expected: str
) -> None:
    body = payload("zabbix/problem") | {"event_nseverity": nseverity, "event_severity": word}
    assert parse(body).severity == expected


def test_event_name_stands_in_for_trigger_name(payload: Load) -> None:
    body = payload("zabbix/problem") | {"trigger_name": "{TRIGGER.NAME}", "event_name": "Ev"}
    assert parse(body).signal == "Ev"


@pytest.mark.parametrize(
    ("zone", "hour"),
    [("+02:00", 7), ("-0500", 14), ("Europe/Berlin", 8), ("UTC", 9)],
)
def test_the_server_time_zone_can_be_given(payload: Load, zone: str, hour: int) -> None:
    alert = parse(payload("zabbix/problem") | {"timezone": zone})
    assert alert.occurred_at == datetime(2026, 11, 26, hour, 20, 41, tzinfo=UTC)


def test_without_a_date_the_time_is_now(payload: Load) -> None:
    before = datetime.now(UTC)
    body = payload("zabbix/problem") | {"event_date": "{EVENT.DATE}"}
    assert parse(body).occurred_at >= before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": "{EVENT.ID}"}, "event_id"),
        ({"event_value": "2"}, "event_value"),
        ({"event_value": None}, "event_value"),
        ({"trigger_name": None, "event_name": None}, "trigger_name"),
        ({"trigger_name": ["x"]}, "trigger_name"),
        ({"event_date": "26/11/2026"}, "event_date"),
        ({"event_time": "25:61:00"}, "event_date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
    ],
)
def test_errors_name_the_parameter(payload: Load, change: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        zabbix.parse(payload("zabbix/problem") | change, headers={})
    assert caught.value.field == field


def test_extras_a_script_adds_may_hold_anything(payload: Load) -> None:
    body = payload("zabbix/problem") | {"event_tags_json": [{"tag": "scope"}], "debug": True}
    assert parse(body).key == "4417351"
