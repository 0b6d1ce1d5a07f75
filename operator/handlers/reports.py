"""The reporting job: each company's monthly report numbers, this month's and the last,
computed from its Incidents into the Company's `status.monthlyReports` (the one writer of
that field), so the monthly client report outlives incident retention."""

from __future__ import annotations

import logging

from whisperer.operator import runtime
from whisperer.operator.errors import WhispererError
from whisperer.operator.services import tenancy
from whisperer.operator.services.reporting import store

log = logging.getLogger(__name__)


def write_summaries(run: runtime.Runtime) -> None:
    """One pass over the companies; a company whose numbers did not change is not written."""
    now = run.clock.now()
    for name in sorted(run.config.company_names()):
        try:
            body = run.kube.get("companies", name)
            incidents = run.kube.list("incidents", tenancy.namespace_name(name))
            reports = store.refresh(body, incidents, now=now)
            if reports is not None:
                run.kube.patch_status("companies", name, {"monthlyReports": reports})
        except WhispererError as exc:
            log.warning("monthly report numbers of %s not written: %s", name, exc)
