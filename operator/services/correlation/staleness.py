"""Staleness, in event time: a firing alert that its tool does not report again within its
timeout (per source tool, `CompanyFacts.stale_after`; an Alertmanager alert's own `endsAt`
first) resolves as stale, at the moment its timeout ran out.

Event time is what the company's tools say; it runs on with the wall clock between reports
(`EventClock`): a replay of four days in minutes goes stale in replayed time, and a company
whose tools fell silent still sees its alerts go stale. Nothing here does I/O or reads a
clock: the caller passes every time in.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from whisperer.operator.services.facts import CompanyFacts

AHEAD = timedelta(minutes=5)
"""How far ahead of the wall clock a tool's event time may pull the company's event time (a
tool with a clock set wrong must not make every alert stale at once)."""


def stale_at(
    facts: CompanyFacts, *, source: str, reported: datetime, ends_at: datetime | None = None
) -> datetime | None:
    """When an alert last reported at `reported` goes stale (None: never): at the `endsAt` the
    tool gave (when after the report), else after its tool's timeout."""
    if ends_at is not None and ends_at > reported:
        return ends_at
    timeout = facts.stale_after.get(source)
    return reported + timeout if timeout else None


def quiet_for(delta: timedelta) -> str:
    """`3d 4h`, `2h 5m`, `12m`, `40s`: how long something was quiet, for people."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


@dataclass
class EventClock:
    """Each company's event time, and the alerts waiting to go stale in it."""

    _offset: dict[str, timedelta] = field(default_factory=dict)
    _due: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _heaps: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)

    def reported(self, company: str, at: datetime, now: datetime) -> None:
        """A report with event time `at` arrived at wall time `now`: the company's event time
        is at least `at` from now on, and runs on with the wall clock."""
        offset = min(at - now, AHEAD)
        if company not in self._offset or offset > self._offset[company]:
            self._offset[company] = offset

    def now(self, company: str, now: datetime) -> datetime | None:
        """The company's event time at wall time `now` (None: it has reported nothing)."""
        offset = self._offset.get(company)
        return None if offset is None else now + offset

    def track(self, company: str, alert: str, due: datetime | None) -> None:
        """The alert goes stale at `due` unless reported again (None: it does not)."""
        if due is None:
            self._due.pop((company, alert), None)
            return
        self._due[(company, alert)] = due
        heapq.heappush(self._heaps.setdefault(company, []), (due, alert))

    def due(self, company: str, alert: str) -> datetime | None:
        """When the alert goes stale, if it is waiting to."""
        return self._due.get((company, alert))

    def expire(self, company: str, now: datetime) -> list[tuple[str, datetime]]:
        """The alerts of the company that went stale by its event time at `now` (each once),
        earliest first, with the time each went stale."""
        current = self.now(company, now)
        heap = self._heaps.get(company)
        out: list[tuple[str, datetime]] = []
        while current is not None and heap and heap[0][0] <= current:
            due, alert = heapq.heappop(heap)
            if self._due.get((company, alert)) == due:
                del self._due[(company, alert)]
                out.append((alert, due))
        return out

    def next_due(self, company: str) -> datetime | None:
        """The earliest time (event time) an alert of the company may go stale."""
        heap = self._heaps.get(company)
        while heap and self._due.get((company, heap[0][1])) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def companies(self) -> list[str]:
        """Companies with alerts waiting to go stale."""
        return [c for c, heap in self._heaps.items() if heap]

    def wall(self, company: str, when: datetime) -> datetime | None:
        """The wall time at which the company's event time reaches `when`."""
        offset = self._offset.get(company)
        return None if offset is None else when - offset
