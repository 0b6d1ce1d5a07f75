"""The git syncer against local repositories, the real API server and the running operator:
a bad commit changes nothing, a good one is applied, what left git is pruned (unless in use
or everything), hand edits are put back."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from support.cluster import wait_for
from support.githttp import git_http_server
from support.gitops import API, World, failed, start, synced

TOKEN = "test-token-not-a-secret-abcdefghij"


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
        ("dangling", "ValidationFailed", "is not in the repository"),
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


def test_an_unchanged_revision_is_not_fetched_again_but_hand_edits_are_still_put_back(
    world: World,
) -> None:
    world.repo.write("all.yaml", world.docs())
    first = world.repo.commit("one")
    start(world)
    synced(world, first)
    world.request_sync()
    assert "unchanged: last build reused" in world.ready()["message"]
    client.CustomObjectsApi(world.admin.api_client).patch_cluster_custom_object(
        "alertwhisperer.io",
        "v1alpha1",
        "companies",
        f"c-{world.s}",
        {"spec": {"displayName": "Edited by hand"}},
    )
    world.request_sync()
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co"
    world.repo.write("all.yaml", world.docs(display="Renamed"))
    second = world.repo.commit("two")
    world.request_sync()
    synced(world, second)
    assert "unchanged" not in world.ready()["message"]
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Renamed"


def test_a_private_repo_over_http_takes_the_token_from_the_secret(
    world: World, tmp_path: Path
) -> None:
    world.repo.write("all.yaml", world.docs())
    revision = world.repo.commit("one")
    srv = tmp_path / "srv"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(world.repo.path), str(srv / "config.git")],
        check=True,
    )
    core = client.CoreV1Api(world.admin.api_client)
    core.create_namespaced_secret(
        world.ns,
        client.V1Secret(metadata=client.V1ObjectMeta(name="git"), string_data={"token": TOKEN}),
    )
    with git_http_server(srv, TOKEN) as server:
        start(world, url=f"{server.url}/config.git", secretRef={"name": "git"})
        synced(world, revision)
        assert server.refused == 0
        # The token is rotated on the server's side only: the next sync is refused, loudly,
        # and changes nothing.
        core.patch_namespaced_secret("git", world.ns, {"stringData": {"token": "expired"}})
        world.request_sync()
        condition = failed(world, "FetchFailed")
        assert "expired" not in condition["message"] and TOKEN not in condition["message"]
        assert world.source()["status"]["lastAppliedRevision"] == revision
        assert world.exists("companies", f"c-{world.s}")
