"""The access review the operator asks before it dispatches an approved run (a
SubjectAccessReview of `approve` on `risklevels/<risk>`), through both clients and with the
operator's own ServiceAccount: RBAC answers for the user in the groups it is told, and only
with them; a caller without `create` on subjectaccessreviews gets ForbiddenError."""

from __future__ import annotations

import asyncio

import pytest
from support.cluster import Cluster
from support.tenancy import COMPANY_ADMIN, MSP_ADMIN

from whisperer.operator.errors import ForbiddenError
from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.kube.client import AccessReview

MSP_GROUPS = ["alertwhisperer.io:msp-admins", "system:authenticated"]


def _ask(kube: KubeClient, user: str, groups: list[str] | None, ns: str) -> AccessReview:
    return kube.may(user, groups, "approve", "risklevels", namespace=ns, name="high")


def test_rbac_answers_for_the_user_in_the_groups_it_is_told(
    cluster: Cluster, namespace: str
) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the ServiceAccount identities of hack/cluster")
    kube = KubeClient.from_kubeconfig(str(cluster.identity("operator")))
    try:
        by_group = _ask(kube, MSP_ADMIN, MSP_GROUPS, namespace)
        alone = _ask(kube, MSP_ADMIN, None, namespace)
        company_admin = _ask(kube, COMPANY_ADMIN, ["system:authenticated"], namespace)
    finally:
        kube.close()
    assert by_group.allowed, by_group
    assert "whisperer-msp-admin" in by_group.reason  # RBAC names the binding that allowed it
    assert not alone.allowed
    assert not company_admin.allowed


def test_the_async_client_asks_the_same_and_past_the_leader_fence(
    cluster: Cluster, namespace: str
) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the ServiceAccount identities of hack/cluster")

    async def ask() -> tuple[AccessReview, AccessReview]:
        kube = AsyncKube.from_kubeconfig(str(cluster.identity("operator")))
        kube.fence = lambda: False  # not the leader: writes are refused, a review is not one
        try:
            args = ("approve", "risklevels")
            return (
                await kube.may(MSP_ADMIN, MSP_GROUPS, *args, namespace=namespace, name="high"),
                await kube.may(MSP_ADMIN, None, *args, namespace=namespace, name="high"),
            )
        finally:
            await kube.close()

    by_group, alone = asyncio.run(ask())
    assert by_group.allowed and not alone.allowed


def test_a_caller_without_the_permission_is_refused(cluster: Cluster, namespace: str) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the identities of hack/cluster")
    kube = KubeClient.from_kubeconfig(str(cluster.identity("technician")))
    try:
        with pytest.raises(ForbiddenError) as info:
            _ask(kube, MSP_ADMIN, MSP_GROUPS, namespace)
    finally:
        kube.close()
    assert "subjectaccessreviews" in str(info.value)
