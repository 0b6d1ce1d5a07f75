"""Inhibition: a firing source mutes matching targets that share the `equal` labels."""

from __future__ import annotations

from whisperer.operator.models.v1alpha1.company import InhibitRule
from whisperer.operator.services.inhibition import FiringAlert, inhibitor

RULE = InhibitRule.model_validate(
    {
        "sourceMatchers": [{"name": "signal", "value": "host-down"}],
        "targetMatchers": [{"name": "signal", "op": "=~", "value": "cpu-high|latency-high"}],
        "equal": ["site"],
    }
)
SOURCE = FiringAlert("down", {"signal": "host-down", "site": "ams", "asset": "core-sw"}, "inc-1")


def test_a_matching_target_at_the_same_site_is_muted() -> None:
    target = {"signal": "cpu-high", "site": "ams", "asset": "web01"}
    assert inhibitor((RULE,), target, "t", [SOURCE]) is SOURCE


def test_another_site_or_signal_is_not() -> None:
    assert inhibitor((RULE,), {"signal": "cpu-high", "site": "fra"}, "t", [SOURCE]) is None
    assert inhibitor((RULE,), {"signal": "disk-space-low", "site": "ams"}, "t", [SOURCE]) is None
    assert inhibitor((), {"signal": "cpu-high", "site": "ams"}, "t", [SOURCE]) is None


def test_an_alert_does_not_inhibit_itself() -> None:
    both = InhibitRule.model_validate(
        {
            "sourceMatchers": [{"name": "signal", "value": "cpu-high"}],
            "targetMatchers": [{"name": "signal", "value": "cpu-high"}],
        }
    )
    me = FiringAlert("me", {"signal": "cpu-high"}, "inc-2")
    assert inhibitor((both,), {"signal": "cpu-high"}, "me", [me]) is None
