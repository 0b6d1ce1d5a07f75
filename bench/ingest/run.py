"""Ingest benchmark: the shim against the raw API server write rate, in one run.

    eval "$(hack/cluster up)" && PYTHONSAFEPATH=1 .venv/bin/python bench/ingest/run.py

1. unique alerts: alerts/s and p50/p99 through the shim (real HTTP, its own process), next
   to a bare async client creating the same Alert objects at the same concurrency.
2. a storm where 90% of posts repeat 50 fingerprints: API writes per accepted alert.
3. the shim with the write replaced by a no-op, next to a bare FastAPI endpoint parsing the
   same JSON.
Goals (issue 4): 1 >= 50% of raw; 2 <= 0.2; 3 >= 70% of bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp

from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.services import access

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(mode: str, **kwargs: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, str(HERE / "serve.py"), mode, "--port", str(port)]
    for k, v in kwargs.items():
        args += [f"--{k}", v]
    proc = subprocess.Popen(args, env={**os.environ, "PYTHONSAFEPATH": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{mode} server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def load(
    url: str, key: str, bodies: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                # Every post is its own delivery: none is a retry of another.
                headers = {"X-API-Key": key, "X-Delivery-ID": uuid.uuid4().hex}
                async with http.post(
                    url + "/v1/alerts/generic", json=body, headers=headers
                ) as response:
                    await response.read()
                    errors += response.status != 202
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "rate": len(bodies) / elapsed,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "errors": errors,
    }


async def raw_creates(
    kubeconfig: str, namespace: str, n: int, concurrency: int
) -> dict[str, float]:
    kube = AsyncKube.from_kubeconfig(kubeconfig, pool=concurrency)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    latencies: list[float] = []
    now = "2026-11-27T00:00:00.000Z"
    tag = uuid.uuid4().hex[:6]

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            fp = f"{tag}{i:010x}"
            body = {
                "apiVersion": "alertwhisperer.io/v1alpha1",
                "kind": "Alert",
                "metadata": {"name": f"al-{fp}", "namespace": namespace},
                "spec": {
                    "fingerprint": fp,
                    "source": "generic",
                    "asset": {"name": "web01", "known": True},
                    "signal": f"raw-{i}",
                    "severity": "high",
                    "state": "firing",
                    "firstSeen": now,
                    "lastSeen": now,
                    "occurrences": 1,
                },
            }
            started = time.perf_counter()
            await kube.create("alerts", body, namespace)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await kube.close()
    return {"rate": n / elapsed, "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99)}


def lockstep(bodies: list[dict[str, Any]], senders: int) -> float:
    """Writes per alert if the senders moved in lockstep and every round wrote each
    distinct alert of the round once: about the best a writer can do while each answer
    waits for its own Alert's write and each sender waits for its answer."""
    rounds = [bodies[i : i + senders] for i in range(0, len(bodies), senders)]
    return sum(len({b["signature"] for b in r}) for r in rounds) / len(bodies)


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as response:
        return await response.text()


def body(signature: str, asset: str = "web01.bench") -> dict[str, Any]:
    return {
        "asset_name": asset,
        "signature": signature,
        "severity": "high",
        "message": "bench",
        "tool_source": "bench",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per phase")
    parser.add_argument("-c", type=int, default=32, help="concurrency")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating rounds of the parse comparison"
    )
    parser.add_argument(
        "--storm-c",
        type=int,
        default=256,
        help="concurrency of the second storm (many senders at once)",
    )
    args = parser.parse_args()
    admin_cfg = os.environ["KUBECONFIG"]
    kdir = Path(os.environ.get("WHISPERER_KUBECONFIG_DIR", Path(admin_cfg).parent))
    webhook_cfg = str(kdir / "webhook") if (kdir / "webhook").exists() else admin_cfg
    admin = KubeClient.from_kubeconfig(admin_cfg)
    name = f"bench-{uuid.uuid4().hex[:6]}"
    company = Company.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "slaPolicyRef": {"name": "premium-24x7"},
                "webhook": {"rateLimit": {"requestsPerSecond": 10000, "burst": 100000}},
                "assets": [{"name": "web01", "hostnames": ["web01.bench"]}],
            },
        }
    )
    admin.create("companies", company.to_body())
    tenancy = access.sync_company(
        admin, company, technicians=[], rotation=None, known_external_id=None
    )
    key = access.sync_credentials(
        admin, company, rotation=None, known_external_id=None
    ).current_api_key()
    results: dict[str, Any] = {
        "n": args.n,
        "concurrency": args.c,
        "load_before": os.getloadavg(),
    }
    procs = []
    try:
        raw_ns = tenancy.namespace
        results["raw_create"] = asyncio.run(raw_creates(admin_cfg, raw_ns, args.n, args.c))
        shim, shim_url = serve("shim", kubeconfig=webhook_cfg)
        procs.append(shim)
        time.sleep(1.5)  # the registry's first refresh
        tag = uuid.uuid4().hex[:6]
        unique = [body(f"unique-{tag}-{i}") for i in range(args.n)]
        results["shim_unique"] = asyncio.run(load(shim_url, key, unique, args.c))
        results["shim_vs_raw"] = results["shim_unique"]["rate"] / results["raw_create"]["rate"]

        # Every post is its own delivery (its own X-Delivery-ID): all of them count.
        for label, concurrency in (("storm", args.c), ("storm_senders", args.storm_c)):
            before = asyncio.run(scrape(shim_url))
            hot = [f"{label}-{tag}-{i}" for i in range(50)]
            storm = [
                body(random.choice(hot)) if random.random() < 0.9 else body(f"c-{label}-{tag}-{i}")
                for i in range(args.n)
            ]
            results[label] = asyncio.run(load(shim_url, key, storm, concurrency))
            after = asyncio.run(scrape(shim_url))
            writes = metric(after, "whisperer_webhook_api_writes_total") - metric(
                before, "whisperer_webhook_api_writes_total"
            )
            accepted = metric(after, "whisperer_webhook_alerts_accepted_total") - metric(
                before, "whisperer_webhook_alerts_accepted_total"
            )
            results[label].update(
                concurrency=concurrency,
                api_writes=writes,
                accepted=accepted,
                writes_per_alert=writes / accepted if accepted else None,
                lockstep_estimate=lockstep(storm, concurrency),
            )

        noop, noop_url = serve("noop", key=key)
        bare, bare_url = serve("bare")
        procs += [noop, bare]
        # Alternating short rounds: on a shared machine the load changes between phases,
        # so each round's ratio compares neighbours, and the median is reported. The
        # servers' own CPU time per request is measured too (contention inflates it less).
        parse_bodies = [body(f"p-{i}") for i in range(args.n // 4)]
        rounds: dict[str, list[dict[str, float]]] = {"bare_fastapi": [], "shim_noop": []}
        for _ in range(args.rounds):
            for label, proc, url in (
                ("bare_fastapi", bare, bare_url),
                ("shim_noop", noop, noop_url),
            ):
                before_cpu = cpu_seconds(proc.pid)
                result = asyncio.run(load(url, key, parse_bodies, args.c))
                result["cpu_us"] = (cpu_seconds(proc.pid) - before_cpu) / len(parse_bodies) * 1e6
                rounds[label].append(result)
        for label, runs in rounds.items():
            results[label] = {
                "rate": median(r["rate"] for r in runs),
                "p99_ms": median(r["p99_ms"] for r in runs),
                "cpu_us_per_request": median(r["cpu_us"] for r in runs),
                "rates": [round(r["rate"]) for r in runs],
            }
        results["noop_vs_bare"] = median(
            n["rate"] / b["rate"]
            for n, b in zip(rounds["shim_noop"], rounds["bare_fastapi"], strict=True)
        )
        results["noop_vs_bare_cpu"] = (
            results["bare_fastapi"]["cpu_us_per_request"]
            / results["shim_noop"]["cpu_us_per_request"]
        )
    finally:
        for proc in procs:
            proc.terminate()
        admin.delete("Namespace", tenancy.namespace)
        admin.delete("Secret", f"company-{name}-credentials", "alert-whisperer")
        from kubernetes import client

        client.CustomObjectsApi(admin.api_client).delete_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", "companies", name
        )
        admin.close()
    print(json.dumps(results, indent=2))
    print(
        f"\nunique: shim {results['shim_unique']['rate']:.0f}/s vs raw create "
        f"{results['raw_create']['rate']:.0f}/s = {results['shim_vs_raw']:.0%} (goal >= 50%)"
    )
    for label in ("storm", "storm_senders"):
        r = results[label]
        print(
            f"{label} (concurrency {r['concurrency']}): {r['writes_per_alert']:.3f} API writes "
            f"per accepted alert (lockstep estimate {r['lockstep_estimate']:.3f}), "
            f"{r['rate']:.0f} alerts/s, p99 {r['p99_ms']:.0f} ms (goal <= 0.2, p99 < 1 s)"
        )
    print(
        f"parse: no-op shim {results['shim_noop']['rate']:.0f}/s vs bare FastAPI "
        f"{results['bare_fastapi']['rate']:.0f}/s = {results['noop_vs_bare']:.0%} (median of "
        f"{args.rounds} alternating rounds; goal >= 70%); server CPU per request "
        f"{results['shim_noop']['cpu_us_per_request']:.0f} vs "
        f"{results['bare_fastapi']['cpu_us_per_request']:.0f} us = "
        f"{results['noop_vs_bare_cpu']:.0%}"
    )
    print(f"load average before/after: {results['load_before']} / {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
