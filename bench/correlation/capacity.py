"""One operator replica's capacity: how many companies and open incidents it holds, the
rate at which it places alerts as they grow, its memory, and how long a restart (or a
standby's takeover) takes to rebuild that memory; next to the raw create rate of the same
alerts with no operator (the baseline), in one run.

    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/capacity.py [--steps 10x100,20x200,30x300]

Each step `CxH` adds C companies of H hosts each and writes one firing alert per host (an
own incident each: distinct hosts, no topology, the storm threshold out of reach), so the
open incidents grow step by step (100 + 4,000 + 9,000 = 13,100 with the default; the Company
CRD allows 500 assets). Per step: the baseline (the same creates into a scratch namespace
with the operator stopped), the creates with the operator running until every alert is
placed (rate, create-to-placed latency, API requests per alert), the operator's resident
memory, then a restart (SIGTERM, a new process) timed until it logs that it is active with
every incident in memory, and its memory after the rebuild. Nothing is written into the
repository; `WHISPERER_STATE_DIR` keeps it off a cluster someone else uses (as e2e.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from whisperer.operator.kube import KubeClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from e2e import API, baseline, stamp, with_operator  # noqa: E402
from e2e import company_body as e2e_company  # noqa: E402
from e2e_cluster import (  # noqa: E402
    REPO,
    cluster_up,
    kubectl,
    namespace_gone,
    start_operator,
    stop_process,
    wait_for,
)

ACTIVE = re.compile(r"active: (\d+) open and (\d+) resolved incident\(s\) in memory, (\d+) alert")


def company_body(name: str, hosts: int) -> dict[str, Any]:
    """e2e.py's company, with H hosts of no topology, its storm threshold out of reach."""
    body = e2e_company(name, {f"h{i:03d}": () for i in range(hosts)})
    body["spec"]["incidents"] = {"stormThreshold": 100000}
    return body


def fingerprint(company: str, host: int) -> str:
    return hashlib.sha256(f"{company}/{host}".encode()).hexdigest()[:16]


def alert_bodies(company: str, hosts: int, at: datetime) -> list[dict[str, Any]]:
    ns = f"company-{company}"
    return [
        {
            "apiVersion": API,
            "kind": "Alert",
            "metadata": {"name": f"al-{fingerprint(company, i)}", "namespace": ns},
            "spec": {
                "fingerprint": fingerprint(company, i),
                "source": "alertmanager",
                "asset": {"name": f"h{i:03d}", "known": True},
                "signal": "disk-space-low",
                "rawSignal": "NodeFilesystemAlmostOutOfSpace",
                "severity": "medium",
                "state": "firing",
                "labels": {"signal_category": "storage"},
                "firstSeen": stamp(at + timedelta(milliseconds=i)),
                "lastSeen": stamp(at + timedelta(milliseconds=i)),
            },
        }
        for i in range(hosts)
    ]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(
    operator_cfg: str, workdir: Path, starts: list[Path]
) -> tuple[subprocess.Popen[bytes], float, re.Match[str]]:
    """A new operator process (its log a file of its own), waited for until it is active:
    the process, the seconds that took, and its activation line."""
    log = workdir / f"operator.{len(starts)}.log"
    starts.append(log)
    began = time.perf_counter()
    proc = start_operator(operator_cfg, log)
    found: list[re.Match[str]] = []

    def up() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"the operator exited: {log.read_text()[-2000:]}")
        found.extend(ACTIVE.finditer(log.read_text(errors="replace")))
        return bool(found)

    wait_for(up, timeout=600, what="the operator to become active")
    return proc, time.perf_counter() - began, found[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10x100,20x200,30x300", help="CxH,... per step")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    steps = [tuple(int(n) for n in s.split("x")) for s in args.steps.split(",")]

    admin_cfg, operator_cfg = cluster_up()
    kubectl(admin_cfg, "apply", "--server-side", "-f", str(REPO / "manifests" / "install"))
    policy = REPO / "manifests" / "config" / "sla-policies" / "premium-24x7.yaml"
    kubectl(admin_cfg, "apply", "--server-side", "-f", str(policy))
    admin = KubeClient.from_kubeconfig(admin_cfg)
    tag = uuid.uuid4().hex[:5]
    workdir = Path(tempfile.mkdtemp(prefix="whisperer-capacity-"))
    starts: list[Path] = []
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    made: list[str] = []
    rows: list[dict[str, Any]] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        for n, (companies, hosts) in enumerate(steps):
            names = [f"cap-{tag}-{n}-{c}" for c in range(companies)]
            bodies = [b for c in names for b in alert_bodies(c, hosts, at)]
            if proc is not None:
                stop_process(proc, within=30)
            raw = asyncio.run(baseline(admin_cfg, bodies, args.writers))
            proc, _, _ = start(operator_cfg, workdir, starts)
            for c in names:
                admin.create("companies", company_body(c, hosts))
                made.append(c)
            wait_for(
                lambda names=names: all(
                    admin.get("companies", c).get("status", {}).get("namespace") for c in names
                ),
                timeout=120,
                what="the step's namespaces",
            )
            placed, _ = asyncio.run(
                with_operator(admin_cfg, bodies, args.writers, patience=args.timeout, pid=proc.pid)
            )
            held = rss_mib(proc.pid)
            stop_process(proc, within=30)
            proc, rebuild_s, line = start(operator_cfg, workdir, starts)
            time.sleep(2)
            rows.append(
                {
                    "step": f"{companies}x{hosts}",
                    "companies_total": len(made),
                    "alerts_step": len(bodies),
                    "raw_creates_per_s": raw["rate"],
                    "placed_per_s": placed["alerts_placed_per_s"],
                    "placed_share_of_raw": placed["alerts_placed_per_s"] / raw["rate"],
                    "placed_p50_s": placed["placed_latency_p50_s"],
                    "placed_p99_s": placed["placed_latency_p99_s"],
                    "missing": placed["missing"],
                    "requests_per_alert": placed["operator_requests_per_alert"],
                    "requests_by_call": placed["operator_requests_by_call"],
                    "rss_mib_running": held,
                    "restart_to_active_s": rebuild_s,
                    "open_incidents_rebuilt": int(line.group(1)),
                    "alerts_rebuilt": int(line.group(3)),
                    "rss_mib_after_rebuild": rss_mib(proc.pid),
                }
            )
            print(json.dumps(rows[-1], default=float), file=sys.stderr)
    finally:
        if proc is None or proc.poll() is not None:
            proc, _, _ = start(operator_cfg, workdir, starts)  # the companies' finalizer needs it
        for c in made:
            admin.delete_custom("companies", c)
        try:
            wait_for(
                lambda: all(namespace_gone(admin, f"company-{c}") for c in made),
                timeout=600,
                what="the companies' namespaces to go",
            )
        except SystemExit as exc:
            print(exc, file=sys.stderr)
        stop_process(proc, within=30)
        admin.close()
    print(json.dumps(rows, indent=2, default=float))
    print(
        "\n| step | companies | open incidents | raw creates/s | placed/s (share) | p50 / p99 s "
        "| requests/alert | RSS MiB running / rebuilt | restart to active s |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['step']} | {r['companies_total']} | {r['open_incidents_rebuilt']} "
            f"| {r['raw_creates_per_s']:.0f} | {r['placed_per_s']:.0f} "
            f"({r['placed_share_of_raw']:.0%}) | {r['placed_p50_s']:.2f} / {r['placed_p99_s']:.2f} "
            f"| {r['requests_per_alert']:.2f} | {r['rss_mib_running']:.0f} / "
            f"{r['rss_mib_after_rebuild']:.0f} | {r['restart_to_active_s']:.1f} |"
        )
    print(f"operator logs: {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
