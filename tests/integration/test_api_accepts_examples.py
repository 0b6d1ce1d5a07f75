"""The API server accepts every example in manifests/ and runbooks/, as kubectl applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.cluster import REPO, Cluster, kubectl, load_documents

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import KINDS, KINDS_BY_NAME
from whisperer.operator.services.tenancy import PLATFORM_NAMESPACE

CONFIG = load_documents(REPO / "manifests" / "config", REPO / "runbooks")
EXAMPLES = load_documents(REPO / "manifests" / "examples")


def test_example_config_repo_applies_cleanly(cluster: Cluster, admin: KubeClient) -> None:
    """The whole config repo applies with kubectl, server-side, and reads back as applied."""
    for folder in ("manifests/config", "runbooks"):
        # Forced: after `make run` the git syncer's field manager owns these objects.
        kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "-R",
            "-f",
            str(REPO / folder),
            kubeconfig=cluster.kubeconfig,
        )
    for doc in CONFIG:
        kind = KINDS_BY_NAME[doc["kind"]]
        stored = admin.get(
            kind.info.plural, doc["metadata"]["name"], doc["metadata"].get("namespace")
        )
        # Everything the file says is stored as said (the server may add defaults).
        assert _subset(doc["spec"], stored["spec"]), f"{doc['kind']}/{doc['metadata']['name']}"


def test_every_runbook_of_the_library_is_accepted_on_its_own(cluster: Cluster) -> None:
    """Each runbook of the library (and each SignalRule it ships) passes the CRD schema and its
    CEL rules, as the runbook-library GitSource applies them: a server-side dry run names
    every object it accepted (a rejected one fails the run and names its file)."""
    done = kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-R",
        "-f",
        str(REPO / "runbooks"),
        kubeconfig=cluster.kubeconfig,
    )
    library = load_documents(REPO / "runbooks")
    books = [d for d in library if d["kind"] == "Runbook"]
    assert len(books) >= 24 and {d["metadata"]["namespace"] for d in books} == {PLATFORM_NAMESPACE}
    accepted = set(done.stdout.splitlines())
    for doc in library:
        singular = KINDS_BY_NAME[doc["kind"]].info.singular
        name = doc["metadata"]["name"]
        assert (
            f"{singular}.alertwhisperer.io/{name} serverside-applied (server dry run)" in accepted
        )


def _subset(want: Any, got: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            k in got and _subset(v, got[k]) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(want) == len(got)
            and all(_subset(w, g) for w, g in zip(want, got, strict=True))
        )
    return str(want) == str(got) or want == got


@pytest.mark.parametrize("doc", EXAMPLES, ids=lambda d: d["kind"])
def test_runtime_example_is_accepted(
    doc: dict[str, Any], admin: KubeClient, namespace: str
) -> None:
    body = copy.deepcopy(doc)
    body["metadata"]["namespace"] = namespace
    kind = KINDS_BY_NAME[body["kind"]]
    created = admin.create(kind.info.plural, body, namespace)
    assert created["metadata"]["uid"]
    assert _subset(doc["spec"], created["spec"])


def test_every_kind_is_covered() -> None:
    assert {d["kind"] for d in CONFIG + EXAMPLES} == {k.info.kind for k in KINDS}
