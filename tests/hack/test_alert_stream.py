"""`hack/alert-stream` (every format's example, posted by hand) moves every example's timestamps
to now: parsed by the shim's own parsers, each alert's event time is within minutes of the
moment it is sent, so its incidents open now and their SLA clocks run from now (not from last
week)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from support.cluster import REPO

from whisperer.api.formats import (
    alertmanager,
    azure,
    cloudwatch,
    datadog,
    generic,
    pagerduty,
    zabbix,
)

PARSERS = {
    "alertmanager": alertmanager.parse,
    "grafana": alertmanager.parse,
    "azure": azure.parse,
    "datadog": datadog.parse,
    "eventbridge": cloudwatch.parse_eventbridge,
    "generic": generic.parse,
    "pagerduty": pagerduty.parse,
    "zabbix": zabbix.parse,
}
NOW = datetime(2026, 12, 2, 14, 0, 0, tzinfo=UTC)


def stream() -> ModuleType:
    path = str(REPO / "hack" / "alert-stream")
    loader = importlib.machinery.SourceFileLoader("alert_stream", path)
    spec = importlib.util.spec_from_loader("alert_stream", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def example(fmt: str) -> Any:
    return json.loads((REPO / "api" / "examples" / f"{fmt}.json").read_text())


def test_the_stream_posts_every_format_the_parsers_know() -> None:
    assert set(stream().ENDPOINTS) == set(PARSERS)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_each_example_is_sent_with_its_event_time_now(fmt: str) -> None:
    module = stream()
    old = PARSERS[fmt](example(fmt), headers={})
    parsed = PARSERS[fmt](module.fresh(example(fmt), now=NOW), headers={})
    assert parsed.alerts and len(parsed.alerts) == len(old.alerts)
    for before, after in zip(old.alerts, parsed.alerts, strict=True):
        assert NOW - timedelta(minutes=15) <= after.occurred_at <= NOW, (fmt, after.occurred_at)
        assert after.occurred_at > before.occurred_at + timedelta(days=1)  # the examples are old
        # Only the times moved: what the alert is about is the same.
        assert (after.signal, after.severity, after.state, after.asset) == (
            before.signal,
            before.severity,
            before.state,
            before.asset,
        )


def test_times_keep_their_spelling_and_distances() -> None:
    module = stream()
    body = {
        "a": "2026-11-26T09:12:03.511296378Z",
        "b": "2026-11-26T09:10:00+0000",
        "c": "at 2026-11-26T09:07:03.5+00:00 it began",
        "end": "0001-01-01T00:00:00Z",
        "date": "1795684800000",
    }
    out = module.fresh(body, now=NOW)
    latest = datetime.fromtimestamp(1795684800, UTC)
    shift = NOW - latest
    assert (
        out["a"]
        == (datetime(2026, 11, 26, 9, 12, 3, 511296, tzinfo=UTC) + shift).strftime(
            "%Y-%m-%dT%H:%M:%S.%f"
        )
        + "000Z"
    )
    assert out["b"].endswith("+0000") and out["c"].startswith("at ") and ".5+00:00" in out["c"]
    assert out["end"] == "0001-01-01T00:00:00Z"  # "no end yet" stays so
    assert out["date"] == str(int(NOW.timestamp() * 1000))  # a string stays a string
