"""The stream of bench/correlation/stream.py through the real shim and the real operator:
every event posted to the webhook's generic endpoint with its event time, in event-time
order, then the Alerts and Incidents read back from the API server and scored with
stream.py's functions, next to stream.py's in-memory run of the decision core (defaults)
and its two baselines, on the same events in the same run.

    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/stream_live.py [--seed 7] [--scale 0.15]
    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/stream_live.py --alerts A.csv \
        --phases P.json

1. `hack/cluster up` (which reuses a running cluster), the install manifests and the
   premium-24x7 SLA policy; the operator (`whisperer-operator`, its own process, as the
   `operator` identity); one Company of its own (no inventory: every host is as given, as
   in the in-memory run; a rate limit the replay stays under); its webhook key from the
   credentials Secret the operator issues; the shim (`whisperer-webhook`, its own process,
   as the `webhook` identity) on a free loopback port.
2. The events, posted one per request to `/v1/alerts/generic` (`occurred_at`: the event
   time; `tool_source: wazuh`; a delivery id per event, so two reports alike are still
   two), started strictly in event-time order. Per alert one report at a time: the next
   report of an alert is posted only once the previous one is accounted for, so the shim
   never folds two into one write. Accounted for means: answered 2xx (durable: its own
   write of the Alert, which the operator's informer hands over in order), and, where the
   operator writes the alert's status for it, `status.reportedAt` has reached the report's
   time. The operator writes it for an alert's first report, a report a minute or more of
   event time after the last one written (`REPORT_GRAIN`), a report louder than its
   incident, a loud report on known noise, and a report of an alert whose incident is
   resolved or that went stale; a chatty report within the grain is kept in memory only
   and has nothing to wait for (waiting on it would never end). Such a wait gives up after
   `--confirm-timeout` seconds (counted as unconfirmed).
   Across alerts, up to `--in-flight` reports are pending at once, and a report is written
   before a pending report of another alert only if it is at most `--span` seconds of
   event time ahead of it, or if none of that alert's deadlines lies between the two (a
   minute of margin either side): stale `staleAfter` after its report before, its incident
   resolved a hold-down after that, the reopen window ending after that (a first report
   has none). The operator decides in the API server's order, and staleness and the
   resolutions are the decisions that read the company's event time rather than the
   report's own; a report is never written ahead of another of its own alert.
   With a host window (`--host-window`), a report never overtakes a pending report on the
   same host: which of the host's alerts came first decides whether the next joins.
   `--strict-order` keeps to the span alone (slower).
3. Once every report is accounted for and the operator has gone quiet, every Alert and
   Incident is read back. Per event: its incident is the alert's `status.incidentRef` as
   the operator wrote it for that report (the first status with `reportedAt` at the
   report's time, from a watch of the Alerts during the run), else as it stood when the
   report was posted. News (timeline entries Opened, Reopened, SeverityRaised) comes from a
   watch of the Incidents: each entry is the news of the report the incident names as its
   latest alert at its `lastAt` (event time); it pages unless that write of the incident
   says `correlation.noise`. The final read of the Incidents gives the same counts as a
   check (the timeline keeps 100 entries per incident).

Reported: stream.py's report (incidents, news and pages per day, purity, longest episode,
phases surfaced) for host+signal, Alertmanager-style, the in-memory core and the live run;
events per second posted, the shim's answers (2xx, non-2xx by status), reports confirmed
and unconfirmed, the operator's warnings and errors, and how far the live grouping agrees
with the in-memory core's (pairwise, and events whose incident does not match
one-to-one). JSON, then a short table. Nothing is written into the repository; the logs go
to a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from whisperer.operator.clock import parse_time
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.client import load_connection
from whisperer.operator.models.v1alpha1 import GROUP, VERSION
from whisperer.operator.services.alerts import iso
from whisperer.operator.services.correlation.priority import SEVERITY_RANK
from whisperer.operator.services.correlation.service import REPORT_GRAIN
from whisperer.operator.services.credentials import Credentials
from whisperer.operator.services.facts import CompanyFacts, facts_of
from whisperer.operator.services.tenancy import credentials_secret_name, namespace_name

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the other benches' plumbing, generator and scores
from e2e_cluster import (  # noqa: E402
    REPO,
    cluster_identities,
    kubectl,
    log_summary,
    namespace_gone,
    pct,
    quiet,
    resource_version,
    session,
    start_operator,
    stop_process,
    wait_for,
    watch,
)
from run import pairs  # noqa: E402
from stream import (  # noqa: E402
    DEFAULTS,
    Event,
    Outcome,
    alertmanager_style,
    host_signal,
    report,
    run_core,
    stream_arguments,
    stream_of,
)

API = f"{GROUP}/{VERSION}"
NEWS = ("Opened", "Reopened", "SeverityRaised")
MARGIN = timedelta(minutes=1)
"""How far event time may run past the reports (it runs on with the wall clock)."""


def deadlines_of(facts: CompanyFacts) -> list[timedelta]:
    """When, after an alert's report, something happens to it or its incident in event
    time unless it is reported again: it goes stale, its incident resolves after the
    hold-down, the reopen window after that ends."""
    stale = facts.stale_after.get("generic")
    if stale is None:
        return []
    return [stale, stale + facts.hold_down, stale + facts.hold_down + facts.reopen_window]


def second(text: str) -> str:
    """An RFC 3339 time to the second: the operator stores its status times so."""
    return text[:19]


LIVE = "live: shim + operator (defaults)"
DEFAULT_SCALE = 0.15
"""7,019 events, 10.7 minutes on two shared cores; 0.25 (stream.py's default,
11,688 events) took 16.5 minutes there (README.md)."""


# -- the shim ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_shim(kubeconfig: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`whisperer-webhook` in its own process, as the given identity, on loopback."""
    program = Path(sys.executable).with_name("whisperer-webhook")
    args = [str(program), "--kubeconfig", kubeconfig, "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)


def company_body(name: str, incidents: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Company",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "slaPolicyRef": {"name": "premium-24x7"},
            "deletionPolicy": "Delete",
            "webhook": {"rateLimit": {"requestsPerSecond": 2000, "burst": 2000}},
            **({"incidents": incidents} if incidents else {}),
        },
    }


async def shim_ready(url: str, key: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the shim answers and knows the company's key (an empty batch is a 400 then,
    not a 401)."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the shim exited (its log: {log})")
            with contextlib.suppress(aiohttp.ClientError):
                headers = {"X-API-Key": key, "Content-Type": "application/json"}
                async with http.post(f"{url}/v1/alerts/generic", data=b"[]", headers=headers) as r:
                    if r.status not in (401, 503):
                        return
            if time.monotonic() > deadline:
                raise SystemExit("the shim did not come up, or does not know the company's key")
            await asyncio.sleep(0.5)


# -- what the watches saw --------------------------------------------------------------------


@dataclass
class Seen:
    """The Alerts' and Incidents' versions as the watches delivered them."""

    namespace: str
    seq: int = 0
    alert: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> latest status
    versions: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    """alert -> (seq, reportedAt, incidentRef) of each version, in watch order."""
    incident: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> latest status
    entries: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)
    news: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    """(incident, type, latest alert, lastAt, noise) of each news entry as it appeared."""
    waiters: dict[str, list[tuple[str, asyncio.Future[None]]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def alert_seen(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if meta.get("namespace") != self.namespace or kind == "DELETED":
            return
        name, status = meta["name"], obj.get("status") or {}
        self.seq += 1
        self.alert[name] = status
        reported = str(status.get("reportedAt") or "")
        ref = (status.get("incidentRef") or {}).get("name") or ""
        history = self.versions.setdefault(name, [])
        if not history or history[-1][1:] != (reported, ref):
            history.append((self.seq, reported, ref))
        waiting = self.waiters.get(name)
        if waiting:
            left = []
            for at, future in waiting:
                if second(reported) >= second(at) and not future.done():
                    future.set_result(None)
                elif not future.done():
                    left.append((at, future))
            self.waiters[name] = left

    def incident_seen(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if meta.get("namespace") != self.namespace or kind == "DELETED":
            return
        name, status = meta["name"], obj.get("status") or {}
        self.incident[name] = status
        known = self.entries.setdefault(name, set())
        alerts = status.get("alerts") or {}
        latest = (alerts.get("latest") or {}).get("name") or ""
        noise = bool((status.get("correlation") or {}).get("noise"))
        for entry in status.get("timeline") or []:
            key = (str(entry.get("type")), str(entry.get("actor")), str(entry.get("at")))
            if key in known:
                continue
            known.add(key)
            if key[0] in NEWS:
                self.news.append((name, key[0], latest, str(alerts.get("lastAt") or ""), noise))

    async def reported(self, alert: str, at: str, patience: float) -> bool:
        """Until the alert's status.reportedAt reaches `at` (False: it did not in time)."""
        if second(str(self.alert.get(alert, {}).get("reportedAt") or "")) >= second(at):
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(alert, []).append((at, future))
        try:
            await asyncio.wait_for(future, patience)
        except TimeoutError:
            return False
        return True

    def will_write(self, alert: str | None, e: Event) -> bool:
        """Whether the operator writes the alert's status for this report (stated at the
        top: it then has something to wait for)."""
        if alert is None or alert not in self.alert:
            return True  # its first report (or the first is not in yet)
        status = self.alert[alert]
        reported = parse_time(status.get("reportedAt"))
        if reported is None or e.at - reported >= REPORT_GRAIN:
            return True
        if status.get("resolvedBy") or status.get("staleAt"):
            return True
        ref = (status.get("incidentRef") or {}).get("name")
        incident = self.incident.get(ref or "", {})
        if not incident or incident.get("phase") == "Resolved":
            return True
        rank = SEVERITY_RANK.get(e.severity, 0)
        if rank > SEVERITY_RANK.get((incident.get("rules") or {}).get("severity") or "", 0):
            return True
        noise = bool((incident.get("correlation") or {}).get("noise"))
        return noise and rank > SEVERITY_RANK["low"]


# -- the replay ------------------------------------------------------------------------------


@dataclass
class Posted:
    alert: list[str | None]
    posted_seq: list[int]
    answers: Counter[str] = field(default_factory=Counter)
    confirmed: int = 0
    unconfirmed: int = 0
    not_waited: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    held_s: Counter[str] = field(default_factory=Counter)
    """Seconds the replay waited to start a report, by what held it."""


async def replay(
    events: list[Event],
    *,
    url: str,
    key: str,
    seen: Seen,
    tag: str,
    in_flight: int,
    span: timedelta,
    deadlines: list[timedelta] | None,
    confirm_timeout: float,
    same_host: bool = False,
) -> Posted:
    """Post every event in event-time order (see the module for the rules)."""
    out = Posted(alert=[None] * len(events), posted_seq=[0] * len(events))
    pending: dict[int, Event] = {}
    busy: set[tuple[str, str]] = set()
    name_of: dict[tuple[str, str], str] = {}
    changed = asyncio.Condition()
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=60)

    async def one(http: aiohttp.ClientSession, i: int, e: Event) -> None:
        body = {
            "asset_name": e.host,
            "signature": e.name,
            "severity": e.severity,
            "occurred_at": iso(e.at),
            "tool_source": "wazuh",
        }
        headers = {"X-API-Key": key, "X-Delivery-ID": f"{tag}-{i}"}
        started = time.perf_counter()
        try:
            for _ in range(30):
                try:
                    async with http.post(
                        f"{url}/v1/alerts/generic", json=body, headers=headers
                    ) as response:
                        answer = await response.json(content_type=None)
                        out.answers[str(response.status)] += 1
                        if response.status in (429, 503):
                            await asyncio.sleep(float(response.headers.get("Retry-After", 1)))
                            continue
                        break
                except (aiohttp.ClientError, TimeoutError) as exc:
                    out.answers[type(exc).__name__] += 1
                    await asyncio.sleep(0.5)
            else:
                out.failed += 1
                return
            if not 200 <= response.status < 300:
                out.failed += 1
                if out.failed <= 3:
                    print(f"event {i}: {response.status} {answer}", file=sys.stderr)
                return
            alert = str(answer["alerts"][0])
            name_of[(e.host, e.name)] = alert
            out.alert[i] = alert
            if seen.will_write(wrote_before.get(i), e):
                if await seen.reported(alert, iso(e.at), confirm_timeout):
                    out.confirmed += 1
                else:
                    out.unconfirmed += 1
            else:
                out.not_waited += 1
            out.latencies.append(time.perf_counter() - started)
        finally:
            async with changed:
                del pending[i]
                del before[i]
                busy.discard((e.host, e.name))
                changed.notify_all()

    wrote_before: dict[int, str | None] = {}

    previous: dict[tuple[str, str], datetime] = {}  # alert -> its latest report started
    before: dict[int, datetime | None] = {}  # pending report -> its alert's report before

    def overtakes(e: Event, j: int) -> bool:
        """Whether `e` may be written before the pending report `j` of another alert: never
        on the same host when the company has a host window; else when it is within the
        span, or none of the deadlines of `j`'s alert (its report before plus `deadlines`)
        falls between the two (a first report has none)."""
        p, last = pending[j], before[j]
        if same_host and p.host == e.host:
            return False  # a host window reads the host's other alerts: their order counts
        if e.at - p.at <= span:
            return True
        if deadlines is None:
            return False  # --strict-order: the span only
        if last is None:
            return True
        return not any(p.at - MARGIN < last + d <= e.at + MARGIN for d in deadlines)

    def held(e: Event) -> str | None:
        """What keeps `e` from starting now (None: nothing)."""
        if (e.host, e.name) in busy:
            return "its alert's report before"
        if len(pending) >= in_flight:
            return "in flight"
        return None if all(overtakes(e, j) for j in pending) else "event-time order"

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for i, e in enumerate(events):
            async with changed:
                reason = held(e)
                if reason is not None:
                    waited = time.perf_counter()
                    await changed.wait_for(lambda e=e: held(e) is None)
                    out.held_s[reason] += time.perf_counter() - waited
                pending[i] = e
                before[i] = previous.get((e.host, e.name))
                previous[(e.host, e.name)] = e.at
                busy.add((e.host, e.name))
            wrote_before[i] = name_of.get((e.host, e.name))
            out.posted_seq[i] = seen.seq
            task = asyncio.create_task(one(http, i, e))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if i and i % 1000 == 0:
                rate = i / (time.perf_counter() - started)
                print(f"posted {i}/{len(events)} ({rate:.1f}/s)", file=sys.stderr)
        async with changed:
            await changed.wait_for(lambda: not pending)
    out.seconds = time.perf_counter() - started
    return out


async def live_run(
    admin_cfg: str,
    events: list[Event],
    namespace: str,
    *,
    url: str,
    key: str,
    tag: str,
    args: argparse.Namespace,
    deadlines: list[timedelta] | None,
) -> tuple[Posted, Seen, float]:
    """Replay the stream with watches on the Alerts and Incidents; the seconds the
    operator took to go quiet after the last report was accounted for."""
    seen = Seen(namespace)
    async with session(load_connection(admin_cfg)) as http:
        watches = [
            asyncio.create_task(
                watch(http, plural, await resource_version(http, plural), handler, seen.errors)
            )
            for plural, handler in (("alerts", seen.alert_seen), ("incidents", seen.incident_seen))
        ]
        posted = await replay(
            events,
            url=url,
            key=key,
            seen=seen,
            tag=tag,
            in_flight=args.in_flight,
            span=timedelta(seconds=args.span),
            deadlines=deadlines,
            confirm_timeout=args.confirm_timeout,
            same_host=bool(args.host_window),
        )
        settle = time.perf_counter()
        await quiet(http, limit=60)
        await asyncio.sleep(2)  # the watches' last events
        settled = time.perf_counter() - settle
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
    return posted, seen, settled


# -- the live run's outcome --------------------------------------------------------------------


def live_outcome(events: list[Event], posted: Posted, seen: Seen) -> tuple[Outcome, int]:
    """stream.py's Outcome of the live run (see the module), and the news entries that
    could not be given to a report."""
    out = Outcome(LIVE)
    at_of: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(events):
        alert = posted.alert[i]
        if alert is None:
            out.incident_of.append("")
            continue
        at = second(iso(e.at))
        at_of[(alert, at)].append(i)
        history = seen.versions.get(alert, [])
        written = next((ref for _, rep, ref in history if second(rep) == at and ref), None)
        if written is None:
            before = bisect.bisect_right([s for s, _, _ in history], posted.posted_seq[i])
            found = [ref for _, _, ref in history[:before] if ref]
            written = found[-1] if found else next((r for _, _, r in history if r), "")
        out.incident_of.append(written)
    kinds: dict[int, set[str]] = defaultdict(set)
    paging: set[int] = set()
    orphans = 0
    for _, kind, latest, last_at, noise in seen.news:
        found = at_of.get((latest, second(last_at)))
        if not found:
            orphans += 1
            continue
        i = found[0]
        kinds[i].add(kind)
        if not noise:
            paging.add(i)
    for i, e in enumerate(events):
        news = kinds.get(i, set())
        out.starts.append(bool(news & {"Opened", "Reopened"}))
        out.newsy.append(bool(news))
        out.opened += "Opened" in news
        out.news += bool(news)
        out.pages += i in paging
        if news and e.label != "false_positive":
            out.surfaced.add(e.label)
    return out, orphans


def read_back(admin: KubeClient, namespace: str, days: float) -> dict[str, Any]:
    """What the API server holds afterwards: Alerts, Incidents and their timelines."""
    alerts = admin.list("alerts", namespace)
    incidents = admin.list("incidents", namespace)
    entries: Counter[str] = Counter()
    pages = 0
    for incident in incidents:
        status = incident.get("status") or {}
        noise = bool((status.get("correlation") or {}).get("noise"))
        for entry in status.get("timeline") or []:
            if entry.get("type") in NEWS:
                entries[str(entry["type"])] += 1
                pages += not noise
    return {
        "alerts": len(alerts),
        "incidents": len(incidents),
        "news_entries": dict(entries),
        "incidents_per_day": round(entries["Opened"] / days, 1),
        "news_entries_per_day": round(sum(entries.values()) / days, 1),
        "news_entries_on_not_noise_per_day": round(pages / days, 1),
        "noise_incidents": sum(
            bool(((i.get("status") or {}).get("correlation") or {}).get("noise")) for i in incidents
        ),
        "alerts_unplaced": sum(not (a.get("status") or {}).get("incidentRef") for a in alerts),
    }


def agreement(events: list[Event], live: Outcome, memory: Outcome) -> dict[str, Any]:
    """How far the live grouping is the in-memory core's: pairwise, and the events whose
    live incident is not matched one-to-one with their in-memory one (the incidents paired
    greedily by the events they share)."""
    ids = [str(i) for i in range(len(events)) if live.incident_of[i]]
    a = {i: live.incident_of[int(i)] for i in ids}
    b = {i: memory.incident_of[int(i)] for i in ids}
    overlap = Counter((a[i], b[i]) for i in ids)
    matched: dict[str, str] = {}
    taken: set[str] = set()
    for (x, y), _ in overlap.most_common():
        if x not in matched and y not in taken:
            matched[x] = y
            taken.add(y)
    apart = [int(i) for i in ids if matched.get(a[i]) != b[i]]
    both = list(zip(live.newsy, memory.newsy, strict=True))
    examples = [
        {
            "event": i,
            "at": iso(events[i].at),
            "host": events[i].host,
            "name": events[i].name,
            "severity": events[i].severity,
            "label": events[i].label,
            "live": live.incident_of[i],
            "in_memory": memory.incident_of[i],
            "news_live": live.newsy[i],
            "news_in_memory": memory.newsy[i],
        }
        for i in apart[:5]
    ]
    scores = pairs(a, b) if ids else {}
    return {
        "events_compared": len(ids),
        "pairwise_vs_in_memory": {k: round(v, 4) for k, v in scores.items()},
        "events_grouped_apart": len(apart),
        "events_grouped_apart_share": round(len(apart) / len(ids), 4) if ids else None,
        "incidents_live": len(set(a.values())),
        "incidents_in_memory": len(set(b.values())),
        "news_events_both": sum(x and y for x, y in both),
        "news_events_live_only": sum(x and not y for x, y in both),
        "news_events_in_memory_only": sum(y and not x for x, y in both),
        "first_apart": examples,
    }


# -- the run ---------------------------------------------------------------------------------


def stop(
    admin: KubeClient,
    company: str,
    namespace: str,
    operator: subprocess.Popen[bytes],
    shim: subprocess.Popen[bytes] | None,
    results: dict[str, Any],
) -> None:
    """Stop the shim; delete the company while the operator still runs (the company
    carries Kopf's finalizer, which only it removes); then stop the operator."""
    if shim is not None:
        stop_process(shim)
    teardown = time.perf_counter()
    with contextlib.suppress(Exception):
        admin.delete_custom("companies", company)
    try:
        wait_for(lambda: namespace_gone(admin, namespace), timeout=300, what="the namespace to go")
        results["teardown_s"] = round(time.perf_counter() - teardown, 1)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
    stop_process(operator)
    admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stream_arguments(parser, scale=DEFAULT_SCALE)
    parser.add_argument("--in-flight", type=int, default=16, help="reports pending at once")
    parser.add_argument(
        "--span", type=float, default=30, help="event-time seconds ahead of the earliest pending"
    )
    parser.add_argument(
        "--confirm-timeout", type=float, default=10, help="seconds to wait for reportedAt"
    )
    parser.add_argument(
        "--strict-order",
        action="store_true",
        help="never more than --span ahead of a pending report (slower)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the company, operator and shim running"
    )
    parser.add_argument(
        "--host-window", help="the company's hostWindow, live and in memory (default: unset)"
    )
    args = parser.parse_args()
    events = stream_of(parser, args)
    settings = {"hostWindow": args.host_window} if args.host_window else {}

    memory = run_core(
        DEFAULTS if not settings else f"operator, hostWindow {args.host_window}", events, settings
    )
    baselines = [host_signal(events), alertmanager_style(events, timeout=timedelta(minutes=5))]

    admin_cfg, identity = cluster_identities("operator", "webhook")
    kubectl(admin_cfg, "apply", "--server-side", "-f", str(REPO / "manifests" / "install"))
    policy = REPO / "manifests" / "config" / "sla-policies" / "premium-24x7.yaml"
    kubectl(admin_cfg, "apply", "--server-side", "-f", str(policy))
    tag = uuid.uuid4().hex[:6]
    company = f"stream-{tag}"
    namespace = namespace_name(company)
    admin = KubeClient.from_kubeconfig(admin_cfg)
    workdir = Path(tempfile.mkdtemp(prefix="whisperer-stream-live-"))
    operator_log, shim_log = workdir / "operator.log", workdir / "shim.log"
    operator = start_operator(identity["operator"], operator_log)
    shim: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = {"company": company, "in_flight": args.in_flight}
    results["span_s"] = args.span
    results["strict_order"] = args.strict_order
    wall = time.perf_counter()
    try:
        admin.create("companies", company_body(company, settings))
        wait_for(
            lambda: admin.get("companies", company).get("status", {}).get("namespace"),
            timeout=120,
            what="the company's namespace (is the operator running?)",
        )
        found: list[Any] = []
        wait_for(
            lambda: (
                found.append(admin.read_secret(credentials_secret_name(company), "alert-whisperer"))
                or found[-1]
            ),
            timeout=60,
            what="the company's credentials",
        )
        key = Credentials.from_secret_data(found[-1][0]).current_api_key()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        shim = start_shim(identity["webhook"], port, shim_log)
        asyncio.run(shim_ready(url, key, shim, shim_log))
        posted, seen, settled = asyncio.run(
            live_run(
                admin_cfg,
                events,
                namespace,
                url=url,
                key=key,
                tag=tag,
                args=args,
                deadlines=None
                if args.strict_order
                else deadlines_of(facts_of(company_body(company, settings)["spec"])),
            )
        )
        days = max((events[-1].at - events[0].at).total_seconds() / 86400, 1.0)
        results["read_back"] = read_back(admin, namespace, days)
        dump = {"news": seen.news, "versions": seen.versions, "alert": posted.alert}
        (workdir / "seen.json").write_text(json.dumps(dump))
    finally:
        results["wall_s"] = round(time.perf_counter() - wall, 1)
        if args.keep:
            print(f"kept: {company}, operator {operator.pid}, shim {shim and shim.pid}")
        else:
            stop(admin, company, namespace, operator, shim, results)
    live, orphans = live_outcome(events, posted, seen)
    if settings:
        live.name = f"live: shim + operator, hostWindow {args.host_window}"
    ok = sum(n for code, n in posted.answers.items() if code.startswith("2"))
    results["posting"] = {
        "events": len(events),
        "seconds": round(posted.seconds, 1),
        "events_per_s": round(len(events) / posted.seconds, 1),
        "shim_2xx": ok,
        "shim_not_2xx": {c: n for c, n in posted.answers.items() if not c.startswith("2")},
        "events_failed": posted.failed,
        "reports_confirmed": posted.confirmed,
        "reports_unconfirmed": posted.unconfirmed,
        "reports_not_waited": posted.not_waited,
        "post_to_accounted_p50_s": round(pct(posted.latencies, 0.5), 3),
        "post_to_accounted_p99_s": round(pct(posted.latencies, 0.99), 3),
        "operator_quiet_after_s": round(settled, 1),
        "held_s": {k: round(v, 1) for k, v in posted.held_s.most_common()},
        "news_entries_seen": dict(Counter(kind for _, kind, *_ in seen.news)),
        "news_entries_unattributed": orphans,
        "watch_errors": seen.errors,
    }
    results["report"] = report(events, [*baselines, memory, live])
    per_event = [
        [iso(e.at), e.host, e.name, e.severity, e.label, a, b, x, y]
        for e, a, b, x, y in zip(
            events, live.incident_of, memory.incident_of, live.newsy, memory.newsy, strict=True
        )
    ]
    (workdir / "events.json").write_text(json.dumps(per_event))
    results["agreement"] = agreement(events, live, memory)
    results["operator_log"] = log_summary(operator_log)
    results["shim_log_lines"] = len(shim_log.read_text(errors="replace").splitlines())
    print(json.dumps(results, indent=2, default=str))
    table(results)
    print(f"logs: {workdir}", file=sys.stderr)
    return 0


def table(results: dict[str, Any]) -> None:
    """The compact table."""
    r, p, g = results["report"], results["posting"], results["agreement"]
    print(
        f"\n{r['events']} events over {r['days']} days, "
        f"{r['false_positive_share']:.1%} false positives"
    )
    print(
        f"{'run':<42} {'inc/day':>8} {'news/day':>9} {'pages/day':>9} {'purity':>7} "
        f"{'longest h':>9} {'phases':>7}  missed"
    )
    for name, row in r["runs"].items():
        print(
            f"{name:<42} {row['incidents_per_day']:>8} {row['news_per_day']:>9} "
            f"{row['pages_per_day']:>9} {row['purity']:>7} {row['longest_episode_hours']:>9} "
            f"{row['phases_surfaced']:>7}  {', '.join(row['missed']) or 'none'}"
        )
    back = results["read_back"]
    print(
        f"read back: {back['alerts']} alerts, {back['incidents']} incidents "
        f"({back['noise_incidents']} noise), news entries {back['news_entries']}, "
        f"{back['alerts_unplaced']} alerts unplaced"
    )
    print(
        f"posted {p['events']} events in {p['seconds']} s = {p['events_per_s']}/s "
        f"(in flight {results['in_flight']}, span {results['span_s']} s); shim 2xx "
        f"{p['shim_2xx']}, not 2xx {p['shim_not_2xx'] or 'none'}; reportedAt confirmed "
        f"{p['reports_confirmed']}, unconfirmed {p['reports_unconfirmed']}, not waited "
        f"{p['reports_not_waited']}; post to accounted p50 {p['post_to_accounted_p50_s']} s, "
        f"p99 {p['post_to_accounted_p99_s']} s; operator quiet {p['operator_quiet_after_s']} s "
        f"later; whole run {results['wall_s']} s"
    )
    log = results["operator_log"]
    print(f"operator log: {log['levels'] or 'clean'}")
    for message, count in log["top"][:3]:
        print(f"  {count} x {message}")
    s = g["pairwise_vs_in_memory"]
    if s:
        print(
            f"live vs in-memory: pairwise P {s['precision']:.3f} R {s['recall']:.3f} "
            f"F1 {s['f1']:.3f} ARI {s['ari']:.3f}; {g['events_grouped_apart']} of "
            f"{g['events_compared']} events grouped apart ({g['events_grouped_apart_share']:.2%});"
            f" incidents {g['incidents_live']} live, {g['incidents_in_memory']} in memory; "
            f"news events both {g['news_events_both']}, live only {g['news_events_live_only']}, "
            f"in memory only {g['news_events_in_memory_only']}"
        )


if __name__ == "__main__":
    sys.exit(main())
