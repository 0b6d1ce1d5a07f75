"""Automatic runs: a new incident whose suggested runbook is low risk, where the company
allows it, gets a RunbookExecution the operator creates itself (`auto-<incident>`,
`requestedBy: operator:auto-remediation`): once per incident, the name being the record;
none while the company's automatic runs are paused (`handlers/breaker.py`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from whisperer.operator.errors import ConflictError, WhispererError
from whisperer.operator.kube.watch import object_key
from whisperer.operator.runtime import Runtime
from whisperer.operator.services.remediation import report
from whisperer.operator.services.tenancy import company_of_namespace

log = logging.getLogger(__name__)
PLURAL = "runbookexecutions"
Key = tuple[str, str]


class AutoRuns:
    """Creates the automatic runs; `schedule` hands each to the remediator."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        schedule: Callable[[Key, datetime], None],
        paused: Callable[[str], bool],
    ) -> None:
        self._rt = runtime
        self._schedule = schedule
        self._paused = paused
        self._created: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def incident_event(self, body: dict[str, Any]) -> None:
        """A new incident whose suggested runbook runs by itself gets its RunbookExecution
        (named after the incident: once per incident)."""
        found = report.suggested(body)
        if found is None:
            return
        namespace, incident = object_key(body)
        status = body.get("status") or {}
        name = report.auto_run_name(incident)
        if any(r.get("name") == name for r in status.get("runs") or []):
            self._created.discard((namespace, name))  # the incident records it now
            return
        if status.get("phase") == "Resolved":
            return
        if (namespace, name) in self._created:
            return
        company = company_of_namespace(namespace) or ""
        facts = self._rt.config.facts(company)
        rb_namespace, _, rb_name = found[0].rpartition("/")
        runbook = self._rt.config.runbook(rb_namespace, rb_name)
        if (
            facts is None
            or not facts.auto_run_low_risk
            or runbook is None
            or runbook.spec.risk != "low"
        ):
            return
        if self._paused(company):
            log.info(
                "incident %s/%s: no automatic run of %s: the company's automatic runs are paused",
                namespace,
                incident,
                found[0],
            )
            return
        self._created.add((namespace, name))
        task = asyncio.get_running_loop().create_task(self._create(namespace, incident, found))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _create(self, namespace: str, incident: str, found: tuple[str, str]) -> None:
        body = report.auto_run_body(
            namespace=namespace,
            incident=incident,
            runbook=found[0],
            target=found[1],
            reason=f"incident {incident}: {found[0]} fits and the company allows low-risk runs",
        )
        try:
            await self._rt.akube.create(PLURAL, body, namespace)
        except ConflictError:
            pass  # made before (the name is the record)
        except WhispererError as exc:
            self._created.discard((namespace, body["metadata"]["name"]))
            log.warning("incident %s/%s: no automatic run: %s", namespace, incident, exc)
            return
        self._schedule((namespace, body["metadata"]["name"]), self._rt.clock.now())


__all__ = ["AutoRuns"]
