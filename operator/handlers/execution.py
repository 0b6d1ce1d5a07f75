"""Runbook executions up to the point of running: risk from the Runbook, then the decision."""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator.handlers.config import company_of, write_ready
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, RunbookExecution
from whisperer.operator.services import runs
from whisperer.operator.services.readiness import READY, Verdict

COMPANY_PREFIX = "company-"


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
    **kwargs: Any,
) -> None:
    """Record the runbook's risk, then the phase the approval (or policy) puts the run in."""
    run = RunbookExecution.from_body(body)
    risks: kopf.Index[tuple[str, str], str] = kwargs["runbooks"]
    risk = status.get("risk")
    if not risk:
        found = next((k for k in runs.runbook_candidates(run) if k in risks), None)
        if found is None:
            missing = Verdict(
                False,
                "RunbookNotFound",
                f"runbook {run.spec.runbook_ref.name!r} not found",
                waiting=True,
            )
            write_ready(missing, status=status, meta=meta, patch=patch)
        risk = next(iter(risks[found]))  # type: ignore[index]
        patch.status["risk"] = risk
    company = (namespace or "").removeprefix(COMPANY_PREFIX)
    facts = company_of(kwargs["company_facts"], company)
    decision = runs.decide(
        run, risk=risk, company=company, auto_run_low_risk=bool(facts and facts.auto_run_low_risk)
    )
    if status.get("phase") != decision.phase:
        patch.status["phase"] = decision.phase
        memo.kube.record_event(
            dict(body),
            reason=f"Run{decision.phase}",
            message=f"{decision.message} (actor: {decision.actor})",
            key=f"phase/{decision.phase}",
        )
    write_ready(READY, status=status, meta=meta, patch=patch)
