"""A seeded month of incidents for the reporting tests: known numbers, written out by hand
below so a test can compare the service with arithmetic it did not do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

MONTH = "2026-11"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def incident(
    name: str,
    *,
    opened: datetime,
    severity: str,
    priority: str,
    alerts: int,
    asset: str,
    signal: str,
    ack_after: timedelta | None = None,
    resolve_after: timedelta | None = None,
    response: str | None = None,
    resolution: str | None = None,
    resolved_by: str | None = None,
    runs: list[dict[str, Any]] | None = None,
    escalation: int = 0,
    namespace: str = "company-acme",
) -> dict[str, Any]:
    """An Incident body as the operator leaves it."""
    sla: dict[str, Any] = {
        "policy": "premium-24x7",
        "responseDueAt": iso(opened + timedelta(minutes=30)),
        "resolutionDueAt": iso(opened + timedelta(hours=4)),
    }
    status: dict[str, Any] = {
        "phase": "Open",
        "company": "acme",
        "severity": severity,
        "priority": priority,
        "openedAt": iso(opened),
        "alerts": {
            "count": alerts,
            "firing": 0,
            "first": {"name": "a", "asset": asset, "signal": signal},
        },
        "rootCause": {"asset": asset, "signal": signal},
        "escalationLevel": escalation,
        "runs": runs or [],
        "sla": sla,
        # A field this plugin does not know (a newer operator): ignored, not an error.
        "notifications": [{"key": "x"}],
    }
    if ack_after is not None:
        sla["respondedAt"] = iso(opened + ack_after)
        status["phase"] = "Acknowledged"
    if response:
        sla["responseOutcome"] = response
    if resolve_after is not None:
        status["phase"] = "Resolved"
        status["resolvedAt"] = iso(opened + resolve_after)
        status["resolvedBy"] = resolved_by or "technician"
    if resolution:
        sla["resolutionOutcome"] = resolution
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Incident",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"title": f"{signal} on {asset}"},
        "status": status,
    }


def seeded() -> list[dict[str, Any]]:
    """Six incidents in November 2026 and one in October (left out of November):

    | name | sev | ack | resolve | response | resolution | alerts | healed | escalated |
    | n1 | critical P1 | 10m | 2h | met | met | 40 | | |
    | n2 | critical P1 | 50m | 6h | breached | breached | 20 | | level 2 |
    | n3 | high P2 | 20m | 1h | met | met | 5 | yes (automation, a SelfHealed run) | |
    | n4 | high P2 | 30m | - | met | - | 3 | | |
    | n5 | low P4 | - | 30m | - (auto-resolve: no response) | met | 1 | | |
    | n6 | medium P3, week 3 | 15m | 3h | met | met | 11 | | |
    """
    m = timedelta(minutes=1)
    return [
        incident(
            "n1",
            opened=T0,
            severity="critical",
            priority="P1",
            alerts=40,
            asset="db01",
            signal="disk-space-low",
            ack_after=10 * m,
            resolve_after=120 * m,
            response="met",
            resolution="met",
        ),
        incident(
            "n2",
            opened=T0 + timedelta(days=1),
            severity="critical",
            priority="P1",
            alerts=20,
            asset="db01",
            signal="service-down",
            ack_after=50 * m,
            resolve_after=360 * m,
            response="breached",
            resolution="breached",
            escalation=2,
        ),
        incident(
            "n3",
            opened=T0 + timedelta(days=2),
            severity="high",
            priority="P2",
            alerts=5,
            asset="web01",
            signal="disk-space-low",
            ack_after=20 * m,
            resolve_after=60 * m,
            response="met",
            resolution="met",
            resolved_by="automation",
            runs=[{"name": "r1", "outcome": "SelfHealed", "phase": "Succeeded"}],
        ),
        incident(
            "n4",
            opened=T0 + timedelta(days=3),
            severity="high",
            priority="P2",
            alerts=3,
            asset="web02",
            signal="cpu-high",
            ack_after=30 * m,
            response="met",
        ),
        incident(
            "n5",
            opened=T0 + timedelta(days=4),
            severity="low",
            priority="P4",
            alerts=1,
            asset="web02",
            signal="cpu-high",
            resolve_after=30 * m,
            resolution="met",
            resolved_by="auto-resolve",
        ),
        incident(
            "n6",
            opened=T0 + timedelta(days=14),
            severity="medium",
            priority="P3",
            alerts=11,
            asset="web01",
            signal="memory-high",
            ack_after=15 * m,
            resolve_after=180 * m,
            response="met",
            resolution="met",
            runs=[{"name": "r2", "outcome": "Ineffective", "phase": "Succeeded"}],
        ),
        incident(
            "old",
            opened=datetime(2026, 10, 30, 8, tzinfo=UTC),
            severity="critical",
            priority="P1",
            alerts=99,
            asset="db09",
            signal="service-down",
        ),
    ]


# What the service must find for November (worked out by hand from the table above).
EXPECTED = {
    "incidents": 6,
    "resolved": 5,
    "bySeverity": {"critical": 2, "high": 2, "medium": 1, "low": 1},
    "response": {"met": 4, "breached": 1, "compliance": 0.8},
    "resolution": {"met": 4, "breached": 1, "compliance": 0.8},
    # MTTA: critical (10+50)/2 = 30, high (20+30)/2 = 25, medium 15; all (10+50+20+30+15)/5 = 25
    "mtta": {"critical": 30.0, "high": 25.0, "medium": 15.0, "all": 25.0},
    # MTTR: critical (120+360)/2 = 240, high 60, low 30, medium 180; all 750/5 = 150
    "mttr": {"critical": 240.0, "high": 60.0, "low": 30.0, "medium": 180.0, "all": 150.0},
    "alerts": 80,
    "noiseReduction": 0.925,  # 1 - 6/80
    "selfHealed": 1,
    "selfHealedRate": 0.1667,
    "runs": 2,
    "runsSelfHealed": 1,
    "escalated": 1,
    # Weeks (Mondays) touching November 2026: Oct 26, Nov 2, 9, 16, 23, 30
    "perWeek": {
        "2026-10-26": 0,
        "2026-11-02": 5,
        "2026-11-09": 0,
        "2026-11-16": 1,
        "2026-11-23": 0,
        "2026-11-30": 0,
    },
    "noisiestAssets": [("db01", 60), ("web01", 16), ("web02", 4)],
    "major": ["n1", "n2"],
}
