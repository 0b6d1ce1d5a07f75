"""The sample payloads (also posted by the shim's integration tests) are self-consistent:
each format's firing and resolved samples are one alert, on one of acme-dental's assets."""

from __future__ import annotations

from collections.abc import Callable
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
from whisperer.api.formats.base import Parsed, RawAlert

Load = Callable[[str], Any]
# Names, host names, instance ids and IPs of acme-dental's assets
# (manifests/config/companies/acme-dental.yaml).
ACME = {
    "pm-db01", "pm-db01.acme.internal", "i-0a1b2c3d4e5f60718", "10.20.1.15",
    "pm-app01", "pm-app01.acme.internal", "i-0b2c3d4e5f6071829", "10.20.1.21",
    "clinic-fs01", "CLINIC-FS01", "clinic-fs01.acme.internal", "i-0c3d4e5f607182930", "10.20.2.10",
}  # fmt: skip
PAIRS = [
    ("alertmanager", alertmanager.parse, "firing", "resolved"),
    ("grafana", alertmanager.parse, "firing", "resolved"),
    ("generic", generic.parse, "firing", "resolved"),
    ("datadog", datadog.parse, "firing", "resolved"),
    ("sns", cloudwatch.parse, "firing", "resolved"),
    ("eventbridge", cloudwatch.parse_eventbridge, "firing", "resolved"),
    ("zabbix", zabbix.parse, "problem", "recovery"),
    ("pagerduty", pagerduty.parse, "trigger", "resolve"),
    ("azure", azure.parse, "log-fired", "log-resolved"),
]


def only(parsed: Parsed) -> RawAlert:
    (alert,) = parsed.alerts
    return alert


@pytest.mark.parametrize(("fmt", "parse", "firing", "resolved"), PAIRS, ids=[p[0] for p in PAIRS])
def test_firing_and_resolved_samples_are_one_alert(
    payload: Load, fmt: str, parse: Callable[..., Parsed], firing: str, resolved: str
) -> None:
    up = only(parse(payload(f"{fmt}/{firing}"), headers={}))
    down = only(parse(payload(f"{fmt}/{resolved}"), headers={}))
    assert (up.state, down.state) == ("firing", "resolved")
    assert up.key and up.key == down.key
    assert up.source == down.source
    assert up.asset.name in ACME
    if fmt != "pagerduty":  # a PagerDuty resolve names the alert by dedup_key alone
        assert (down.signal, down.asset) == (up.signal, up.asset)
        assert down.occurred_at > up.occurred_at


@pytest.mark.parametrize(
    ("fmt", "parse", "states"),
    [
        ("alertmanager", alertmanager.parse, ["firing", "resolved"]),
        ("grafana", alertmanager.parse, ["firing", "resolved"]),
        ("generic", generic.parse, ["firing", "resolved"]),
    ],
)
def test_batch_samples_mix_firing_and_resolved(
    payload: Load, fmt: str, parse: Callable[..., Parsed], states: list[str]
) -> None:
    alerts = parse(payload(f"{fmt}/batch"), headers={}).alerts
    assert [a.state for a in alerts] == states
    assert {a.asset.name for a in alerts} <= ACME
    resolved = only(parse(payload(f"{fmt}/resolved"), headers={}))
    assert alerts[1].key == resolved.key  # the batch resolves the resolved sample's alert
