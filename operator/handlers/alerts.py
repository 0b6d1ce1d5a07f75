"""Alert events into correlation: each event is decided in memory at once and its writes are
carried out after (`services.correlation`). At startup (and when a replica becomes active)
the first list of alerts rebuilds correlation's memory instead, and the alerts not handled
yet are handled once it is complete."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from whisperer.operator.kube.watch import object_key
from whisperer.operator.runtime import Runtime

log = logging.getLogger(__name__)

Key = tuple[str, str]


class AlertEvents:
    """The alert watch's handler."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.restoring = True
        self._unhandled: dict[Key, dict[str, Any]] = {}  # while restoring
        self._waiting: dict[Key, dict[str, Any]] = {}  # alerts to handle again later
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        runtime.executor.retry = self.retry

    async def __call__(self, kind: str, body: dict[str, Any]) -> None:
        key = object_key(body)
        correlation = self._runtime.correlation
        if kind == "DELETED":
            self._waiting.pop(key, None)
            self._unhandled.pop(key, None)
            correlation.alert_deleted(*key)
            return
        if key in self._waiting:
            self._waiting[key] = body
        if self.restoring:
            if correlation.restore_alert(body):
                self._unhandled[key] = body
            return
        await self.handle(body)

    async def restored(self) -> None:
        """The first list is in: memory is whole; handle what was not handled yet."""
        self.restoring = False
        self._runtime.correlation.finish_restore()
        unhandled, self._unhandled = self._unhandled, {}
        log.info("correlation memory rebuilt; %d alert(s) to handle", len(unhandled))
        for body in unhandled.values():
            await self.handle(body)

    async def handle(self, body: dict[str, Any]) -> None:
        """Decide, then carry out the plan (waits while too many plans are in flight)."""
        plan = self._runtime.correlation.handle_alert(body)
        log.debug("alert %s/%s: %s", *object_key(body), plan)
        if plan is not None:
            await self._runtime.executor.submit(plan)

    def retry(self, namespace: str, name: str, delay: float) -> None:
        """Handle an alert again after `delay` seconds, as it is by then."""
        key = (namespace, name)
        if key in self._waiting:
            return
        loop = asyncio.get_running_loop()

        def again() -> None:
            task = loop.create_task(self._again(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._waiting.setdefault(key, {})
        self._timers.add(loop.call_later(delay, again))

    async def _again(self, key: Key) -> None:
        body = self._waiting.pop(key, None)
        if not body:
            try:
                body = await self._runtime.akube.get("alerts", key[1], key[0])
            except Exception as exc:  # gone, or the API server is away: the watch will tell
                log.info("alert %s/%s not handled again: %s", *key, exc)
                return
        await self.handle(body)

    def close(self) -> None:
        """Cancel the pending retries."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()


async def auto_resolve(runtime: Runtime) -> None:
    """One loop over correlation's memory on the operator's clock: quiet incidents resolve
    once their hold-down has passed, with no timer per incident (and none per company)."""
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wake_up() -> None:
        loop.call_soon_threadsafe(wake.set)

    runtime.correlation.on_change = wake_up
    longest = timedelta(minutes=1)  # look at least this often (memory is pruned on the way)
    while True:
        wake.clear()
        plans, due = runtime.correlation.auto_resolve()
        runtime.marks["auto_resolve"] = runtime.clock.now()
        for plan in plans:
            await runtime.executor.submit(plan)
        until = runtime.clock.now() + longest
        await runtime.clock.sleep_until(min(due, until) if due else until, wake=wake)
