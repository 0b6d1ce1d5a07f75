"""Every tool's severity words land on our five, and every time format on aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from whisperer.api.formats import severity
from whisperer.api.formats.base import PayloadError


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", "critical"),
        ("CRIT", "critical"),
        ("page", "critical"),
        ("Emergency", "critical"),
        ("disaster", "critical"),
        ("P1", "critical"),
        ("high", "high"),
        ("error", "high"),
        ("Major", "high"),
        ("p2", "high"),
        (" Warning ", "medium"),
        ("warn", "medium"),
        ("average", "medium"),
        ("moderate", "medium"),
        ("P3", "medium"),
        ("low", "low"),
        ("minor", "low"),
        ("p4", "low"),
        ("info", "info"),
        ("Informational", "info"),
        ("notice", "info"),
        ("OK", "info"),
        ("none", "info"),
        ("p5", "info"),
        ("Not classified", "info"),
    ],
)
def test_free_text_words_map_case_insensitively(word: str, expected: str) -> None:
    assert severity.from_label(word) == expected
    assert severity.alias(word) == expected


@pytest.mark.parametrize("word", ["bogus", "", "sev1", None])
def test_an_unknown_word_is_medium_for_tools_and_none_for_our_format(word: str | None) -> None:
    assert severity.from_label(word) == "medium"
    assert severity.alias(word) is None


@pytest.mark.parametrize(
    ("priority", "alert_type", "expected"),
    [
        ("P1", "warning", "critical"),
        ("p4", "error", "low"),
        ("P5", None, "info"),
        (None, "error", "high"),
        (None, "warning", "medium"),
        (None, "info", "info"),
        (None, "success", "medium"),
        ("P9", "error", "high"),
        (None, None, "medium"),
    ],
)
def test_datadog_priority_wins_over_alert_type(
    priority: str | None, alert_type: str | None, expected: str
) -> None:
    assert severity.from_datadog(priority=priority, alert_type=alert_type) == expected


def test_zabbix_nseverity_zero_to_five() -> None:
    got = [severity.from_zabbix(str(n)) for n in range(6)]
    assert got == ["info", "info", "low", "medium", "high", "critical"]
    assert severity.from_zabbix("6") is None
    assert severity.from_zabbix(None) is None


def test_pagerduty_severities() -> None:
    words = ["critical", "error", "warning", "info"]
    assert [severity.from_pagerduty(w) for w in words] == ["critical", "high", "medium", "info"]
    assert severity.from_pagerduty("fatal") is None
    assert severity.from_pagerduty("Critical") is None  # PagerDuty's enum is lower-case


def test_azure_sev0_to_sev4() -> None:
    got = [severity.from_azure(f"Sev{n}") for n in range(5)]
    assert got == ["critical", "high", "medium", "low", "info"]
    assert severity.from_azure("Sev9") == "medium"


NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T12:00:00Z", NOON),
        ("2026-11-26t12:00:00z", NOON),
        ("2026-11-26T14:00:00+02:00", NOON),
        ("2026-11-26T07:00:00-0500", NOON),
        ("2026-11-26T12:00:00.000+0000", NOON),  # CloudWatch: no colon in the offset
        ("2026-11-26T12:00:00.000000000Z", NOON),  # Go: nanoseconds
        ("2026-11-26T12:00:00.0000000Z", NOON),  # Azure: seven digits
        (1795694400, NOON),
        (1795694400000, NOON),
        ("1795694400000", NOON),  # Datadog: milliseconds as a string
        ("1795694400", NOON),
        (1795694400.0, NOON),
    ],
)
def test_parse_time_accepts_what_tools_send(value: object, expected: datetime) -> None:
    parsed = severity.parse_time(value, field="when")
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-11-26",
        "2026-11-26T12:00:00",  # no offset: ambiguous
        "2026-13-40T12:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before the first representable UTC instant
        True,
        None,
        [],
        {},
        -5,
        float("inf"),
        float("nan"),
        1e30,
        "9" * 400,
    ],
)
def test_parse_time_refuses_the_rest_naming_the_field(value: object) -> None:
    with pytest.raises(PayloadError) as caught:
        severity.parse_time(value, field="alerts[0].startsAt")
    assert caught.value.field == "alerts[0].startsAt"


def test_go_zero_time_is_recognised_as_unset() -> None:
    assert severity.is_unset(severity.parse_time("0001-01-01T00:00:00Z", field="endsAt"))
    assert not severity.is_unset(NOON)
