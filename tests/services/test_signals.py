"""The taxonomy maps what each tool calls a problem onto one canonical signal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from whisperer.operator.models.v1alpha1 import SignalRule
from whisperer.operator.services.signals import Signal, Taxonomy, classify, default_rules


def test_the_taxonomy_has_at_least_thirty_signals() -> None:
    names = {rule.signal.name for rule in default_rules()}
    assert len(names) >= 30
    assert {
        "host-down",
        "disk-space-low",
        "pod-crash-looping",
        "certificate-expiring",
        "replication-lag",
        "backup-failed",
        "security-event",
    } <= names


@pytest.mark.parametrize(
    ("raw", "signal", "category"),
    [
        ("NodeFilesystemAlmostOutOfSpace", "disk-space-low", "storage"),  # Prometheus
        ("KubePodCrashLooping", "pod-crash-looping", "kubernetes"),
        ("CPUUtilization", "cpu-high", "compute"),  # CloudWatch metric
        ("acme-dental-pm-db01-cpu-high", "cpu-high", "compute"),  # an AlarmName
        ("Free disk space is less than 10% on volume /", "disk-space-low", "storage"),  # Zabbix
        ("Disk space low on pm-db01", "disk-space-low", "storage"),  # a Datadog title
        ("Unavailable by ICMP ping", "host-down", "availability"),  # Zabbix template
        ("InstanceDown", "host-down", "availability"),
        ("PostgreSQL replication lag above 30s", "replication-lag", "database"),
        ("SSL certificate expires in 7 days", "certificate-expiring", "security"),
        ("Veeam backup job failed", "backup-failed", "backup"),
        ("HTTPCode_Target_5XX_Count", "http-error-rate", "application"),
    ],
)
def test_tools_names_map_onto_the_taxonomy(raw: str, signal: str, category: str) -> None:
    found = classify(raw)
    assert (found.name, found.category) == (signal, category)


def test_an_unmatched_name_keeps_a_normalized_signature_of_its_own() -> None:
    found = classify("WidgetFrobnicatorStalled")
    assert found.category == "other"
    assert found.name == "widget-frobnicator-stalled"


def rule(name: str, **spec: Any) -> SignalRule:
    return SignalRule.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "SignalRule",
            "metadata": {"name": name},
            "spec": {"category": "power", **spec},
        }
    )


def test_an_msp_rule_wins_over_the_built_in_one() -> None:
    assert classify("APC UPS on battery").name == "power-supply"  # built in
    taxonomy = Taxonomy.build(
        [rule("ups", signal="ups-on-battery", patterns=[r"\bups\b.*battery"])]
    )
    assert taxonomy.classify("APC UPS on battery") == Signal("ups-on-battery", "power")
    assert taxonomy.classify("PSU 2 failed") == Signal("power-supply", "hardware")  # the rest


def test_msp_rules_are_tried_by_order_then_name() -> None:
    rules = [
        rule("b-late", signal="late", patterns=["battery"], order=50),
        rule("z-early", signal="early", patterns=["battery"], order=5),
        rule("a-early", signal="earliest", patterns=["battery"], order=5),
    ]
    taxonomy = Taxonomy.build(rules)
    assert taxonomy.classify("on battery").name == "earliest"
    assert [r.origin for r in taxonomy.rules[:3]] == [
        "SignalRule/a-early",
        "SignalRule/z-early",
        "SignalRule/b-late",
    ]
    assert len(taxonomy.rules) == 3 + len(default_rules())


def test_an_msp_rule_re_categorises_a_built_in_signal_everywhere() -> None:
    taxonomy = Taxonomy.build(
        [rule("dr", signal="backup-failed", category="disaster-recovery", patterns=["rpo"])]
    )
    # its own pattern, and the built-in ones of the same signal
    assert taxonomy.classify("Backup copy RPO exceeded") == Signal(
        "backup-failed", "disaster-recovery"
    )
    assert taxonomy.classify("Veeam backup job failed") == Signal(
        "backup-failed", "disaster-recovery"
    )
    assert taxonomy.classify("InstanceDown") == Signal("host-down", "availability")
    assert classify("Veeam backup job failed").category == "backup"  # the default is untouched


def test_an_msp_rule_restricted_to_some_tools_ignores_the_others() -> None:
    taxonomy = Taxonomy.build(
        [rule("z", signal="ups-on-battery", patterns=["on battery"], sources=["zabbix"])]
    )
    assert taxonomy.classify("UPS on battery", source="zabbix").name == "ups-on-battery"
    assert taxonomy.classify("UPS on battery", source="datadog").name == "power-supply"
    assert taxonomy.classify("UPS on battery").name == "power-supply"


def test_unmatched_names_keep_their_signature_under_msp_rules_too() -> None:
    taxonomy = Taxonomy.build([rule("u", signal="ups-on-battery", patterns=["on battery"])])
    assert taxonomy.classify("WidgetFrobnicatorStalled") == Signal(
        "widget-frobnicator-stalled", "other"
    )


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(unclosed", "does not compile"),
        ("(?i)ups", "does not compile"),  # RE2 takes it; Python only at the very start
        ("(?<!no )battery", "outside RE2"),
        (r"(fail)\1", "outside RE2"),
        ("(a+)+$", "repeats a group that itself repeats"),
    ],
)
def test_the_model_refuses_patterns_the_taxonomy_cannot_use(pattern: str, why: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(why)):
        rule("bad", signal="x", patterns=["fine", pattern])


def test_a_rule_python_cannot_compile_is_skipped_not_fatal() -> None:
    good = rule("good", signal="ups-on-battery", patterns=["on battery"])
    bad = good.model_copy(
        update={
            "metadata": good.metadata.model_copy(update={"name": "bad"}),
            "spec": good.spec.model_copy(update={"patterns": ["(?i)x"]}),
        }
    )  # as if it came from a cluster without the model's checks
    taxonomy = Taxonomy.build([bad, good])
    assert [s.name for s in taxonomy.skipped] == ["bad"]
    assert taxonomy.classify("UPS on battery").name == "ups-on-battery"
