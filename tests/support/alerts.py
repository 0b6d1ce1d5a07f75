"""Alerts for operator tests: made as the webhook would (canonical signal and category),
at event times from a fixed start, and waited on until correlated."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from support.cluster import Cluster, wait_for
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.signals import classify

API = "alertwhisperer.io/v1alpha1"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def operator_kubeconfig(cluster: Cluster) -> Path:
    return cluster.identity("operator") if cluster.kubeconfig_dir else cluster.kubeconfig


def alert(
    admin: KubeClient,
    company: str,
    *,
    asset: str,
    raw: str,
    source: str,
    minutes: float = 0,
    severity: str = "high",
    labels: dict[str, str] | None = None,
) -> str:
    signal = classify(raw)
    fp = hashlib.sha256(f"{company}{asset}{raw}{source}".encode()).hexdigest()[:16]
    at = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ns = f"company-{company}"
    admin.create(
        "alerts",
        {
            "apiVersion": API,
            "kind": "Alert",
            "metadata": {"name": f"al-{fp}", "namespace": ns},
            "spec": {
                "fingerprint": fp,
                "source": source,
                "asset": {"name": asset, "known": True},
                "signal": signal.name,
                "rawSignal": raw,
                "severity": severity,
                "state": "firing",
                "labels": {"signal_category": signal.category, **(labels or {})},
                "firstSeen": at,
                "lastSeen": at,
            },
        },
        ns,
    )
    return f"al-{fp}"


def incident_of(admin: KubeClient, company: str, name: str, timeout: float = 30) -> str:
    ref = wait_for(
        lambda: (
            admin.get("alerts", name, f"company-{company}").get("status", {}).get("incidentRef")
        ),
        timeout=timeout,
        what=f"{name} to be correlated",
    )
    return str(ref["name"])


def incidents(admin: KubeClient, company: str) -> list[dict[str, Any]]:
    return admin.list("incidents", f"company-{company}")


def wait_namespace(admin: KubeClient, company: str) -> None:
    wait_for(
        lambda: admin.get("companies", company).get("status", {}).get("namespace"),
        timeout=30,
        what="the company namespace",
    )


def _report(admin: KubeClient, company: str, name: str, spec: dict[str, Any]) -> None:
    client.CustomObjectsApi(admin.api_client).patch_namespaced_custom_object(
        "alertwhisperer.io", "v1alpha1", f"company-{company}", "alerts", name, {"spec": spec}
    )


def resolve(admin: KubeClient, company: str, name: str, minutes: float) -> None:
    """The tool reports the alert resolved, `minutes` after T0."""
    at = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _report(admin, company, name, {"state": "resolved", "resolvedAt": at, "lastSeen": at})


def fire(admin: KubeClient, company: str, name: str, minutes: float) -> None:
    """The tool reports the alert firing (again), `minutes` after T0."""
    at = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _report(admin, company, name, {"state": "firing", "resolvedAt": None, "lastSeen": at})


@contextlib.contextmanager
def a_company(
    admin: KubeClient,
    prefix: str,
    *,
    incidents: dict[str, Any] | None = None,
    assets: list[dict[str, Any]] | None = None,
) -> Iterator[str]:
    """A company with a unique name (its incident settings and assets as given), deleted
    with its namespace afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    admin.create(
        "companies",
        {
            "apiVersion": API,
            "kind": "Company",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "slaPolicyRef": {"name": "x"},
                "deletionPolicy": "Delete",
                "incidents": incidents or {},
                "assets": assets or [],
            },
        },
    )
    try:
        yield name
    finally:
        with contextlib.suppress(client.ApiException):
            client.CustomObjectsApi(admin.api_client).delete_cluster_custom_object(
                "alertwhisperer.io", "v1alpha1", "companies", name
            )
