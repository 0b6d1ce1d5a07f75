"""The shim's registry keeps the taxonomy from the SignalRules: a bad rule is skipped with a
log line, a failing reload keeps the last good taxonomy, and nothing takes the shim down."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from whisperer.api.registry import Registry
from whisperer.operator.errors import ForbiddenError
from whisperer.operator.services.signals import Signal


def signal_rule(name: str, version: str, *patterns: str) -> dict[str, Any]:
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "SignalRule",
        "metadata": {"name": name, "resourceVersion": version},
        "spec": {"signal": "ups-on-battery", "category": "power", "patterns": list(patterns)},
    }


class FakeKube:
    """The two reads the registry makes: no companies, and the SignalRules given."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.forbidden = False

    def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        if plural == "signalrules" and self.forbidden:
            raise ForbiddenError('cannot list resource "signalrules"')
        return self.rules if plural == "signalrules" else []

    def list_secrets(self, namespace: str, *, label_selector: str) -> list[Any]:
        return []


def registry(kube: FakeKube) -> Registry:
    return Registry(kube, refresh_seconds=60)  # type: ignore[arg-type]


def test_signal_rules_are_loaded_and_a_bad_one_is_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `(?i)` in the middle of the expression: RE2 (the API server) takes it, Python does not.
    kube = FakeKube([signal_rule("bad", "1", "(?i)battery"), signal_rule("good", "2", "battery")])
    reg = registry(kube)
    with caplog.at_level(logging.WARNING, logger="whisperer.api.registry"):
        asyncio.run(reg.refresh())
    assert reg.healthy
    assert reg.taxonomy.classify("UPS on battery") == Signal("ups-on-battery", "power")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines  # one line, for the bad rule only
    assert lines[0].startswith("skipping SignalRule bad: ")


def test_an_unchanged_set_of_rules_keeps_the_compiled_taxonomy() -> None:
    kube = FakeKube([signal_rule("good", "2", "battery")])
    reg = registry(kube)
    asyncio.run(reg.refresh())
    first = reg.taxonomy
    asyncio.run(reg.refresh())
    assert reg.taxonomy is first
    kube.rules = [signal_rule("good", "3", "mains lost")]
    asyncio.run(reg.refresh())
    assert reg.taxonomy is not first
    assert reg.taxonomy.classify("UPS on battery").name == "power-supply"
    assert reg.taxonomy.classify("mains lost").name == "ups-on-battery"


def test_a_failing_reload_keeps_the_last_good_taxonomy(caplog: pytest.LogCaptureFixture) -> None:
    kube = FakeKube([signal_rule("good", "2", "battery")])
    reg = registry(kube)
    asyncio.run(reg.refresh())
    kube.forbidden = True
    with caplog.at_level(logging.WARNING, logger="whisperer.api.registry"):
        asyncio.run(reg.refresh())
    assert reg.healthy  # companies still load: the shim keeps taking alerts
    assert reg.taxonomy.classify("UPS on battery").name == "ups-on-battery"
    assert "could not refresh the SignalRules" in caplog.text


def test_without_signal_rules_the_built_in_taxonomy_classifies() -> None:
    reg = registry(FakeKube([]))  # not refreshed yet
    assert reg.taxonomy.classify("InstanceDown") == Signal("host-down", "availability")
