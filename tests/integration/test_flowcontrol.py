"""The operator's and the webhook's requests are served at Alert Whisperer's own priority
level (manifests/install/flowcontrol.yaml), not the catch-all one: the API server says so
in each response's X-Kubernetes-PF-PriorityLevel-UID header."""

from __future__ import annotations

import pytest
from kubernetes import client
from support.cluster import Cluster

from whisperer.operator.kube import KubeClient


def priority_level_of_a_request(kube: KubeClient) -> str:
    """The priority level the API server served a list of companies at (refused or not)."""
    header = "X-Kubernetes-PF-PriorityLevel-UID"
    api = client.CustomObjectsApi(kube.api_client)
    try:
        response = api.list_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", "companies", _preload_content=False
        )
    except client.ApiException as refused:  # a technician may not list companies
        return str((refused.headers or {}).get(header, ""))
    level = str(response.headers.get(header, ""))  # the headers' names ignore case
    response.read()  # an unread response keeps its connection (and socket) out of the pool
    response.release_conn()
    return level


@pytest.mark.parametrize("identity", ["operator", "webhook"])
def test_our_identities_have_their_own_priority_level(
    cluster: Cluster, admin: KubeClient, identity: str
) -> None:
    ours = client.FlowcontrolApiserverV1Api(admin.api_client).read_priority_level_configuration(
        "alert-whisperer"
    )
    kube = KubeClient.from_kubeconfig(str(cluster.identity(identity)))
    try:
        assert priority_level_of_a_request(kube) == ours.metadata.uid
    finally:
        kube.close()


def test_other_users_stay_where_they_were(cluster: Cluster, admin: KubeClient) -> None:
    ours = client.FlowcontrolApiserverV1Api(admin.api_client).read_priority_level_configuration(
        "alert-whisperer"
    )
    kube = KubeClient.from_kubeconfig(str(cluster.identity("technician")))
    try:
        assert priority_level_of_a_request(kube) not in ("", ours.metadata.uid)
    finally:
        kube.close()
