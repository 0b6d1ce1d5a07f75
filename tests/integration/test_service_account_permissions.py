"""What the API server grants the operator's and the webhook's ServiceAccounts, asked with
their own tokens (SelfSubjectRulesReview), equals the checked-in list
service_account_permissions.yaml: a missing or an extra verb fails.

"everywhere" is what a fresh namespace (and the cluster scope) grants, "alert-whisperer" what
the platform namespace adds; what every authenticated user may do (the outsider's rules) is
left out. To change the RBAC, change the chart, run hack/render-install, and update the list
with what this test prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client
from support.cluster import Cluster

from whisperer.operator.kube import KubeClient

EXPECTED = Path(__file__).with_name("service_account_permissions.yaml")
PLATFORM = "alert-whisperer"


def granted(kube: KubeClient, namespace: str) -> set[tuple[str, str]]:
    """(group/resource[/name], verb) pairs the API server says `kube`'s user has."""
    review = client.AuthorizationV1Api(kube.api_client).create_self_subject_rules_review(
        {"spec": {"namespace": namespace}}
    )
    assert not review.status.incomplete, review.status.evaluation_error
    pairs = set()
    for rule in review.status.resource_rules:
        for group in rule.api_groups or [""]:
            for resource in rule.resources or []:
                for name in rule.resource_names or [None]:
                    what = f"{group or 'core'}/{resource}" + (f"/{name}" if name else "")
                    pairs |= {(what, verb) for verb in rule.verbs}
    return pairs


def as_listing(pairs: set[tuple[str, str]]) -> dict[str, list[str]]:
    listing: dict[str, list[str]] = {}
    for what, verb in sorted(pairs):
        listing.setdefault(what, []).append(verb)
    return listing


@pytest.mark.parametrize("identity", ["operator", "webhook"])
def test_the_service_account_has_exactly_the_listed_permissions(
    identity: str, cluster: Cluster, namespace: str
) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("needs the ServiceAccount identities of hack/cluster")
    kube = KubeClient.from_kubeconfig(str(cluster.identity(identity)))
    nobody = KubeClient.from_kubeconfig(str(cluster.identity("outsider")))
    try:
        assert kube.whoami()["username"].startswith("system:serviceaccount:alert-whisperer:")
        baseline = granted(nobody, namespace) | granted(nobody, PLATFORM)
        everywhere = granted(kube, namespace) - baseline
        platform = granted(kube, PLATFORM) - baseline - everywhere
    finally:
        kube.close()
        nobody.close()
    actual = {"everywhere": as_listing(everywhere), PLATFORM: as_listing(platform)}
    expected = yaml.safe_load(EXPECTED.read_text())[identity]
    assert actual == expected, "the API server grants:\n" + yaml.safe_dump(
        {identity: actual}, sort_keys=True, default_flow_style=None, width=100
    )
