"""Becoming the active operator: memory rebuilt from the cluster and the watches started, in
the order the decisions need (config, then incidents, then alerts); and stopping again.
The runner calls `activate` at startup (and, with leader election, when this replica takes
over); `deactivate` when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from whisperer.operator.handlers import alerts, housekeeping, incidents, indexes
from whisperer.operator.kube.watch import Informer
from whisperer.operator.runtime import Runtime

log = logging.getLogger(__name__)


async def _synced(runtime: Runtime, informers: list[Informer], what: str) -> None:
    tasks = [asyncio.get_running_loop().create_task(i.run()) for i in informers]
    runtime.tasks.extend(tasks)
    waiting = [asyncio.ensure_future(i.synced.wait()) for i in informers]
    while True:
        _, pending = await asyncio.wait(waiting, timeout=30)
        if not pending:
            return
        late = [i.plural for i in informers if not i.synced.is_set()]
        log.warning("still waiting for the first list of %s: %s", what, ", ".join(late))


async def activate(runtime: Runtime) -> None:
    """Rebuild memory and start following the cluster."""
    runtime.correlation.reset()
    runtime.writer.bind(asyncio.get_running_loop())
    page = runtime.settings.list_page_size
    await _synced(runtime, indexes.informers(runtime), "config")
    incident_events = incidents.IncidentEvents(runtime)
    await _synced(
        runtime,
        [Informer(runtime.akube, "incidents", incident_events, page_size=page)],
        "incidents",
    )
    incident_events.restoring = False
    alert_events = alerts.AlertEvents(runtime)
    runtime.closers.append(alert_events.close)
    await _synced(
        runtime, [Informer(runtime.akube, "alerts", alert_events, page_size=page)], "alerts"
    )
    await alert_events.restored()
    loop = asyncio.get_running_loop()
    runtime.tasks.append(loop.create_task(alerts.auto_resolve(runtime)))
    runtime.tasks.append(loop.create_task(runtime.sla.run()))
    runtime.tasks.append(loop.create_task(runtime.sender.run()))
    runtime.tasks.extend(housekeeping.start(runtime))
    runtime.marks["activated"] = runtime.clock.now()
    held = runtime.correlation.held()
    log.info(
        "active: %d open and %d resolved incident(s) in memory, %d alert(s); %d SLA clock(s) "
        "and %d incident(s) with messages waiting",
        held[0],
        held[1],
        held[3],
        runtime.sla.held(),
        runtime.sender.held(),
    )


async def deactivate(runtime: Runtime) -> None:
    """Stop the watches and loops, let what is in flight finish, write what is queued."""
    for close in runtime.closers:
        close()
    runtime.closers.clear()
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    runtime.tasks.clear()
    await runtime.executor.drain()
    if runtime.analysis is not None:
        await asyncio.get_running_loop().run_in_executor(None, runtime.analysis.close)
    await runtime.writer.close()
    stats = runtime.writer.stats
    log.info(
        "incident writer: %d changes in %d writes (%d creates, %d conflicts, %d events)",
        stats.submitted,
        stats.writes,
        stats.creates,
        stats.conflicts,
        stats.events,
    )
