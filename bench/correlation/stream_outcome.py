"""The live stream bench's outcome: each event's incident and news as the operator wrote
them (from what the watches saw), the Alerts and Incidents read back, and the agreement
with the decision core run in memory on the same events."""

from __future__ import annotations

import bisect
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from whisperer.operator.kube import KubeClient
from whisperer.operator.services.alerts import iso

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the other benches' plumbing, generator and scores
from run import pairs  # noqa: E402
from stream import (  # noqa: E402
    Event,
    Outcome,
)
from stream_replay import NEWS, Posted, Seen, second  # noqa: E402

# -- the live run's outcome --------------------------------------------------------------------

LIVE = "live: shim + operator (defaults)"


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
