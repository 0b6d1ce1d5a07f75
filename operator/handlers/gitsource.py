"""GitSources: sync the config repo on an interval, on request, or when the spec changes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from whisperer.operator.models.v1alpha1 import GROUP, VERSION, GitSource
from whisperer.operator.services import gitsync
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.durations import parse_duration

TICK = float(os.environ.get("WHISPERER_GITSOURCE_TICK_SECONDS", "5"))
REQUEST_ANNOTATION = "alertwhisperer.io/reconcile-requested-at"
FAILURES = ("FetchFailed", "BuildFailed", "ValidationFailed", "ApplyFailed", "PruneFailed")


def _due(source: GitSource, status: Any, meta: Any, now: datetime) -> bool:
    if meta.get("generation") != status.get("observedGeneration"):
        return True
    if meta.get("annotations", {}).get(REQUEST_ANNOTATION, "") != status.get(
        "lastHandledRequest", ""
    ):
        return True
    last = status.get("lastSyncTime")
    if not last:
        return True
    since = now - datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    return since >= parse_duration(source.spec.interval) - timedelta(seconds=TICK / 2)


def _conditions(
    status: Any,
    generation: int | None,
    failed: str | None,
    message: str,
    cause: str | None = None,
) -> list[dict[str, Any]]:
    conditions = list(status.get("conditions") or [])
    for kind in FAILURES:
        holds = kind == failed
        conditions = set_condition(
            conditions,
            type=kind,
            status="True" if holds else "False",
            reason=(cause or kind) if holds else "Succeeded",
            message=message if holds else "",
            generation=generation,
        )
    return set_condition(
        conditions,
        type="Ready",
        status="False" if failed else "True",
        reason=failed or "Synced",
        message=message,
        generation=generation,
    )


@kopf.timer(GROUP, VERSION, "gitsources", interval=TICK, initial_delay=0.5)
def sync_source(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """One sync when due: the steps of services/gitsync, then the report in status."""
    source = GitSource.from_body(body)
    now = datetime.now(UTC)
    if source.spec.suspend or not _due(source, status, meta, now):
        return
    generation = meta.get("generation")
    token = ssh_key = None
    if source.spec.secret_ref:
        found = memo.kube.read_secret(source.spec.secret_ref.name, meta["namespace"])
        if found:
            token, ssh_key = found[0].get("token"), found[0].get("identity")
    trusted_keys = None
    if source.spec.verify is not None:
        found = memo.kube.read_secret(source.spec.verify.secret_ref.name, meta["namespace"])
        trusted_keys = "\n".join(found[0].values()) if found else ""
    patch.status.update(
        observedGeneration=generation,
        lastHandledRequest=meta.get("annotations", {}).get(REQUEST_ANNOTATION, ""),
        lastSyncTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    try:
        outcome = gitsync.sync(
            memo.kube,
            source,
            previous=list(status.get("inventory") or []),
            token=token,
            ssh_key=ssh_key,
            trusted_keys=trusted_keys,
            cache=memo.gitsource_builds,
        )
    except gitsync.SyncStepError as failed:
        patch.status["lastAttemptedRevision"] = failed.revision or status.get(
            "lastAttemptedRevision"
        )
        patch.status["errors"] = [e.as_status() for e in failed.errors[:50]]
        patch.status["conditions"] = _conditions(
            status, generation, failed.reason, str(failed), failed.cause
        )
        kopf.warn(body, reason=failed.cause or failed.reason, message=str(failed)[:1024])
        return
    summary = (
        f"applied {len(outcome.applied)} objects of {outcome.revision[:12]}"
        + ("" if outcome.fetched else " (unchanged: last build reused)")
        + ", pruned "
        f"{len(outcome.pruned)}"
        + (
            f", kept {len(outcome.kept)} in use: "
            + "; ".join(f"{k} ({v})" for k, v in outcome.kept.items())
            if outcome.kept
            else ""
        )
    )
    patch.status.update(
        lastAppliedRevision=outcome.revision,
        lastAttemptedRevision=outcome.revision,
        inventory=outcome.inventory,
        errors=[],
        conditions=_conditions(status, generation, None, summary),
    )
    for drifted in outcome.drifted:
        memo.kube.record_event(
            dict(body),
            reason="DriftCorrected",
            message=f"{drifted} was changed by hand; put back as in git {outcome.revision[:12]}",
            key=f"drift/{drifted}/{now.isoformat()}",
        )
