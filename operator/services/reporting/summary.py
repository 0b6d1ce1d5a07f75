"""One company's month in numbers, from its Incidents (raw bodies, read defensively: the
status grows): what the monthly client report prints, kept compact so it can be stored."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from whisperer.operator.models.v1alpha1.report import (
    DurationTally,
    MajorIncident,
    MonthlySummary,
    Ranked,
    SeverityCount,
    Tally,
    WeekCount,
)

Body = Mapping[str, Any]
SEVERITIES = ("critical", "high", "medium", "low")
FINAL_AFTER = timedelta(days=7)
"""A month's numbers are final this long after it ended (late acknowledgements and
resolutions of its incidents still count until then)."""


@dataclass(frozen=True)
class Month:
    """A calendar month in UTC: [start, end)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM`; anything else is a ValueError naming it."""
        if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text or ""):
            raise ValueError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2026-11)")
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, when: datetime) -> Month:
        when = when.astimezone(UTC)
        return cls(when.year, when.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


def when(value: Any) -> datetime | None:
    """An RFC 3339 string (or datetime) as an aware datetime; None when absent or bad."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _status(body: Body) -> Mapping[str, Any]:
    return body.get("status") or {}


def opened_at(body: Body) -> datetime | None:
    """When the incident opened (status.openedAt, else its creation)."""
    return when(_status(body).get("openedAt")) or when(
        (body.get("metadata") or {}).get("creationTimestamp")
    )


def _sla(body: Body) -> Mapping[str, Any]:
    value = _status(body).get("sla")
    return value if isinstance(value, Mapping) else {}


def responded_at(body: Body) -> datetime | None:
    """The SLA's response time, else the acknowledgement's."""
    ack = (body.get("spec") or {}).get("acknowledgement") or {}
    return when(_sla(body).get("respondedAt")) or when(ack.get("at"))


def resolved_at(body: Body) -> datetime | None:
    if _status(body).get("phase") != "Resolved":
        return None
    return when(_status(body).get("resolvedAt")) or when(_sla(body).get("resolvedAt"))


def outcome(body: Body, which: str) -> str | None:
    """`met`, `breached` or None (not known yet) for the response or resolution deadline:
    the SLA's recorded outcome, else its breach flag, else the times against the deadline."""
    clocks = _sla(body)
    recorded = clocks.get(f"{which}Outcome")
    if recorded in ("met", "breached"):
        return str(recorded)
    if clocks.get(f"{which}Breached"):
        return "breached"
    due = when(clocks.get(f"{which}DueAt"))
    done = responded_at(body) if which == "response" else resolved_at(body)
    if due is None or done is None:
        return None
    return "met" if done <= due else "breached"


def self_healed(body: Body) -> bool:
    st = _status(body)
    return st.get("resolvedBy") == "automation" or any(
        (r or {}).get("outcome") == "SelfHealed" for r in st.get("runs") or []
    )


def escalated(body: Body) -> bool:
    return bool(_status(body).get("escalationLevel") or _sla(body).get("escalatedAt"))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def summarize(incidents: Iterable[Body], month: Month, *, now: datetime) -> MonthlySummary:
    """The month's numbers: the incidents that opened in it (the others are left out)."""
    chosen = [
        b for b in incidents if (o := opened_at(b)) is not None and month.start <= o < month.end
    ]
    severity: Counter[str] = Counter()
    response, resolution = Counter[str](), Counter[str]()
    ack_total, ack_count = Counter[str](), Counter[str]()
    res_total, res_count = Counter[str](), Counter[str]()
    assets, signals = Counter[str](), Counter[str]()
    weeks: Counter[date] = Counter()
    totals = Counter[str]()
    major: list[MajorIncident] = []
    for body in chosen:
        st = _status(body)
        sev = str(st.get("severity") or "unknown")
        severity[sev] += 1
        opened = opened_at(body)
        assert opened is not None
        weeks[_monday(opened.date())] += 1
        for which, tally in (("response", response), ("resolution", resolution)):
            result = outcome(body, which)
            if result:
                tally[result] += 1
        if (r := responded_at(body)) is not None and r >= opened:
            ack_total[sev] += int((r - opened).total_seconds())
            ack_count[sev] += 1
        resolved = resolved_at(body)
        if resolved is not None:
            totals["resolved"] += 1
            if resolved >= opened:
                res_total[sev] += int((resolved - opened).total_seconds())
                res_count[sev] += 1
        alerts = st.get("alerts") or {}
        count = int(alerts.get("count") or 0)
        totals["alerts"] += count
        cause = st.get("rootCause") or {}
        first = alerts.get("first") or {}
        asset = cause.get("asset") or first.get("asset")
        signal = cause.get("signal") or first.get("signal")
        if asset:
            assets[str(asset)] += max(count, 1)
        if signal:
            signals[str(signal)] += max(count, 1)
        runs = st.get("runs") or []
        totals["runs"] += len(runs)
        totals["runs_self_healed"] += sum(
            1 for r in runs if (r or {}).get("outcome") == "SelfHealed"
        )
        totals["self_healed"] += self_healed(body)
        totals["escalated"] += escalated(body)
        if st.get("priority") == "P1" or sev == "critical":
            major.append(
                MajorIncident(
                    name=str(body["metadata"]["name"]),
                    title=str((body.get("spec") or {}).get("title") or "")[:256],
                    severity=sev,
                    priority=str(st.get("priority") or ""),
                    opened_at=opened,
                    resolved_at=resolved,
                    resolved_by=str(st.get("resolvedBy") or ""),
                )
            )
    major.sort(key=lambda m: (m.priority or "P9", m.opened_at or month.start))
    monday = _monday(month.start.date())
    week_list = []
    while monday < month.end.date():
        week_list.append(WeekCount(week=monday.isoformat(), count=weeks[monday]))
        monday += timedelta(days=7)

    def ranked(counter: Counter[str]) -> list[Ranked]:
        return [
            Ranked(name=n, count=c)
            for n, c in sorted(counter.items(), key=lambda i: (-i[1], i[0]))[:10]
        ]

    order = [*SEVERITIES, *sorted(set(severity) - set(SEVERITIES))]
    return MonthlySummary(
        month=str(month),
        computed_at=now.replace(microsecond=0),
        final=now >= month.end + FINAL_AFTER,
        incidents=len(chosen),
        resolved=totals["resolved"],
        by_severity=[SeverityCount(severity=s, count=severity[s]) for s in order if severity[s]],
        response=Tally(met=response["met"], breached=response["breached"]),
        resolution=Tally(met=resolution["met"], breached=resolution["breached"]),
        acknowledge=[
            DurationTally(severity=s, count=ack_count[s], total_seconds=ack_total[s])
            for s in order
            if ack_count[s]
        ],
        resolve=[
            DurationTally(severity=s, count=res_count[s], total_seconds=res_total[s])
            for s in order
            if res_count[s]
        ],
        alerts=totals["alerts"],
        self_healed=totals["self_healed"],
        runs=totals["runs"],
        runs_self_healed=totals["runs_self_healed"],
        escalated=totals["escalated"],
        weeks=week_list[:6],
        noisy_assets=ranked(assets),
        noisy_signals=ranked(signals),
        major=major[:10],
    )
