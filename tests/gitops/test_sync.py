"""The git syncer against local repositories, the real API server and the running operator:
a bad commit changes nothing, a good one is applied, what left git is pruned (unless in use
or everything), hand edits are put back."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from support.cluster import Cluster, wait_for
from support.operator import run_operator

from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient

API = "alertwhisperer.io/v1alpha1"


@pytest.fixture(scope="module")
def operator_running(cluster: Cluster) -> Iterator[None]:
    kubeconfig = cluster.identity("operator") if cluster.kubeconfig_dir else cluster.kubeconfig
    with run_operator(kubeconfig):
        yield


@dataclass
class Repo:
    """A local config repo, committed to with plain git."""

    path: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, name: str, docs: list[dict[str, Any]] | str) -> None:
        file = self.path / "config" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(docs if isinstance(docs, str) else yaml.safe_dump_all(docs))

    def remove(self, name: str) -> None:
        (self.path / "config" / name).unlink()

    def commit(self, message: str, *, signing_key: Path | None = None) -> str:
        """Commit everything; with `signing_key`, SSH-sign the commit."""
        self.git("add", "-A")
        config = ["-c", "user.name=t", "-c", "user.email=t@example"]
        sign: list[str] = []
        if signing_key:
            config += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}"]
            sign = ["-S"]
        self.git(*config, "commit", "-q", "--allow-empty", *sign, "-m", message)
        return self.git("rev-parse", "HEAD")


@dataclass
class World:
    """A repo, names unique to the test, and a GitSource following the repo."""

    repo: Repo
    ns: str
    s: str  # suffix for cluster-scoped names
    admin: KubeClient

    def docs(self, *, display: str = "Test Co", policy: str | None = None) -> list[dict]:
        policy = policy or f"p-{self.s}"
        return [
            {
                "apiVersion": API,
                "kind": "SLAPolicy",
                "metadata": {"name": f"p-{self.s}"},
                "spec": {
                    "targets": [
                        {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 60}
                    ],
                    "coverage": {"type": "24x7"},
                },
            },
            {
                "apiVersion": API,
                "kind": "Company",
                "metadata": {"name": f"c-{self.s}"},
                "spec": {"displayName": display, "slaPolicyRef": {"name": policy}},
            },
            {
                "apiVersion": API,
                "kind": "Technician",
                "metadata": {"name": f"t-{self.s}"},
                "spec": {
                    "username": f"t-{self.s}@msp.example",
                    "displayName": "T",
                    "email": "t@msp.example",
                    "companies": [f"c-{self.s}"],
                },
            },
        ]

    def rule(self) -> dict[str, Any]:
        return {
            "apiVersion": API,
            "kind": "RoutingRule",
            "metadata": {"name": f"r-{self.s}"},
            "spec": {"order": 5, "preferredTechnicians": [f"t-{self.s}"]},
        }

    def source(self) -> dict[str, Any]:
        return self.admin.get("gitsources", "config", self.ns)

    def request_sync(self) -> str:
        token = uuid.uuid4().hex
        client.CustomObjectsApi(self.admin.api_client).patch_namespaced_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            self.ns,
            "gitsources",
            "config",
            {"metadata": {"annotations": {"alertwhisperer.io/reconcile-requested-at": token}}},
        )
        wait_for(
            lambda: self.source().get("status", {}).get("lastHandledRequest") == token,
            timeout=30,
            what="the requested sync",
        )
        return token

    def ready(self) -> dict[str, Any]:
        conds = self.source().get("status", {}).get("conditions", [])
        return next((c for c in conds if c["type"] == "Ready"), {})

    def exists(self, plural: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.admin.get(plural, name, namespace)
        except NotFoundError:
            return False
        return True


@pytest.fixture
def world(
    operator_running: None, admin: KubeClient, namespace: str, tmp_path: Path
) -> Iterator[World]:
    repo = Repo(tmp_path / "repo")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    w = World(repo, namespace, uuid.uuid4().hex[:6], admin)
    yield w
    api = client.CustomObjectsApi(admin.api_client)
    for plural, name in (
        ("routingrules", "r"),
        ("technicians", "t"),
        ("companies", "c"),
        ("slapolicies", "p"),
    ):
        with contextlib.suppress(client.ApiException):
            api.delete_cluster_custom_object(
                "alertwhisperer.io", "v1alpha1", plural, f"{name}-{w.s}"
            )


def start(w: World, *, url: str | None = None, **spec: Any) -> None:
    w.admin.create(
        "gitsources",
        {
            "apiVersion": API,
            "kind": "GitSource",
            "metadata": {"name": "config", "namespace": w.ns},
            "spec": {
                "url": url or f"file://{w.repo.path}",
                "ref": {"branch": "main"},
                "path": "./config",
                "interval": "10m",
                **spec,
            },
        },
        w.ns,
    )


def synced(w: World, revision: str) -> dict[str, Any]:
    return wait_for(
        lambda: (s := w.source().get("status", {})).get("lastAppliedRevision") == revision and s,
        timeout=30,
        what=f"revision {revision[:8]} applied",
    )


def failed(w: World, reason: str) -> dict[str, Any]:
    return wait_for(
        lambda: (c := w.ready()).get("reason") == reason and c,
        timeout=30,
        what=f"Ready=False {reason}",
    )


def test_happy_path_then_a_change_and_an_addition(world: World) -> None:
    world.repo.write("base.yaml", world.docs())
    first = world.repo.commit("base")
    start(world)
    status = synced(world, first)
    assert world.ready()["status"] == "True"
    assert len(status["inventory"]) == 3
    assert world.exists("companies", f"c-{world.s}")

    world.repo.write("base.yaml", world.docs(display="Renamed Co"))
    world.repo.write("routing.yaml", [world.rule()])
    second = world.repo.commit("rename, add a rule")
    world.request_sync()
    status = synced(world, second)
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Renamed Co"
    assert world.exists("routingrules", f"r-{world.s}")
    assert len(status["inventory"]) == 4


@pytest.mark.parametrize(
    ("content", "reason", "message"),
    [
        ("kind: Company\nmetadata: {name: x\n", "BuildFailed", "invalid YAML"),
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {token: x}\n",
            "BuildFailed",
            "a Secret in git is refused",
        ),
        (None, "ValidationFailed", "severity"),
        ("dangling", "ValidationFailed", "which is not in the repository"),
    ],
)
def test_a_bad_commit_changes_nothing(
    world: World, content: str | None, reason: str, message: str
) -> None:
    world.repo.write("base.yaml", world.docs())
    good = world.repo.commit("base")
    start(world)
    synced(world, good)
    if content is None:
        docs = world.docs(display="Should not land")
        docs[0]["spec"]["targets"][0]["severity"] = "urgent"
        world.repo.write("base.yaml", docs)
    elif content == "dangling":
        world.repo.write("base.yaml", world.docs(display="Should not land", policy="nope"))
    else:
        world.repo.write("broken.yaml", content)
        world.repo.write("base.yaml", world.docs(display="Should not land"))
    bad = world.repo.commit("bad")
    world.request_sync()
    condition = failed(world, reason)
    status = world.source()["status"]
    assert message in condition["message"] or any(message in e["message"] for e in status["errors"])
    assert status["lastAppliedRevision"] == good
    assert status["lastAttemptedRevision"] == bad
    assert all(e["file"].startswith("config/") for e in status["errors"])
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co"


def test_a_removed_file_is_pruned_an_emptied_repo_is_not(world: World) -> None:
    world.repo.write("base.yaml", world.docs())
    world.repo.write("routing.yaml", [world.rule()])
    start(world)
    synced(world, world.repo.commit("base and rule"))
    world.repo.remove("routing.yaml")
    second = world.repo.commit("drop the rule")
    world.request_sync()
    synced(world, second)
    wait_for(
        lambda: not world.exists("routingrules", f"r-{world.s}"),
        timeout=30,
        what="the rule to be pruned",
    )

    world.repo.remove("base.yaml")
    world.repo.commit("empty")
    world.request_sync()
    condition = failed(world, "BuildFailed")
    assert "allowEmpty" in condition["message"]
    assert world.exists("companies", f"c-{world.s}")
    assert world.exists("slapolicies", f"p-{world.s}")


def test_an_sla_policy_still_followed_is_kept_until_free(world: World) -> None:
    world.repo.write("base.yaml", world.docs())
    other = {
        "apiVersion": API,
        "kind": "SLAPolicy",
        "metadata": {"name": f"q-{world.s}"},
        "spec": {
            "targets": [{"severity": "high", "responseMinutes": 30, "resolutionMinutes": 90}],
            "coverage": {"type": "24x7"},
        },
    }
    world.repo.write("other.yaml", [other])
    start(world)
    synced(world, world.repo.commit("two policies"))
    # A company created by hand follows q; q leaves git but must stay while it is used.
    world.admin.create(
        "companies",
        {
            "apiVersion": API,
            "kind": "Company",
            "metadata": {"name": f"h-{world.s}"},
            "spec": {"displayName": "hand", "slaPolicyRef": {"name": f"q-{world.s}"}},
        },
    )
    try:
        world.repo.remove("other.yaml")
        rev = world.repo.commit("drop q")
        world.request_sync()
        synced(world, rev)
        assert world.exists("slapolicies", f"q-{world.s}")
        assert "still follow it" in world.ready()["message"]
        client.CustomObjectsApi(world.admin.api_client).delete_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", "companies", f"h-{world.s}"
        )
        wait_for(
            lambda: not world.exists("companies", f"h-{world.s}"),
            timeout=30,
            what="the hand-made company to go",
        )
        world.request_sync()
        wait_for(
            lambda: not world.exists("slapolicies", f"q-{world.s}"),
            timeout=30,
            what="q to be pruned once free",
        )
    finally:
        for plural, name in (("companies", "h"), ("slapolicies", "q")):
            with contextlib.suppress(client.ApiException):
                client.CustomObjectsApi(world.admin.api_client).delete_cluster_custom_object(
                    "alertwhisperer.io", "v1alpha1", plural, f"{name}-{world.s}"
                )


def test_an_unreachable_remote_changes_nothing(world: World, tmp_path: Path) -> None:
    start(world, url=f"file://{tmp_path}/no-such-repo")
    condition = failed(world, "FetchFailed")
    assert "cannot fetch" in condition["message"]
    assert world.source()["status"].get("inventory", []) == []


def test_a_hand_edit_is_put_back_with_an_event(world: World) -> None:
    world.repo.write("base.yaml", world.docs())
    start(world)
    synced(world, world.repo.commit("base"))
    client.CustomObjectsApi(world.admin.api_client).patch_cluster_custom_object(
        "alertwhisperer.io",
        "v1alpha1",
        "companies",
        f"c-{world.s}",
        {"spec": {"displayName": "edited by hand"}},
    )
    world.request_sync()
    wait_for(
        lambda: world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co",
        timeout=30,
        what="the hand edit to be put back",
    )
    wait_for(
        lambda: [
            e
            for e in client.CoreV1Api(world.admin.api_client)
            .list_namespaced_event(world.ns, field_selector="involvedObject.name=config")
            .items
            if e.reason == "DriftCorrected" and f"c-{world.s}" in e.message
        ],
        timeout=10,
        what="a DriftCorrected event",
    )


def _keypair(tmp: Path, name: str) -> tuple[Path, str]:
    key = tmp / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", name], check=True
    )
    return key, (tmp / f"{name}.pub").read_text().strip()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_a_required_signature_refuses_unsigned_and_unknown_signers(
    world: World, tmp_path: Path
) -> None:
    trusted, trusted_pub = _keypair(tmp_path, "trusted")
    stranger, _ = _keypair(tmp_path, "stranger")
    client.CoreV1Api(world.admin.api_client).create_namespaced_secret(
        world.ns, {"metadata": {"name": "signers"}, "stringData": {"keys": trusted_pub}}
    )

    world.repo.write("base.yaml", world.docs())
    signed = world.repo.commit("signed", signing_key=trusted)
    start(world, verify={"mode": "HEAD", "secretRef": {"name": "signers"}})
    synced(world, signed)

    world.repo.write("base.yaml", world.docs(display="Unsigned change"))
    world.repo.commit("unsigned")
    world.request_sync()
    assert "not signed by a trusted key" in failed(world, "FetchFailed")["message"]

    world.repo.write("base.yaml", world.docs(display="Stranger's change"))
    world.repo.commit("by a stranger", signing_key=stranger)
    world.request_sync()
    failed(world, "FetchFailed")
    assert world.source()["status"]["lastAppliedRevision"] == signed
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co"


def test_a_runbook_with_a_running_execution_is_kept_until_free(world: World) -> None:
    runbook = {
        "apiVersion": API,
        "kind": "Runbook",
        "metadata": {"name": f"rb-{world.s}", "namespace": world.ns},
        "spec": {
            "title": "t",
            "risk": "low",
            "platform": "linux",
            "shell": "bash",
            "script": "echo ok",
        },
    }
    world.repo.write("base.yaml", world.docs())
    world.repo.write("runbook.yaml", [runbook])
    start(world)
    synced(world, world.repo.commit("with a runbook"))
    world.admin.create(
        "runbookexecutions",
        {
            "apiVersion": API,
            "kind": "RunbookExecution",
            "metadata": {"name": "run-1", "namespace": world.ns},
            "spec": {
                "runbookRef": {"name": f"rb-{world.s}"},
                "targets": ["web01"],
                "requestedBy": "sam@northwind-msp.example",
            },
        },
        world.ns,
    )
    wait_for(
        lambda: (
            world.admin.get("runbookexecutions", "run-1", world.ns).get("status", {}).get("risk")
        ),
        what="the operator to admit the run",
    )
    world.admin.patch_status("runbookexecutions", "run-1", {"phase": "Running"}, world.ns)

    world.repo.remove("runbook.yaml")
    rev = world.repo.commit("drop the runbook")
    world.request_sync()
    synced(world, rev)
    assert world.exists("runbooks", f"rb-{world.s}", world.ns)
    assert "still running it" in world.ready()["message"]

    world.admin.patch_status("runbookexecutions", "run-1", {"phase": "Succeeded"}, world.ns)
    world.request_sync()
    wait_for(
        lambda: not world.exists("runbooks", f"rb-{world.s}", world.ns),
        timeout=30,
        what="the runbook to be pruned once free",
    )
