"""Companies: their namespace, credentials, access, readiness, rotation and removal, and the
pruning of their resolved alerts."""

from __future__ import annotations

from typing import Any

import kopf

from whisperer.operator import runtime
from whisperer.operator.handlers.config import write_ready
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Company
from whisperer.operator.services import access, retention, tenancy
from whisperer.operator.services.readiness import company_verdict

ROTATE_FIELD = ("metadata", "annotations", tenancy.ROTATE_ANNOTATION)


@kopf.on.resume(GROUP, VERSION, "companies")
@kopf.on.create(GROUP, VERSION, "companies")
@kopf.on.update(GROUP, VERSION, "companies", field="spec")
@kopf.on.field(GROUP, VERSION, "companies", field=ROTATE_FIELD)
def reconcile_company(
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Namespace, credentials (rotated once per request), RoleBindings, then Ready."""
    run = runtime.of(memo)
    company = Company.from_body(body)
    technicians = sorted(
        {user for _, user in run.config.technicians_serving(company.metadata.name)}
    )
    rotation = meta.get("annotations", {}).get(tenancy.ROTATE_ANNOTATION)
    result = access.sync_company(
        run.kube,
        company,
        technicians=technicians,
        rotation=rotation,
        known_external_id=status.get("externalId"),
    )
    if rotation and status.get("rotation") != rotation:
        run.kube.record_event(
            dict(body),
            key=f"rotation/{rotation}",
            reason="CredentialsRotated",
            message=f"new API key issued for rotation request {rotation!r}; the previous "
            f"one stays valid for {company.spec.webhook.key_rotation_grace}",
            now=run.clock.now(),
        )
        logger.info("rotated the credentials of %s", company.metadata.name)
    patch.status.update(
        namespace=result.namespace,
        webhookUrl=f"{run.settings.webhook_url}/v1/alerts",
        credentialsSecret=result.credentials_secret,
        externalId=result.external_id,
        rotation=result.rotation or None,
    )
    verdict = company_verdict(company, sla_policies=set(run.config.sla_policies()))
    suspended = (
        ("Suspended", True, "SuspendedBySpec", "webhook calls are refused with 403")
        if company.spec.suspended
        else ("Suspended", False, "Active", "webhook calls are accepted")
    )
    write_ready(
        verdict, status=status, meta=meta, patch=patch, also=(suspended,), now=run.clock.now()
    )


def sweep_credentials(run: runtime.Runtime) -> None:
    """Remove API keys and HMAC secrets whose rotation grace period has ended (every
    company's; housekeeping calls it on the operator's clock)."""
    for name in sorted(run.config.company_names()):
        company = run.config.company(name)
        if company is None:
            continue
        known = company.status.external_id if company.status else None
        access.sync_credentials(run.kube, company, rotation=None, known_external_id=known)


def prune_alerts(run: runtime.Runtime) -> None:
    """Delete resolved alerts older than each company's `incidents.alertRetention`."""
    now = run.clock.now()
    for name in sorted(run.config.company_names()):
        company, facts = run.config.company(name), run.config.facts(name)
        if company is None or facts is None:
            continue
        namespace = tenancy.namespace_name(name)
        names = retention.expired_alerts(
            run.kube.list("alerts", namespace), retention=facts.retention, now=now
        )
        pruned = sum(run.kube.delete_custom("alerts", alert, namespace) for alert in names)
        if pruned:
            run.kube.record_event(
                company.to_body(),
                reason="AlertsPruned",
                message=f"policy:Company/{name}/spec.incidents.alertRetention: "
                f"deleted {pruned} alert(s) resolved more than "
                f"{company.spec.incidents.alert_retention} ago",
                key=f"AlertsPruned/{now:%Y%m%dT%H%M%S}",
                now=now,
            )


@kopf.on.delete(GROUP, VERSION, "companies")
def retire_company(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Apply the deletion policy before the Company goes (Kopf holds our finalizer)."""
    run = runtime.of(memo)
    company = Company.from_body(body)
    done = access.retire_company(run.kube, company)
    run.kube.record_event(
        dict(body), reason="CompanyRetired", message=done, key="retired", now=run.clock.now()
    )
