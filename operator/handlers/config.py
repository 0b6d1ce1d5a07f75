"""Handlers for the config kinds from git: each object gets a Ready condition.

Cross-object checks read Kopf indexes (kept in memory from the watch streams), never the
API server, so reconciling a thousand objects costs no extra requests.
"""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Company, Technician
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.readiness import (
    READY,
    Verdict,
    company_verdict,
    technician_verdict,
)


@kopf.index(GROUP, VERSION, "slapolicies")
def sla_policy_names(name: str, **_: Any) -> dict[str, None]:
    """Names of the SLA policies that exist."""
    return {name: None}


@kopf.index(GROUP, VERSION, "companies")
def company_names(name: str, **_: Any) -> dict[str, None]:
    """Names of the companies that exist."""
    return {name: None}


def _write(verdict: Verdict, *, status: Any, meta: Any, patch: kopf.Patch) -> None:
    """Write Ready and observedGeneration; ask to be called again while waiting."""
    generation = meta.get("generation")
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = set_condition(
        list(status.get("conditions") or []),
        type="Ready",
        status="True" if verdict.ready else "False",
        reason=verdict.reason,
        message=verdict.message,
        generation=generation,
    )
    if verdict.waiting:
        raise kopf.TemporaryError(verdict.message, delay=15)
    if not verdict.ready:
        raise kopf.PermanentError(verdict.message)


@kopf.on.resume(GROUP, VERSION, "companies")
@kopf.on.create(GROUP, VERSION, "companies")
@kopf.on.update(GROUP, VERSION, "companies", field="spec")
def company_ready(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    **kwargs: Any,
) -> None:
    """A company is Ready when its SLA policy exists and its inventory is coherent."""
    policies: kopf.Index[str, None] = kwargs["sla_policy_names"]
    verdict = company_verdict(Company.from_body(body), sla_policies=policies)
    _write(verdict, status=status, meta=meta, patch=patch)


@kopf.on.resume(GROUP, VERSION, "technicians")
@kopf.on.create(GROUP, VERSION, "technicians")
@kopf.on.update(GROUP, VERSION, "technicians", field="spec")
def technician_ready(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    **kwargs: Any,
) -> None:
    """A technician is Ready when every company they serve exists."""
    companies: kopf.Index[str, None] = kwargs["company_names"]
    verdict = technician_verdict(Technician.from_body(body), companies=companies)
    _write(verdict, status=status, meta=meta, patch=patch)


@kopf.on.resume(GROUP, VERSION, "slapolicies")
@kopf.on.create(GROUP, VERSION, "slapolicies")
@kopf.on.update(GROUP, VERSION, "slapolicies", field="spec")
@kopf.on.resume(GROUP, VERSION, "routingrules")
@kopf.on.create(GROUP, VERSION, "routingrules")
@kopf.on.update(GROUP, VERSION, "routingrules", field="spec")
@kopf.on.resume(GROUP, VERSION, "runbooks")
@kopf.on.create(GROUP, VERSION, "runbooks")
@kopf.on.update(GROUP, VERSION, "runbooks", field="spec")
def accepted(status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
    """Kinds whose schema says all there is to check are Ready once the operator has seen them."""
    _write(READY, status=status, meta=meta, patch=patch)
