"""An approval admission let through, by someone RBAC no longer lets approve by the time the
operator looks, is refused: the operator asks RBAC itself (a SubjectAccessReview with the
approval's groups) instead of taking an approver it cannot place for an MSP admin. The real
operator, the real API server; the operator is stopped while the approval is given and the
approver's RoleBinding removed, so its look comes after both."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import client
from support.alerts import operator_kubeconfig
from support.cluster import Cluster, wait_for
from support.operator import run_operator
from support.remediation import approve, company, phase_is, request_run, runbook, ticking

from whisperer.operator.kube import KubeClient

APPROVER = "rita@northwind-msp.example"
BINDING = "test-temporary-approver"


def test_an_approver_whose_binding_went_before_the_operator_looked_is_refused(
    cluster: Cluster, admin: KubeClient
) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the operator's identity of hack/cluster")
    rita = KubeClient.from_kubeconfig(str(cluster.kubeconfig))
    rita.api_client.set_default_header("Impersonate-User", APPROVER)
    rbac = client.RbacAuthorizationV1Api(admin.api_client)
    try:
        with contextlib.ExitStack() as tenancy:
            with run_operator(operator_kubeconfig(cluster)):
                name = tenancy.enter_context(company(admin, "revoked"))
                ns = f"company-{name}"
                runbook(admin, ns, "rebuild", risk="high", signals=[])
                request_run(
                    admin, ns, "fix-r", runbook_name="rebuild", requested_by="tina@msp.example"
                )
                ticking(None, phase_is(admin, ns, "fix-r", "AwaitingApproval"), what="waiting")
            # The operator is down. Rita may approve high risk here, for a moment.
            rbac.create_namespaced_role_binding(
                ns,
                {
                    "metadata": {"name": BINDING},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "whisperer-msp-admin",
                    },
                    "subjects": [
                        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": APPROVER}
                    ],
                },
            )
            groups = rita.whoami()["groups"]

            def approved() -> bool:
                try:
                    approve(rita, ns, "fix-r", by=APPROVER, groups=groups)
                except client.ApiException as exc:
                    assert exc.status == 403, exc.body  # the binding not in force yet
                    return False
                return True

            wait_for(approved, timeout=30, what="the approval admitted")
            rbac.delete_namespaced_role_binding(BINDING, ns)

            def revoked() -> bool:
                review = admin.may(APPROVER, groups, "approve", "risklevels", ns, "high")
                return not review.allowed

            wait_for(revoked, timeout=30, what="RBAC to forget the binding")
            with run_operator(operator_kubeconfig(cluster)):
                try:
                    end = ticking(
                        None,
                        phase_is(
                            admin, ns, "fix-r", "Rejected", "Dispatching", "Running", "Failed"
                        ),
                        what="the operator's decision",
                    )
                finally:
                    tenancy.close()  # the company goes while the operator runs
            assert (end["phase"], end["reason"]) == ("Rejected", "ApproverNotAllowed"), end
            message = end["conditions"][0]["message"]
            assert f"RBAC does not let {APPROVER} approve a high-risk run in {ns}" in message
    finally:
        rita.close()
