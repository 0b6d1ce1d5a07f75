"""A company's life: credentials rotated without downtime, access following the technicians,
suspension, and removal by the documented policy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from kubernetes import client
from support.cluster import wait_for
from support.tenancy import (
    API,
    COMPANY_ADMIN,
    GROUP,
    PLATFORM,
    TECHNICIAN,
    VERSION,
    World,
    can,
    company_body,
    custom,
    gone,
)

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.services.access import sync_credentials
from whisperer.operator.services.credentials import Credentials


def credentials(admin: KubeClient, company: str) -> Credentials:
    found = admin.read_secret(f"company-{company}-credentials", PLATFORM)
    assert found is not None, f"no credentials Secret for {company}"
    return Credentials.from_secret_data(found[0])


def condition(admin: KubeClient, company: str, type_: str) -> dict[str, str] | None:
    conds = admin.get("companies", company).get("status", {}).get("conditions", [])
    return next((c for c in conds if c["type"] == type_), None)


def test_new_company_gets_namespace_credentials_and_status(world: World, admin: KubeClient) -> None:
    status = admin.get("companies", world.own)["status"]
    assert status["namespace"] == f"company-{world.own}"
    assert status["credentialsSecret"] == f"company-{world.own}-credentials"
    creds = credentials(admin, world.own)
    key = creds.current_api_key()
    assert key.startswith("aw_") and len(key) >= 3 + 32
    assert status["externalId"] == creds.external_id
    assert status["webhookUrl"].endswith("/v1/alerts")
    ns = client.CoreV1Api(admin.api_client).read_namespace(status["namespace"])
    assert ns.metadata.labels["alertwhisperer.io/company"] == world.own


def test_key_rotation_keeps_the_old_key_valid_for_the_grace_period(
    world: World, admin: KubeClient
) -> None:
    before = credentials(admin, world.own)
    old_key = before.current_api_key()
    request = f"rotate-{uuid.uuid4().hex[:6]}"
    custom(admin).patch_cluster_custom_object(
        GROUP,
        VERSION,
        "companies",
        world.own,
        {"metadata": {"annotations": {"alertwhisperer.io/rotate-credentials": request}}},
    )
    wait_for(
        lambda: admin.get("companies", world.own)["status"].get("rotation") == request,
        timeout=30,
        what="the rotation to be carried out",
    )
    during = credentials(admin, world.own)
    new_key = during.current_api_key()
    assert new_key != old_key
    assert during.accepts_api_key(old_key) and during.accepts_api_key(new_key)
    assert during.external_id == before.external_id  # the client's trust policy still holds
    assert len(during.api_keys) == 2
    # Nudging the object again does not rotate again: one request, one rotation.
    custom(admin).patch_cluster_custom_object(
        GROUP,
        VERSION,
        "companies",
        world.own,
        {"metadata": {"labels": {"nudge": uuid.uuid4().hex[:6]}}},
    )
    # After the 6 s grace, the sweep removes the old key; the new one stays.
    wait_for(
        lambda: len(credentials(admin, world.own).api_keys) == 1,
        timeout=30,
        what="the old key to be removed after the grace period",
    )
    after = credentials(admin, world.own)
    assert not after.accepts_api_key(old_key)
    assert after.accepts_api_key(new_key)


def test_a_rotation_interrupted_before_its_status_write_is_not_repeated(admin: KubeClient) -> None:
    """The operator dies after writing the Secret but before writing status: rerunning the
    same request (as Kopf will) must not rotate a second time."""
    name = f"crash-{uuid.uuid4().hex[:6]}"
    company = Company.from_body(company_body(name, [], webhook={"requireSignature": True}))
    try:
        first = sync_credentials(admin, company, rotation=None, known_external_id=None)
        rotated = sync_credentials(admin, company, rotation="r1", known_external_id=None)
        again = sync_credentials(admin, company, rotation="r1", known_external_id=None)
        assert rotated == again
        assert [k.value for k in again.api_keys] == [
            first.current_api_key(),
            rotated.current_api_key(),
        ]
        assert len(again.hmac_secrets) == 2  # signatures rotate with the key
        # Time passes beyond the grace period (24 h): both old secrets are gone.
        later = datetime.now(UTC) + timedelta(hours=25)
        pruned = sync_credentials(admin, company, rotation="r1", known_external_id=None)
        assert not pruned.accepts_api_key(first.current_api_key(), now=later)
        assert pruned.valid_hmac_secrets(now=later) == [rotated.hmac_secrets[-1].value]
    finally:
        admin.delete("Secret", f"company-{name}-credentials", PLATFORM)


def test_lost_secret_is_reissued_with_the_same_external_id(world: World, admin: KubeClient) -> None:
    external_id = admin.get("companies", world.other)["status"]["externalId"]
    admin.delete("Secret", f"company-{world.other}-credentials", PLATFORM)
    custom(admin).patch_cluster_custom_object(
        GROUP, VERSION, "companies", world.other, {"spec": {"displayName": "nudged"}}
    )
    wait_for(
        lambda: admin.read_secret(f"company-{world.other}-credentials", PLATFORM),
        timeout=30,
        what="the Secret to be reissued",
    )
    assert credentials(admin, world.other).external_id == external_id


def test_technician_removed_from_a_company_loses_access(world: World, admin: KubeClient) -> None:
    sam = world.clients["technician"]
    assert can(sam, "list", world.ns("own"))
    custom(admin).patch_cluster_custom_object(
        GROUP, VERSION, "technicians", world.technician, {"spec": {"companies": [world.other]}}
    )
    try:
        wait_for(
            lambda: not can(sam, "list", world.ns("own")),
            timeout=30,
            what="sam to lose access to the company he no longer serves",
        )
        wait_for(
            lambda: can(sam, "list", world.ns("other")),
            timeout=30,
            what="sam to gain access to the company he now serves",
        )
    finally:
        custom(admin).patch_cluster_custom_object(
            GROUP, VERSION, "technicians", world.technician, {"spec": {"companies": [world.own]}}
        )
    wait_for(lambda: can(sam, "list", world.ns("own")), timeout=30, what="access restored")
    assert not can(sam, "list", world.ns("other"))


def test_deleted_technician_loses_access_everywhere(world: World, admin: KubeClient) -> None:
    sam = world.clients["technician"]
    spare = f"spare-{uuid.uuid4().hex[:6]}"
    admin.create(
        "technicians",
        {
            "apiVersion": API,
            "kind": "Technician",
            "metadata": {"name": spare},
            "spec": {
                "username": TECHNICIAN,
                "displayName": "Sam again",
                "email": TECHNICIAN,
                "companies": [world.other],
            },
        },
    )
    wait_for(lambda: can(sam, "list", world.ns("other")), timeout=30, what="the spare binding")
    custom(admin).delete_cluster_custom_object(GROUP, VERSION, "technicians", spare)
    wait_for(
        lambda: not can(sam, "list", world.ns("other")),
        timeout=30,
        what="access removed with the Technician",
    )


def test_suspension_is_a_condition(world: World, admin: KubeClient) -> None:
    custom(admin).patch_cluster_custom_object(
        GROUP, VERSION, "companies", world.other, {"spec": {"suspended": True}}
    )
    try:
        wait_for(
            lambda: (condition(admin, world.other, "Suspended") or {}).get("status") == "True",
            timeout=30,
            what="Suspended=True",
        )
    finally:
        custom(admin).patch_cluster_custom_object(
            GROUP, VERSION, "companies", world.other, {"spec": {"suspended": False}}
        )
    wait_for(
        lambda: (condition(admin, world.other, "Suspended") or {}).get("status") == "False",
        timeout=30,
        what="Suspended=False",
    )


def _company_with_history(world: World, admin: KubeClient, policy: str) -> tuple[str, str]:
    name = f"leaving-{uuid.uuid4().hex[:6]}"
    admin.create("companies", company_body(name, [COMPANY_ADMIN], deletionPolicy=policy))
    ns = wait_for(
        lambda: admin.get("companies", name).get("status", {}).get("namespace"),
        timeout=30,
        what="the namespace",
    )
    admin.create(
        "incidents",
        {
            "apiVersion": API,
            "kind": "Incident",
            "metadata": {"name": "history", "namespace": ns},
            "spec": {"title": "last year's outage"},
        },
        ns,
    )
    wait_for(
        lambda: can(world.clients["company-admin"], "list", ns),
        timeout=30,
        what="the company admin's access",
    )
    custom(admin).delete_cluster_custom_object(GROUP, VERSION, "companies", name)
    wait_for(lambda: gone(admin, name), timeout=30, what="the Company to be deleted")
    return name, ns


def test_removal_with_retain_keeps_history_and_revokes_access(
    world: World, admin: KubeClient
) -> None:
    name, ns = _company_with_history(world, admin, "Retain")
    namespace = client.CoreV1Api(admin.api_client).read_namespace(ns)
    assert namespace.status.phase == "Active"
    assert namespace.metadata.labels["alertwhisperer.io/retained"] == "true"
    assert admin.get("incidents", "history", ns)["spec"]["title"] == "last year's outage"
    assert admin.read_secret(f"company-{name}-credentials", PLATFORM) is None
    assert not can(world.clients["company-admin"], "list", ns)
    events = client.CoreV1Api(admin.api_client).list_event_for_all_namespaces(
        field_selector=f"involvedObject.name={name},reason=CompanyRetired"
    )
    assert any("deletionPolicy Retain" in e.message for e in events.items)
    client.CoreV1Api(admin.api_client).delete_namespace(ns)


def test_removal_with_delete_deletes_the_namespace(world: World, admin: KubeClient) -> None:
    name, ns = _company_with_history(world, admin, "Delete")
    core = client.CoreV1Api(admin.api_client)

    def namespace_gone() -> bool:
        try:
            core.read_namespace(ns)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(namespace_gone, timeout=60, what="the namespace to be deleted")
    assert admin.read_secret(f"company-{name}-credentials", PLATFORM) is None
