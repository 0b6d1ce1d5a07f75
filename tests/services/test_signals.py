"""The taxonomy maps what each tool calls a problem onto one canonical signal."""

from __future__ import annotations

import pytest

from whisperer.operator.services.signals import classify, default_rules


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
