"""How urgent an incident is: a score from its severity, assets, tools, size and age."""

from __future__ import annotations

from datetime import timedelta

from whisperer.operator.models.v1alpha1.common import SEVERITY_RANK as SEVERITY_RANK


def priority(
    *,
    severity: str,
    critical_asset: bool,
    alerts: int,
    multi_source: bool,
    age: timedelta = timedelta(0),
) -> tuple[int, str]:
    """A score 0..100 and P1..P5: severity counts most, then a critical asset, more tools
    seeing it, more alerts (up to 10) and a longer-lasting problem (a point per 6 minutes
    between its first and latest alert, up to 10)."""
    score = SEVERITY_RANK.get(severity, 0) * 15 + (20 if critical_asset else 0)
    score += (10 if multi_source else 0) + min(alerts, 10)
    score += min(int(age.total_seconds() // 360), 10)
    score = min(score, 100)
    return score, priority_name(score)


def priority_name(score: int) -> str:
    """P1 at 75 or more, P2 at 55, P3 at 35, P4 at 15, else P5."""
    for threshold, name in ((75, "P1"), (55, "P2"), (35, "P3"), (15, "P4")):
        if score >= threshold:
            return name
    return "P5"


def higher(a: str, b: str) -> str:
    """The more severe of two severities."""
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b
