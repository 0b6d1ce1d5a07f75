"""Silences match on labels and alert fields, at the alert's event time, once or recurring."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from whisperer.operator.models.v1alpha1 import Silence
from whisperer.operator.services.silences import Cron, silenced_by

FIELDS = {
    "asset": "db01",
    "signal": "host-down",
    "severity": "critical",
    "source": "zabbix",
    "patch_group": "sunday",
}


def silence(name: str = "s", **spec: Any) -> Silence:
    body = {"matchers": [{"name": "asset", "value": "db01"}], "comment": "CHG-1", **spec}
    return Silence.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Silence",
            "metadata": {"name": name, "namespace": "n"},
            "spec": body,
        }
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_an_absolute_window_applies_only_inside_it() -> None:
    s = silence(startsAt="2026-11-27T02:00:00Z", endsAt="2026-11-27T04:00:00Z")
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-27T03:00:00")) is s
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-27T04:00:00")) is None
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-27T01:59:59")) is None


@pytest.mark.parametrize(
    ("matchers", "hit"),
    [
        ([{"name": "asset", "value": "db01"}], True),
        ([{"name": "asset", "value": "db02"}], False),
        ([{"name": "signal", "op": "=~", "value": "host-down|host-unreachable"}], True),
        ([{"name": "severity", "op": "!=", "value": "critical"}], False),
        (
            [
                {"name": "patch_group", "value": "sunday"},
                {"name": "source", "op": "!~", "value": "z.*"},
            ],
            False,
        ),
        ([{"name": "asset", "op": "=~", "value": "("}], False),  # a broken regex matches nothing
    ],
)
def test_every_matcher_must_match(matchers: list[dict[str, str]], hit: bool) -> None:
    s = silence(matchers=matchers, startsAt="2026-01-01T00:00:00Z", endsAt="2027-01-01T00:00:00Z")
    assert (silenced_by([s], fields=FIELDS, at=at("2026-11-27T03:00:00")) is s) is hit


def test_a_weekly_patch_window_recurs_in_its_time_zone() -> None:
    s = silence(
        recurrence={"cron": "0 2 * * SUN", "duration": "2h", "timeZone": "America/New_York"}
    )
    # Sunday 2026-11-29 02:00-04:00 in New York is 07:00-09:00 UTC.
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-29T07:30:00")) is s
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-29T09:00:00")) is None
    assert silenced_by([s], fields=FIELDS, at=at("2026-11-28T07:30:00")) is None  # Saturday


@pytest.mark.parametrize(
    ("expression", "when", "hit"),
    [
        ("*/15 * * * *", "2026-11-27T10:45:00", True),
        ("*/15 * * * *", "2026-11-27T10:46:00", False),
        ("0 9-17 * * MON-FRI", "2026-11-27T12:00:00", True),  # a Friday
        ("0 9-17 * * MON-FRI", "2026-11-28T12:00:00", False),
        ("30 1 1 JAN *", "2027-01-01T01:30:00", True),
        ("0 0 1 * 7", "2026-11-29T00:00:00", True),  # day 1 OR Sunday (cron's rule)
    ],
)
def test_cron_expressions(expression: str, when: str, hit: bool) -> None:
    assert Cron.parse(expression).matches(datetime.fromisoformat(when)) is hit
