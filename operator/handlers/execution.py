"""Runbook executions up to the point of running: risk from the Runbook, then the decision."""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator import runtime
from whisperer.operator.handlers.config import write_ready
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, RunbookExecution
from whisperer.operator.services import runs, tenancy
from whisperer.operator.services.readiness import READY, Verdict


@kopf.on.resume(GROUP, VERSION, "runbookexecutions")
@kopf.on.create(GROUP, VERSION, "runbookexecutions")
@kopf.on.update(GROUP, VERSION, "runbookexecutions", field="spec.approval")
def admit_run(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    namespace: str | None,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Record the runbook's risk, then the phase the approval (or policy) puts the run in."""
    live = runtime.of(memo)
    now = live.clock.now()
    run = RunbookExecution.from_body(body)
    risk = status.get("risk")
    if not risk:
        found = next(
            (
                rb
                for ns, name in runs.runbook_candidates(run)
                if (rb := live.config.runbook(ns, name))
            ),
            None,
        )
        if found is None:
            missing = Verdict(
                False,
                "RunbookNotFound",
                f"runbook {run.spec.runbook_ref.name!r} not found",
                waiting=True,
            )
            write_ready(missing, status=status, meta=meta, patch=patch, now=now)
            return  # write_ready raised (waiting): not reached
        risk = str(found.spec.risk)
        patch.status["risk"] = risk
    company = tenancy.company_of_namespace(namespace) or ""
    facts = live.config.facts(company)
    decision = runs.decide(
        run, risk=risk, company=company, auto_run_low_risk=bool(facts and facts.auto_run_low_risk)
    )
    if status.get("phase") != decision.phase:
        patch.status["phase"] = decision.phase
        live.kube.record_event(
            dict(body),
            reason=f"Run{decision.phase}",
            message=f"{decision.message} (actor: {decision.actor})",
            key=f"phase/{decision.phase}",
            now=now,
        )
    write_ready(READY, status=status, meta=meta, patch=patch, now=now)
