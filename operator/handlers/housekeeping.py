"""Periodic work on the operator's clock, one loop per job (no Kopf timer, so no finalizer
on the objects and no interval fixed at import): git sources, expired credentials, pruned
alerts, technicians' load. Each job runs in a thread (they use the synchronous client) and
leaves a mark of when it last ran (`runtime.marks`), so a test can see it ran."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from whisperer.operator.handlers import company, gitsource, reports, technician
from whisperer.operator.runtime import Runtime

log = logging.getLogger(__name__)


async def every(runtime: Runtime, name: str, seconds: float, job: Callable[[], None]) -> None:
    """Run `job` every `seconds` of the operator's clock (the first time after one period),
    until cancelled; a failure is logged and the next period comes all the same."""
    loop = asyncio.get_running_loop()
    period = timedelta(seconds=seconds)
    due = runtime.clock.now() + period
    while True:
        await runtime.clock.sleep_until(due)
        try:
            await loop.run_in_executor(None, job)
        except Exception:
            log.exception("%s failed; again in %s", name, period)
        runtime.marks[name] = runtime.clock.now()
        due = max(due + period, runtime.clock.now())


def start(runtime: Runtime) -> list[asyncio.Task[None]]:
    """The housekeeping loops."""
    settings = runtime.settings
    written: dict[tuple[str, str], dict[str, Any]] = {}
    jobs: list[tuple[str, float, Callable[[], None]]] = [
        (
            "git_sources",
            settings.gitsource_tick_seconds,
            lambda: gitsource.sync_due(runtime, written),
        ),
        (
            "credentials",
            settings.credential_sweep_seconds,
            lambda: company.sweep_credentials(runtime),
        ),
        ("prune_alerts", settings.alert_sweep_seconds, lambda: company.prune_alerts(runtime)),
        ("technicians", settings.technician_tick_seconds, lambda: technician.report_load(runtime)),
        ("monthly_reports", settings.report_tick_seconds, lambda: reports.write_summaries(runtime)),
    ]
    loop = asyncio.get_running_loop()
    return [loop.create_task(every(runtime, name, seconds, job)) for name, seconds, job in jobs]
