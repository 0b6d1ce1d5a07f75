"""The monthly client report's numbers, derived from a month's summary: compliance, means,
rates. Every definition is in docs/plugin.md; a rate with nothing to count is None."""

from __future__ import annotations

from typing import Any

from whisperer.operator.models.v1alpha1.report import DurationTally, MonthlySummary, Tally


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compliance(tally: Tally) -> float | None:
    """Met over met plus breached (deadlines whose outcome is known)."""
    return _rate(tally.met, tally.met + tally.breached)


def mean_minutes(tallies: list[DurationTally]) -> dict[str, float | None]:
    """Mean minutes by severity, and over all (`all`)."""
    found: dict[str, float | None] = {
        t.severity: round(t.total_seconds / t.count / 60, 1) if t.count else None for t in tallies
    }
    count = sum(t.count for t in tallies)
    total = sum(t.total_seconds for t in tallies)
    found["all"] = round(total / count / 60, 1) if count else None
    return found


def build(
    summary: MonthlySummary, *, company: str, display_name: str, source: str
) -> dict[str, Any]:
    """The report as data (what `-o json` prints and the HTML and text show)."""
    noise = (
        round(1 - summary.incidents / summary.alerts, 4)
        if summary.alerts and summary.incidents <= summary.alerts
        else None
    )
    return {
        "company": company,
        "displayName": display_name,
        "month": summary.month,
        "source": source,
        "computedAt": summary.computed_at.isoformat().replace("+00:00", "Z"),
        "final": summary.final,
        "incidents": {
            "total": summary.incidents,
            "resolved": summary.resolved,
            "bySeverity": {c.severity: c.count for c in summary.by_severity},
            "perWeek": [{"week": w.week, "count": w.count} for w in summary.weeks],
        },
        "sla": {
            "response": {
                "met": summary.response.met,
                "breached": summary.response.breached,
                "compliance": compliance(summary.response),
            },
            "resolution": {
                "met": summary.resolution.met,
                "breached": summary.resolution.breached,
                "compliance": compliance(summary.resolution),
            },
        },
        "mttaMinutes": mean_minutes(summary.acknowledge),
        "mttrMinutes": mean_minutes(summary.resolve),
        "noise": {
            "alerts": summary.alerts,
            "incidents": summary.incidents,
            "reduction": noise,
        },
        "automation": {
            "selfHealedIncidents": summary.self_healed,
            "selfHealedRate": _rate(summary.self_healed, summary.incidents),
            "runs": summary.runs,
            "runsSelfHealed": summary.runs_self_healed,
        },
        "escalations": {
            "incidents": summary.escalated,
            "rate": _rate(summary.escalated, summary.incidents),
        },
        "noisiestAssets": [{"name": r.name, "alerts": r.count} for r in summary.noisy_assets],
        "noisiestSignals": [{"name": r.name, "alerts": r.count} for r in summary.noisy_signals],
        "majorIncidents": [
            {
                "name": m.name,
                "title": m.title,
                "severity": m.severity,
                "priority": m.priority,
                "openedAt": m.opened_at.isoformat().replace("+00:00", "Z") if m.opened_at else None,
                "resolvedAt": (
                    m.resolved_at.isoformat().replace("+00:00", "Z") if m.resolved_at else None
                ),
                "resolvedBy": m.resolved_by,
            }
            for m in summary.major
        ],
    }
