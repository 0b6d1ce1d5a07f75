"""Carrying out correlation's plans, outside its lock: the incidents' changes through the one
incident writer (handed to it in the order decided, which it keeps per incident), then, once
they are stored, the alert's status; the alert writes of one alert one plan after another,
a bounded number of plans in flight at once (more waits: backpressure on the watch)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from whisperer.operator.errors import NotFoundError, PermanentError, WhispererError
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.services.correlation.service import CorrelationService, Plan
from whisperer.operator.services.incident_writer import IncidentWriter
from whisperer.operator.services.tenancy import company_of_namespace

log = logging.getLogger(__name__)

Retry = Callable[[str, str, float], None]
"""Handle the alert (namespace, name) again after so many seconds."""


class Executor:
    """Runs plans (see the module)."""

    def __init__(
        self,
        *,
        service: CorrelationService,
        writer: IncidentWriter,
        kube: AsyncKube,
        in_flight: int = 256,
    ) -> None:
        self._service = service
        self._writer = writer
        self._kube = kube
        self._slots = asyncio.Semaphore(in_flight)
        self._chains: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.retry: Retry = lambda namespace, name, delay: None
        self.alert_writes = 0

    async def submit(self, plan: Plan) -> None:
        """Start carrying out a plan (waits while too many are in flight)."""
        await self._slots.acquire()
        # One chain per alert: the plans that write an alert's status (its own, or as one
        # that went stale on the way: `Plan.also`) are carried out in the order decided.
        names = ([plan.alert] if plan.alert else []) + [name for name, _, _ in plan.also]
        keys = [(plan.namespace, name) for name in dict.fromkeys(names)]
        previous = [t for k in keys if (t := self._chains.get(k)) is not None]
        # The incidents' changes go to the writer now, in the order decided (it keeps that
        # order per incident), not once the alert's earlier plans are done: a join decided
        # after the create of its incident must never reach the API server before it,
        # whatever the creating alert is still waiting on.
        stored = [self._writer.submit(s.namespace, s.name, s.change) for s in plan.steps]
        task = asyncio.get_running_loop().create_task(self._run(plan, previous, stored))
        for key in keys:
            self._chains[key] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            for key in keys:
                if self._chains.get(key) is finished:
                    del self._chains[key]
            self._slots.release()

        task.add_done_callback(done)

    async def drain(self, within: float = 30.0) -> None:
        """Wait for what is in flight (for at most `within` seconds)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def _run(
        self, plan: Plan, previous: list[asyncio.Task[None]], stored: list[asyncio.Future[None]]
    ) -> None:
        if previous:
            await asyncio.gather(*previous, return_exceptions=True)
        try:
            await self._carry_out(plan, stored)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("plan for %s/%s failed", plan.namespace, plan.alert or "(incidents)")

    async def _carry_out(self, plan: Plan, stored: list[asyncio.Future[None]]) -> None:
        if plan.retry_after is not None:
            self.retry(plan.namespace, plan.alert, plan.retry_after)
            return
        results = await asyncio.gather(*stored, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            self._failed(plan, failed)
            return
        if plan.load is not None:  # after what was decided before the load was asked for
            await self._load(plan)
            return
        # Alerts that went stale on the way, and the plan's own alert: different alerts are
        # written at once (a burst of stale alerts does not hold up the placement), each
        # alert's own writes in order (its stale record before its new report).
        own = [a for a in plan.also if a[0] == plan.alert]
        others = [a for a in plan.also if a[0] != plan.alert]

        async def also(name: str, status: dict[str, Any], sequence: int) -> None:
            if await self._patch(plan.namespace, name, status):
                self._service.written_also(plan.namespace, name, sequence)

        async def mine() -> None:
            for entry in own:
                await also(*entry)
            if plan.alert_status is not None and await self._patch(
                plan.namespace, plan.alert, plan.alert_status
            ):
                self._service.written(plan.namespace, plan.alert, plan)

        await asyncio.gather(mine(), *(also(*entry) for entry in others))

    async def _patch(self, namespace: str, alert: str, status: dict[str, object]) -> bool:
        """Write an alert's status (trying again while the API server is unavailable);
        False when the alert is gone or its status was refused."""
        delay = 0.2
        while True:
            try:
                await self._kube.patch_status("alerts", alert, {"status": status}, namespace)
                self.alert_writes += 1
                return True
            except NotFoundError:
                self._service.alert_deleted(namespace, alert)
                return False
            except PermanentError as exc:
                log.error("alert %s/%s: status refused: %s", namespace, alert, exc)
                return False
            except WhispererError as exc:
                log.warning("alert %s/%s not written yet (%s)", namespace, alert, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _failed(self, plan: Plan, failed: list[BaseException]) -> None:
        """An incident change could not be stored: the alert records nothing (a restart, or
        the retry, decides again); a resolution that did not land is undone in memory."""
        for company, incident in plan.resolved_incidents:
            self._service.unresolve(company, incident)
        company = company_of_namespace(plan.namespace) or ""
        gone = {str(e) for e in failed if isinstance(e, NotFoundError)}
        if gone:  # deleted by someone: forgotten, and the alert is placed anew
            for step in plan.steps:
                self._service.forget(company, step.name)
        if gone and plan.alert:
            log.warning(
                "alert %s/%s: its incident is gone; placing it again", plan.namespace, plan.alert
            )
            self.retry(plan.namespace, plan.alert, 1.0)
            return
        # A permanent refusal is a bug of ours (the writer logged the API server's reason):
        # trying again would be refused again.
        log.error(
            "alert %s/%s: incident changes refused (%s); the alert records nothing",
            plan.namespace,
            plan.alert or "(incidents)",
            failed[0],
        )

    async def _load(self, plan: Plan) -> None:
        assert plan.load is not None
        try:
            body = await self._kube.get("incidents", plan.load, plan.namespace)
        except NotFoundError:
            self._service.missing(company_of_namespace(plan.namespace) or "", plan.load)
        except WhispererError as exc:
            log.warning("cannot read incident %s/%s yet: %s", plan.namespace, plan.load, exc)
            self.retry(plan.namespace, plan.alert, 5.0)
            return
        else:
            self._service.load(body)
        self.retry(plan.namespace, plan.alert, 0.0)
