"""Technicians: readiness, their access to the companies they serve kept in step, and what
routing sees of them (open incidents, on shift) written to their status."""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator import runtime
from whisperer.operator.errors import NotFoundError
from whisperer.operator.handlers.config import write_ready
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Technician
from whisperer.operator.services import access
from whisperer.operator.services.readiness import technician_verdict
from whisperer.operator.services.routing import available


def _companies_of(value: Any) -> set[str]:
    """Companies in an old/new value: a whole essence (create, resume) or the spec (update)."""
    value = value or {}
    spec = value.get("spec", value)
    return set(spec.get("companies") or [])


def _resync(
    run: runtime.Runtime, technician: Technician, companies: set[str], *, leaving: bool
) -> None:
    """Rebuild each company's bindings: the other technicians from the config store, this
    one from its own body (the store may lag behind the event being handled)."""
    me = technician.metadata.name
    for company in sorted(companies):
        facts = run.config.facts(company)
        if facts is None:
            continue  # no such company (yet), or it is leaving: its own reconcile binds them
        users = {user for name, user in run.config.technicians_serving(company) if name != me}
        if not leaving and company in technician.spec.companies:
            users.add(technician.spec.username)
        try:
            access.sync_technician_access(
                run.kube,
                company=company,
                admins=facts.admins,
                technicians=users,
                viewers=facts.viewers,
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
    **_: Any,
) -> None:
    """Bind the technician where they serve, unbind where they stopped; then Ready."""
    run = runtime.of(memo)
    technician = Technician.from_body(body)
    _resync(
        run,
        technician,
        _companies_of(old) | _companies_of(new) | set(technician.spec.companies),
        leaving=False,
    )
    verdict = technician_verdict(technician, companies=run.config.company_names())
    write_ready(verdict, status=status, meta=meta, patch=patch, now=run.clock.now())


@kopf.on.delete(GROUP, VERSION, "technicians")
def remove_technician(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """A technician who leaves loses access to every company at once."""
    technician = Technician.from_body(body)
    _resync(runtime.of(memo), technician, set(technician.spec.companies), leaving=True)


def report_load(run: runtime.Runtime) -> None:
    """Write what routing sees of each technician now: open incidents and whether on shift
    (only where it changed). Housekeeping calls it on the operator's clock."""
    load = run.correlation.workload()
    now = run.clock.now()
    for technician in run.config.technicians():
        open_incidents = load.get(technician.metadata.name, 0)
        on_shift = available(technician, now)
        status = technician.status
        if status is not None and (status.open_incidents, status.on_shift) == (
            open_incidents,
            on_shift,
        ):
            continue
        try:
            run.kube.patch_status(
                "technicians",
                technician.metadata.name,
                {"openIncidents": open_incidents, "onShift": on_shift},
            )
        except NotFoundError:
            continue
