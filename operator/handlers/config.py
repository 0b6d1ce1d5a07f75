"""Config kinds from git whose only reconcile is a Ready condition, and the shared indexes.

Cross-object checks read Kopf indexes (kept in memory from the watch streams), never the
API server, so reconciling a thousand objects costs no extra requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import kopf

from whisperer.operator.models.v1alpha1 import GROUP, VERSION
from whisperer.operator.models.v1alpha1.company import InhibitRule
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.readiness import READY, Verdict


@kopf.index(GROUP, VERSION, "slapolicies")
def sla_policy_names(name: str, **_: Any) -> dict[str, None]:
    """Names of the SLA policies that exist."""
    return {name: None}


@dataclass(frozen=True)
class CompanyFacts:
    """What other handlers need to know of a company without reading it."""

    admins: tuple[str, ...]
    auto_run_low_risk: bool
    window: timedelta = timedelta(minutes=15)
    auto_resolve: bool = True
    hold_down: timedelta = timedelta(minutes=5)
    reopen_window: timedelta = timedelta(hours=1)
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    critical: frozenset[str] = frozenset()
    inhibit_rules: tuple[Any, ...] = ()


@kopf.index(GROUP, VERSION, "companies")
def company_facts(name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any) -> dict[str, CompanyFacts]:
    """Each company's admins and remediation policy (and, by its keys, which exist and are
    not being deleted)."""
    if meta.get("deletionTimestamp"):
        return {}
    remediation = spec.get("remediation") or {}
    incident_settings = spec.get("incidents") or {}
    assets = spec.get("assets") or []
    return {
        name: CompanyFacts(
            admins=tuple(spec.get("admins", [])),
            auto_run_low_risk=bool(remediation.get("autoRunLowRisk", False)),
            window=parse_duration(incident_settings.get("aggregationWindow", "15m")),
            auto_resolve=bool(incident_settings.get("autoResolve", True)),
            hold_down=parse_duration(incident_settings.get("autoResolveHoldDown", "5m")),
            reopen_window=parse_duration(incident_settings.get("reopenWindow", "1h")),
            depends_on={a["name"]: tuple(a.get("dependsOn") or []) for a in assets},
            critical=frozenset(a["name"] for a in assets if a.get("critical")),
            inhibit_rules=tuple(
                InhibitRule.model_validate(r) for r in incident_settings.get("inhibitRules") or []
            ),
        )
    }


def company_of(facts: kopf.Index[str, CompanyFacts], name: str) -> CompanyFacts | None:
    """One company's facts, or None when it does not exist."""
    return next(iter(facts[name]), None) if name in facts else None


@kopf.index(GROUP, VERSION, "runbooks")
def runbooks(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], str]:
    """Each runbook's risk, by (namespace, name)."""
    return {(namespace or "", name): str(spec.get("risk", ""))}


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
