"""Alerts for operator tests: made as the webhook would (canonical signal and category),
at event times from a fixed start, and waited on until correlated."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def incident_of(admin: KubeClient, company: str, name: str) -> str:
    ref = wait_for(
        lambda: (
            admin.get("alerts", name, f"company-{company}").get("status", {}).get("incidentRef")
        ),
        timeout=30,
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
