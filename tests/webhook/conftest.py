"""The webhook tests' world: the operator running, two companies (one requiring signatures,
one with a tight rate limit), their keys, and the real shim serving on loopback."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from support.cluster import REPO, Cluster, wait_for
from support.operator import run_operator
from support.shim import credentials, running_shim

from whisperer.api.state import Settings, ShimState
from whisperer.operator.kube import KubeClient

GROUP, VERSION, API, PLATFORM = (
    "alertwhisperer.io",
    "v1alpha1",
    "alertwhisperer.io/v1alpha1",
    "alert-whisperer",
)


@dataclass
class Hooks:
    """Names, keys and the shim's URL."""

    url: str
    state: ShimState
    company: str
    namespace: str
    key: str
    signed: str
    signed_key: str
    signed_secret: str
    slow: str
    slow_key: str
    webhook_kubeconfig: Path


def _company(name: str, **webhook: Any) -> dict[str, Any]:
    """A company with acme-dental's inventory (so the payload files' hosts are known)."""
    acme = yaml.safe_load((REPO / "manifests/config/companies/acme-dental.yaml").read_text())
    spec = {
        **acme["spec"],
        "displayName": name,
        "admins": [],
        "slaPolicyRef": {"name": "premium-24x7"},
        "webhook": {**acme["spec"]["webhook"], **webhook},
    }
    return {"apiVersion": API, "kind": "Company", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="package")
def hooks(cluster: Cluster, admin: KubeClient) -> Iterator[Hooks]:
    if cluster.kubeconfig_dir is None:
        pytest.skip("the webhook tests need the identities of hack/cluster")
    suffix = uuid.uuid4().hex[:6]
    names = {"plain": f"hooks-{suffix}", "signed": f"signed-{suffix}", "slow": f"slow-{suffix}"}
    with run_operator(cluster.identity("operator")):
        admin.create(
            "companies",
            _company(names["plain"], rateLimit={"requestsPerSecond": 5000, "burst": 5000}),
        )
        admin.create(
            "companies", _company(names["signed"], requireSignature=True, keyRotationGrace="1h")
        )
        admin.create(
            "companies", _company(names["slow"], rateLimit={"requestsPerSecond": 1, "burst": 2})
        )
        creds = {k: credentials(admin, n) for k, n in names.items()}
        settings = Settings(write_timeout=3.0, registry_refresh=1.0)
        with running_shim(cluster.identity("webhook"), settings) as (url, state):
            yield Hooks(
                url=url,
                state=state,
                company=names["plain"],
                namespace=f"company-{names['plain']}",
                key=creds["plain"].current_api_key(),
                signed=names["signed"],
                signed_key=creds["signed"].current_api_key(),
                signed_secret=creds["signed"].valid_hmac_secrets()[-1],
                slow=names["slow"],
                slow_key=creds["slow"].current_api_key(),
                webhook_kubeconfig=cluster.identity("webhook"),
            )
        for name in names.values():
            _delete_company(admin, name)


def _delete_company(admin: KubeClient, name: str) -> None:
    api = client.CustomObjectsApi(admin.api_client)
    with contextlib.suppress(client.ApiException):
        api.patch_cluster_custom_object(
            GROUP, VERSION, "companies", name, {"spec": {"deletionPolicy": "Delete"}}
        )
        api.delete_cluster_custom_object(GROUP, VERSION, "companies", name)


@dataclass
class Own:
    """A company of one test's own (its event time, staleness and episodes are nobody
    else's), served by the package's shim."""

    company: str
    namespace: str
    key: str


@pytest.fixture
def own(hooks: Hooks, admin: KubeClient) -> Iterator[Own]:
    name = f"own-{uuid.uuid4().hex[:6]}"
    admin.create("companies", _company(name, rateLimit={"requestsPerSecond": 5000, "burst": 5000}))
    try:
        key = credentials(admin, name).current_api_key()
        wait_for(
            lambda: hooks.state.registry.known(key),
            timeout=30,
            what=f"the shim to know {name}'s key",
        )
        yield Own(company=name, namespace=f"company-{name}", key=key)
    finally:
        _delete_company(admin, name)
