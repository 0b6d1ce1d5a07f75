"""An MSP's SignalRule, created in the cluster, decides what the real shim writes: the Alert
carries the MSP's canonical signal and its category (spec.labels.signal_category)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from support.cluster import wait_for
from support.shim import post

from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.signals import classify


def _rule(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "SignalRule",
        "metadata": {"name": name},
        "spec": spec,
    }


def _generic(asset: str, signature: str) -> dict[str, Any]:
    return {
        "asset_name": asset,
        "signature": signature,
        "severity": "high",
        "message": "compressor stalled, 9 degrees",
        "tool_source": "coldwatch",
    }


def test_a_signal_rule_classifies_the_alerts_the_shim_writes(hooks: Any, admin: KubeClient) -> None:
    suffix = uuid.uuid4().hex[:6]
    raw = f"Walk-in fridge {suffix} compressor stalled"
    signal = f"cold-chain-{suffix}"
    assert classify(raw).category == "other"  # the built-in taxonomy does not know it

    status, body, _ = post(hooks, "/v1/alerts/generic", _generic("pm-db01.acme.internal", raw))
    assert status == 202, body
    before = admin.get("alerts", body["alerts"][0], hooks.namespace)
    assert before["spec"]["signal"] == f"walk-in-fridge-{suffix}-compressor-stalled"
    assert before["spec"]["labels"]["signal_category"] == "other"

    names = [f"t-cold-chain-{suffix}", f"t-datadog-only-{suffix}"]
    admin.create(
        "signalrules",
        _rule(
            names[0],
            signal=signal,
            category="facilities",
            patterns=[rf"fridge {suffix} compressor"],
            order=30,
        ),
    )
    # Tried first, but only for Datadog's alerts: not for this generic one.
    admin.create(
        "signalrules",
        _rule(
            names[1],
            signal="wrong-tool",
            category="facilities",
            patterns=[f"fridge {suffix}"],
            sources=["datadog"],
            order=1,
        ),
    )
    try:
        wait_for(
            lambda: hooks.state.registry.taxonomy.classify(raw, source="generic").name == signal,
            timeout=15,
            what="the shim to load the SignalRules",
        )
        status, body, _ = post(hooks, "/v1/alerts/generic", _generic("10.20.1.15", raw))
        assert status == 202, body
        after = admin.get("alerts", body["alerts"][0], hooks.namespace)
        assert after["spec"]["signal"] == signal
        assert after["spec"]["rawSignal"] == raw
        assert after["spec"]["labels"]["signal_category"] == "facilities"
    finally:
        for name in names:
            with contextlib.suppress(NotFoundError):
                admin.delete_custom("signalrules", name, None)
