"""End-to-end correlation benchmark: the real operator turning generated alerts into
incidents through the real API server, next to the raw write rate of the same alerts.

    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/e2e.py [--alerts 2000] [--companies 4]

1. `hack/cluster up` (which reuses a running cluster), the install manifests and the
   bench's own SLA policy (deadlines beyond the replayed hours: see POLICY).
2. The scenarios of bench/correlation/run.py, as many scenario sets as it takes to reach N
   alerts, dealt round-robin to K companies (each set brings its own hosts and services,
   declared as the company's assets with their dependencies); the first N in order of
   generation are kept (only the last set is cut short).
   Every generated alert is one Alert (a unique fingerprint: the webhook would fold exact
   repeats into `occurrences`, the in-process benchmark counts them as alerts), written in
   order of arrival by a few concurrent writers, as the webhook writes them.
3. Baseline, with the operator not running: the same N creates into a scratch namespace,
   deleted afterwards.
   Then the same again with one status write per alert after its create (no operator):
   the least any operator that records what it did on each alert costs, the ceiling of
   alerts placed per second here.
4. With the operator (`whisperer-operator`, its own process, as the `operator` identity):
   the same creates into the companies' namespaces; a watch times when each alert gets
   status.incidentRef (or silencedBy, inhibitedBy) and when each incident appears.

Reported: write rates (baseline and under the operator), time until every alert is placed,
alerts correlated and incidents created per second, create-to-placed latency, the API
requests the operator made per alert (the API server's apiserver_request_total, read as
the admin before and after, less the benchmark's own creates), the operator's CPU per
alert, the warnings and errors it logged, and pairwise precision, recall and F1 against
the ground truth next to the in-process correlator on the same alerts (and their
agreement). Nothing is written into the repository; the operator's log goes to a
temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.client import load_connection
from whisperer.operator.models.v1alpha1 import GROUP, VERSION
from whisperer.operator.services.signals import classify

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the in-process benchmark's generator and scoring
from e2e_cluster import (  # noqa: E402
    OURS,
    REPO,
    Watched,
    cluster_up,
    control_plane_pids,
    cpu_seconds,
    kubectl,
    log_summary,
    metrics,
    namespace_gone,
    pct,
    quiet,
    rejected,
    requests,
    resource_version,
    session,
    start_operator,
    stop_process,
    wait_for,
    watch,
    write,
)
from run import Event, Generator, alertmanager_groups, correlate, pairs  # noqa: E402

API = f"{GROUP}/{VERSION}"
MAX_ASSETS = 500  # the Company CRD's limit
POLICY: dict[str, Any] = {
    # Every severity's deadlines lie beyond the replayed hours: the bench compresses hours
    # of event time into seconds, and an incident opened (in event time) hours ago on a
    # real policy would breach and escalate on arrival, which a stream at its real pace
    # never does in two minutes. The SLA clocks still run and are written with every
    # incident; only breaches and escalations (five Events and writes each) stay out.
    "apiVersion": API,
    "kind": "SLAPolicy",
    "metadata": {"name": "bench-e2e"},
    "spec": {
        "description": "The end-to-end correlation benchmark's: nothing breaches in a run.",
        "targets": [
            {"severity": s, "responseMinutes": 4320, "resolutionMinutes": 10080}
            for s in ("critical", "high", "medium", "low", "info")
        ],
        "coverage": {"type": "24x7"},
    },
}


# -- the scenarios -------------------------------------------------------------------------


def scenario(
    *, alerts: int, companies: list[str], seed: int, hours: int
) -> tuple[list[Event], dict[str, dict[str, tuple[str, ...]]]]:
    """N generated alerts over the companies (in order of arrival), and each company's
    topology. Event times are cut to milliseconds, as the API server keeps them."""
    gen = Generator(random.Random(seed), hours)
    owner: dict[str, str] = {}
    while len(gen.events) < alerts or len(owner) < len(companies):
        part = f"s{len(owner)}"
        gen.company(part)
        owner[part] = companies[len(owner) % len(companies)]
    kept = gen.events[:alerts]
    # The stream ends now, as a tool reporting up to now: the generator's days-old event
    # times would make every incident's deadlines (from its opening) long past on arrival.
    shift = datetime.now(UTC) - max(e.at for e in kept)
    events = [
        replace(
            e,
            company=owner[e.company],
            at=(at := e.at + shift).replace(microsecond=at.microsecond // 1000 * 1000),
            arrives=e.arrives + shift,
        )
        for e in kept
    ]
    topology: dict[str, dict[str, tuple[str, ...]]] = {c: {} for c in companies}
    for part, deps in gen.topology.items():
        topology[owner[part]].update(deps)
    too_big = [c for c, deps in topology.items() if len(deps) > MAX_ASSETS]
    if too_big:
        raise SystemExit(f"more than {MAX_ASSETS} assets per company: use more --companies")
    return sorted(events, key=lambda e: e.arrives), topology


def company_body(
    name: str, deps: dict[str, tuple[str, ...]], *, incidents: dict[str, Any] | None = None
) -> dict[str, Any]:
    assets = [
        {"name": asset, **({"dependsOn": list(up)} if up else {})}
        for asset, up in sorted(deps.items())
    ]
    return {
        "apiVersion": API,
        "kind": "Company",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "slaPolicyRef": {"name": POLICY["metadata"]["name"]},
            "deletionPolicy": "Delete",
            "assets": assets,
            **({"incidents": incidents} if incidents else {}),
        },
    }


TECHNICIANS = 6  # per company, each taking up to 100 open incidents (the model's limit)


def routing_bodies(company: str) -> list[tuple[str, dict[str, Any]]]:
    """The company's routing rule and technicians, always on shift: an MSP's incidents have
    someone to go to (with nobody, every incident escalates at once: three levels of Events
    and writes)."""
    rule = {
        "apiVersion": API,
        "kind": "RoutingRule",
        "metadata": {"name": company},
        "spec": {"order": 0, "match": {"companies": [company]}},
    }
    return [("routingrules", rule)] + [("technicians", body) for body in technician_bodies(company)]


def technician_bodies(company: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": API,
            "kind": "Technician",
            "metadata": {"name": f"{company}-t{k}"},
            "spec": {
                "username": f"{company}-t{k}@msp.example",
                "displayName": f"{company} technician {k}",
                "email": f"{company}-t{k}@msp.example",
                "companies": [company],
                "maxOpenIncidents": 100,
            },
        }
        for k in range(TECHNICIANS)
    ]


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def alert_body(e: Event, namespace: str) -> dict[str, Any]:
    """The Alert the webhook would write for one delivery (canonical signal and category)."""
    signal = classify(e.raw)
    fp = hashlib.sha256(f"{e.company}/{e.id}".encode()).hexdigest()[:16]
    return {
        "apiVersion": API,
        "kind": "Alert",
        "metadata": {"name": f"al-{fp}", "namespace": namespace},
        "spec": {
            "fingerprint": fp,
            "source": e.tool,
            "asset": {"name": e.asset, "known": True},
            "signal": signal.name,
            "rawSignal": e.raw,
            "severity": e.severity,
            "state": "firing",
            "labels": {"signal_category": signal.category},
            "firstSeen": stamp(e.at),
            "lastSeen": stamp(e.at),
        },
    }


# -- the phases ----------------------------------------------------------------------------


async def baseline(
    admin_cfg: str,
    bodies: list[dict[str, Any]],
    writers: int,
    *,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The same creates with no operator, into a scratch namespace (with `status`, each
    alert's status written once too, as any operator must); then deleted."""
    admin = KubeClient.from_kubeconfig(admin_cfg)
    scratch = f"e2e-raw-{uuid.uuid4().hex[:6]}"
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": scratch}},
        field_manager="bench",
    )
    moved = [{**b, "metadata": {**b["metadata"], "namespace": scratch}} for b in bodies]
    plane = control_plane_pids()
    plane_before = {name: cpu_seconds(p) for name, p in plane.items()}
    try:
        result, _ = await write(admin_cfg, moved, writers, status=status)
        result["control_plane_cpu_ms_per_alert"] = {
            name: (cpu_seconds(p) - plane_before[name]) / len(moved) * 1000
            for name, p in plane.items()
        }
    finally:
        async with session(load_connection(admin_cfg)) as http:
            path = f"apis/{GROUP}/{VERSION}/namespaces/{scratch}/alerts"
            async with http.delete(path) as response:
                response.raise_for_status()
        admin.delete("Namespace", scratch)
        # Its deletion must not be counted as the operator's requests.
        wait_for(lambda: namespace_gone(admin, scratch), timeout=120, what=f"{scratch} to go")
        admin.close()
    return result


async def with_operator(
    admin_cfg: str,
    bodies: list[dict[str, Any]],
    writers: int,
    *,
    patience: float,
    pid: int,
    rate: float | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The creates with the operator running, until every alert is placed (or `patience` s);
    the measures, and the alerts in the order they were placed."""
    names = {b["metadata"]["name"] for b in bodies}
    namespaces = {b["metadata"]["namespace"] for b in bodies}
    watched = Watched()
    all_placed = asyncio.Event()

    def alert_seen(kind: str, obj: dict[str, Any]) -> None:
        name, status = obj["metadata"]["name"], obj.get("status") or {}
        placed = status.get("incidentRef") or status.get("silencedBy") or status.get("inhibitedBy")
        if name in names and placed and name not in watched.placed:
            watched.placed[name] = time.perf_counter()
            if len(watched.placed) == len(names):
                all_placed.set()

    def incident_seen(kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if kind == "ADDED" and meta["namespace"] in namespaces:
            watched.incidents.setdefault(meta["name"], time.perf_counter())

    async with session(load_connection(admin_cfg)) as http:
        await quiet(http)
        watches = [
            asyncio.create_task(
                watch(http, plural, await resource_version(http, plural), seen, watched.errors)
            )
            for plural, seen in (("alerts", alert_seen), ("incidents", incident_seen))
        ]
        before, cpu_before = await metrics(http), cpu_seconds(pid)
        plane = control_plane_pids()
        plane_before = {name: cpu_seconds(p) for name, p in plane.items()}
        started = time.perf_counter()
        writes, created = await write(admin_cfg, bodies, writers, rate=rate)
        written = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_placed.wait(), patience)
        finished = time.perf_counter()
        await quiet(http)
        after, cpu_after = await metrics(http), cpu_seconds(pid)
        plane_after = {name: cpu_seconds(p) for name, p in plane.items()}
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
    delta = requests(after) - requests(before)
    own = Counter({("POST", "alerts", "201"): len(created)})
    by_operator = Counter(
        {k: n for k, n in (delta - own).items() if k[1].split("/")[0] in OURS and n > 0}
    )
    by_call: Counter[str] = Counter()
    for (verb, resource, _), n in by_operator.items():
        by_call[f"{verb} {resource}"] += n
    failed = {f"{v} {r} {c}": n for (v, r, c), n in by_operator.items() if c[:1] in ("4", "5")}
    latencies = [watched.placed[n] - created[n] for n in watched.placed if n in created]
    placed_at = max(watched.placed.values(), default=started)
    last_incident = max(watched.incidents.values(), default=started)
    return {
        "writes": writes,
        "placed": len(watched.placed),
        "missing": len(names) - len(watched.placed),
        "timed_out": not all_placed.is_set(),
        "seconds_to_all_placed": placed_at - started,
        "drain_after_last_write_s": placed_at - written,
        "alerts_placed_per_s": len(watched.placed) / (placed_at - started),
        "incidents_created": len(watched.incidents),
        "incidents_per_s": len(watched.incidents) / (last_incident - started),
        "placed_latency_p50_s": pct(latencies, 0.5),
        "placed_latency_p99_s": pct(latencies, 0.99),
        "placed_latency_max_s": max(latencies, default=float("nan")),
        "operator_requests": sum(by_operator.values()),
        "operator_requests_per_alert": sum(by_operator.values()) / len(bodies),
        "operator_requests_by_call": dict(by_call.most_common()),
        "operator_requests_failed": failed,
        "operator_cpu_ms_per_alert": (cpu_after - cpu_before) / len(bodies) * 1000,
        "control_plane_cpu_ms_per_alert": {
            name: (plane_after[name] - plane_before[name]) / len(bodies) * 1000 for name in plane
        },
        "apf_rejected": dict(rejected(after) - rejected(before)),
        "other_requests": sum(n for k, n in delta.items() if k[1].split("/")[0] not in OURS),
        "watch_errors": watched.errors,
        "wall_s": finished - started,
    }, list(watched.placed)


def quality(
    admin: KubeClient,
    events: list[Event],
    bodies: list[dict[str, Any]],
    topology: dict[str, dict[str, tuple[str, ...]]],
    order: list[str],
) -> dict[str, Any]:
    """Pairwise scores of the operator's grouping and of the in-process correlator's on the
    same alerts against the ground truth, and of the two against each other: with the
    alerts in order of arrival, and in the order the operator placed them (`order`)."""
    event_of = {b["metadata"]["name"]: e.id for b, e in zip(bodies, events, strict=True)}
    by_name = {b["metadata"]["name"]: e for b, e in zip(bodies, events, strict=True)}
    start = datetime(2000, 1, 1, tzinfo=UTC)
    as_placed = [
        replace(by_name[n], arrives=start + timedelta(seconds=rank)) for rank, n in enumerate(order)
    ]
    replayed, _ = correlate(as_placed, topology)
    operator: dict[str, str] = {}
    stale = 0
    for ns in sorted({b["metadata"]["namespace"] for b in bodies}):
        merged = {  # an incident taken in by a later cause (or storm) points on
            i["metadata"]["name"]: i["status"]["mergedInto"]
            for i in admin.list("incidents", ns)
            if (i.get("status") or {}).get("mergedInto")
        }
        for alert in admin.list("alerts", ns):
            status = alert.get("status") or {}
            stale += status.get("resolvedBy") == "stale"
            ref = (status.get("incidentRef") or {}).get("name")
            while ref in merged:
                ref = merged[ref]
            place = ref or status.get("silencedBy") or status.get("inhibitedBy")
            if place and alert["metadata"]["name"] in event_of:
                operator[event_of[alert["metadata"]["name"]]] = f"{ns}/{place}"
    truth = {e.id: e.truth for e in events}
    in_process, _ = correlate(events, topology)
    placed = set(operator)
    only = {i: in_process[i] for i in placed}
    report: dict[str, Any] = {
        "alerts": len(events),
        "truth_incidents": len(set(truth.values())),
        # Alerts of point-event tools (Datadog, Zabbix: docs/correlation.md) gone stale in
        # the replayed hours: one more status write each.
        "stale_alerts": stale,
        "operator": pairs(operator, {i: truth[i] for i in placed}) if placed else {},
        "in_process": pairs(in_process, truth),
        "alertmanager_style": pairs(alertmanager_groups(events), truth),
        "operator_vs_in_process": pairs(operator, only) if placed else {},
        "operator_vs_in_process_as_placed": (
            pairs(operator, {i: replayed[i] for i in placed}) if placed else {}
        ),
        "by_scenario": {},
    }
    for kind in sorted({e.scenario for e in events}):
        ids = [e.id for e in events if e.scenario == kind and e.id in placed]
        scores = {
            "operator": pairs({i: operator[i] for i in ids}, {i: truth[i] for i in ids}),
            "in_process": pairs({i: in_process[i] for i in ids}, {i: truth[i] for i in ids}),
        }
        report["by_scenario"][kind] = {k: round(v["f1"], 3) for k, v in scores.items()}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000, help="alerts to write")
    parser.add_argument("--companies", type=int, default=4)
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hours", type=int, default=12)
    parser.add_argument(
        "--no-staleness",
        action="store_true",
        help="no tool's alerts go stale (the companies' staleAfter all 0s): the mix as it was "
        "measured before staleness, when every alert stayed firing",
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for all")
    parser.add_argument(
        "--sustained-rate", type=float, default=100, help="alerts/s of the paced phase (0: none)"
    )
    parser.add_argument("--sustained-seconds", type=float, default=60)
    args = parser.parse_args()

    admin_cfg, operator_cfg = cluster_up()
    kubectl(admin_cfg, "apply", "--server-side", "-f", str(REPO / "manifests" / "install"))
    with tempfile.NamedTemporaryFile("w", suffix=".json") as policy:
        json.dump(POLICY, policy)
        policy.flush()
        kubectl(admin_cfg, "apply", "--server-side", "-f", policy.name)
    tag = uuid.uuid4().hex[:6]
    companies = [f"e2e-{tag}-{c}" for c in range(args.companies)]
    events, topology = scenario(
        alerts=args.alerts, companies=companies, seed=args.seed, hours=args.hours
    )
    bodies = [alert_body(e, f"company-{e.company}") for e in events]
    paced = int(args.sustained_rate * args.sustained_seconds)
    paced_companies = [f"e2e-{tag}-p{c}" for c in range(args.companies)] if paced else []
    paced_events, paced_topology = (
        scenario(alerts=paced, companies=paced_companies, seed=args.seed + 1, hours=args.hours)
        if paced
        else ([], {})
    )
    paced_bodies = [alert_body(e, f"company-{e.company}") for e in paced_events]
    results: dict[str, Any] = {
        "alerts": len(bodies),
        "companies": args.companies,
        "assets": {c: len(t) for c, t in topology.items()},
        "writers": args.writers,
    }
    results["baseline_raw_create"] = asyncio.run(baseline(admin_cfg, bodies, args.writers))
    # The ceiling of any operator that records on each alert what it did: the creates and
    # one status write per alert, nothing else, on the same control plane.
    results["baseline_create_and_status"] = asyncio.run(
        baseline(admin_cfg, bodies, args.writers, status={"observedGeneration": 1})
    )

    settings = (
        {"staleAfter": dict.fromkeys(("datadog", "zabbix", "pagerduty", "generic"), "0s")}
        if args.no_staleness
        else None
    )
    results["staleness"] = not args.no_staleness
    admin = KubeClient.from_kubeconfig(admin_cfg)
    workdir = Path(tempfile.mkdtemp(prefix="whisperer-e2e-"))
    log = workdir / "operator.log"
    operator = start_operator(operator_cfg, log)
    try:
        for c in companies:
            admin.create("companies", company_body(c, topology[c], incidents=settings))
        for c in paced_companies:
            admin.create("companies", company_body(c, paced_topology[c], incidents=settings))
        wait_for(
            lambda: all(
                admin.get("companies", c).get("status", {}).get("namespace")
                for c in companies + paced_companies
            ),
            timeout=60,
            what="the companies' namespaces (is the operator running?)",
        )
        for c in companies + paced_companies:
            for plural, body in routing_bodies(c):
                admin.create(plural, body)

        def ready(plural: str, name: str) -> bool:
            conditions = admin.get(plural, name).get("status", {}).get("conditions") or []
            return any(x["type"] == "Ready" and x["status"] == "True" for x in conditions)

        wait_for(
            lambda: all(
                ready(plural, body["metadata"]["name"])
                for c in companies + paced_companies
                for plural, body in routing_bodies(c)
            ),
            timeout=60,
            what="the routing rules and technicians to be Ready",
        )
        results["with_operator"], order = asyncio.run(
            with_operator(admin_cfg, bodies, args.writers, patience=args.timeout, pid=operator.pid)
        )
        results["quality"] = quality(admin, events, bodies, topology, order)
        if paced_bodies:
            results["sustained"], _ = asyncio.run(
                with_operator(
                    admin_cfg,
                    paced_bodies,
                    args.writers,
                    patience=args.timeout,
                    pid=operator.pid,
                    rate=args.sustained_rate,
                )
            )
            results["sustained"]["rate_asked"] = args.sustained_rate
    finally:
        # With the operator still running: its companies carry Kopf's finalizer (for their
        # timers), which only it removes, so the namespaces go only while it runs.
        teardown = time.perf_counter()
        for c in companies + paced_companies:
            admin.delete_custom("companies", c)
            for plural, body in routing_bodies(c):
                admin.delete_custom(plural, body["metadata"]["name"])
        try:
            wait_for(
                lambda: all(
                    namespace_gone(admin, f"company-{c}") for c in companies + paced_companies
                ),
                timeout=300,
                what="the companies' namespaces to go",
            )
            results["teardown_s"] = time.perf_counter() - teardown
        except SystemExit as exc:
            print(exc, file=sys.stderr)
        stop_process(operator)
        admin.close()
    results["operator_log"] = log_summary(log)
    print(json.dumps(results, indent=2, default=float))
    report(results)
    print(f"operator log: {log}", file=sys.stderr)
    return 0


def _plane(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.1f} ms" for name, ms in sorted(cpu.items())) or "unknown"


def report(results: dict[str, Any]) -> None:
    """The compact table."""
    raw, run = results["baseline_raw_create"], results["with_operator"]
    q = results["quality"]
    print(
        f"\n{results['alerts']} alerts, {results['companies']} companies, "
        f"{results['writers']} writers"
    )
    print(
        f"raw create (no operator): {raw['rate']:.0f}/s  p50 {raw['p50_ms']:.1f} ms  "
        f"p99 {raw['p99_ms']:.1f} ms; control plane CPU/alert "
        + _plane(raw.get("control_plane_cpu_ms_per_alert", {}))
    )
    floor = results.get("baseline_create_and_status")
    if floor:
        print(
            f"raw create + one status write each (no operator): {floor['rate']:.0f} alerts/s; "
            "control plane CPU/alert " + _plane(floor.get("control_plane_cpu_ms_per_alert", {}))
        )
    w = run["writes"]
    print(
        f"create with operator:     {w['rate']:.0f}/s  p50 {w['p50_ms']:.1f} ms  "
        f"p99 {w['p99_ms']:.1f} ms  ({w['rate'] / raw['rate']:.0%} of raw)"
    )
    placed = run["alerts_placed_per_s"]
    shares = f"{placed / raw['rate']:.0%} of raw creates"
    if floor:
        shares += f", {placed / floor['rate']:.0%} of create + status"
    print(
        f"placed: {run['placed']}/{results['alerts']} in {run['seconds_to_all_placed']:.1f} s "
        f"= {placed:.1f} alerts/s ({shares}; {run['drain_after_last_write_s']:.1f} s "
        f"after the last write); create-to-placed p50 {run['placed_latency_p50_s']:.1f} s, "
        f"p99 {run['placed_latency_p99_s']:.1f} s"
    )
    print(f"incidents: {run['incidents_created']} at {run['incidents_per_s']:.1f}/s")
    stale = results.get("quality", {}).get("stale_alerts")
    if stale is not None:
        print(
            f"alerts gone stale in the replayed hours: {stale} (a status write each: "
            f"{stale / results['alerts']:.2f} of the requests per alert)"
        )
    print(
        f"operator: {run['operator_requests_per_alert']:.2f} API requests/alert "
        f"({', '.join(f'{k} {v}' for k, v in run['operator_requests_by_call'].items())}), "
        f"{run['operator_cpu_ms_per_alert']:.1f} ms CPU/alert; control plane CPU/alert "
        + _plane(run.get("control_plane_cpu_ms_per_alert", {}))
    )
    print(
        f"operator requests failed: {run['operator_requests_failed'] or 'none'}; "
        f"turned away by priority and fairness: {run['apf_rejected'] or 'none'}"
    )
    log = results["operator_log"]
    print(f"operator log: {log['levels'] or 'clean'}")
    for message, count in log["top"][:3]:
        print(f"  {count} x {message}")
    if "teardown_s" in results:
        print(f"teardown (companies deleted, namespaces gone): {results['teardown_s']:.1f} s")
    labels = (
        "operator",
        "in_process",
        "alertmanager_style",
        "operator_vs_in_process",
        "operator_vs_in_process_as_placed",
    )
    for label in labels:
        s = q[label]
        if s:
            print(
                f"{label:<33} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  "
                f"incidents {s['incidents']}  compression {s['compression']:.1f}"
            )
    paced = results.get("sustained")
    if paced:
        w = paced["writes"]
        print(
            f"sustained {paced['rate_asked']:.0f} alerts/s for {w['seconds']:.0f} s "
            f"(written at {w['rate']:.0f}/s): placed {paced['placed']}/{w['alerts']}, "
            f"create-to-placed p50 {paced['placed_latency_p50_s']:.2f} s, "
            f"p99 {paced['placed_latency_p99_s']:.2f} s, "
            f"max {paced['placed_latency_max_s']:.2f} s; "
            f"{paced['operator_requests_per_alert']:.2f} requests/alert "
            f"({', '.join(f'{k} {v}' for k, v in paced['operator_requests_by_call'].items())}), "
            f"{paced['operator_cpu_ms_per_alert']:.1f} ms CPU/alert"
        )
    print(
        "F1 by scenario (operator / in-process): "
        + ", ".join(
            f"{k} {v['operator']:.2f}/{v['in_process']:.2f}" for k, v in q["by_scenario"].items()
        )
    )


if __name__ == "__main__":
    sys.exit(main())
