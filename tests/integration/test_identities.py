"""Each identity hack/cluster provides authenticates as itself; authentication is not access."""

from __future__ import annotations

import pytest
from support.cluster import IDENTITIES, Cluster, kubectl

from whisperer.operator.errors import ForbiddenError
from whisperer.operator.kube import KubeClient

EXPECTED = {
    "admin": ("whisperer:admin", "system:masters"),
    "operator": (
        "system:serviceaccount:alert-whisperer:alert-whisperer-operator",
        "system:serviceaccounts:alert-whisperer",
    ),
    "msp-admin": ("morgan@northwind-msp.example", "alertwhisperer.io:msp-admins"),
    "company-admin": ("priya@acme-dental.example", None),
    "company-viewer": ("dana@acme-dental.example", None),
    "technician": ("sam@northwind-msp.example", None),
    "outsider": ("eve@outsider.example", None),
    "webhook": (
        "system:serviceaccount:alert-whisperer:alert-whisperer-webhook",
        "system:serviceaccounts:alert-whisperer",
    ),
}


@pytest.mark.parametrize("identity", IDENTITIES)
def test_identity_authenticates(identity: str, cluster: Cluster) -> None:
    kube = KubeClient.from_kubeconfig(str(cluster.identity(identity)))
    try:
        who = kube.whoami()
    finally:
        kube.close()
    user, group = EXPECTED[identity]
    assert who["username"] == user
    assert "system:authenticated" in who["groups"]
    if group:
        assert group in who["groups"]


def test_outsider_is_authenticated_but_not_authorized(cluster: Cluster) -> None:
    kube = KubeClient.from_kubeconfig(str(cluster.identity("outsider")))
    try:
        with pytest.raises(ForbiddenError) as info:
            kube.list("companies")
    finally:
        kube.close()
    assert 'User "eve@outsider.example" cannot list resource "companies"' in str(info.value)


def test_wrong_token_is_refused(cluster: Cluster, tmp_path: object) -> None:
    text = cluster.identity("technician").read_text()
    token_line = next(line for line in text.splitlines() if "token:" in line)
    forged = text.replace(token_line, "    token: not-a-real-token")
    path = tmp_path / "forged"  # type: ignore[operator]
    path.write_text(forged)
    result = kubectl("auth", "whoami", kubeconfig=path, check=False)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr or "provide credentials" in result.stderr


def test_operator_identity_is_bound(cluster: Cluster) -> None:
    out = kubectl(
        "auth",
        "can-i",
        "patch",
        "incidents.alertwhisperer.io/status",
        "-A",
        kubeconfig=cluster.identity("operator"),
        check=False,
    )
    assert out.stdout.strip() == "yes"
    out = kubectl(
        "auth", "can-i", "delete", "nodes", kubeconfig=cluster.identity("operator"), check=False
    )
    assert out.stdout.strip() == "no"


def test_webhook_identity_reads_signal_rules_and_writes_none(cluster: Cluster) -> None:
    def can(verb: str, resource: str) -> str:
        out = kubectl(
            "auth", "can-i", verb, resource, kubeconfig=cluster.identity("webhook"), check=False
        )
        return out.stdout.strip()

    assert can("list", "signalrules.alertwhisperer.io") == "yes"
    assert can("create", "signalrules.alertwhisperer.io") == "no"


def test_notification_channels_are_the_msp_admins_and_the_operator_reads_them(
    cluster: Cluster,
) -> None:
    def can(identity: str, verb: str) -> str:
        out = kubectl(
            "auth",
            "can-i",
            verb,
            "notificationchannels.alertwhisperer.io",
            kubeconfig=cluster.identity(identity),
            check=False,
        )
        return out.stdout.strip()

    assert can("msp-admin", "create") == "yes"
    assert can("operator", "list") == "yes"
    assert can("operator", "watch") == "yes"
    assert can("technician", "get") == "no"
    assert can("company-admin", "get") == "no"
