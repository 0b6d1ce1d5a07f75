"""Technicians: readiness, and their access to the companies they serve kept in step."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import kopf

from whisperer.operator.errors import NotFoundError
from whisperer.operator.handlers.config import company_of, write_ready
from whisperer.operator.handlers.correlation import LOCK
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Technician
from whisperer.operator.services import access
from whisperer.operator.services.readiness import technician_verdict
from whisperer.operator.services.routing import available

# How often a technician's open incidents and shift are written to their status.
TICK = float(os.environ.get("WHISPERER_TECHNICIAN_TICK_SECONDS", "60"))


def _companies_of(value: Any) -> set[str]:
    """Companies in an old/new value: a whole essence (create, resume) or the spec (update)."""
    value = value or {}
    spec = value.get("spec", value)
    return set(spec.get("companies") or [])


def _resync(
    memo: kopf.Memo, technician: Technician, companies: set[str], *, leaving: bool, **kwargs: Any
) -> None:
    """Rebuild each company's bindings: the other technicians from the index, this one from
    its own body (the index may lag behind the event being handled)."""
    serving: kopf.Index[str, tuple[str, str]] = kwargs["technicians_by_company"]
    me = technician.metadata.name
    for company in sorted(companies):
        facts = company_of(kwargs["company_facts"], company)
        if facts is None:
            continue  # no such company (yet), or it is leaving: its own reconcile binds them
        users = {user for name, user in serving.get(company, []) if name != me}
        if not leaving and company in technician.spec.companies:
            users.add(technician.spec.username)
        try:
            access.sync_technician_access(
                memo.kube, company=company, admins=facts.admins, technicians=users
            )
        except NotFoundError as exc:
            raise kopf.TemporaryError(f"{company}: {exc}", delay=5) from exc


@kopf.on.resume(GROUP, VERSION, "technicians")
@kopf.on.create(GROUP, VERSION, "technicians")
@kopf.on.update(GROUP, VERSION, "technicians", field="spec")
def reconcile_technician(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: kopf.Memo,
    old: Any,
    new: Any,
    **kwargs: Any,
) -> None:
    """Bind the technician where they serve, unbind where they stopped; then Ready."""
    technician = Technician.from_body(body)
    _resync(
        memo,
        technician,
        _companies_of(old) | _companies_of(new) | set(technician.spec.companies),
        leaving=False,
        **kwargs,
    )
    verdict = technician_verdict(technician, companies=kwargs["company_facts"])
    write_ready(verdict, status=status, meta=meta, patch=patch)


@kopf.on.delete(GROUP, VERSION, "technicians")
def remove_technician(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A technician who leaves loses access to every company at once."""
    technician = Technician.from_body(body)
    _resync(memo, technician, set(technician.spec.companies), leaving=True, **kwargs)


@kopf.timer(GROUP, VERSION, "technicians", interval=TICK, initial_delay=TICK)
def report_load(
    body: kopf.Body, status: kopf.Status, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """Write what routing sees of the technician now: open incidents and whether on shift
    (only when it changed)."""
    technician = Technician.from_body(body)
    with LOCK:
        open_incidents = memo.correlator.workload().get(technician.metadata.name, 0)
    on_shift = available(technician, datetime.now(UTC))
    if status.get("openIncidents") != open_incidents or status.get("onShift") != on_shift:
        patch.status.update(openIncidents=open_incidents, onShift=on_shift)
