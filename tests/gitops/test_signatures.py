"""OpenPGP-signed config repos against the real API server and the running operator: a
commit signed by a trusted key is applied; unsigned, unknown-signer and altered commits are
refused as FetchFailed (SignatureRefused), change nothing, prune nothing, and the last good
revision stays in force."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from support.cluster import wait_for
from support.gitops import World, failed, start, synced


class Keyring:
    """A throwaway GNUPGHOME for the signers' secret keys (a short path: the agent's socket
    must fit), its agent stopped and the folder removed afterwards."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="gpg-"))

    def gpg(self, *args: str) -> str:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--passphrase", "", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def new_key(self, uid: str) -> str:
        """An ed25519 signing key that never expires; its fingerprint."""
        self.gpg("--quick-gen-key", uid, "ed25519", "sign", "never")
        listing = self.gpg("--with-colons", "--list-keys", uid)
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))

    def public(self, fingerprint: str) -> str:
        return self.gpg("--armor", "--export", fingerprint)

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], check=False)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def keyring() -> Iterator[Keyring]:
    ring = Keyring()
    yield ring
    ring.close()


@pytest.fixture(scope="module")
def trusted(keyring: Keyring) -> str:
    return keyring.new_key("Config admin <admin@msp.example>")


@pytest.fixture(scope="module")
def stranger(keyring: Keyring) -> str:
    return keyring.new_key("Stranger <stranger@example>")


def git(w: World, keyring: Keyring, *args: str, stdin: str | None = None) -> str:
    """git in the world's repo, with the signers' GNUPGHOME."""
    return subprocess.run(
        ["git", "-C", str(w.repo.path), "-c", "user.name=t", "-c", "user.email=t@example", *args],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "GNUPGHOME": str(keyring.home)},
    ).stdout.strip()


def signed_commit(w: World, keyring: Keyring, fingerprint: str, message: str) -> str:
    """Commit everything, OpenPGP-signed by git with `fingerprint`."""
    git(w, keyring, "add", "-A")
    git(
        w,
        keyring,
        "-c",
        "gpg.format=openpgp",
        "-c",
        f"gpg.program={shutil.which('gpg')}",
        "-c",
        f"user.signingkey={fingerprint}",
        "commit",
        "-q",
        "--allow-empty",
        "-S",
        "-m",
        message,
    )
    return git(w, keyring, "rev-parse", "HEAD")


def trust(w: World, keyring: Keyring, *fingerprints: str) -> None:
    """A Secret with the trusted public keys, one value each."""
    client.CoreV1Api(w.admin.api_client).create_namespaced_secret(
        w.ns,
        {
            "metadata": {"name": "signers"},
            "stringData": {f"key{i}.asc": keyring.public(f) for i, f in enumerate(fingerprints)},
        },
    )


def conditions(w: World) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in w.source().get("status", {}).get("conditions", [])}


@pytest.mark.parametrize("signature_format", ["auto", "openpgp"])
def test_a_commit_signed_by_a_trusted_key_syncs(
    world: World, keyring: Keyring, trusted: str, stranger: str, signature_format: str
) -> None:
    trust(world, keyring, stranger, trusted)
    world.repo.write("base.yaml", world.docs())
    first = signed_commit(world, keyring, trusted, "base")
    start(world, verify={"format": signature_format, "secretRef": {"name": "signers"}})
    synced(world, first)
    assert world.ready()["status"] == "True"
    assert conditions(world)["FetchFailed"]["status"] == "False"
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co"

    world.repo.write("base.yaml", world.docs(display="Signed change"))
    second = signed_commit(world, keyring, trusted, "rename")
    world.request_sync()
    synced(world, second)
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Signed change"


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("unsigned", "it carries no signature"),
        ("stranger", "which is not trusted"),
        ("altered", "bad signature by OpenPGP key"),
    ],
)
def test_a_refused_signature_changes_and_prunes_nothing(
    world: World, keyring: Keyring, trusted: str, stranger: str, how: str, why: str
) -> None:
    trust(world, keyring, trusted)
    world.repo.write("base.yaml", world.docs())
    world.repo.write("routing.yaml", [world.rule()])
    good = signed_commit(world, keyring, trusted, "base and rule")
    start(world, verify={"secretRef": {"name": "signers"}})
    before = synced(world, good)["inventory"]
    assert len(before) == 4

    # Applied, this revision would rename the company and prune the rule.
    world.repo.write("base.yaml", world.docs(display="Should not land"))
    world.repo.remove("routing.yaml")
    if how == "unsigned":
        bad = world.repo.commit("unsigned")
    elif how == "stranger":
        bad = signed_commit(world, keyring, stranger, "by a stranger")
    else:
        signed_commit(world, keyring, trusted, "signed")
        raw = git(world, keyring, "cat-file", "commit", "HEAD") + "\n"
        altered = raw.replace("\n\nsigned\n", "\n\nsigned, then edited\n")
        bad = git(world, keyring, "hash-object", "-t", "commit", "-w", "--stdin", stdin=altered)
        git(world, keyring, "update-ref", "refs/heads/main", bad)
    world.request_sync()

    ready = failed(world, "FetchFailed")
    fetch_failed = conditions(world)["FetchFailed"]
    assert fetch_failed["status"] == "True"
    assert fetch_failed["reason"] == "SignatureRefused"
    assert fetch_failed["message"].startswith(f"commit {bad[:12]} is not signed by a trusted key")
    assert why in fetch_failed["message"]
    assert ready["message"] == fetch_failed["message"]
    status = world.source()["status"]
    assert status["lastAppliedRevision"] == good
    assert status["lastAttemptedRevision"] == bad
    assert status["inventory"] == before
    assert world.admin.get("companies", f"c-{world.s}")["spec"]["displayName"] == "Test Co"
    assert world.exists("routingrules", f"r-{world.s}")
    wait_for(
        lambda: [
            e
            for e in client.CoreV1Api(world.admin.api_client)
            .list_namespaced_event(world.ns, field_selector="involvedObject.name=config")
            .items
            if e.reason == "SignatureRefused" and bad[:12] in e.message
        ],
        timeout=10,
        what="a SignatureRefused warning event",
    )

    # The next signed commit is applied again: refusal stalls nothing for good.
    fixed = signed_commit(world, keyring, trusted, "signed again")
    world.request_sync()
    synced(world, fixed)
    assert conditions(world)["FetchFailed"]["status"] == "False"
    wait_for(
        lambda: not world.exists("routingrules", f"r-{world.s}"),
        timeout=30,
        what="the rule to be pruned by the signed revision",
    )
