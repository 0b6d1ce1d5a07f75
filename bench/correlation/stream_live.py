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
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.services.alerts import iso
from whisperer.operator.services.credentials import Credentials
from whisperer.operator.services.facts import facts_of
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
    start_operator,
    stop_process,
    wait_for,
)
from stream import (  # noqa: E402
    DEFAULTS,
    alertmanager_style,
    host_signal,
    report,
    run_core,
    stream_arguments,
    stream_of,
)
from stream_outcome import agreement, live_outcome, read_back  # noqa: E402
from stream_replay import deadlines_of, live_run  # noqa: E402

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
        "apiVersion": API_VERSION,
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
