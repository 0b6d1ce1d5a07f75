"""Applies a company's tenancy to the cluster: namespace, credentials, RoleBindings, removal.

Every step is idempotent (server-side apply, or a compare-and-swap on the credentials
Secret), so Kopf may run it any number of times and the cluster ends up the same.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from whisperer.operator.errors import ConflictError, TemporaryError
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.services import credentials as creds_mod
from whisperer.operator.services import tenancy
from whisperer.operator.services.credentials import Credentials
from whisperer.operator.services.durations import parse_duration

FIELD_MANAGER = "alert-whisperer-operator"


@dataclass(frozen=True)
class Tenancy:
    """What a company got: where its data lives and how it authenticates."""

    namespace: str
    credentials_secret: str
    external_id: str
    rotation: str


def sync_namespace(kube: KubeClient, company: Company) -> str:
    """Create (or re-label) the company's namespace."""
    body = tenancy.namespace_body(company)
    kube.apply(body, field_manager=FIELD_MANAGER)
    name: str = body["metadata"]["name"]
    # A company that comes back after a Retain deletion takes its old namespace back.
    kube.label_namespace(name, {tenancy.RETAINED_LABEL: None})
    return name


def sync_credentials(
    kube: KubeClient,
    company: Company,
    *,
    rotation: str | None,
    known_external_id: str | None,
    now: datetime | None = None,
) -> Credentials:
    """Issue, rotate (once per request) and prune the company's credentials."""
    name = company.metadata.name
    secret = tenancy.credentials_secret_name(name)
    required = company.spec.webhook.require_signature
    grace = parse_duration(company.spec.webhook.key_rotation_grace)
    now = now or datetime.now(UTC)
    for _ in range(5):
        current = kube.read_secret(secret, tenancy.PLATFORM_NAMESPACE)
        if current is None:
            fresh = creds_mod.issue(hmac_required=required, now=now)
            if known_external_id:  # the client's trust policy already names it: keep it
                fresh = replace(fresh, external_id=known_external_id)
            fresh = replace(fresh, rotation=rotation or "")  # a first issue answers a request
            try:
                kube.create_secret(tenancy.credentials_secret_body(name, fresh.to_secret_data()))
            except ConflictError:
                continue
            return fresh
        data, version = current
        stored = Credentials.from_secret_data(data)
        updated = creds_mod.ensure_hmac(stored, required=required, now=now)
        if rotation:
            updated = creds_mod.rotate(updated, request=rotation, grace=grace, now=now)
        updated = creds_mod.prune(updated, now=now)
        if updated == stored:
            return stored
        try:
            kube.replace_secret(
                tenancy.credentials_secret_body(name, updated.to_secret_data()),
                resource_version=version,
            )
        except ConflictError:
            continue
        return updated
    raise TemporaryError(f"credentials of {name} kept changing under us; retrying", delay=2)


def sync_technician_access(
    kube: KubeClient,
    *,
    company: str,
    admins: Collection[str],
    technicians: Collection[str],
    viewers: Collection[str] = (),
) -> None:
    """RoleBindings for the company's admins, technicians and viewers, and their read
    access (viewers read the Company, for its reports, not the runbook library)."""
    everyone = [*admins, *technicians]
    for body in (
        tenancy.admin_binding(company, admins),
        tenancy.technician_binding(company, technicians),
        tenancy.viewer_binding(company, viewers),
        tenancy.runbook_reader_binding(company, everyone),
        tenancy.company_reader_role(company),
        tenancy.company_reader_binding(company, [*everyone, *viewers]),
    ):
        kube.apply(body, field_manager=FIELD_MANAGER)


def sync_company(
    kube: KubeClient,
    company: Company,
    *,
    technicians: Collection[str],
    rotation: str | None,
    known_external_id: str | None,
) -> Tenancy:
    """Everything a company needs, in order: namespace, credentials, access."""
    namespace = sync_namespace(kube, company)
    creds = sync_credentials(kube, company, rotation=rotation, known_external_id=known_external_id)
    sync_technician_access(
        kube,
        company=company.metadata.name,
        admins=company.spec.admins,
        technicians=technicians,
        viewers=company.spec.viewers,
    )
    return Tenancy(
        namespace=namespace,
        credentials_secret=tenancy.credentials_secret_name(company.metadata.name),
        external_id=creds.external_id,
        rotation=creds.rotation,
    )


def retire_company(kube: KubeClient, company: Company) -> str:
    """The deletion policy: revoke credentials and access; keep or delete the namespace.

    Returns what was done, for the audit trail.
    """
    name = company.metadata.name
    namespace = tenancy.namespace_name(name)
    kube.delete("Secret", tenancy.credentials_secret_name(name), tenancy.PLATFORM_NAMESPACE)
    kube.delete("RoleBinding", f"whisperer-runbooks-{name}", tenancy.PLATFORM_NAMESPACE)
    kube.delete("ClusterRoleBinding", f"whisperer-company-{name}-reader")
    kube.delete("ClusterRole", f"whisperer-company-{name}-reader")
    if company.spec.deletion_policy == "Delete":
        kube.delete("Namespace", namespace)
        return f"deleted namespace {namespace} and everything in it (deletionPolicy Delete)"
    for binding in (
        "whisperer-company-admins",
        "whisperer-technicians",
        "whisperer-company-viewers",
    ):
        kube.delete("RoleBinding", binding, namespace)
    if kube.namespace_exists(namespace):
        kube.label_namespace(namespace, {tenancy.RETAINED_LABEL: "true"})
    return (
        f"kept namespace {namespace} with its history (deletionPolicy Retain); revoked the "
        "credentials and the company's and technicians' access"
    )
