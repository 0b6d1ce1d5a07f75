"""Incident events: the writer's view kept fresh, what people did (acknowledge, note,
resolve, reassign in the spec) recorded once, and incidents whose input changed handed to
the AI analysis. At startup the first list rebuilds correlation's memory of incidents."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from whisperer.operator.kube.watch import object_key
from whisperer.operator.models.v1alpha1.incident import IncidentSpec
from whisperer.operator.runtime import Runtime
from whisperer.operator.services import lifecycle
from whisperer.operator.services.tenancy import company_of_namespace

log = logging.getLogger(__name__)


class IncidentEvents:
    """The incident watch's handler."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.restoring = True

    async def __call__(self, kind: str, body: dict[str, Any]) -> None:
        runtime = self._runtime
        namespace, name = object_key(body)
        company = company_of_namespace(namespace)
        if kind == "DELETED":
            runtime.writer.forget(namespace, name)
            runtime.sla.forget(namespace, name)
            runtime.sender.forget(namespace, name)
            if company is not None:
                runtime.correlation.forget(company, name)
            return
        runtime.writer.observe(body)
        if self.restoring:
            runtime.correlation.restore_incident(body)
        self._human_actions(body, company)
        runtime.sla.observe(body)
        runtime.sender.observe(body)
        worker = runtime.analysis
        if worker is not None and worker.wants(body.get("status") or {}):
            worker.submit(namespace, name)

    def _human_actions(self, body: dict[str, Any], company: str | None) -> None:
        """Record what the spec says that the status does not show yet (each once)."""
        meta = body.get("metadata") or {}
        status = body.get("status") or {}
        if meta.get("generation") is not None and meta["generation"] == status.get(
            "observedGeneration"
        ):
            return
        try:
            spec = IncidentSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            log.warning("incident %s/%s is not usable: %s", *object_key(body), exc)
            return
        runtime = self._runtime
        outcome = lifecycle.human_outcome(
            spec,
            status,
            generation=meta.get("generation"),
            technicians=runtime.config.technician_names(),
            now=runtime.clock.now(),
        )
        namespace, name = object_key(body)
        for change in outcome.changes:
            done = runtime.writer.submit(namespace, name, change)
            done.add_done_callback(_log_failure(namespace, name))
        if company is not None and outcome.resolved:
            runtime.correlation.human_resolved(company, name)
        if company is not None and outcome.reassigned_to:
            runtime.correlation.reassigned(company, name, outcome.reassigned_to)


def _log_failure(namespace: str, name: str) -> Any:
    def check(done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning(
                "incident %s/%s: people's actions not recorded: %s",
                namespace,
                name,
                done.exception(),
            )

    return check
