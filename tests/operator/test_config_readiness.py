"""The operator, run by Kopf against the real API server, marks config objects Ready.

It runs with the operator's own identity (RBAC from manifests/install), keeps Kopf's
bookkeeping in status (never in annotations), and re-checks a waiting object once the
reference it needed appears.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from support.cluster import wait_for

from whisperer.operator.kube import KubeClient

GROUP, VERSION = "alertwhisperer.io", "v1alpha1"


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:6]
    yield {"company": f"co-{suffix}", "policy": f"sla-{suffix}", "tech": f"tech-{suffix}"}


@pytest.fixture
def cleanup(admin: KubeClient) -> Iterator[list[tuple[str, str]]]:
    created: list[tuple[str, str]] = []
    yield created
    api = client.CustomObjectsApi(admin.api_client)
    for plural, name in created:
        try:
            api.delete_cluster_custom_object(GROUP, VERSION, plural, name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def _ready(admin: KubeClient, plural: str, name: str) -> dict[str, Any] | None:
    obj = admin.get(plural, name)
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == "Ready":
            return dict(cond) | {"_obj": obj}
    return None


def _company(name: str, policy: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Company",
        "metadata": {"name": name},
        "spec": {"displayName": name, "slaPolicyRef": {"name": policy}},
    }


def _policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SLAPolicy",
        "metadata": {"name": name},
        "spec": {
            "targets": [{"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 60}],
            "coverage": {"type": "24x7"},
        },
    }


def test_company_waits_for_its_sla_policy(
    operator: KopfRunner,
    admin: KubeClient,
    names: dict[str, str],
    cleanup: list[tuple[str, str]],
) -> None:
    cleanup += [("companies", names["company"]), ("slapolicies", names["policy"])]
    admin.create("companies", _company(names["company"], names["policy"]))
    waiting = wait_for(
        lambda: (
            (c := _ready(admin, "companies", names["company"])) and c["status"] == "False" and c
        ),
        what="Ready=False on a company whose SLA policy is missing",
    )
    assert waiting["reason"] == "SLAPolicyNotFound"
    assert names["policy"] in waiting["message"]
    assert waiting["observedGeneration"] == 1

    admin.create("slapolicies", _policy(names["policy"]))
    ready = wait_for(
        lambda: (c := _ready(admin, "companies", names["company"])) and c["status"] == "True" and c,
        timeout=45,
        what="Ready=True once the SLA policy exists",
    )
    assert ready["reason"] == "Accepted"
    obj = ready["_obj"]
    assert obj["status"]["observedGeneration"] == 1
    # Kopf's bookkeeping is in status (only the operator may write it), not in annotations.
    assert not [a for a in obj["metadata"].get("annotations", {}) if "kopf" in a]
    assert "lastHandledConfiguration" in obj["status"]["operator"]


def test_spec_change_is_observed(
    operator: KopfRunner,
    admin: KubeClient,
    names: dict[str, str],
    cleanup: list[tuple[str, str]],
) -> None:
    cleanup += [("slapolicies", names["policy"])]
    admin.create("slapolicies", _policy(names["policy"]))
    wait_for(lambda: _ready(admin, "slapolicies", names["policy"]), what="first Ready")
    api = client.CustomObjectsApi(admin.api_client)
    api.patch_cluster_custom_object(
        GROUP, VERSION, "slapolicies", names["policy"], {"spec": {"warningLeadPercent": 50}}
    )
    observed = wait_for(
        lambda: (
            (c := _ready(admin, "slapolicies", names["policy"]))
            and c["observedGeneration"] == 2
            and c
        ),
        what="observedGeneration 2 after a spec change",
    )
    assert observed["_obj"]["status"]["observedGeneration"] == 2


def test_technician_of_unknown_company_is_not_ready(
    operator: KopfRunner,
    admin: KubeClient,
    names: dict[str, str],
    cleanup: list[tuple[str, str]],
) -> None:
    cleanup += [("technicians", names["tech"])]
    admin.create(
        "technicians",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Technician",
            "metadata": {"name": names["tech"]},
            "spec": {
                "username": f"{names['tech']}@msp.example",
                "displayName": "T",
                "email": "t@msp.example",
                "companies": ["no-such-company"],
            },
        },
    )
    cond = wait_for(lambda: _ready(admin, "technicians", names["tech"]), what="Ready condition")
    assert (cond["status"], cond["reason"]) == ("False", "CompanyNotFound")
    assert "no-such-company" in cond["message"]
