"""Config kinds from git whose only reconcile is a Ready condition, and the shared indexes.

Cross-object checks read Kopf indexes (kept in memory from the watch streams), never the
API server, so reconciling a thousand objects costs no extra requests.
"""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator.models.v1alpha1 import (
    GROUP,
    VERSION,
    RoutingRule,
    Runbook,
    SLAPolicy,
    Technician,
)
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.facts import CompanyFacts, facts_of
from whisperer.operator.services.readiness import READY, Verdict

ALL = "*"  # the one key of indexes that hold every object of a kind


@kopf.index(GROUP, VERSION, "slapolicies")
def sla_policy_names(name: str, **_: Any) -> dict[str, None]:
    """Names of the SLA policies that exist."""
    return {name: None}


@kopf.index(GROUP, VERSION, "companies")
def company_facts(name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any) -> dict[str, CompanyFacts]:
    """Each company's facts (and, by its keys, which exist and are not being deleted)."""
    if meta.get("deletionTimestamp"):
        return {}
    return {name: facts_of(spec)}


@kopf.index(GROUP, VERSION, "slapolicies")
def sla_policies(name: str, body: kopf.Body, **_: Any) -> dict[str, SLAPolicy]:
    """The SLA policies, by name."""
    return {name: SLAPolicy.from_body(body)}


@kopf.index(GROUP, VERSION, "routingrules")
def routing_rules(body: kopf.Body, **_: Any) -> dict[str, RoutingRule]:
    """Every routing rule (under the key ALL)."""
    return {ALL: RoutingRule.from_body(body)}


@kopf.index(GROUP, VERSION, "technicians")
def technicians(body: kopf.Body, **_: Any) -> dict[str, Technician]:
    """Every technician (under the key ALL)."""
    return {ALL: Technician.from_body(body)}


def company_of(facts: kopf.Index[str, CompanyFacts], name: str) -> CompanyFacts | None:
    """One company's facts, or None when it does not exist."""
    return next(iter(facts[name]), None) if name in facts else None


@kopf.index(GROUP, VERSION, "runbooks")
def runbooks(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], str]:
    """Each runbook's risk, by (namespace, name)."""
    return {(namespace or "", name): str(spec.get("risk", ""))}


@kopf.index(GROUP, VERSION, "runbooks")
def runbook_models(namespace: str | None, body: kopf.Body, **_: Any) -> dict[str, Runbook]:
    """Every runbook, by namespace."""
    return {namespace or "": Runbook.from_body(body)}


@kopf.index(GROUP, VERSION, "technicians")
def technicians_by_company(name: str, spec: kopf.Spec, **_: Any) -> dict[str, tuple[str, str]]:
    """(Technician name, user name) of the technicians serving each company."""
    return {company: (name, spec["username"]) for company in spec.get("companies", [])}


def write_ready(
    verdict: Verdict,
    *,
    status: Any,
    meta: Any,
    patch: kopf.Patch,
    also: tuple[tuple[str, bool, str, str], ...] = (),
) -> None:
    """Write Ready (and the `also` conditions: type, holds, reason, message) and
    observedGeneration; ask to be called again while waiting."""
    generation = meta.get("generation")
    patch.status["observedGeneration"] = generation
    conditions = list(status.get("conditions") or [])
    for type_, holds, reason, message in also:
        conditions = set_condition(
            conditions,
            type=type_,
            status="True" if holds else "False",
            reason=reason,
            message=message,
            generation=generation,
        )
    patch.status["conditions"] = set_condition(
        conditions,
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
    write_ready(READY, status=status, meta=meta, patch=patch)
