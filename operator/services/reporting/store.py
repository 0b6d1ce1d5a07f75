"""Which month summaries a Company keeps (status.monthlyReports): the reporting job
recomputes the current and the previous month from the incidents, never a final month
again (its incidents may be gone by then), never with fewer incidents than it had (some
were deleted), and keeps the latest 24."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from whisperer.operator.models.v1alpha1.report import MonthlySummary
from whisperer.operator.services.reporting.summary import Month, summarize

KEPT = 24


def stored(company: Mapping[str, Any]) -> dict[str, MonthlySummary]:
    """The summaries in a Company body, by month (those that do not parse are skipped)."""
    found: dict[str, MonthlySummary] = {}
    for item in (company.get("status") or {}).get("monthlyReports") or []:
        try:
            summary = MonthlySummary.model_validate(item)
        except ValueError:
            continue
        found[summary.month] = summary
    return found


def _same(a: MonthlySummary, b: MonthlySummary) -> bool:
    skip = {"computed_at"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


def refresh(
    company: Mapping[str, Any], incidents: Iterable[Mapping[str, Any]], *, now: datetime
) -> list[dict[str, Any]] | None:
    """The new status.monthlyReports, or None when nothing changed (no write)."""
    kept = stored(company)
    bodies = list(incidents)
    current = Month.of(now)
    changed = False
    for month in (current.previous(), current):
        old = kept.get(str(month))
        if old is not None and old.final:
            continue
        new = summarize(bodies, month, now=now)
        if new.incidents == 0 and old is None:
            continue
        if old is not None and (_same(old, new) or new.incidents < old.incidents):
            # Fewer incidents than before: some were deleted (retention), not un-opened.
            continue
        kept[str(month)] = new
        changed = True
    if not changed:
        return None
    latest = sorted(kept)[-KEPT:]
    return [kept[m].model_dump(mode="json", by_alias=True, exclude_none=True) for m in latest]


def summary_for(
    company: Mapping[str, Any],
    incidents: Iterable[Mapping[str, Any]] | None,
    month: Month,
    *,
    now: datetime,
) -> tuple[MonthlySummary, str]:
    """The month's summary and where it came from: a final stored one (`summary`), else
    computed now from the incidents (`incidents`), else a stored partial one."""
    kept = stored(company).get(str(month))
    if kept is not None and (kept.final or incidents is None):
        return kept, "summary"
    if incidents is None:
        return summarize([], month, now=now), "incidents"
    return summarize(incidents, month, now=now), "incidents"
