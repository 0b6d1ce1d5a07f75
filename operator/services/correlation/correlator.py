"""Correlation: which open incident an alert belongs to, decided in memory.

An alert joins an open incident of its company when they share the aggregation key (asset
and canonical signal) within the window, on event time; or when the topology says the
incident's cause explains it (an `availability` problem of an asset it depends on, directly
or through others). Otherwise it opens an incident. Same problem, several tools: the
incident is multi-source.

Nothing here does I/O or reads a clock: the caller passes every time in (event times from
the alerts, wall-clock times from the operator's clock), so the operator and the config
diff's replay decide alike, and a rebuild after a restart restores exactly this memory
(`restore_*`). What the memory holds is bounded: resolved incidents leave it once their
reopen window has passed (`prune`), storm windows keep two minutes, periodic histories ten
occurrences per problem.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.services.correlation.priority import SEVERITY_RANK
from whisperer.operator.services.correlation.staleness import quiet_for
from whisperer.operator.services.facts import CompanyFacts

REFS_KEPT = 50
EPISODES_KEPT = 10
STORM_SPAN = timedelta(minutes=1)
PERIODIC_TOLERANCE = 0.1
EPISODE_HORIZON = timedelta(days=35)
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)  # event times this far out
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)  # cannot be windowed
"""A problem whose last occurrence is older than this (event time) is forgotten."""


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
    """What correlation remembers of one incident (open, or resolved within its reopen
    window)."""

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
    """Its member alerts (names) that correlation knows of."""
    count: int = 0
    """Alerts correlated into it, ever (pruned alerts included)."""
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
    """Event time it resolved at (None while open)."""
    keep_until: datetime | None = None
    """Wall-clock time after which a resolved incident leaves memory."""
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
    joining: set[str] = field(default_factory=set)
    """Alerts whose join this incident records but whose own status does not say so yet:
    stored on the incident, so a restart in between neither loses nor repeats the join."""
    episodes: list[datetime] = field(default_factory=list)
    """The occurrences of its problem it stands for (when it opened; each periodic
    recurrence), event time, bounded: stored, so periodic histories survive a restart."""
    recurring: bool = False
    """Its problem had opened an incident before (it is a recurrence of a known problem)."""
    noise: bool = False
    """Known noise, as last written (`assessment.is_noise`): a louder report does not join it."""

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

    def member(self, name: str) -> None:
        """Count an alert in (once)."""
        if name not in self.alerts:
            self.alerts.add(name)
            self.count += 1
            self.joining.add(name)

    def absorb(self, other: OpenIncident, *, pattern: str = "cascade") -> None:
        """Take in another incident's alerts (a dependant's when its cause turns up late, an
        earlier occurrence of a periodic problem, a storm's first alerts)."""
        earlier = other.first_at < self.first_at
        self.first_at = min(self.first_at, other.first_at)
        self.last_at = max(self.last_at, other.last_at)
        self.sources |= other.sources
        self.assets |= other.assets
        self.count += other.count - len(self.alerts & other.alerts)
        self.alerts |= other.alerts
        self.firing |= other.firing
        self.joining |= other.joining
        self.episodes = sorted({*self.episodes, *other.episodes})[-EPISODES_KEPT:]
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
        self.member(facts.name)
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
    """Open incidents this one took in (dependants of a late cause, a storm's first
    incidents, earlier occurrences of a periodic problem): they are merged."""
    load: bool = False
    """The decision needs `incident` in memory first (a periodic series whose incident left
    memory long ago): nothing was changed; load it (`restore`) and decide again."""


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


def downstream_of(asset: str, depends_on: Mapping[str, Iterable[str]]) -> set[str]:
    """Everything that depends on an asset, transitively (cycles tolerated)."""
    needed_by: dict[str, list[str]] = {}
    for dependant, needs in depends_on.items():
        for need in needs:
            needed_by.setdefault(need, []).append(dependant)
    seen: set[str] = set()
    todo = list(needed_by.get(asset, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(needed_by.get(current, ()))
    return seen


def _as_stored(at: datetime) -> datetime:
    """A time as the incident's status stores it (to the second): an occurrence remembered
    in memory and the same one read back from a stored incident are one occurrence, not
    two (alerts carry milliseconds)."""
    return at.replace(microsecond=0)


def _periodic_series(episodes: list[tuple[datetime, str]], at: datetime) -> list[str]:
    """The incidents of the earlier occurrences (first first) that `at` continues at the
    same interval (within 10%), or none."""
    if len(episodes) < 2:
        return []
    times = [t for t, _ in episodes] + [at]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    mean = sum(gaps) / len(gaps)
    if mean <= 0 or any(abs(g - mean) > PERIODIC_TOLERANCE * mean for g in gaps[-3:]):
        return []
    return [name for _, name in episodes]


def auto_resolve_due(incident: OpenIncident, facts: CompanyFacts) -> datetime | None:
    """When a quiet incident resolves by itself (None: it is not quiet, or the company does
    not allow it): after the hold-down of quiet, a whole flap window for a flapping one.
    The one rule; the operator runs it on its clock, the config diff's replay on event time."""
    if not facts.auto_resolve or incident.firing or incident.quiet_since is None:
        return None
    hold_down = facts.hold_down
    if incident.pattern == "flapping":  # quiet for a whole flap window, not a pause
        hold_down = max(hold_down, facts.flap_window)
    return incident.quiet_since + hold_down


def _discard(
    index: dict[tuple[str, str], dict[str, OpenIncident]], key: tuple[str, str], name: str
) -> None:
    found = index.get(key)
    if found is not None:
        found.pop(name, None)
        if not found:
            del index[key]


def _popped(incident: OpenIncident | None) -> OpenIncident:
    assert incident is not None, "an open incident listed a moment ago"
    return incident


def state_changes(previous: Iterable[datetime], at: datetime, window: timedelta) -> list[datetime]:
    """An alert's changes of state (firing to resolved or back, event time) within `window`
    of the latest, with one more at `at`: kept on the alert, so flapping survives a
    restart and costs the operator no memory."""
    times = sorted([*previous, at])
    return [t for t in times if t >= times[-1] - window]


class Correlator:
    """Incidents per company, and the decision for each alert.

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
        self._recent: dict[str, list[tuple[datetime, str]]] = {}
        self._episodes: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
        self._merged: dict[tuple[str, str], str] = {}
        self._alerts: dict[tuple[str, str], str] = {}  # alert -> the incident it is in
        self._latest: dict[str, datetime] = {}  # each company's latest event time
        # Indexes, so that a decision looks at the few incidents that could take the alert,
        # not at every open one: open and resolved incidents by key, open availability
        # problems by their asset.
        self._open_by_key: dict[tuple[str, str], dict[str, OpenIncident]] = {}
        self._resolved_by_key: dict[tuple[str, str], dict[str, OpenIncident]] = {}
        self._down_by_asset: dict[tuple[str, str], dict[str, OpenIncident]] = {}
        self._open_by_asset: dict[tuple[str, str], dict[str, OpenIncident]] = {}
        self._open_by_signal: dict[tuple[str, str], dict[str, OpenIncident]] = {}
        self._load: Counter[str] = Counter()  # open incidents per assigned technician
        self._merged_into: dict[tuple[str, str], set[str]] = {}  # target -> absorbed
        self._expiring: list[tuple[datetime, str, str]] = []  # (keep_until, company, name)
        self._episodes_pruned: datetime | None = None
        self._asked: set[tuple[str, str]] = set()  # incidents asked to be loaded (once)

    def _open_add(self, incident: OpenIncident) -> None:
        company = incident.company
        self._open.setdefault(company, {})[incident.name] = incident
        self._open_by_key.setdefault((company, incident.key), {})[incident.name] = incident
        if incident.cause_category == "availability" and incident.cause_asset:
            key = (company, incident.cause_asset)
            self._down_by_asset.setdefault(key, {})[incident.name] = incident
        by_asset = (company, incident.cause_asset)
        self._open_by_asset.setdefault(by_asset, {})[incident.name] = incident
        by_signal = (company, incident.cause_signal)
        self._open_by_signal.setdefault(by_signal, {})[incident.name] = incident
        if incident.assignee:
            self._load[incident.assignee] += 1

    def _open_pop(self, company: str, name: str) -> OpenIncident | None:
        incident = self._open.get(company, {}).pop(name, None)
        if incident is not None:
            _discard(self._open_by_key, (company, incident.key), name)
            _discard(self._down_by_asset, (company, incident.cause_asset), name)
            _discard(self._open_by_asset, (company, incident.cause_asset), name)
            _discard(self._open_by_signal, (company, incident.cause_signal), name)
            if incident.assignee:
                self._load[incident.assignee] -= 1
                if self._load[incident.assignee] <= 0:
                    del self._load[incident.assignee]
        return incident

    def _resolved_add(self, incident: OpenIncident) -> None:
        self._resolved.setdefault(incident.company, {})[incident.name] = incident
        if incident.keep_until is not None:
            entry = (incident.keep_until, incident.company, incident.name)
            heapq.heappush(self._expiring, entry)
        key = (incident.company, incident.key)
        self._resolved_by_key.setdefault(key, {})[incident.name] = incident

    def _resolved_pop(self, company: str, name: str) -> OpenIncident | None:
        incident = self._resolved.get(company, {}).pop(name, None)
        if incident is not None:
            _discard(self._resolved_by_key, (company, incident.key), name)
        return incident

    # -- memory ------------------------------------------------------------------------------

    def remember(self, incident: OpenIncident) -> None:
        """Add (or replace) an incident; a resolved one is kept only to be reopened."""
        company = incident.company
        self._open_pop(company, incident.name)
        self._resolved_pop(company, incident.name)
        if incident.resolved_at is not None:
            self._resolved_add(incident)
        else:
            self._open_add(incident)
        for alert in incident.alerts:
            self._alerts[(company, alert)] = incident.name

    def restore(self, incident: OpenIncident) -> None:
        """Remember an incident rebuilt from its resource, with its periodic history."""
        self._asked.discard((incident.company, incident.name))
        self.remember(incident)
        for at in incident.episodes:
            self.restore_episode(incident.company, incident.key, at, incident.name)
        latest = self._latest.get(incident.company)
        if latest is None or incident.last_at > latest:
            self._latest[incident.company] = incident.last_at

    def restore_episode(self, company: str, key: str, at: datetime, incident: str) -> None:
        """An occurrence of a problem (from a stored incident, maybe one no longer kept). One
        occurrence is one entry, whichever incident stands for it (a series read back lists
        the occurrences it absorbed too)."""
        at = _as_stored(at)
        episodes = self._episodes.setdefault((company, key), [])
        i = bisect.bisect_left(episodes, (at, ""))
        if i == len(episodes) or episodes[i][0] != at:
            episodes.insert(i, (at, incident))
            del episodes[:-EPISODES_KEPT]

    def restore_placement(self, company: str, alert: str, at: datetime) -> None:
        """An alert placed at `at` (event time): it counts in its company's storm window."""
        self._count_recent(company, alert, at)

    def merged(self, company: str, absorbed: str, into: str) -> None:
        """Remember that `absorbed` was merged into `into` (e.g. after a restart): its
        alerts' news goes to `into`."""
        self._merged[(company, absorbed)] = into
        self._merged_into.setdefault((company, into), set()).add(absorbed)

    def _target(self, company: str, incident: str) -> str:
        seen = 0
        while (company, incident) in self._merged and seen < 10:
            incident, seen = self._merged[(company, incident)], seen + 1
        return incident

    def forget(self, company: str, name: str) -> None:
        """An incident went away (deleted, or out of memory)."""
        gone = self._open_pop(company, name) or self._resolved_pop(company, name)
        if gone is not None:
            for alert in gone.alerts:
                if self._alerts.get((company, alert)) == name:
                    del self._alerts[(company, alert)]
        for absorbed in self._merged_into.pop((company, name), set()):
            self._merged.pop((company, absorbed), None)

    def forget_episodes(self, company: str, name: str) -> None:
        """A periodic history's incident is gone for good: its occurrences are forgotten."""
        for (owner, _), episodes in list(self._episodes.items()):
            if owner == company:
                episodes[:] = [(t, n) for t, n in episodes if n != name]

    def find(self, company: str, name: str | None) -> OpenIncident | None:
        """An incident correlation remembers, open or resolved (merges followed)."""
        if name is None:
            return None
        name = self._target(company, name)
        return self._open.get(company, {}).get(name) or self._resolved.get(company, {}).get(name)

    def where(self, company: str, alert: str) -> OpenIncident | None:
        """The incident (in memory) an alert is in."""
        return self.find(company, self._alerts.get((company, alert)))

    def confirmed(self, company: str, incident: str, alert: str) -> None:
        """The alert's own status now names its incident: the incident need not record the
        join any longer."""
        found = self.find(company, incident)
        if found is not None:
            found.joining.discard(alert)

    def prune(self, now: datetime) -> list[str]:
        """Let go of resolved incidents whose reopen window has passed (wall clock), the
        merges into them, and periodic histories older than the horizon; returns the
        incidents let go."""
        gone: list[str] = []
        while self._expiring and self._expiring[0][0] <= now:
            until, company, name = heapq.heappop(self._expiring)
            found = self._resolved.get(company, {}).get(name)
            if found is not None and found.keep_until == until:
                self.forget(company, name)
                gone.append(name)
        if self._episodes_pruned is None or now - self._episodes_pruned >= timedelta(hours=1):
            self._episodes_pruned = now
            for (company, key), episodes in list(self._episodes.items()):
                latest = self._latest.get(company)
                if latest is not None and episodes and episodes[-1][0] < latest - EPISODE_HORIZON:
                    del self._episodes[(company, key)]
        return gone

    def held(self) -> tuple[int, int, int, int]:
        """What memory holds: open incidents, resolved ones, merges, alerts."""
        return (
            sum(len(v) for v in self._open.values()),
            sum(len(v) for v in self._resolved.values()),
            len(self._merged),
            len(self._alerts),
        )

    # -- news of alerts and incidents ----------------------------------------------------

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
        found.member(facts.name)
        self._alerts[(company, facts.name)] = found.name
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

    def incident_resolved(
        self, company: str, incident: str, at: datetime, *, keep: timedelta = timedelta(0)
    ) -> OpenIncident | None:
        """The incident resolved (by its hold-down, a technician or automation) at `at`
        (wall clock): it may still reopen, and leaves memory `keep` after `at`."""
        found = self._open_pop(company, incident)
        if found is not None:
            # In event time: when its alerts stopped, not when the hold-down ran out.
            found.resolved_at = max(found.quiet_event or found.last_at, found.last_at)
            found.keep_until = at + keep
            self._resolved_add(found)  # after keep_until is set: it is queued to expire
        return found

    def workload(self) -> Counter[str]:
        """Open incidents per assigned technician."""
        return Counter(self._load)

    def assign(self, incident: OpenIncident, technician: str | None) -> None:
        """Who works the incident now (routing, or a technician taking it over): the load
        routing sees moves with it."""
        is_open = self._open.get(incident.company, {}).get(incident.name) is incident
        if is_open and incident.assignee:
            self._load[incident.assignee] -= 1
            if self._load[incident.assignee] <= 0:
                del self._load[incident.assignee]
        incident.assignee = technician
        if is_open and technician:
            self._load[technician] += 1

    def reopen(self, incident: OpenIncident) -> None:
        """Undo `incident_resolved` (its resolution could not be stored)."""
        self._resolved_pop(incident.company, incident.name)
        incident.resolved_at = None
        incident.keep_until = None
        self.remember(incident)

    def open_incidents(self, company: str) -> list[OpenIncident]:
        """The company's open incidents."""
        return list(self._open.get(company, {}).values())

    def companies(self) -> list[str]:
        """Companies with open incidents."""
        return [c for c, found in self._open.items() if found]

    # -- the decision ----------------------------------------------------------------------

    def decide(
        self,
        facts: AlertFacts,
        *,
        new_name: str,
        window: timedelta,
        depends_on: Mapping[str, Iterable[str]],
        reopen_window: timedelta = timedelta(0),
        storm_threshold: int | None = None,
        host_window: timedelta = timedelta(0),
    ) -> Decision:
        """Where the alert goes (the company's window and topology given); remembered."""

        def within(incident: OpenIncident) -> bool:
            return incident.first_at - window <= facts.at <= incident.last_at + window

        company = facts.company
        known = self.where(company, facts.name)
        if known is not None and known.resolved_at is None:
            return Decision(known.name, False, "already correlated", known.pattern)
        key = aggregation_key(facts.asset, facts.signal)
        episodes = self._episodes.setdefault((company, key), [])
        series_names = _periodic_series(episodes, facts.at)
        first = (company, series_names[0]) if series_names else None
        if first and self.find(*first) is None and first not in self._asked:
            # The series' first incident left memory: load it, then decide. The series is
            # always its first incident, whatever else memory still holds (a fast replay
            # keeps more in memory than event time would), so a replay decides the same.
            self._asked.add(first)
            return Decision(series_names[0], False, "a periodic series", "periodic", load=True)
        latest = self._latest.get(company)
        if latest is None or facts.at > latest:
            self._latest[company] = facts.at
        storm_key = f"storm|{facts.signal}"
        storming = list(self._open_by_key.get((company, storm_key), {}).values())
        raging = [
            i for i in storming if i.first_at - STORM_SPAN <= facts.at <= i.last_at + STORM_SPAN
        ]
        if raging or self._storming(facts, storm_threshold or self._storm_threshold):
            storms = raging or [i for i in storming if within(i)]
            if storms:
                incident = min(storms, key=lambda i: i.first_at)
                self._fold(incident, facts, pattern="storm")
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
        loud = SEVERITY_RANK.get(facts.severity, 0) > SEVERITY_RANK["low"]
        same = [
            i
            for i in self._open_by_key.get((company, key), {}).values()
            if within(i) and not (loud and i.noise)  # news is never folded into old noise
        ]
        if same:
            incident = min(same, key=lambda i: i.first_at)
            self._fold(incident, facts)
            return Decision(
                incident.name, False, f"same asset and signal ({key})", incident.pattern
            )
        upstream = upstream_of(facts.asset, depends_on)
        causes = [
            i
            for asset in upstream
            for i in self._down_by_asset.get((company, asset), {}).values()
            if within(i)
        ]
        if causes:
            incident = min(causes, key=lambda i: i.first_at)
            self._fold(incident, facts, pattern="cascade")
            return Decision(
                incident.name,
                False,
                f"{facts.asset} depends on "
                f"{incident.cause_asset}, which has {incident.cause_signal}",
                "cascade",
            )
        low = SEVERITY_RANK.get(facts.severity, 0) <= SEVERITY_RANK["low"]
        if host_window > timedelta(0) and low:  # news of medium or worse keeps its own
            on_host = [
                i
                for i in self._open_by_asset.get((company, facts.asset), {}).values()
                if i.pattern not in ("storm", "cascade")
                and not i.noise  # known noise takes in no other signal: that may be news
                and SEVERITY_RANK.get(i.severity, 0) <= SEVERITY_RANK["low"]
                and i.first_at - host_window <= facts.at <= i.last_at + host_window
            ]
            if on_host:
                incident = min(on_host, key=lambda i: i.first_at)
                self._fold(incident, facts, pattern="host")
                return Decision(
                    incident.name,
                    False,
                    f"another signal on {facts.asset} within {host_window} "
                    f"({incident.cause_signal}, {facts.signal})",
                    "host",
                )
        reopenable = [
            i
            for i in self._resolved_by_key.get((company, key), {}).values()
            if i.resolved_at is not None
            and i.resolved_at <= facts.at <= i.resolved_at + reopen_window
            and not (loud and i.noise)
        ]
        if reopenable:
            incident = max(reopenable, key=lambda i: i.resolved_at or i.last_at)
            quiet = quiet_for(facts.at - incident.last_at)
            self._reopen(incident, facts)
            return Decision(
                incident.name,
                False,
                f"{key} recurred after {quiet} quiet, soon after it resolved",
                incident.pattern,
                reopened=True,
            )
        if low and not series_names:  # known noise comes back to its incident, however late
            noise = self._known_noise(company, episodes, facts)
            if isinstance(noise, str):
                return Decision(noise, False, "known noise", "single", load=True)
            if noise is not None:
                quiet = quiet_for(facts.at - noise.last_at)
                self._reopen(noise, facts)
                return Decision(
                    noise.name,
                    False,
                    f"{key}, known noise (low, recurring), recurred after {quiet} quiet",
                    noise.pattern,
                    reopened=True,
                )
        series = next(
            (found for n in series_names if (found := self.find(company, n)) is not None), None
        )
        if series is not None and loud and series.noise:
            series = None  # a louder occurrence of known noise is news of its own
        if series is not None:
            reopened = series.resolved_at is not None
            if reopened:  # a periodic problem does not open a new incident each time
                self._reopen(series, facts)
            else:
                self._fold(series, facts)
            series.pattern = "periodic"
            absorbed = self._absorb_series(series, episodes)
            self._episode(series, key, facts.at)
            return Decision(
                series.name,
                False,
                f"{key} recurs at a regular interval",
                "periodic",
                reopened=reopened,
                absorbed=absorbed,
            )
        incident = self._new(facts, new_name=new_name, key=key)
        incident.recurring = any(t < facts.at for t, _ in episodes)
        self._episode(incident, key, facts.at)
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

    def _fold(
        self, incident: OpenIncident, facts: AlertFacts, *, pattern: str | None = None
    ) -> None:
        incident.fold(facts, pattern=pattern)
        self._alerts[(incident.company, facts.name)] = incident.name

    def _reopen(self, incident: OpenIncident, facts: AlertFacts) -> None:
        self._resolved_pop(incident.company, incident.name)
        incident.resolved_at = None
        incident.keep_until = None
        incident.reopened += 1
        incident.opened_at = facts.at
        incident.severity = facts.severity  # a new episode: its own severity, like a new one
        self._fold(incident, facts)
        self.remember(incident)

    def _known_noise(
        self, company: str, episodes: list[tuple[datetime, str]], facts: AlertFacts
    ) -> OpenIncident | str | None:
        """The resolved incident of the problem's latest occurrence when it is known noise
        (low or info only, and recurring): a low report of it reopens it rather than opening
        one more. Its name when it left memory (load it first); None when there is none."""
        earlier = [name for at, name in episodes if at < facts.at]
        if not earlier:
            return None
        found = self.find(company, earlier[-1])
        if found is None:
            if (company, earlier[-1]) in self._asked:
                return None  # asked for once and still not known: not correlation's to reopen
            self._asked.add((company, earlier[-1]))
            return earlier[-1]
        quiet = SEVERITY_RANK.get(found.severity, 0) <= SEVERITY_RANK["low"]
        if found.resolved_at is None or not quiet or not (found.reopened or found.recurring):
            return None
        return found

    def recur(self, incident: OpenIncident, facts: AlertFacts) -> timedelta:
        """A new episode of an open incident's problem (reported again after a quiet gap
        longer than the aggregation window): counted as a reopening, its SLA clock starts
        again; how long it was quiet."""
        quiet = facts.at - incident.last_at
        incident.reopened += 1
        incident.opened_at = facts.at
        incident.severity = facts.severity  # a new episode: its own severity, like a new one
        self._fold(incident, facts)
        return quiet

    def detach(
        self, company: str, incident: OpenIncident, alert: str, at: datetime, event_at: datetime
    ) -> None:
        """The alert leaves the incident (a louder report of known noise is news of its own):
        it no longer fires there, and is in no incident until placed again."""
        self.alert_resolved(company, incident.name, alert, at, event_at=event_at)
        if self._alerts.get((company, alert)) == incident.name:
            del self._alerts[(company, alert)]

    def continued(self, incident: OpenIncident, facts: AlertFacts) -> None:
        """A firing alert reported again (within its staleness timeout): the problem goes on,
        at the report's event time and severity."""
        self._fold(incident, facts)

    def _episode(self, incident: OpenIncident, key: str, at: datetime) -> None:
        """An occurrence of the problem, stood for by `incident`."""
        at = _as_stored(at)
        incident.episodes = sorted({*incident.episodes, at})[-EPISODES_KEPT:]
        self.restore_episode(incident.company, key, at, incident.name)

    def _absorb_series(
        self, series: OpenIncident, episodes: list[tuple[datetime, str]]
    ) -> tuple[str, ...]:
        """Once a problem is known to recur at a regular interval, the incidents its earlier
        occurrences opened (before the interval was clear) join the series' incident."""
        taken = []
        for name in sorted({n for _, n in episodes} - {series.name}):
            other = self._open_pop(series.company, name) or self._resolved_pop(series.company, name)
            if other is None:
                continue
            self._take(series, other, pattern="periodic")
            taken.append(name)
        return tuple(taken)

    def _take(self, into: OpenIncident, other: OpenIncident, *, pattern: str) -> None:
        into.absorb(other, pattern=pattern)
        self.merged(into.company, other.name, into.name)
        for alert in other.alerts:
            self._alerts[(into.company, alert)] = into.name

    def _absorb_storm_start(self, storm: OpenIncident, facts: AlertFacts) -> tuple[str, ...]:
        """The alerts that made the storm (before it reached the threshold) opened their own
        incidents: the storm takes in those of its signal from the same minute."""
        same_signal = self._open_by_signal.get((storm.company, facts.signal), {})
        taken = sorted(
            name
            for name, other in same_signal.items()
            if name != storm.name
            and other.pattern in ("single", "multi-source")
            and abs(other.first_at - facts.at) <= STORM_SPAN
        )
        for name in taken:
            self._take(storm, _popped(self._open_pop(storm.company, name)), pattern="storm")
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
        dependants = downstream_of(cause.cause_asset, depends_on) - {cause.cause_asset}
        taken = sorted(
            name
            for asset in dependants
            for name, other in self._open_by_asset.get((cause.company, asset), {}).items()
            if name != cause.name
            and other.pattern not in ("storm", "cascade")
            and other.first_at - window <= cause.first_at <= other.last_at + window
        )
        for name in taken:
            self._take(cause, _popped(self._open_pop(cause.company, name)), pattern="cascade")
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

    def _count_recent(self, company: str, alert: str, at: datetime) -> list[tuple[datetime, str]]:
        recent = self._recent.setdefault(company, [])
        entry = (at, alert)
        index = bisect.bisect_left(recent, entry)
        if index == len(recent) or recent[index] != entry:
            recent.insert(index, entry)
        horizon = max(recent[-1][0], _EARLIEST) - 2 * STORM_SPAN  # older deliveries are moot
        del recent[: bisect.bisect_left(recent, (horizon, ""))]
        return recent

    def _storming(self, facts: AlertFacts, threshold: int) -> bool:
        """Count the alert into its company's last minute (event time); is it a storm?"""
        recent = self._count_recent(facts.company, facts.name, facts.at)
        low = bisect.bisect_left(recent, (max(facts.at, _EARLIEST) - STORM_SPAN, ""))
        high = bisect.bisect_right(recent, (min(facts.at, _LATEST) + STORM_SPAN, "\uffff"))
        return high - low >= threshold
