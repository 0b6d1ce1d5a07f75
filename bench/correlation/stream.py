"""Correlation on a real stream: a labelled alert data set of point events (the AIT Alert
Data Set's shape: Wazuh, Suricata and AMiner on eleven hosts over four days, three quarters
false positives, ten attack phases) replayed with its event times through the operator's
decision core (`CorrelationService`: the code the operator runs, plans applied in memory,
its clock at event time), next to the host+signal and Alertmanager-style baselines,
computed on the same events in the same run.

    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/stream.py [--seed 7] [--scale 0.25]
    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/stream.py --alerts A.csv --phases P.json

Without `--alerts` it generates a synthetic stream of the data set's shape (see `synthetic`;
README.md says how it differs). With them it reads the data set's alert CSV (columns
`time,name,ip,host,short`, as the data set's `analyze.py` writes it; an optional `severity`
column, else every alert is `low`) and a JSON of its attack phases (`{"phase": [start,
end]}`, ISO or epoch seconds): an alert during a phase is labelled with it.

Reported per run: incidents opened per day, news per day (opened, reopened, raised),
purity (the share of events whose incident is mostly of their own label) and which phases
surface (one of their events opens, reopens or raises an incident while the phase runs).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from whisperer.operator.clock import ManualClock
from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.services.alerts import alert_name, fingerprint, iso
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.correlation.service import CorrelationService, Plan
from whisperer.operator.services.signals import classify

COMPANY = "ait"
NAMESPACE = f"company-{COMPANY}"
T0 = datetime(2022, 1, 21, 0, 0, tzinfo=UTC)
FALSE_POSITIVE = "false_positive"


@dataclass(frozen=True)
class Event:
    at: datetime
    host: str
    name: str
    severity: str
    label: str


@dataclass
class Outcome:
    """What one configuration made of the stream."""

    name: str
    incident_of: list[str] = field(default_factory=list)
    starts: list[bool] = field(default_factory=list)
    """Whether each event started an episode of its incident (opened or reopened it)."""
    newsy: list[bool] = field(default_factory=list)
    """Whether each event made news (opened, reopened or raised an incident)."""
    opened: int = 0
    news: int = 0
    writes: int = 0
    pages: int = 0
    """News on incidents that are not known noise (what notifies a technician)."""
    surfaced: set[str] = field(default_factory=set)
    seconds: float = 0.0


# -- the stream ------------------------------------------------------------------------------

NOISE: list[tuple[str, str, float, int, str]] = [
    # (host, name, mean minutes between bursts, events per burst, severity)
    ("mail", "Wazuh: ClamAV database update", 60, 6, "low"),
    ("davey_mail", "Wazuh: ClamAV database update", 60, 6, "low"),
    ("internal_share", "Suricata: ET POLICY GNU/Linux APT User-Agent Outbound", 120, 8, "low"),
    ("internal_share", "Wazuh: First time this IDS alert is generated", 240, 1, "low"),
    ("intranet_server", "Wazuh: PAM: User login failed", 25, 2, "low"),
    ("cloud_share", "Wazuh: PAM: User login failed", 30, 2, "low"),
    ("vpn", "Wazuh: PAM: User login failed", 40, 1, "low"),
    ("inet-firewall", "Suricata: ET SCAN Possible Nmap", 300, 3, "low"),
    ("inet-dns", "Wazuh: DNS query with a long domain name", 45, 2, "low"),
    ("monitoring", "AMiner: New value detected in the access log", 20, 3, "low"),
    ("intranet_server", "Wazuh: Service stopped", 720, 1, "low"),
    ("webserver", "Wazuh: Web server 400 error code", 35, 2, "low"),
    ("ext_user", "Wazuh: Integrity checksum changed", 180, 4, "low"),
]
PHASES: list[tuple[str, float, float, str, str, float, str]] = [
    # (phase, start hours after T0, minutes, host, name, seconds between events, severity)
    ("network_scans", 51.0, 50, "inet-firewall", "Suricata: ET SCAN Possible Nmap", 1, "medium"),
    ("service_scans", 51.85, 1, "intranet_server", "Suricata: ET SCAN Nmap NSE", 0.2, "high"),
    ("dirb", 51.87, 2, "intranet_server", "Wazuh: Multiple web server 400 errors", 0.05, "high"),
    ("wpscan", 51.9, 1, "intranet_server", "Suricata: ET WPScan user agent", 0.1, "high"),
    ("webshell", 51.92, 1, "intranet_server", "Wazuh: Webshell upload detected", 1, "critical"),
    ("cracking", 51.95, 35, "intranet_server", "Wazuh: PAM: User login failed", 0.5, "high"),
    (
        "reverse_shell",
        52.55,
        1,
        "intranet_server",
        "AMiner: New process by www-data",
        2,
        "critical",
    ),
    ("privilege_escalation", 52.6, 1, "intranet_server", "Wazuh: sudo to ROOT", 2, "high"),
    ("service_stop", 61.8, 0.05, "intranet_server", "Wazuh: Service stopped", 0.5, "medium"),
    ("dnsteal", 61.81, 60, "inet-dns", "Wazuh: DNS query with a long domain name", 3, "medium"),
]


def synthetic(seed: int, *, scale: float = 1.0, days: int = 4) -> list[Event]:
    """A stream of the data set's shape: recurring low-severity noise of normal operation
    (updates, login failures, scanners, anomaly detectors) on eleven hosts for `days`, and
    ten attack phases on day three, four of which (network scans, cracking, service stop,
    DNS exfiltration) come as the same host and signal as noise, at a higher severity.
    `scale` thins the noise (1.0: about 45,000 alerts in all)."""
    rng = random.Random(seed)
    out: list[Event] = []
    end = T0 + timedelta(days=days)
    for host, name, gap, burst, severity in NOISE:
        at = T0 + timedelta(minutes=rng.uniform(0, gap))
        while at < end:
            for k in range(burst):
                out.append(
                    Event(at + timedelta(seconds=5 * k), host, name, severity, FALSE_POSITIVE)
                )
            at += timedelta(minutes=rng.expovariate(1 / gap) if gap < 200 else gap)
    extra = int(len(out) * 7)  # chatter: the bulk of false positives, single events
    hosts = sorted({h for h, *_ in NOISE})
    names = [n for _, n, *_ in NOISE]
    for _ in range(extra):
        at = T0 + timedelta(seconds=rng.uniform(0, days * 86400))
        out.append(Event(at, rng.choice(hosts), rng.choice(names), "low", FALSE_POSITIVE))
    for phase, start, minutes, host, name, every, severity in PHASES:
        at = T0 + timedelta(hours=start)
        stop = at + timedelta(minutes=minutes)
        while at <= stop:
            out.append(Event(at, host, name, severity, phase))
            at += timedelta(seconds=every * rng.uniform(0.5, 1.5))
    if scale < 1.0:  # thinned alike: the share of false positives stays
        out = [e for e in out if rng.random() < scale]
    return sorted(out, key=lambda e: (e.at, e.host, e.name))


def _time(value: str) -> datetime:
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def read_dataset(
    alerts: str, phases: str
) -> tuple[list[Event], dict[str, tuple[datetime, datetime]]]:
    """The data set's alert CSV and its phases (see the module)."""
    with Path(phases).open(encoding="utf-8") as f:
        spans = {k: (_time(str(v[0])), _time(str(v[1]))) for k, v in json.load(f).items()}
    attack = {k: v for k, v in spans.items() if not k.startswith("false_positive")}
    out: list[Event] = []
    with Path(alerts).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            at = _time(row["time"])
            label = next((p for p, (a, b) in attack.items() if a <= at <= b), FALSE_POSITIVE)
            out.append(Event(at, row["host"], row["name"], row.get("severity") or "low", label))
    return sorted(out, key=lambda e: (e.at, e.host, e.name)), attack


def phase_spans(events: Iterable[Event]) -> dict[str, tuple[datetime, datetime]]:
    spans: dict[str, tuple[datetime, datetime]] = {}
    for e in events:
        if e.label != FALSE_POSITIVE:
            a, b = spans.get(e.label, (e.at, e.at))
            spans[e.label] = (min(a, e.at), max(b, e.at))
    return spans


# -- the operator's decision core, in memory ---------------------------------------------


class Core:
    """CorrelationService with its plans applied in memory, on a clock at event time."""

    def __init__(self, incidents: dict[str, Any], start: datetime) -> None:
        self.config = ConfigStore()
        company = {
            "apiVersion": API_VERSION,
            "kind": "Company",
            "metadata": {"name": COMPANY},
            "spec": {"displayName": COMPANY, "slaPolicyRef": {"name": "x"}, "incidents": incidents},
        }
        self.config.apply("companies", "ADDED", company)
        self.clock = ManualClock(start)
        self.service = CorrelationService(config=self.config, clock=self.clock)
        self._wake = start
        """When the operator's auto-resolution loop would look next."""
        self.service.on_change = lambda: setattr(self, "_wake", self.clock.now())
        self.alerts: dict[str, dict[str, Any]] = {}
        self.incidents: dict[str, dict[str, Any]] = {}
        self.writes = 0
        """Status writes the plans call for: one per incident a plan changes, one per alert."""

    def report(self, event: Event) -> tuple[str, set[str], bool]:
        """One report of the event's alert; the incident it is in now, and what news its
        handling made (Opened, Reopened, SeverityRaised)."""
        self._run_timers_until(event.at)
        if event.at > self.clock.now():
            self.clock.set(event.at)
        signal = classify(event.name, source="generic")
        fp = fingerprint(company=COMPANY, source="generic", identity=f"{event.host}|{signal.name}")
        name = alert_name(fp)
        body = self.alerts.get(name)
        at = iso(event.at)
        if body is None:
            body = {
                "apiVersion": API_VERSION,
                "kind": "Alert",
                "metadata": {"name": name, "namespace": NAMESPACE, "generation": 0},
                "spec": {
                    "fingerprint": fp,
                    "source": "generic",
                    "asset": {"name": event.host, "known": True},
                    "signal": signal.name,
                    "rawSignal": event.name,
                    "state": "firing",
                    "labels": {"signal_category": signal.category},
                    "firstSeen": at,
                },
                "status": {},
            }
            self.alerts[name] = body
        body["metadata"]["generation"] += 1
        body["spec"].update(
            lastSeen=max(at, body["spec"].get("lastSeen", at)), severity=event.severity
        )
        news: set[str] = set()
        plan = self.service.handle_alert(body)
        for _ in range(10):  # an incident it needs left memory: load it, as the executor does
            if plan is None or plan.load is None:
                break
            self.service.load(self.incidents[plan.load])
            plan = self.service.handle_alert(body)
        if plan is not None:
            news |= self._apply(plan)
        ref = (body["status"].get("incidentRef") or {}).get("name", "")
        status = self.incidents.get(ref, {}).get("status", {})
        noise = bool((status.get("correlation") or {}).get("noise"))
        return ref, news, noise

    def _run_timers_until(self, until: datetime) -> None:
        """What the operator's auto-resolution loop does up to the next report's time: it
        looks at each time it asked for (an alert going stale, a hold-down ending), when the
        service says something is due earlier (`on_change`), and at least once a minute."""
        while self._wake <= until:
            if self._wake > self.clock.now():
                self.clock.set(self._wake)
            plans, due = self.service.auto_resolve()
            for p in plans:
                self._apply(p)
            now = self.clock.now()
            later = now + timedelta(minutes=1)
            self._wake = max(min(due, later) if due else later, now + timedelta(microseconds=1))

    def _apply(self, plan: Plan) -> set[str]:
        news: set[str] = set()
        self.writes += len({step.name for step in plan.steps}) + len(plan.also)
        self.writes += plan.alert_status is not None
        if plan.load is not None or plan.retry_after is not None:
            raise RuntimeError(f"unexpected plan: load {plan.load}, retry {plan.retry_after}")
        for step in plan.steps:
            incident = self.incidents.setdefault(
                step.name,
                step.change.create
                or {"metadata": {"name": step.name, "namespace": step.namespace}},
            )
            stored = incident.setdefault("status", {})
            for key, value in step.change.fields.items():
                if value is None:
                    stored.pop(key, None)
                else:
                    stored[key] = value
            if step.change.create is not None:
                news.add("Opened")
            news |= {e["type"] for e in step.change.timeline} & {"Reopened", "SeverityRaised"}
        for name, status, sequence in plan.also:
            self.alerts[name]["status"].update(status)
            self.service.written_also(plan.namespace, name, sequence)
        if plan.alert_status is not None:
            self.alerts[plan.alert]["status"].update(plan.alert_status)
            self.service.written(plan.namespace, plan.alert, plan)
        return news


def run_core(name: str, events: Sequence[Event], incidents: dict[str, Any]) -> Outcome:
    out = Outcome(name)
    core = Core(incidents, events[0].at)
    spans = phase_spans(events)
    started = time.process_time()
    for e in events:
        incident, news, noise = core.report(e)
        out.incident_of.append(incident)
        out.starts.append(bool(news & {"Opened", "Reopened"}))
        out.newsy.append(bool(news))
        out.opened += "Opened" in news
        out.news += bool(news)
        out.pages += bool(news) and not noise
        if news and e.label in spans:
            out.surfaced.add(e.label)
    out.seconds = time.process_time() - started
    out.writes = core.writes
    return out


# -- baselines, on the same events -------------------------------------------------------


def host_signal(events: Sequence[Event]) -> Outcome:
    """One incident per host and signal, ever: what a point event that never resolves made
    of the stream before (every later event folds into the first incident)."""
    out = Outcome("host+signal")
    seen: set[tuple[str, str]] = set()
    for e in events:
        key = (e.host, classify(e.name, source="generic").name)
        new = key not in seen
        if new:
            seen.add(key)
            out.opened += 1
            out.news += 1
            out.pages += 1
            if e.label != FALSE_POSITIVE:
                out.surfaced.add(e.label)
        out.incident_of.append("|".join(key))
        out.starts.append(new)
    return out


def alertmanager_style(events: Sequence[Event], *, timeout: timedelta) -> Outcome:
    """Alertmanager's way: group by alert name and instance; an alert not renewed within
    its resolve_timeout resolves, and the next one starts a new group."""
    out = Outcome(f"alertmanager-style ({int(timeout.total_seconds() // 60)}m)")
    last: dict[tuple[str, str], tuple[datetime, int]] = {}
    for e in events:
        key = (e.host, e.name)
        found = last.get(key)
        if found is None or e.at - found[0] > timeout:
            group = (found[1] + 1) if found else 0
            out.opened += 1
            out.news += 1
            out.pages += 1
            if e.label != FALSE_POSITIVE:
                out.surfaced.add(e.label)
        else:
            group = found[1]
        out.starts.append(found is None or found[1] != group)
        last[key] = (e.at, group)
        out.incident_of.append(f"{e.host}|{e.name}|{group}")
    return out


# -- scores --------------------------------------------------------------------------------


def purity(events: Sequence[Event], incident_of: Sequence[str]) -> float:
    """The share of events whose incident is mostly of their own label."""
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for e, incident in zip(events, incident_of, strict=True):
        labels[incident][e.label] += 1
    mostly = {i: c.most_common(1)[0][0] for i, c in labels.items()}
    good = sum(mostly[i] == e.label for e, i in zip(events, incident_of, strict=True))
    return good / len(events)


def longest(events: Sequence[Event], outcome: Outcome) -> float:
    """The longest episode (from the event that opened or reopened an incident to the last
    event before the next such), in hours: how long one stretch of news can hide in."""
    current: dict[str, tuple[datetime, datetime]] = {}
    best = 0.0
    for e, incident, start in zip(events, outcome.incident_of, outcome.starts, strict=True):
        a, b = current.get(incident, (e.at, e.at))
        if start:
            best = max(best, (b - a).total_seconds())
            a = e.at
        current[incident] = (a, e.at)
    best = max([best, *((b - a).total_seconds() for a, b in current.values())])
    return best / 3600


def report(events: Sequence[Event], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    days = max((events[-1].at - events[0].at).total_seconds() / 86400, 1.0)
    phases = sorted(phase_spans(events))
    rows = {}
    for o in outcomes:
        rows[o.name] = {
            "incidents_per_day": round(o.opened / days, 1),
            "news_per_day": round(o.news / days, 1),
            "pages_per_day": round(o.pages / days, 1),
            "purity": round(purity(events, o.incident_of), 3),
            "longest_episode_hours": round(longest(events, o), 1),
            "phases_surfaced": f"{len(o.surfaced & set(phases))}/{len(phases)}",
            "missed": sorted(set(phases) - o.surfaced),
            "us_per_event": round(o.seconds / len(events) * 1e6) if o.seconds else None,
            "writes_per_event": round(o.writes / len(events), 2) if o.writes else None,
        }
    return {
        "events": len(events),
        "false_positive_share": round(
            sum(e.label == FALSE_POSITIVE for e in events) / len(events), 3
        ),
        "days": round(days, 2),
        "runs": rows,
    }


DEFAULTS = "operator (defaults: staleness, host off)"


def stream_arguments(parser: argparse.ArgumentParser, *, scale: float = 0.25) -> None:
    """The options that choose the stream (synthetic, or the data set's files)."""
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--scale", type=float, default=scale, help="synthetic noise kept (1.0: ~45k)"
    )
    parser.add_argument("--alerts", help="the data set's alert CSV (see the module)")
    parser.add_argument("--phases", help="the data set's attack phases, JSON")


def stream_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Event]:
    """The stream the options chose."""
    if args.alerts:
        if not args.phases:
            parser.error("--alerts needs --phases")
        events, _ = read_dataset(args.alerts, args.phases)
        return events
    return synthetic(args.seed, scale=args.scale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stream_arguments(parser)
    args = parser.parse_args(argv)
    events = stream_of(parser, args)
    outcomes = [
        host_signal(events),
        alertmanager_style(events, timeout=timedelta(minutes=5)),
        run_core(DEFAULTS, events, {}),
        run_core("operator, hostWindow 1m", events, {"hostWindow": "1m"}),
        run_core("operator, hostWindow 5m", events, {"hostWindow": "5m"}),
        run_core("operator, hostWindow 15m", events, {"hostWindow": "15m"}),
        run_core("operator, staleness off", events, {"staleAfter": {"generic": "0s"}}),
    ]
    json.dump(report(events, outcomes), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
