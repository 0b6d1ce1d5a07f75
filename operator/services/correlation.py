"""Correlation: which open incident an alert belongs to, decided in memory.

An alert joins an open incident of its company when they share the aggregation key (asset
and canonical signal) within the window, on event time; or when the topology says the
incident's cause explains it (an `availability` problem of an asset it depends on, directly
or through others). Otherwise it opens an incident. Same problem, several tools: the
incident is multi-source.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
REFS_KEPT = 50


@dataclass(frozen=True)
class AlertFacts:
    """What correlation needs to know of one alert."""

    company: str
    name: str
    asset: str
    signal: str
    category: str
    severity: str
    source: str
    at: datetime


@dataclass
class OpenIncident:
    """What correlation remembers of one open incident."""

    name: str
    company: str
    key: str
    cause_asset: str
    cause_signal: str
    cause_category: str
    first_at: datetime
    last_at: datetime
    sources: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)
    severity: str = "info"
    pattern: str = "single"
    refs: list[dict[str, Any]] = field(default_factory=list)
    """The latest alerts, as the incident's status lists them (bounded)."""
    firing: set[str] = field(default_factory=set)
    quiet_since: datetime | None = None
    """Wall-clock time the last firing alert resolved (the hold-down runs on it)."""
    quiet_event: datetime | None = None
    """Event time of that resolution (reopening runs on event time, like every window)."""
    resolved_at: datetime | None = None
    reopened: int = 0
    opened_at: datetime | None = None
    """When it (re)opened, in event time (None: when its first alert fired); the SLA clock
    starts here."""
    assignee: str | None = None
    """The technician routing chose (None: not yet, or nobody could take it)."""
    assessed_severity: str | None = None
    """The severity its deadlines were computed for (None: not assessed yet)."""
    first_ref: dict[str, Any] | None = None
    """The first alert (by event time), as `refs` lists alerts."""

    def add_ref(self, facts: AlertFacts, *, muted: bool = False) -> None:
        """List the alert among the latest references (bounded), replacing an older entry;
        the first alert (by event time) is kept apart, whatever the bound drops."""
        ref = {
            "name": facts.name,
            "asset": facts.asset,
            "signal": facts.signal,
            "source": facts.source,
            "muted": muted,
        }
        kept = [r for r in self.refs if r["name"] != facts.name][-(REFS_KEPT - 1) :]
        self.refs = [*kept, ref]
        if self.first_ref is None or facts.at < self.first_at:
            self.first_ref = ref

    def absorb(self, other: OpenIncident, *, pattern: str = "cascade") -> None:
        """Take in another incident's alerts (a dependant's when its cause turns up late, an
        earlier occurrence of a periodic problem, a storm's first alerts)."""
        earlier = other.first_at < self.first_at
        self.first_at = min(self.first_at, other.first_at)
        self.last_at = max(self.last_at, other.last_at)
        self.sources |= other.sources
        self.assets |= other.assets
        self.alerts |= other.alerts
        self.firing |= other.firing
        kept = [r for r in other.refs if r["name"] not in {x["name"] for x in self.refs}]
        self.refs = [*kept, *self.refs][-REFS_KEPT:]
        if earlier and other.first_ref is not None:
            self.first_ref = other.first_ref
        if SEVERITY_RANK.get(other.severity, 0) > SEVERITY_RANK.get(self.severity, 0):
            self.severity = other.severity
        if self.firing:
            self.quiet_since = None
        self.pattern = pattern

    def fold(self, facts: AlertFacts, *, pattern: str | None = None) -> None:
        """Record that an alert joined."""
        self.add_ref(facts)
        self.first_at = min(self.first_at, facts.at)
        self.last_at = max(self.last_at, facts.at)
        self.sources.add(facts.source)
        self.assets.add(facts.asset)
        self.alerts.add(facts.name)
        self.firing.add(facts.name)
        self.quiet_since = None
        if SEVERITY_RANK.get(facts.severity, 0) > SEVERITY_RANK.get(self.severity, 0):
            self.severity = facts.severity
        if pattern:
            self.pattern = pattern
        elif len(self.sources) > 1 and self.pattern == "single":
            self.pattern = "multi-source"


@dataclass(frozen=True)
class Decision:
    """Join `incident` (or open a new one when `new`, or reopen it), and why."""

    incident: str
    new: bool
    reason: str
    pattern: str
    reopened: bool = False
    absorbed: tuple[str, ...] = ()
    """Open incidents of dependants this (availability) incident took in: they are merged."""


def aggregation_key(asset: str, signal: str) -> str:
    """What alerts of one problem share."""
    return f"{asset}|{signal}"


def upstream_of(asset: str, depends_on: Mapping[str, Iterable[str]]) -> set[str]:
    """Everything an asset depends on, transitively (cycles tolerated)."""
    seen: set[str] = set()
    todo = list(depends_on.get(asset, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(depends_on.get(current, ()))
    return seen


def _periodic_series(episodes: list[tuple[datetime, str]], at: datetime) -> str | None:
    """The incident of the first of at least two earlier occurrences that `at` continues at
    the same interval (within 10%), or None."""
    if len(episodes) < 2:
        return None
    times = [t for t, _ in episodes] + [at]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    mean = sum(gaps) / len(gaps)
    if mean <= 0 or any(abs(g - mean) > PERIODIC_TOLERANCE * mean for g in gaps[-3:]):
        return None
    return episodes[0][1]


def state_changes(previous: Iterable[datetime], at: datetime, window: timedelta) -> list[datetime]:
    """An alert's changes of state (firing to resolved or back, event time) within `window`
    of the latest, with one more at `at`: kept on the alert, so flapping survives a
    restart and costs the operator no memory."""
    times = sorted([*previous, at])
    return [t for t in times if t >= times[-1] - window]


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


STORM_SPAN = timedelta(minutes=1)
PERIODIC_TOLERANCE = 0.1


class Correlator:
    """Open incidents per company, and the decision for each alert.

    Besides aggregation and topology it recognises two shapes: a storm (a company's alerts
    within a minute of event time reach `storm_threshold`: further ones with the same signal
    join one storm incident, whatever the asset) and a periodic problem (an asset and signal
    that recurs at a regular interval, three times within 10%, joins the incident of its
    first occurrence instead of opening one each time).
    """

    def __init__(self, *, storm_threshold: int = 20) -> None:
        self._open: dict[str, dict[str, OpenIncident]] = {}
        self._resolved: dict[str, dict[str, OpenIncident]] = {}
        self._storm_threshold = storm_threshold
        self._recent: dict[str, list[datetime]] = {}
        self._episodes: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
        self._merged: dict[tuple[str, str], str] = {}

    def remember(self, incident: OpenIncident) -> None:
        """Add (or replace) an incident, e.g. when the operator starts; a resolved one is
        kept only to be reopened."""
        if incident.resolved_at is not None:
            self._resolved.setdefault(incident.company, {})[incident.name] = incident
        else:
            self._open.setdefault(incident.company, {})[incident.name] = incident

    def merged(self, company: str, absorbed: str, into: str) -> None:
        """Remember that `absorbed` was merged into `into` (e.g. after a restart): its
        alerts' news goes to `into`."""
        self._merged[(company, absorbed)] = into

    def _target(self, company: str, incident: str) -> str:
        seen = 0
        while (company, incident) in self._merged and seen < 10:
            incident, seen = self._merged[(company, incident)], seen + 1
        return incident

    def forget(self, company: str, name: str) -> None:
        """An incident went away."""
        self._open.get(company, {}).pop(name, None)
        self._resolved.get(company, {}).pop(name, None)

    def alert_resolved(
        self,
        company: str,
        incident: str,
        alert: str,
        at: datetime,
        *,
        event_at: datetime | None = None,
    ) -> OpenIncident | None:
        """An alert of an open incident resolved; when none fires any more, the incident is
        quiet from `at` (it resolves after the hold-down, unless an alert fires again)."""
        found = self._open.get(company, {}).get(self._target(company, incident))
        if found is None:
            return None
        found.firing.discard(alert)
        if event_at is not None:
            found.quiet_event = max(event_at, found.quiet_event or event_at)
        if not found.firing:
            found.quiet_since = max(at, found.quiet_since or at)
        return found

    def mute(self, company: str, incident: str, facts: AlertFacts) -> OpenIncident | None:
        """An inhibited alert: listed on the incident that explains it, muted, not firing."""
        found = self._open.get(company, {}).get(self._target(company, incident))
        if found is None:
            return None
        found.add_ref(facts, muted=True)
        found.alerts.add(facts.name)
        return found

    def alert_refired(self, company: str, incident: str, alert: str) -> OpenIncident | None:
        """An alert of an open incident fires again: the incident is no longer quiet."""
        found = self._open.get(company, {}).get(self._target(company, incident))
        if found is not None:
            found.firing.add(alert)
            found.quiet_since = None
        return found

    def mark_flapping(self, incident: OpenIncident) -> None:
        """One of the incident's alerts flaps: a plain incident (not a storm or cascade) is
        marked flapping, and auto-resolves only after a whole flap window of quiet."""
        if incident.pattern in ("single", "multi-source", "periodic"):
            incident.pattern = "flapping"

    def incident_resolved(self, company: str, incident: str, at: datetime) -> None:
        """The incident resolved (by its hold-down or a technician): it may still reopen."""
        found = self._open.get(company, {}).pop(incident, None)
        if found is not None:
            # In event time: when its alerts stopped, not when the hold-down ran out.
            found.resolved_at = max(found.quiet_event or found.last_at, found.last_at)
            self._resolved.setdefault(company, {})[incident] = found

    def workload(self) -> Counter[str]:
        """Open incidents per assigned technician."""
        return Counter(
            i.assignee for open_ in self._open.values() for i in open_.values() if i.assignee
        )

    def reopen(self, incident: OpenIncident) -> None:
        """Undo `incident_resolved` (its resolution could not be stored)."""
        self._resolved.get(incident.company, {}).pop(incident.name, None)
        incident.resolved_at = None
        self.remember(incident)

    def open_incidents(self, company: str) -> list[OpenIncident]:
        """The company's open incidents."""
        return list(self._open.get(company, {}).values())

    def decide(
        self,
        facts: AlertFacts,
        *,
        new_name: str,
        window: timedelta,
        depends_on: Mapping[str, Iterable[str]],
        reopen_window: timedelta = timedelta(0),
        storm_threshold: int | None = None,
    ) -> Decision:
        """Where the alert goes (the company's window and topology given); remembered."""

        def within(incident: OpenIncident) -> bool:
            return incident.first_at - window <= facts.at <= incident.last_at + window

        candidates = self._open.get(facts.company, {})
        for incident in candidates.values():
            if facts.name in incident.alerts:
                return Decision(incident.name, False, "already correlated", incident.pattern)
        key = aggregation_key(facts.asset, facts.signal)
        storm_key = f"storm|{facts.signal}"
        raging = [
            i
            for i in candidates.values()
            if i.key == storm_key and i.first_at - STORM_SPAN <= facts.at <= i.last_at + STORM_SPAN
        ]
        if raging or self._storming(facts, storm_threshold or self._storm_threshold):
            storms = raging or [i for i in candidates.values() if i.key == storm_key and within(i)]
            if storms:
                incident = min(storms, key=lambda i: i.first_at)
                incident.fold(facts, pattern="storm")
                return Decision(incident.name, False, f"a storm of {facts.signal}", "storm")
            incident = self._new(facts, new_name=new_name, key=storm_key)
            absorbed = self._absorb_storm_start(incident, facts)
            return Decision(
                incident.name,
                True,
                f"a storm of {facts.signal} begins",
                "storm",
                absorbed=absorbed,
            )
        same = [i for i in candidates.values() if i.key == key and within(i)]
        if same:
            incident = min(same, key=lambda i: i.first_at)
            incident.fold(facts)
            return Decision(
                incident.name, False, f"same asset and signal ({key})", incident.pattern
            )
        upstream = upstream_of(facts.asset, depends_on)
        causes = [
            i
            for i in candidates.values()
            if i.cause_category == "availability" and i.cause_asset in upstream and within(i)
        ]
        if causes:
            incident = min(causes, key=lambda i: i.first_at)
            incident.fold(facts, pattern="cascade")
            return Decision(
                incident.name,
                False,
                f"{facts.asset} depends on "
                f"{incident.cause_asset}, which has {incident.cause_signal}",
                "cascade",
            )
        reopenable = [
            i
            for i in self._resolved.get(facts.company, {}).values()
            if i.key == key
            and i.resolved_at is not None
            and i.resolved_at <= facts.at <= i.resolved_at + reopen_window
        ]
        if reopenable:
            incident = max(reopenable, key=lambda i: i.resolved_at or i.last_at)
            self._resolved[facts.company].pop(incident.name)
            incident.resolved_at = None
            incident.reopened += 1
            incident.opened_at = facts.at
            incident.fold(facts)
            self.remember(incident)
            return Decision(
                incident.name,
                False,
                f"{key} recurred soon after it resolved",
                incident.pattern,
                reopened=True,
            )
        episodes = self._episodes.setdefault((facts.company, key), [])
        periodic = _periodic_series(episodes, facts.at)
        series = self._find(facts.company, periodic) if periodic else None
        if series is not None:
            reopened = series.resolved_at is not None
            if reopened:  # a periodic problem does not open a new incident each time
                self._resolved[facts.company].pop(series.name)
                series.resolved_at = None
                series.reopened += 1
                series.opened_at = facts.at
                self.remember(series)
            series.fold(facts, pattern="periodic")
            absorbed = self._absorb_series(series, episodes)
            episodes.append((facts.at, series.name))
            return Decision(
                series.name,
                False,
                f"{key} recurs at a regular interval",
                "periodic",
                reopened=reopened,
                absorbed=absorbed,
            )
        incident = self._new(facts, new_name=new_name, key=key)
        episodes.append((facts.at, incident.name))
        del episodes[:-10]
        absorbed = self._absorb_dependants(incident, window=window, depends_on=depends_on)
        if absorbed:
            return Decision(
                incident.name,
                True,
                f"{facts.signal} on {facts.asset}, which {len(absorbed)} open incident(s) "
                "of its dependants follow from",
                "cascade",
                absorbed=absorbed,
            )
        return Decision(incident.name, True, "a new problem", incident.pattern)

    def _find(self, company: str, name: str | None) -> OpenIncident | None:
        """An incident correlation remembers, open or resolved."""
        if name is None:
            return None
        return self._open.get(company, {}).get(name) or self._resolved.get(company, {}).get(name)

    def _absorb_series(
        self, series: OpenIncident, episodes: list[tuple[datetime, str]]
    ) -> tuple[str, ...]:
        """Once a problem is known to recur at a regular interval, the incidents its earlier
        occurrences opened (before the interval was clear) join the first one's."""
        taken = []
        for name in sorted({n for _, n in episodes} - {series.name}):
            other = self._open.get(series.company, {}).pop(name, None) or self._resolved.get(
                series.company, {}
            ).pop(name, None)
            if other is None:
                continue
            series.absorb(other, pattern="periodic")
            self._merged[(series.company, name)] = series.name
            taken.append(name)
        return tuple(taken)

    def _absorb_storm_start(self, storm: OpenIncident, facts: AlertFacts) -> tuple[str, ...]:
        """The alerts that made the storm (before it reached the threshold) opened their own
        incidents: the storm takes in those of its signal from the same minute."""
        open_ = self._open.get(storm.company, {})
        taken = sorted(
            name
            for name, other in open_.items()
            if name != storm.name
            and other.pattern in ("single", "multi-source")
            and other.cause_signal == facts.signal
            and abs(other.first_at - facts.at) <= STORM_SPAN
        )
        for name in taken:
            storm.absorb(open_.pop(name), pattern="storm")
            self._merged[(storm.company, name)] = storm.name
        return tuple(taken)

    def _absorb_dependants(
        self,
        cause: OpenIncident,
        *,
        window: timedelta,
        depends_on: Mapping[str, Iterable[str]],
    ) -> tuple[str, ...]:
        """A host-down (any availability signal) that turns up after the alerts of what
        depends on it takes their open incidents in: the cause explains them."""
        if cause.cause_category != "availability":
            return ()
        open_ = self._open.get(cause.company, {})
        taken = sorted(
            name
            for name, other in open_.items()
            if name != cause.name
            and other.pattern not in ("storm", "cascade")
            and other.cause_asset != cause.cause_asset
            and cause.cause_asset in upstream_of(other.cause_asset, depends_on)
            and other.first_at - window <= cause.first_at <= other.last_at + window
        )
        for name in taken:
            cause.absorb(open_.pop(name))
            self._merged[(cause.company, name)] = cause.name
        return tuple(taken)

    def _new(self, facts: AlertFacts, *, new_name: str, key: str) -> OpenIncident:
        storm = key.startswith("storm|")
        incident = OpenIncident(
            name=new_name,
            company=facts.company,
            key=key,
            cause_asset="" if storm else facts.asset,
            cause_signal=facts.signal,
            cause_category=facts.category,
            first_at=facts.at,
            last_at=facts.at,
        )
        incident.fold(facts, pattern="storm" if storm else None)
        self.remember(incident)
        return incident

    def _storming(self, facts: AlertFacts, threshold: int) -> bool:
        """Count the alert into its company's last minute (event time); is it a storm?"""
        recent = self._recent.setdefault(facts.company, [])
        bisect.insort(recent, facts.at)
        horizon = recent[-1] - 2 * STORM_SPAN  # late deliveries older than this are moot
        del recent[: bisect.bisect_left(recent, horizon)]
        in_span = bisect.bisect_right(recent, facts.at + STORM_SPAN) - bisect.bisect_left(
            recent, facts.at - STORM_SPAN
        )
        return in_span >= threshold
