"""The live stream bench's replay: every event posted to the real shim in event-time
order by the rules of `stream_live.py`'s docstring (step 2), with watches on the Alerts and
Incidents recording what the operator wrote for each report."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from whisperer.operator.clock import parse_time
from whisperer.operator.kube.client import load_connection
from whisperer.operator.services.alerts import iso
from whisperer.operator.services.correlation.priority import SEVERITY_RANK
from whisperer.operator.services.correlation.service import REPORT_GRAIN
from whisperer.operator.services.facts import CompanyFacts

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the other benches' plumbing, generator and scores
from e2e_cluster import (  # noqa: E402
    quiet,
    resource_version,
    session,
    watch,
)
from stream import Event  # noqa: E402

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
