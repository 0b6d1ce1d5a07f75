"""What a run's steps write: the run's status (a merge patch with its Ready condition),
its Events (posted without waiting; their names are the record), and the run's summary on
its incident (through the incident writer, as the remediation owner)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from whisperer.operator.clock import parse_time
from whisperer.operator.errors import NotFoundError, WhispererError
from whisperer.operator.kube.events import event_body
from whisperer.operator.models.v1alpha1 import Runbook, RunbookExecution
from whisperer.operator.runtime import Runtime
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.remediation import report, steps

log = logging.getLogger(__name__)
PLURAL = "runbookexecutions"


class RunWrites:
    """The remediator's writes; `on_stored` sees every run body as stored."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        on_stored: Callable[[dict[str, Any]], None],
        runbook_of: Callable[[RunbookExecution], Runbook | None],
    ) -> None:
        self._rt = runtime
        self._on_stored = on_stored
        self._runbook_of = runbook_of
        self._posting: set[asyncio.Task[None]] = set()

    async def write(
        self,
        body: dict[str, Any],
        fields: dict[str, Any],
        *,
        ready: tuple[bool, str, str] | None = None,
        event: tuple[str, str, str] | None = None,
        warning: bool = False,
    ) -> dict[str, Any]:
        """Merge `fields` into the run's status (with the Ready condition); then the Event."""
        status = dict(body.get("status") or {})
        patch: dict[str, Any] = dict(fields)
        now = self._rt.clock.now()
        meta = body.get("metadata") or {}
        if ready is not None:
            patch["conditions"] = set_condition(
                list(status.get("conditions") or []),
                type="Ready",
                status="True" if ready[0] else "False",
                reason=ready[1],
                message=ready[2],
                generation=meta.get("generation"),
                now=now,
            )
            patch["observedGeneration"] = meta.get("generation")
        stored = await self._rt.akube.patch_status(
            PLURAL, meta["name"], {"status": patch}, meta.get("namespace")
        )
        body["status"] = stored.get("status") or {}
        body["metadata"] = stored.get("metadata") or meta
        self._on_stored(body)
        if event is not None:
            self.post(body, *event, warning=warning)
        return dict(body["status"])

    def post(
        self, body: dict[str, Any], reason: str, message: str, key: str, *, warning: bool = False
    ) -> None:
        """Post an Event about the run, without waiting for it (its name derives from the
        run and `key`: posted before, it is refused; status says it all anyway)."""
        ev = event_body(
            body,
            reason=reason,
            message=message,
            key=key,
            now=self._rt.clock.now(),
            type="Warning" if warning else "Normal",
        )

        async def post() -> None:
            with contextlib.suppress(WhispererError):
                await self._rt.akube.create("events", ev, ev["metadata"]["namespace"])

        task = asyncio.get_running_loop().create_task(post())
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def report(
        self, body: dict[str, Any], run: RunbookExecution, status: dict[str, Any], message: str
    ) -> None:
        """The run's summary on its incident (through the incident writer, as remediation)."""
        ref = run.spec.incident_ref
        if ref is None:
            return
        namespace = run.metadata.namespace or ""
        found = self._runbook_of(run)
        runbook = steps.runbook_ref(found) if found is not None else run.spec.runbook_ref.name
        entry = report.summary(
            name=run.metadata.name,
            runbook=str(runbook),
            requested_by=run.spec.requested_by,
            phase=str(status.get("phase") or "Pending"),
            outcome=status.get("outcome"),
            finished_at=parse_time(status.get("finishedAt")) if status.get("outcome") else None,
        )
        change = report.incident_change(
            entry,
            at=self._rt.clock.now(),
            actor=f"RunbookExecution/{run.metadata.name}",
            message=message,
        )
        try:
            await self._rt.writer.submit(namespace, ref.name, change)
        except NotFoundError:
            log.info("run %s: incident %s is gone", run.metadata.name, ref.name)


__all__ = ["PLURAL", "RunWrites"]
