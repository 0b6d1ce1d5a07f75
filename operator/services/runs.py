"""Where a run's Runbook is looked up: as named, else the company's own, then the platform
library. (The run's decisions are in services/remediation/.)"""

from __future__ import annotations

from whisperer.operator.models.v1alpha1 import RunbookExecution
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE


def runbook_candidates(run: RunbookExecution) -> list[tuple[str, str]]:
    """(namespace, name) to look the runbook up at: as given, else the company's, then the
    platform library."""
    ref = run.spec.runbook_ref
    if ref.namespace:
        return [(ref.namespace, ref.name)]
    own = run.metadata.namespace or ""
    return [(own, ref.name), (PLATFORM_NAMESPACE, ref.name)]
