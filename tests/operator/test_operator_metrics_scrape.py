"""The real operator (`whisperer-operator --metrics-address`, its own process, the operator
ServiceAccount's token) serves Prometheus metrics that follow what it does: an incident
opened, then resolved by a technician, each counted once, with the time it took."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families
from support.alerts import a_company, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.incidents import fire, incident_for, status, z
from support.operator import operator_process
from support.smtp import free_port

from whisperer.operator.kube import KubeClient


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_operator_counts_an_opening_and_a_resolution_on_its_metrics_endpoint(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "operator.log"
    with (
        a_company(admin, "metrics", assets=[{"name": "db01", "platform": "linux"}]) as company,
        operator_process(
            operator_kubeconfig(cluster), log, args=["--metrics-address", f"127.0.0.1:{port}"]
        ),
    ):
        wait_for(lambda: scrape(port), timeout=90, what="/metrics to answer")
        wait_namespace(admin, company)
        opened_at = datetime.now(UTC) - timedelta(minutes=10)
        name = incident_for(admin, company, fire(admin, company, at=opened_at))

        def counted(metric: str) -> dict[frozenset[tuple[str, str]], float]:
            return {
                labels: value
                for (name_, labels), value in scrape(port).items()
                if name_ == metric and ("company", company) in labels
            }

        opened = wait_for(
            lambda: counted("whisperer_operator_incidents_opened_total") or None,
            timeout=60,
            what="the opening counted",
        )
        assert list(opened.values()) == [1], (opened, log.read_text()[-3000:])
        [labels] = opened
        severity = dict(labels)["severity"]
        assert severity == status(admin, company, name)["severity"]
        got = scrape(port)
        assert got[("whisperer_operator_leader", frozenset())] == 1  # alone: it leads
        assert got[("whisperer_operator_incident_writes_total", frozenset())] >= 1

        tech = "sam@northwind-msp.example"
        client.CustomObjectsApi(admin.api_client).patch_namespaced_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            f"company-{company}",
            "incidents",
            name,
            {
                "spec": {
                    "resolution": {
                        "by": tech,
                        "at": z(datetime.now(UTC)),
                        "code": "fixed",
                        "summary": "freed space on /var",
                    }
                }
            },
        )
        resolved = (
            "whisperer_operator_incidents_resolved_total",
            frozenset({("company", company), ("severity", severity), ("by", "technician")}),
        )
        wait_for(lambda: scrape(port).get(resolved) == 1, timeout=30, what="the resolution counted")
        got = scrape(port)
        count = (
            "whisperer_operator_incident_resolution_seconds_count",
            frozenset({("company", company)}),
        )
        total = (
            "whisperer_operator_incident_resolution_seconds_sum",
            frozenset({("company", company)}),
        )
        assert got[count] == 1
        state = status(admin, company, name)
        assert state["phase"] == "Resolved"
        expected = (
            datetime.fromisoformat(state["resolvedAt"]) - datetime.fromisoformat(state["openedAt"])
        ).total_seconds()
        assert got[total] == expected
        # The resolution did not count as another opening.
        assert counted("whisperer_operator_incidents_opened_total") == opened
