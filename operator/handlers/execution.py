"""RunbookExecution events: Kopf tells us a run was created or decided on; the remediator
(handlers/remediation.py) reconciles it, on the operator's clock."""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator import runtime
from whisperer.operator.models.v1alpha1 import GROUP, VERSION


@kopf.on.create(GROUP, VERSION, "runbookexecutions")
@kopf.on.update(GROUP, VERSION, "runbookexecutions", field="spec.approval")
def wake_run(name: str | None, namespace: str | None, memo: kopf.Memo, **_: Any) -> None:
    """Hand the run to the remediator: it reads the run and takes its next step."""
    remediator = runtime.of(memo).remediator
    if remediator is not None and name and namespace:
        remediator.wake(namespace, name)
