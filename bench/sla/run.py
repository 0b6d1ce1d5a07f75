"""SLA scheduler benchmark: 10,000 open incidents over 50 companies whose warnings, breaches
and escalation levels fall over one hour, taken by the operator's one scheduler
(`SlaService`, one heap) and, as the baseline in the same run, by a timer per incident (one
asyncio task each, sleeping until its next due time: what a Kopf timer per incident is).

    PYTHONSAFEPATH=1 .venv/bin/python bench/sla/run.py [--incidents 10000] [--speed 50]

Both run the production SLA code (`clocks.evaluate` inside the incident writer's
write-time change) and the production `IncidentWriter`, against an in-memory store with
the API server's status semantics (merge patch, resourceVersion compare-and-swap): the
thing measured is the scheduler, not the API server. Simulated time runs `--speed` times
faster than real time on a ManualClock advanced in 0.2 s steps, so real processing delays
count `--speed` times over in the simulated lateness: a conservative measure.

Reported for each: lateness of every step (the time it was recorded minus its due time,
simulated seconds: p50, p99, max), the writes, the writes that recorded no step
(`writes_without_a_step`: must be 0), and Python heap memory per open incident (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import random
import time
import tracemalloc
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.clock import ManualClock
from whisperer.operator.errors import ConflictError, NotFoundError
from whisperer.operator.services.configstore import ConfigStore
from whisperer.operator.services.incident_writer import IncidentWriter
from whisperer.operator.services.sla.service import SlaService

API = "alertwhisperer.io/v1alpha1"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
STEP = timedelta(milliseconds=200)
STEP_FIELDS = {
    "responseWarnedAt",
    "resolutionWarnedAt",
    "responseBreached",
    "resolutionBreached",
    "escalatedAt",
}


class MemoryStore:
    """Incidents in memory, written as the API server writes status: a merge patch with a
    resourceVersion that must match."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.version = 1
        self.writes = 0
        self.idle_writes = 0
        """Writes that recorded no step (no warning, breach or level): must stay 0."""

    def add(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        self.objects[(meta["namespace"], meta["name"])] = body

    async def get(self, plural: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        found = self.objects.get((namespace or "", name))
        if found is None:
            raise NotFoundError(f"{plural} {name}")
        return copy.deepcopy(found)

    async def create(
        self, plural: str, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        return body  # Events: not kept

    async def patch_status(
        self, plural: str, name: str, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        found = self.objects[(namespace or "", name)]
        if body["metadata"]["resourceVersion"] != found["metadata"]["resourceVersion"]:
            raise ConflictError(f"{name} changed")
        status = _merged(found.get("status") or {}, body["status"])
        self.version += 1
        found["status"] = status
        found["metadata"]["resourceVersion"] = str(self.version)
        self.writes += 1
        patch = body["status"]
        if "escalationLevel" not in patch and not STEP_FIELDS & set(patch.get("sla") or {}):
            self.idle_writes += 1
        return copy.deepcopy(found)


def _merged(old: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def config(companies: int) -> ConfigStore:
    store = ConfigStore()
    store.apply(
        "slapolicies",
        "ADDED",
        {
            "apiVersion": API,
            "kind": "SLAPolicy",
            "metadata": {"name": "bench"},
            "spec": {
                "targets": [{"severity": "high", "responseMinutes": 30, "resolutionMinutes": 90}],
                "coverage": {"type": "24x7"},
                "warningLeadMinutes": 10,
                "escalationRepeatMinutes": 0,
                "escalation": [
                    {"level": 1, "afterMinutes": 0},
                    {"level": 2, "afterMinutes": 10},
                    {"level": 3, "afterMinutes": 20},
                ],
            },
        },
    )
    for i in range(companies):
        store.apply(
            "companies",
            "ADDED",
            {
                "apiVersion": API,
                "kind": "Company",
                "metadata": {"name": f"c{i:02d}"},
                "spec": {"displayName": f"Company {i}", "slaPolicyRef": {"name": "bench"}},
            },
        )
    return store


def incidents(count: int, companies: int, seed: int) -> list[dict[str, Any]]:
    """Open incidents whose steps fall over the hour after START: the response warning 20
    minutes after opening, the breach at 30, levels 1-3 at 30, 40 and 50 (opened from 19
    minutes before START to 36 minutes after)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        opened = START - timedelta(minutes=19) + rng.random() * timedelta(minutes=55)
        out.append(
            {
                "apiVersion": API,
                "kind": "Incident",
                "metadata": {"name": f"inc-{i:05d}", "namespace": f"company-c{i % companies:02d}"},
                "spec": {"title": "bench"},
                "status": {
                    "phase": "Open",
                    "openedAt": opened.isoformat().replace("+00:00", "Z"),
                    "severity": "high",
                    "rules": {"severity": "high"},
                    "assignee": "someone",
                },
            }
        )
    return out


async def drive(clock: ManualClock, until: datetime, speed: float) -> None:
    """Move the clock by STEP every STEP/speed of real time."""
    pause = STEP.total_seconds() / speed
    started = time.monotonic()
    steps = 0
    while clock.now() < until:
        steps += 1
        clock.set(min(START + STEP * steps, until))
        await asyncio.sleep(max(0.0, started + steps * pause - time.monotonic()))


def result(
    sla: SlaService, store: MemoryStore, *, held: int, stored: int, count: int
) -> dict[str, Any]:
    """What one run reports (the module's docstring says what each number is)."""
    lateness = list(sla.lateness)
    return {
        "steps": sla.steps,
        "lateness_p50_s": round(percentile(lateness, 0.5), 3),
        "lateness_p99_s": round(percentile(lateness, 0.99), 3),
        "lateness_max_s": round(max(lateness, default=0.0), 3),
        "writes": store.writes,
        "writes_without_a_step": store.idle_writes,
        "bytes_per_incident": round(held / count),
        "store_bytes_per_incident": round(stored / count),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def scheduler_run(args: argparse.Namespace, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    clock = ManualClock(START)
    store = MemoryStore()
    cfg = config(args.companies)
    writer = IncidentWriter(store, clock=clock, linger=0.0, hot_linger=0.0)  # type: ignore[arg-type]
    sla = SlaService(config=cfg, clock=clock, writer=writer)
    writer.followers = [sla.follower]
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for body in bodies:
        store.add(copy.deepcopy(body))
    stored = tracemalloc.get_traced_memory()[0]
    loop_task = asyncio.get_running_loop().create_task(sla.run())
    for body in list(store.objects.values()):
        writer.observe(body)
        sla.observe(body)
    await settle(writer)
    for body in list(store.objects.values()):  # as the watch would bring the writes back
        writer.observe(body)
        sla.observe(body)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    reset(store, sla)
    await drive(clock, START + HOUR, args.speed)
    await asyncio.sleep(0.5)
    loop_task.cancel()
    await writer.close()
    return result(sla, store, held=held - stored, stored=stored - base, count=len(bodies))


async def settle(writer: IncidentWriter) -> None:
    """Until the writer has nothing queued (the deadlines' first writes)."""
    while writer.busy():  # noqa: ASYNC110 (polling a benchmark's setup)
        await asyncio.sleep(0.05)


def reset(store: MemoryStore, sla: SlaService) -> None:
    """Start counting: the first writes (deadlines) are not the hour's."""
    store.writes = 0
    store.idle_writes = 0
    sla.lateness.clear()
    sla.steps = 0


async def timers_run(args: argparse.Namespace, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The baseline: one task per incident, evaluating on its own schedule."""
    clock = ManualClock(START)
    store = MemoryStore()
    cfg = config(args.companies)
    writer = IncidentWriter(store, clock=clock, linger=0.0, hot_linger=0.0)  # type: ignore[arg-type]
    sla = SlaService(config=cfg, clock=clock, writer=writer)  # its rule, not its scheduler
    speed = args.speed

    async def timer(key: tuple[str, str], company: str) -> None:
        while True:
            body = store.objects[key]
            found = sla.evaluation(company, body.get("spec") or {}, body.get("status") or {})
            if found is None or found.next_at is None or found.next_at > START + HOUR:
                return  # nothing more within the hour
            # A loop timer per incident (asyncio's own heap), in real seconds to the due
            # time on the driven clock; then to the step the clock reaches it at.
            tick = STEP.total_seconds() / speed
            while (left := found.next_at - clock.now()) > timedelta(0):  # noqa: ASYNC110
                # Real seconds to the due time on the driven clock (again, if the driver
                # fell behind), plus a step.
                await asyncio.sleep(left.total_seconds() / speed + tick)
            await writer.submit(*key, sla.change(company))

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for body in bodies:
        store.add(copy.deepcopy(body))
    stored = tracemalloc.get_traced_memory()[0]
    loop = asyncio.get_running_loop()
    for key in list(store.objects):  # the deadlines' first writes
        writer.submit(*key, sla.change(key[0].removeprefix("company-")))
    await settle(writer)
    tasks = []
    for key, body in store.objects.items():
        writer.observe(body)
        tasks.append(loop.create_task(timer(key, key[0].removeprefix("company-"))))
    await asyncio.sleep(0.5)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    reset(store, sla)
    await drive(clock, START + HOUR, args.speed)
    await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await writer.close()
    return result(sla, store, held=held - stored, stored=stored - base, count=len(bodies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--speed", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="only the scheduler")
    args = parser.parse_args()
    bodies = incidents(args.incidents, args.companies, args.seed)
    head = {"incidents": args.incidents, "companies": args.companies, "speed": args.speed}
    print(json.dumps(head), flush=True)
    print(json.dumps({"scheduler": asyncio.run(scheduler_run(args, bodies))}), flush=True)
    if not args.no_baseline:
        print(json.dumps({"timer_per_incident": asyncio.run(timers_run(args, bodies))}), flush=True)


if __name__ == "__main__":
    main()
