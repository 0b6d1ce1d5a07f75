"""GitSources: sync the config repo on an interval, on request, or when the spec changes.
Housekeeping calls `sync_due` every tick of the operator's clock; each source whose turn it
is runs the steps of services/gitsync, and the report lands in its status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from whisperer.operator import runtime
from whisperer.operator.clock import rfc3339
from whisperer.operator.errors import NotFoundError
from whisperer.operator.models.v1alpha1 import GitSource
from whisperer.operator.services import gitsync
from whisperer.operator.services.conditions import set_condition
from whisperer.operator.services.durations import parse_duration

REQUEST_ANNOTATION = "alertwhisperer.io/reconcile-requested-at"
FAILURES = ("FetchFailed", "BuildFailed", "ValidationFailed", "ApplyFailed", "PruneFailed")


def _due(source: GitSource, status: dict[str, Any], now: datetime, tick: float) -> bool:
    meta = source.metadata
    if meta.generation != status.get("observedGeneration"):
        return True
    if meta.annotations.get(REQUEST_ANNOTATION, "") != status.get("lastHandledRequest", ""):
        return True
    last = status.get("lastSyncTime")
    if not last:
        return True
    since = now - datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    return since >= parse_duration(source.spec.interval) - timedelta(seconds=tick / 2)


def _conditions(
    status: dict[str, Any],
    generation: int | None,
    failed: str | None,
    message: str,
    now: datetime,
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
            now=now,
        )
    return set_condition(
        conditions,
        type="Ready",
        status="False" if failed else "True",
        reason=failed or "Synced",
        message=message,
        generation=generation,
        now=now,
    )


def sync_due(run: runtime.Runtime, written: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Sync every source whose turn it is. `written` remembers the status each sync wrote,
    so a store that has not seen it yet does not make a source sync twice."""
    now = run.clock.now()
    for source in run.config.git_sources():
        key = (source.metadata.namespace or "", source.metadata.name)
        stored = source.to_body().get("status") or {}
        status = {**stored, **written.get(key, {})}
        if source.spec.suspend or not _due(
            source, status, now, run.settings.gitsource_tick_seconds
        ):
            continue
        try:
            written[key] = _sync(run, source, status, now)
        except NotFoundError:
            written.pop(key, None)  # deleted meanwhile


def _sync(
    run: runtime.Runtime, source: GitSource, status: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """One sync: the steps of services/gitsync, then the report in status."""
    namespace = source.metadata.namespace or ""
    generation = source.metadata.generation
    token = ssh_key = None
    if source.spec.secret_ref:
        found = run.kube.read_secret(source.spec.secret_ref.name, namespace)
        if found:
            token, ssh_key = found[0].get("token"), found[0].get("identity")
    trusted_keys = None
    if source.spec.verify is not None:
        found = run.kube.read_secret(source.spec.verify.secret_ref.name, namespace)
        trusted_keys = "\n".join(found[0].values()) if found else ""
    report: dict[str, Any] = {
        "observedGeneration": generation,
        "lastHandledRequest": source.metadata.annotations.get(REQUEST_ANNOTATION, ""),
        "lastSyncTime": rfc3339(now),
    }
    body = source.to_body()
    try:
        outcome = gitsync.sync(
            run.kube,
            source,
            previous=list(status.get("inventory") or []),
            token=token,
            ssh_key=ssh_key,
            trusted_keys=trusted_keys,
            cache=run.builds,
        )
    except gitsync.SyncStepError as failed:
        report["lastAttemptedRevision"] = failed.revision or status.get("lastAttemptedRevision")
        report["errors"] = [e.as_status() for e in failed.errors[:50]]
        report["conditions"] = _conditions(
            status, generation, failed.reason, str(failed), now, failed.cause
        )
        run.kube.patch_status("gitsources", source.metadata.name, report, namespace)
        run.kube.record_event(
            body,
            reason=failed.cause or failed.reason,
            message=str(failed)[:1024],
            key=f"{failed.reason}/{failed.revision or ''}/{now.isoformat()}",
            type="Warning",
            now=now,
        )
        return report
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
    report.update(
        lastAppliedRevision=outcome.revision,
        lastAttemptedRevision=outcome.revision,
        inventory=outcome.inventory,
        errors=[],
        conditions=_conditions(status, generation, None, summary, now),
    )
    run.kube.patch_status("gitsources", source.metadata.name, report, namespace)
    for drifted in outcome.drifted:
        run.kube.record_event(
            body,
            reason="DriftCorrected",
            message=f"{drifted} was changed by hand; put back as in git {outcome.revision[:12]}",
            key=f"drift/{drifted}/{now.isoformat()}",
            now=now,
        )
    return report
