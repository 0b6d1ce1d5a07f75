"""Incident resources from correlation's decisions: the body to create, the status to write,
and the open incidents to remember again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.services.correlation import OpenIncident, priority


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_incident_body(incident: OpenIncident, namespace: str) -> dict[str, Any]:
    """The Incident to create (status comes in a second write: the status subresource)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Incident",
        "metadata": {
            "name": incident.name,
            "namespace": namespace,
            "labels": {"alertwhisperer.io/company": incident.company},
        },
        "spec": {"title": f"{incident.cause_asset}: {incident.cause_signal}"[:256]},
    }


def incident_status(
    incident: OpenIncident,
    *,
    critical_assets: frozenset[str],
    latest: str,
) -> dict[str, Any]:
    """The status correlation owns (phase and the human fields are the audit's)."""
    score, prio = priority(
        severity=incident.severity,
        critical_asset=bool(incident.assets & critical_assets),
        alerts=len(incident.alerts),
        multi_source=len(incident.sources) > 1,
        age=incident.last_at - incident.first_at,
    )
    decided_by = "topology" if incident.pattern == "cascade" else "rules"
    summary = (
        f"{incident.cause_signal} on {incident.cause_asset}"
        + (
            f", which {len(incident.assets) - 1} other asset(s) depend on"
            if incident.pattern == "cascade"
            else ""
        )
        + (f", seen by {', '.join(sorted(incident.sources))}" if len(incident.sources) > 1 else "")
    )
    return {
        "company": incident.company,
        "severity": incident.severity,
        "priority": prio,
        "score": score,
        "pattern": incident.pattern,
        "aggregationKey": incident.key,
        "rootCause": {
            "asset": incident.cause_asset,
            "signal": incident.cause_signal,
            "summary": summary,
            "decidedBy": decided_by,
            "confidence": None,  # the rules are not guessing (an AI answer may have set it)
        },
        "alerts": {
            "count": len(incident.alerts),
            "sources": sorted(incident.sources)[:8],
            "first": incident.first_ref,
            "latest": next(
                (r for r in reversed(incident.refs) if r["name"] == latest), {"name": latest}
            ),
            "refs": list(incident.refs),
            "firing": len(incident.firing),
            "firingNames": sorted(incident.firing)[:500],
            "quietSince": _iso(incident.quiet_since) if incident.quiet_since else None,
            "firstAt": _iso(incident.first_at),
            "lastAt": _iso(incident.last_at),
        },
        "openedAt": _iso(incident.opened_at or incident.first_at),
    }


def remembered(body: dict[str, Any]) -> OpenIncident | None:
    """An incident from its resource (after a restart), with `resolved_at` set when it is
    resolved; None when correlation did not make it."""
    status = body.get("status") or {}
    cause = status.get("rootCause") or {}
    alerts = status.get("alerts") or {}
    if not status.get("aggregationKey"):
        return None
    first = datetime.fromisoformat(str(alerts.get("firstAt")).replace("Z", "+00:00"))
    last = datetime.fromisoformat(str(alerts.get("lastAt")).replace("Z", "+00:00"))
    return OpenIncident(
        name=body["metadata"]["name"],
        company=status.get("company", ""),
        key=status["aggregationKey"],
        cause_asset=cause.get("asset", ""),
        cause_signal=cause.get("signal", ""),
        cause_category="availability"
        if status.get("pattern") == "cascade"
        or cause.get("signal") in ("host-down", "host-unreachable", "service-down")
        else "other",
        first_at=first,
        last_at=last,
        sources=set(alerts.get("sources") or []),
        assets={r.get("asset", "") for r in alerts.get("refs") or []} | {cause.get("asset", "")},
        alerts={r["name"] for r in alerts.get("refs") or []},
        severity=status.get("severity") or "info",
        pattern=status.get("pattern") or "single",
        firing=set(alerts.get("firingNames") or []),
        quiet_since=datetime.fromisoformat(str(alerts["quietSince"]).replace("Z", "+00:00"))
        if alerts.get("quietSince")
        else None,
        reopened=int(status.get("reopened") or 0),
        opened_at=datetime.fromisoformat(str(status["openedAt"]).replace("Z", "+00:00"))
        if status.get("openedAt")
        else None,
        assignee=status.get("assignee"),
        first_ref=alerts.get("first"),
        assessed_severity=status.get("severity"),
        resolved_at=last if status.get("phase") == "Resolved" else None,  # in event time
        refs=[
            {
                **{k: str(r.get(k, "")) for k in ("name", "asset", "signal", "source")},
                "muted": bool(r.get("muted", False)),
            }
            for r in alerts.get("refs") or []
        ],
    )
