"""Incident resources from correlation's memory: the body to create, the part of the status
correlation owns, and the incident remembered again from its resource after a restart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from whisperer.operator.clock import parse_time, rfc3339
from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.services.correlation.correlator import OpenIncident
from whisperer.operator.services.correlation.priority import priority

JOINING_KEPT = 1000  # the model's bound on status.correlation.joining


def iso(when: datetime) -> str:
    """RFC 3339, UTC, to the second (as the incident's fields are written)."""
    return rfc3339(when)


def new_incident_body(incident: OpenIncident, namespace: str) -> dict[str, Any]:
    """The Incident to create (status comes in a second write: the status subresource)."""
    cause = incident.cause_asset or "storm"
    return {
        "apiVersion": API_VERSION,
        "kind": "Incident",
        "metadata": {
            "name": incident.name,
            "namespace": namespace,
            "labels": {"alertwhisperer.io/company": incident.company},
        },
        "spec": {"title": f"{cause}: {incident.cause_signal}"[:256]},
    }


def rules_decision(incident: OpenIncident, *, critical_assets: frozenset[str]) -> dict[str, Any]:
    """What the rules conclude of the incident: severity, score, priority, root cause."""
    score, prio = priority(
        severity=incident.severity,
        critical_asset=bool(incident.assets & critical_assets),
        alerts=incident.count,
        multi_source=len(incident.sources) > 1,
        age=incident.last_at - incident.first_at,
    )
    cascade = incident.pattern == "cascade"
    summary = (
        f"{incident.cause_signal} on {incident.cause_asset or 'many assets'}"
        + (f", which {len(incident.assets) - 1} other asset(s) depend on" if cascade else "")
        + (f", seen by {', '.join(sorted(incident.sources))}" if len(incident.sources) > 1 else "")
    )
    return {
        "severity": incident.severity,
        "score": score,
        "priority": prio,
        "rootCause": {
            "asset": incident.cause_asset,
            "signal": incident.cause_signal,
            "summary": summary,
            "decidedBy": "topology" if cascade else "rules",
            "confidence": None,
        },
    }


def incident_status(
    incident: OpenIncident,
    *,
    critical_assets: frozenset[str],
    latest: str | None,
    noise: bool = False,
) -> dict[str, Any]:
    """The status fields correlation owns (docs/architecture.md has the table)."""
    refs = list(incident.refs)
    latest_ref = next((r for r in reversed(refs) if r["name"] == latest), None) if latest else None
    return {
        "company": incident.company,
        "pattern": incident.pattern,
        "aggregationKey": incident.key,
        "rules": rules_decision(incident, critical_assets=critical_assets),
        "alerts": {
            "count": incident.count,
            "sources": sorted(incident.sources)[:8],
            "first": incident.first_ref,
            "latest": latest_ref or (refs[-1] if refs else None),
            "refs": refs,
            "firing": len(incident.firing),
            "firingNames": sorted(incident.firing)[:500],
            "quietSince": iso(incident.quiet_since) if incident.quiet_since else None,
            "firstAt": iso(incident.first_at),
            "lastAt": iso(incident.last_at),
        },
        "openedAt": iso(incident.opened_at or incident.first_at),
        "reopened": incident.reopened,
        "correlation": {
            "noise": noise,
            "category": incident.cause_category,
            "episodes": [iso(t) for t in incident.episodes],
            "joining": sorted(incident.joining)[:JOINING_KEPT],
            "resolvedAt": iso(incident.resolved_at) if incident.resolved_at else None,
        },
    }


def rules_of(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The rules' conclusions as stored (older incidents kept them in analysis.rules where
    the AI decided, and in the visible fields otherwise)."""
    if status.get("rules"):
        return dict(status["rules"])
    analysis = status.get("analysis") or {}
    if (status.get("rootCause") or {}).get("decidedBy") == "ai" and analysis.get("rules"):
        return dict(analysis["rules"])
    return {key: status.get(key) for key in ("severity", "score", "priority", "rootCause")}


def remembered(
    body: Mapping[str, Any],
    *,
    category_of: Callable[[str], str],
    keep_until: datetime | None = None,
) -> OpenIncident | None:
    """An incident from its resource (after a restart), resolved (`resolved_at` set) when its
    phase says so; None when correlation did not make it. Its member alerts and the firing
    ones come from the Alerts (`memory.rebuild`), not from the bounded lists here."""
    status = body.get("status") or {}
    if not status.get("aggregationKey"):
        return None
    rules = rules_of(status)
    cause = rules.get("rootCause") or {}
    alerts = status.get("alerts") or {}
    state = status.get("correlation") or {}
    first = parse_time(alerts.get("firstAt")) or parse_time(status.get("openedAt"))
    last = parse_time(alerts.get("lastAt")) or first
    if first is None or last is None:
        return None
    resolved = status.get("phase") == "Resolved"
    refs = [
        {
            **{k: str(r.get(k, "")) for k in ("name", "asset", "signal", "source")},
            "muted": bool(r.get("muted", False)),
        }
        for r in alerts.get("refs") or []
    ]
    return OpenIncident(
        name=body["metadata"]["name"],
        company=status.get("company", ""),
        key=status["aggregationKey"],
        cause_asset=cause.get("asset", ""),
        cause_signal=cause.get("signal", ""),
        cause_category=state.get("category") or category_of(cause.get("signal", "")),
        first_at=first,
        last_at=last,
        sources=set(alerts.get("sources") or []),
        assets={str(r["asset"]) for r in refs if r["asset"]}
        | {str(cause.get("asset") or "")} - {""},
        count=int(alerts.get("count") or 0),
        severity=rules.get("severity") or "info",
        pattern=status.get("pattern") or "single",
        refs=refs,
        quiet_since=parse_time(alerts.get("quietSince")),
        reopened=int(status.get("reopened") or 0),
        opened_at=parse_time(status.get("openedAt")),
        assignee=status.get("assignee"),
        first_ref=alerts.get("first"),
        assessed_severity=rules.get("severity"),
        resolved_at=(parse_time(state.get("resolvedAt")) or last) if resolved else None,
        keep_until=keep_until if resolved else None,
        joining=set(state.get("joining") or []),
        recurring=bool(state.get("noise")),  # what noise rests on, kept across a restart
        noise=bool(state.get("noise")),
        episodes=sorted(t for t in (parse_time(v) for v in state["episodes"]) if t)
        if "episodes" in state
        else [first],  # stored before episodes were: it stands for its own opening
    )
