"""Alerts at an event time of the test's choosing, the incident each lands in, and its
status: for operator tests that run on their own clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from support.alerts import API
from support.cluster import wait_for
from whisperer.operator.kube import KubeClient


def z(when: datetime) -> str:
    """RFC 3339 in UTC, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fire(admin: KubeClient, company: str, *, at: datetime, asset: str = "db01") -> str:
    """A high-severity alert as the webhook writes it, at event time `at`."""
    fp = hashlib.sha256(f"{company}{asset}{at}".encode()).hexdigest()[:16]
    ns = f"company-{company}"
    admin.create(
        "alerts",
        {
            "apiVersion": API,
            "kind": "Alert",
            "metadata": {"name": f"al-{fp}", "namespace": ns},
            "spec": {
                "fingerprint": fp,
                "source": "alertmanager",
                "asset": {"name": asset, "known": True},
                "signal": "disk-space-low",
                "rawSignal": "NodeFilesystemAlmostOutOfSpace",
                "severity": "high",
                "state": "firing",
                "labels": {"signal_category": "storage"},
                "firstSeen": z(at),
                "lastSeen": z(at),
            },
        },
        ns,
    )
    return f"al-{fp}"


def incident_for(admin: KubeClient, company: str, alert: str) -> str:
    ns = f"company-{company}"
    found = wait_for(
        lambda: ((admin.get("alerts", alert, ns).get("status") or {}).get("incidentRef") or {}).get(
            "name"
        ),
        timeout=30,
        what=f"{alert} to be placed",
    )
    return str(found)


def status(admin: KubeClient, company: str, name: str) -> dict[str, Any]:
    return admin.get("incidents", name, f"company-{company}").get("status") or {}
