"""Who may do what, where: every identity, every action, own company and another one.

Run against the real API server with the operator running and the admission policies in
force. A denial must come with the API server's own message naming the reason (RBAC, an
admission policy, or a CRD rule), so a cell cannot pass by failing for the wrong reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from support.cluster import wait_for
from support.tenancy import (
    API,
    COMPANY_ADMIN,
    COMPANY_VIEWER,
    GROUP,
    MSP_ADMIN,
    PLATFORM,
    TECHNICIAN,
    VERSION,
    World,
)
from support.tenancy import custom as custom_api

from whisperer.operator.kube import KubeClient

USERS = {
    "msp-admin": MSP_ADMIN,
    "company-admin": COMPANY_ADMIN,
    "technician": TECHNICIAN,
    "outsider": "eve@outsider.example",
    "company-viewer": COMPANY_VIEWER,
    "operator": "system:serviceaccount:alert-whisperer:alert-whisperer-operator",
}
NOW = "2026-11-27T00:00:00Z"

Action = Callable[[World, KubeClient, KubeClient, str, str], Any]


def _incident(admin: KubeClient, ns: str) -> str:
    name = f"inc-{uuid.uuid4().hex[:8]}"
    admin.create(
        "incidents",
        {
            "apiVersion": API,
            "kind": "Incident",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"title": "matrix"},
        },
        ns,
    )
    return name


def _run(admin: KubeClient, w: World, ns: str, risk: str, requester: str) -> str:
    """A run requested by `requester`, once the operator has recorded its risk."""
    name = f"run-{uuid.uuid4().hex[:8]}"
    admin.create(
        "runbookexecutions",
        {
            "apiVersion": API,
            "kind": "RunbookExecution",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "runbookRef": {"name": w.runbooks[risk]},
                "targets": ["web01"],
                "requestedBy": requester,
            },
        },
        ns,
    )
    wait_for(
        lambda: admin.get("runbookexecutions", name, ns).get("status", {}).get("risk"),
        timeout=30,
        what=f"the operator to record the risk of {name}",
    )
    return name


def _approve(kube: KubeClient, ns: str, name: str, user: str) -> Any:
    return custom_api(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "runbookexecutions",
        name,
        {"spec": {"approval": {"decision": "Approved", "by": user, "at": NOW}}},
    )


def list_incidents(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return custom_api(kube).list_namespaced_custom_object(GROUP, VERSION, ns, "incidents")


def get_incident(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    name = _incident(admin, ns)
    return custom_api(kube).get_namespaced_custom_object(GROUP, VERSION, ns, "incidents", name)


def list_alerts(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return custom_api(kube).list_namespaced_custom_object(GROUP, VERSION, ns, "alerts")


def create_incident(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return custom_api(kube).create_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "incidents",
        {
            "apiVersion": API,
            "kind": "Incident",
            "metadata": {"name": f"c-{uuid.uuid4().hex[:6]}"},
            "spec": {"title": "made by hand"},
        },
    )


def acknowledge(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    name = _incident(admin, ns)
    return custom_api(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "incidents",
        name,
        {"spec": {"acknowledgement": {"by": user, "at": NOW}}},
    )


def patch_status(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    name = _incident(admin, ns)
    return custom_api(kube).patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, "incidents", name, {"status": {"priority": "P1"}}
    )


def request_run(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return custom_api(kube).create_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "runbookexecutions",
        {
            "apiVersion": API,
            "kind": "RunbookExecution",
            "metadata": {"name": f"r-{uuid.uuid4().hex[:6]}"},
            "spec": {
                "runbookRef": {"name": w.runbooks["low"]},
                "targets": ["web01"],
                "requestedBy": user,
            },
        },
    )


def request_run_for_someone_else(
    w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str
) -> Any:
    return custom_api(kube).create_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "runbookexecutions",
        {
            "apiVersion": API,
            "kind": "RunbookExecution",
            "metadata": {"name": f"r-{uuid.uuid4().hex[:6]}"},
            "spec": {
                "runbookRef": {"name": w.runbooks["low"]},
                "targets": ["web01"],
                "requestedBy": "somebody-else@example",
            },
        },
    )


def approve_medium(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return _approve(kube, ns, _run(admin, w, ns, "medium", "requester@northwind-msp.example"), user)


def approve_high(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return _approve(kube, ns, _run(admin, w, ns, "high", "requester@northwind-msp.example"), user)


def self_approve(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return _approve(kube, ns, _run(admin, w, ns, "medium", user), user)


def read_credentials(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return client.CoreV1Api(kube.api_client).read_namespaced_secret(f"{ns}-credentials", PLATFORM)


def edit_company_cloud(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    company = ns.removeprefix("company-")
    return custom_api(kube).patch_cluster_custom_object(
        GROUP,
        VERSION,
        "companies",
        company,
        {
            "spec": {
                "cloud": {
                    "aws": [
                        {
                            "accountId": "123456789012",
                            "roleArn": "arn:aws:iam::123456789012:role/Widened",
                        }
                    ]
                }
            }
        },
    )


def get_company(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return custom_api(kube).get_cluster_custom_object(
        GROUP, VERSION, "companies", ns.removeprefix("company-")
    )


def bind_self(w: World, kube: KubeClient, admin: KubeClient, ns: str, user: str) -> Any:
    return client.RbacAuthorizationV1Api(kube.api_client).create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": f"grab-{uuid.uuid4().hex[:6]}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "whisperer-company-admin",
            },
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}],
        },
    )


def events(admin: KubeClient, ns: str, name: str, reason: str) -> list[Any]:
    """The Events about one object with one reason."""
    found = client.CoreV1Api(admin.api_client).list_namespaced_event(
        ns, field_selector=f"involvedObject.name={name}"
    )
    return [e for e in found.items if e.reason == reason]


def rbac(verb: str, resource: str) -> str:
    return f'cannot {verb} resource "{resource}"'


ALLOW = None
OWN_ONLY = "own-only"

# action -> identity -> expectation: ALLOW, a message fragment for both companies, or
# (own expectation, other expectation).
MATRIX: dict[Action, dict[str, Any]] = {
    list_incidents: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("list", "incidents")),
        "technician": (ALLOW, rbac("list", "incidents")),
        "outsider": rbac("list", "incidents"),
    },
    get_incident: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("get", "incidents")),
        "technician": (ALLOW, rbac("get", "incidents")),
        "outsider": rbac("get", "incidents"),
    },
    list_alerts: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("list", "alerts")),
        "technician": (ALLOW, rbac("list", "alerts")),
        "outsider": rbac("list", "alerts"),
    },
    create_incident: {
        "msp-admin": ALLOW,
        "company-admin": rbac("create", "incidents"),
        "technician": rbac("create", "incidents"),
        "outsider": rbac("create", "incidents"),
    },
    acknowledge: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("patch", "incidents")),
        "technician": (ALLOW, rbac("patch", "incidents")),
        "outsider": rbac("patch", "incidents"),
    },
    patch_status: {
        "msp-admin": rbac("patch", "incidents/status"),
        "company-admin": rbac("patch", "incidents/status"),
        "technician": rbac("patch", "incidents/status"),
        "outsider": rbac("patch", "incidents/status"),
        "operator": ALLOW,
    },
    request_run: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("create", "runbookexecutions")),
        "technician": (ALLOW, rbac("create", "runbookexecutions")),
        "outsider": rbac("create", "runbookexecutions"),
    },
    request_run_for_someone_else: {
        "msp-admin": ALLOW,
        "company-admin": (
            "requestedBy must be the requesting user",
            rbac("create", "runbookexecutions"),
        ),
        "technician": (
            "requestedBy must be the requesting user",
            rbac("create", "runbookexecutions"),
        ),
        "outsider": rbac("create", "runbookexecutions"),
    },
    approve_medium: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("patch", "runbookexecutions")),
        "technician": rbac("patch", "runbookexecutions"),
        "outsider": rbac("patch", "runbookexecutions"),
    },
    approve_high: {
        "msp-admin": ALLOW,
        "company-admin": ("may not approve a high-risk run", rbac("patch", "runbookexecutions")),
        "technician": rbac("patch", "runbookexecutions"),
        "outsider": rbac("patch", "runbookexecutions"),
    },
    self_approve: {
        "msp-admin": "nobody approves their own request",
        "company-admin": ("nobody approves their own request", rbac("patch", "runbookexecutions")),
        "technician": rbac("patch", "runbookexecutions"),
        "outsider": rbac("patch", "runbookexecutions"),
    },
    read_credentials: {
        "msp-admin": ALLOW,
        "company-admin": rbac("get", "secrets"),
        "technician": rbac("get", "secrets"),
        "outsider": rbac("get", "secrets"),
    },
    edit_company_cloud: {
        "msp-admin": ALLOW,
        "company-admin": rbac("patch", "companies"),
        "technician": rbac("patch", "companies"),
        "outsider": rbac("patch", "companies"),
    },
    get_company: {
        "msp-admin": ALLOW,
        "company-admin": (ALLOW, rbac("get", "companies")),
        "technician": (ALLOW, rbac("get", "companies")),
        "outsider": rbac("get", "companies"),
    },
    bind_self: {
        "msp-admin": rbac("create", "rolebindings"),
        "company-admin": rbac("create", "rolebindings"),
        "technician": rbac("create", "rolebindings"),
        "outsider": rbac("create", "rolebindings"),
    },
}

# The client's own read-only staff: reads their company's incidents, alerts and the Company
# (its reports); everything else is refused as it is to an outsider.
VIEWER_READS = {
    list_incidents: (ALLOW, rbac("list", "incidents")),
    get_incident: (ALLOW, rbac("get", "incidents")),
    list_alerts: (ALLOW, rbac("list", "alerts")),
    get_company: (ALLOW, rbac("get", "companies")),
}
for _action, _row in MATRIX.items():
    if "outsider" in _row:
        _row["company-viewer"] = VIEWER_READS.get(_action, _row["outsider"])

CELLS = [
    (
        action,
        identity,
        which,
        expected[0 if which == "own" else 1] if isinstance(expected, tuple) else expected,
    )
    for action, row in MATRIX.items()
    for identity, expected in row.items()
    for which in ("own", "other")
]


def test_matrix_is_large_enough() -> None:
    assert len(CELLS) >= 40
    assert sum(1 for *_, e in CELLS if e is ALLOW) >= 10
    assert sum(1 for *_, e in CELLS if e is not ALLOW) >= 30


@pytest.mark.parametrize(
    ("action", "identity", "which", "expected"),
    CELLS,
    ids=[f"{a.__name__}-{i}-{w}" for a, i, w, _ in CELLS],
)
def test_cell(
    action: Action, identity: str, which: str, expected: str | None, world: World, admin: KubeClient
) -> None:
    kube = world.clients[identity]
    user = USERS[identity]
    try:
        action(world, kube, admin, world.ns(which), user)
    except client.ApiException as exc:
        message = json.loads(exc.body or "{}").get("message", exc.body)
        assert expected is not ALLOW, f"{identity} was refused ({exc.status}): {message}"
        assert exc.status in (403, 422), message
        assert expected in message, message
        if expected.startswith("cannot"):
            assert f'User "{user}"' in message  # RBAC names who was refused
        return
    assert expected is ALLOW, f"{identity} was allowed to {action.__name__} in {which}"


# Approved, then carried on by the remediator: the companies here name no AWS account, so
# the run stops at its credentials step (Failed, NoCloudAccount).
PAST_APPROVAL = ("Approved", "Dispatching", "Running", "Failed")


def test_risk_comes_from_the_runbook_not_the_request(world: World, admin: KubeClient) -> None:
    ns = world.ns("own")
    name = _run(admin, world, ns, "high", TECHNICIAN)
    run = admin.get("runbookexecutions", name, ns)
    assert run["status"]["risk"] == "high"
    assert run["status"]["phase"] == "AwaitingApproval"
    with pytest.raises(client.ApiException) as info:
        custom_api(world.clients["technician"]).patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, "runbookexecutions", name, {"status": {"risk": "low"}}
        )
    assert info.value.status == 403
    # A company admin, allowed medium, is still refused: the risk is high.
    with pytest.raises(client.ApiException) as info:
        _approve(world.clients["company-admin"], ns, name, COMPANY_ADMIN)
    assert "may not approve a high-risk run" in (info.value.body or "")


def test_approval_must_name_the_approver(world: World, admin: KubeClient) -> None:
    ns = world.ns("own")
    name = _run(admin, world, ns, "medium", TECHNICIAN)
    with pytest.raises(client.ApiException) as info:
        _approve(world.clients["company-admin"], ns, name, MSP_ADMIN)
    assert f"approval.by must be the approving user {COMPANY_ADMIN}" in (info.value.body or "")


def test_approved_run_is_recorded_with_the_approver(world: World, admin: KubeClient) -> None:
    ns = world.ns("own")
    name = _run(admin, world, ns, "medium", TECHNICIAN)
    _approve(world.clients["company-admin"], ns, name, COMPANY_ADMIN)
    wait_for(
        lambda: admin.get("runbookexecutions", name, ns)["status"].get("phase") in PAST_APPROVAL,
        timeout=30,
        what="the run to be Approved",
    )
    approved = wait_for(lambda: events(admin, ns, name, "RunApproved"), what="a RunApproved Event")
    assert COMPANY_ADMIN in approved[0].message
    with pytest.raises(client.ApiException) as info:
        custom_api(world.clients["company-admin"]).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            "runbookexecutions",
            name,
            {"spec": {"approval": {"decision": "Rejected", "by": COMPANY_ADMIN, "at": NOW}}},
        )
    assert "a decision, once made, cannot be changed" in (info.value.body or "")


def test_low_risk_run_is_approved_by_policy_only_where_allowed(
    world: World, admin: KubeClient
) -> None:
    ns = world.ns("own")
    name = _run(admin, world, ns, "low", TECHNICIAN)
    assert admin.get("runbookexecutions", name, ns)["status"]["phase"] == "AwaitingApproval"
    custom_api(admin).patch_cluster_custom_object(
        GROUP, VERSION, "companies", world.own, {"spec": {"remediation": {"autoRunLowRisk": True}}}
    )
    try:
        second = _run(admin, world, ns, "low", TECHNICIAN)
        wait_for(
            lambda: (
                admin.get("runbookexecutions", second, ns)["status"].get("phase") in PAST_APPROVAL
            ),
            timeout=30,
            what="policy approval",
        )
        by_policy = wait_for(lambda: events(admin, ns, second, "RunApproved"), what="an Event")
        assert "policy:Company/" in by_policy[0].message
        assert "autoRunLowRisk" in by_policy[0].message
    finally:
        custom_api(admin).patch_cluster_custom_object(
            GROUP,
            VERSION,
            "companies",
            world.own,
            {"spec": {"remediation": {"autoRunLowRisk": False}}},
        )
