"""The RunbookExecution reconciler's loop: runs due on the operator's clock, each looked at
by `runsteps.RunSteps` (one look at a time per run, a bounded number at once), woken by the
run's Kopf handler, by the incident watch (automatic runs, `autoruns`) and by its own
schedule (polls, approval expiry, verification)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from whisperer.operator.errors import TemporaryError
from whisperer.operator.handlers.autoruns import AutoRuns
from whisperer.operator.handlers.breaker import Breaker
from whisperer.operator.handlers.clouds import Clouds
from whisperer.operator.handlers.runsteps import RETRY, RunSteps
from whisperer.operator.handlers.runwrites import PLURAL
from whisperer.operator.kube.watch import object_key
from whisperer.operator.runtime import Runtime

log = logging.getLogger(__name__)
IN_FLIGHT = 8
Key = tuple[str, str]


class Remediator:
    """Runs due on the clock, reconciled a step at a time; woken by the run's Kopf handler,
    by incident changes, and by its own schedule."""

    def __init__(
        self,
        runtime: Runtime,
        clouds: Clouds,
        *,
        crash_at: str | None = None,
        per_company: int = 5,
    ) -> None:
        self._rt = runtime
        self._clouds = clouds
        self._due: dict[Key, datetime] = {}
        self._active: set[Key] = set()
        self._again: set[Key] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.breaker = Breaker(runtime)
        self._steps = RunSteps(
            runtime,
            clouds,
            schedule=self._schedule,
            breaker=self.breaker,
            crash_at=crash_at,
            per_company=per_company,
        )
        self.stats = self._steps.stats
        self._auto = AutoRuns(runtime, schedule=self._schedule, paused=self.breaker.paused)
        self.reconciles = 0

    def close(self) -> None:
        """Close the Azure clients (at the operator's exit)."""
        self._clouds.azure.close()

    def wake(self, namespace: str, name: str) -> None:
        """Look at this run now (thread-safe: Kopf's handlers call it from threads)."""
        loop = self._loop
        if loop is None:
            return  # not running yet: `run` lists every run when it starts
        loop.call_soon_threadsafe(self._schedule, (namespace, name), self._rt.clock.now())

    def _schedule(self, key: Key, at: datetime) -> None:
        if key in self._active:
            self._again.add(key)
        current = self._due.get(key)
        if current is None or at < current:
            self._due[key] = at
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """List every run once, then reconcile whatever is due, forever."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        clock = self._rt.clock
        items, _ = await self._rt.akube.list_all(PLURAL)
        for body in items:
            self._steps.track(body)
            self._schedule(object_key(body), clock.now())
        self.breaker.start()
        tasks: set[asyncio.Task[None]] = set()
        limit = asyncio.Semaphore(IN_FLIGHT)
        while True:
            now = clock.now()
            due = [k for k, at in self._due.items() if at <= now and k not in self._active]
            for key in due:
                del self._due[key]
                self._active.add(key)
                await limit.acquire()
                task = asyncio.get_running_loop().create_task(self._one(key, limit))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self._rt.marks["remediation"] = now
            waiting = [at for k, at in self._due.items() if k not in self._active]
            self._wake.clear()
            await clock.sleep_until(
                min(waiting, default=now + timedelta(minutes=5)), wake=self._wake
            )

    async def _one(self, key: Key, limit: asyncio.Semaphore) -> None:
        try:
            at = await self._steps.reconcile(key)
        except TemporaryError as exc:
            log.info("run %s/%s: %s; again in %.0f s", *key, exc, exc.delay)
            at = self._rt.clock.now() + timedelta(seconds=exc.delay)
        except Exception:
            log.exception("run %s/%s: reconcile failed", *key)
            at = self._rt.clock.now() + RETRY
        finally:
            self._active.discard(key)
            limit.release()
        self.reconciles += 1
        if key in self._again:
            self._again.discard(key)
            at = self._rt.clock.now()
        if at is not None:
            self._schedule(key, at)

    def incident_event(self, body: dict[str, Any]) -> None:
        """An incident changed: maybe an automatic run for it (`autoruns`)."""
        if self._loop is not None:
            self._auto.incident_event(body)


__all__ = ["Remediator"]
