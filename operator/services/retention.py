"""Resolved alerts are pruned after the company's retention, so a company's namespace does
not grow without bound. An alert is pruned only once nothing still needs it: it resolved
longer ago than the retention (in event time), and the incident it joined has counted its
resolution (so a restart cannot lose that count)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def expired_alerts(
    alerts: Iterable[Mapping[str, Any]], *, retention: timedelta, now: datetime
) -> list[str]:
    """Names of the alerts to prune, oldest first."""
    found: list[tuple[datetime, str]] = []
    for body in alerts:
        spec, status = body.get("spec") or {}, body.get("status") or {}
        if spec.get("state") != "resolved":
            continue
        resolved = _when(spec.get("resolvedAt"))
        if resolved is None or resolved + retention > now:
            continue
        if status.get("incidentRef") and not status.get("resolutionCounted"):
            continue  # the incident has not counted it yet
        found.append((resolved, body["metadata"]["name"]))
    return [name for _, name in sorted(found)]
