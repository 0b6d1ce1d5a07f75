"""Config kinds from git whose only reconcile is a Ready condition, and the Ready writer
every reconcile shares.

Cross-object checks read the operator's config store (kept in memory from watches), never
the API server, so reconciling a thousand objects costs no extra requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import kopf

from whisperer.operator import runtime
from whisperer.operator.models.v1alpha1 import GROUP, VERSION
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.readiness import READY, Verdict


def write_ready(
    verdict: Verdict,
    *,
    status: Any,
    meta: Any,
    patch: kopf.Patch,
    also: tuple[tuple[str, bool, str, str], ...] = (),
    now: datetime | None = None,
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
            now=now,
        )
    patch.status["conditions"] = set_condition(
        conditions,
        type="Ready",
        status="True" if verdict.ready else "False",
        reason=verdict.reason,
        message=verdict.message,
        generation=generation,
        now=now,
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
def accepted(
    status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """Kinds whose schema says all there is to check are Ready once the operator has seen them."""
    write_ready(READY, status=status, meta=meta, patch=patch, now=runtime.of(memo).clock.now())
