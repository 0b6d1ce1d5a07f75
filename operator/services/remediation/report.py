"""What an incident shows of its runs: one `RunSummary` per run in `status.runs` (merged by
name at write time, so two runs reporting at once lose nothing) and timeline entries; and
the RunbookExecution the operator creates by itself for a new incident (an automatic run,
named after the incident so it is made once)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from whisperer.operator.clock import rfc3339
from whisperer.operator.models.v1alpha1 import API_VERSION
from whisperer.operator.services.incident_writer import Change, Owner, Update, timeline_entry
from whisperer.operator.services.remediation.approval import AUTO_ACTOR

RUNS_LIMIT = 20
"""Runs an incident lists (the oldest finished ones go first)."""
TIMELINE = {
    "AwaitingApproval": "RunAwaitingApproval",
    "Running": "RemediationStarted",
    "SelfHealed": "SelfHealed",
    "Ineffective": "RemediationIneffective",
    "Failed": "RemediationFailed",
    "Rejected": "RunRejected",
    "Expired": "RunExpired",
    "Cancelled": "RunCancelled",
}


def summary(
    *,
    name: str,
    runbook: str,
    requested_by: str,
    phase: str,
    outcome: str | None,
    finished_at: datetime | None,
) -> dict[str, Any]:
    """A RunSummary as stored (camelCase)."""
    out: dict[str, Any] = {
        "name": name,
        "runbook": runbook,
        "requestedBy": requested_by,
        "phase": phase,
    }
    if outcome is not None:
        out["outcome"] = outcome
    if finished_at is not None:
        out["finishedAt"] = rfc3339(finished_at)
    return out


def merged(runs: list[Mapping[str, Any]], entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`runs` with `entry` in place of the run of its name (or added), bounded."""
    out = [dict(r) for r in runs if r.get("name") != entry["name"]]
    out.append(dict(entry))
    while len(out) > RUNS_LIMIT:
        done = next((i for i, r in enumerate(out) if r.get("finishedAt")), 0)
        out.pop(done)
    return out


def incident_change(entry: Mapping[str, Any], *, at: datetime, actor: str, message: str) -> Change:
    """The remediation owner's change: the run's summary merged into `status.runs` at write
    time, and a timeline entry for the phase or outcome it reached."""
    kind = TIMELINE.get(str(entry.get("outcome") or "")) or TIMELINE.get(str(entry["phase"]))
    timeline = [timeline_entry(at, kind, actor, message)] if kind else []

    def compute(incident: Mapping[str, Any]) -> Update | None:
        runs = list((incident.get("status") or {}).get("runs") or [])
        current = next((r for r in runs if r.get("name") == entry["name"]), None)
        if current == dict(entry):
            return None
        return Update(fields={"runs": merged(runs, entry)})

    return Change(Owner.REMEDIATION, timeline=timeline, compute=compute)


def auto_run_name(incident: str) -> str:
    """The automatic run's name for an incident: one per incident."""
    return f"auto-{incident}"[:253]


def auto_run_body(
    *, namespace: str, incident: str, runbook: str, target: str, reason: str
) -> dict[str, Any]:
    """The RunbookExecution the operator creates for a new incident (`runbook` is
    namespace/name)."""
    rb_namespace, _, rb_name = runbook.rpartition("/")
    ref: dict[str, str] = {"name": rb_name}
    if rb_namespace:
        ref["namespace"] = rb_namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "RunbookExecution",
        "metadata": {
            "name": auto_run_name(incident),
            "namespace": namespace,
            "labels": {"alertwhisperer.io/incident": incident[:63]},
        },
        "spec": {
            "runbookRef": ref,
            "incidentRef": {"name": incident},
            "targets": [target],
            "requestedBy": AUTO_ACTOR,
            "reason": reason[:1024],
        },
    }


def suggested(incident: Mapping[str, Any]) -> tuple[str, str] | None:
    """(runbook, asset) the correlation suggested for a new incident that runs by itself
    (its `RunbookSuggested` timeline entry), or None."""
    status = incident.get("status") or {}
    entry = next(
        (
            e
            for e in status.get("timeline") or []
            if e.get("type") == "RunbookSuggested"
            and "would start by itself" in str(e.get("message"))
        ),
        None,
    )
    if entry is None:
        return None
    runbook = str(entry.get("message") or "").split(" ", 1)[0]
    cause = status.get("rootCause") or {}
    asset = str(
        cause.get("asset") or ((status.get("alerts") or {}).get("first") or {}).get("asset") or ""
    )
    if not runbook or not asset:
        return None
    return runbook, asset


__all__ = [
    "RUNS_LIMIT",
    "TIMELINE",
    "auto_run_body",
    "auto_run_name",
    "incident_change",
    "merged",
    "suggested",
    "summary",
]
