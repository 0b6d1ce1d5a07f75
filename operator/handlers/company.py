"""Companies: their namespace, credentials, access, readiness, rotation and removal."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import kopf

from whisperer.operator.handlers.config import write_ready
from whisperer.operator.models.v1alpha1 import GROUP, VERSION, Company
from whisperer.operator.services import access, retention, tenancy
from whisperer.operator.services.durations import parse_duration
from whisperer.operator.services.readiness import company_verdict

WEBHOOK_URL = os.environ.get(
    "WHISPERER_WEBHOOK_URL", "http://whisperer-webhook.alert-whisperer.svc:8080"
)
SWEEP_SECONDS = float(os.environ.get("WHISPERER_CREDENTIAL_SWEEP_SECONDS", "60"))
ALERT_SWEEP_SECONDS = float(os.environ.get("WHISPERER_ALERT_SWEEP_SECONDS", "300"))
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
    **kwargs: Any,
) -> None:
    """Namespace, credentials (rotated once per request), RoleBindings, then Ready."""
    company = Company.from_body(body)
    serving = kwargs["technicians_by_company"].get(company.metadata.name, [])
    technicians = sorted({user for _, user in serving})
    rotation = meta.get("annotations", {}).get(tenancy.ROTATE_ANNOTATION)
    result = access.sync_company(
        memo.kube,
        company,
        technicians=technicians,
        rotation=rotation,
        known_external_id=status.get("externalId"),
    )
    if rotation and status.get("rotation") != rotation:
        memo.kube.record_event(
            dict(body),
            key=f"rotation/{rotation}",
            reason="CredentialsRotated",
            message=f"new API key issued for rotation request {rotation!r}; the previous "
            f"one stays valid for {company.spec.webhook.key_rotation_grace}",
        )
        logger.info("rotated the credentials of %s", company.metadata.name)
    patch.status.update(
        namespace=result.namespace,
        webhookUrl=f"{WEBHOOK_URL}/v1/alerts",
        credentialsSecret=result.credentials_secret,
        externalId=result.external_id,
        rotation=result.rotation or None,
    )
    verdict = company_verdict(company, sla_policies=kwargs["sla_policy_names"])
    suspended = (
        ("Suspended", True, "SuspendedBySpec", "webhook calls are refused with 403")
        if company.spec.suspended
        else ("Suspended", False, "Active", "webhook calls are accepted")
    )
    write_ready(verdict, status=status, meta=meta, patch=patch, also=(suspended,))


@kopf.timer(GROUP, VERSION, "companies", interval=SWEEP_SECONDS, initial_delay=SWEEP_SECONDS)
def sweep_credentials(body: kopf.Body, status: kopf.Status, memo: kopf.Memo, **_: Any) -> None:
    """Remove API keys and HMAC secrets whose rotation grace period has ended."""
    company = Company.from_body(body)
    if company.metadata.model_extra and company.metadata.model_extra.get("deletionTimestamp"):
        return
    access.sync_credentials(
        memo.kube, company, rotation=None, known_external_id=status.get("externalId")
    )


@kopf.timer(
    GROUP, VERSION, "companies", interval=ALERT_SWEEP_SECONDS, initial_delay=ALERT_SWEEP_SECONDS
)
def prune_alerts(body: kopf.Body, spec: kopf.Spec, memo: kopf.Memo, **_: Any) -> None:
    """Delete resolved alerts older than the company's `incidents.alertRetention`."""
    if body.get("metadata", {}).get("deletionTimestamp"):
        return
    namespace = tenancy.namespace_name(body["metadata"]["name"])
    text = (spec.get("incidents") or {}).get("alertRetention", "168h")
    now = datetime.now(UTC)
    names = retention.expired_alerts(
        memo.kube.list("alerts", namespace), retention=parse_duration(text), now=now
    )
    pruned = sum(memo.kube.delete_custom("alerts", name, namespace) for name in names)
    if pruned:
        memo.kube.record_event(
            dict(body),
            reason="AlertsPruned",
            message=f"policy:Company/{body['metadata']['name']}/spec.incidents.alertRetention: "
            f"deleted {pruned} alert(s) resolved more than {text} ago",
            key=f"AlertsPruned/{now:%Y%m%dT%H%M%S}",
        )


@kopf.on.delete(GROUP, VERSION, "companies")
def retire_company(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Apply the deletion policy before the Company goes (Kopf holds our finalizer)."""
    company = Company.from_body(body)
    done = access.retire_company(memo.kube, company)
    memo.kube.record_event(dict(body), reason="CompanyRetired", message=done, key="retired")
