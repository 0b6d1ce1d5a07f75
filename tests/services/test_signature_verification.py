"""Commit signature verification alone (gitio, no cluster): real OpenPGP and SSH signatures
on local commits; only a good signature by a trusted, live key is accepted, whatever gpg's
exit code, and the throwaway keyring is always removed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from whisperer.operator.gitio import (
    TrustedKeys,
    UntrustedRevisionError,
    split_signature,
    verify_head,
)


@dataclass
class Keyring:
    """A throwaway GNUPGHOME holding the signers' secret keys (short path: agent socket)."""

    home: Path

    def gpg(self, *args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--passphrase", "", *args],
            check=True,
            capture_output=True,
            input=stdin,
        ).stdout

    def new_key(self, uid: str, *, expires: str = "never", at: str | None = None) -> str:
        """Generate an ed25519 signing key (at a faked time, e.g. to let it expire);
        return its fingerprint."""
        faked = ["--faked-system-time", f"{at}!"] if at else []
        self.gpg(*faked, "--quick-gen-key", uid, "ed25519", "sign", expires)
        listing = self.gpg("--with-colons", "--list-keys", uid).decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))

    def public(self, fingerprint: str) -> str:
        return self.gpg("--armor", "--export", fingerprint).decode()

    def revoke(self, fingerprint: str) -> None:
        """Import the revocation certificate gpg made with the key."""
        cert = (self.home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
        self.gpg("--import", stdin=cert.replace(":-----BEGIN", "-----BEGIN").encode())

    def sign(self, fingerprint: str, payload: bytes, *, at: str | None = None) -> bytes:
        faked = ["--faked-system-time", f"{at}!"] if at else []
        return self.gpg(*faked, "--armor", "--detach-sign", "-u", fingerprint, stdin=payload)


@pytest.fixture
def keyring() -> Iterator[Keyring]:
    home = Path(tempfile.mkdtemp(prefix="gpg-"))
    home.chmod(0o700)
    yield Keyring(home)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    shutil.rmtree(home, ignore_errors=True)


@dataclass
class Repo:
    path: Path
    keyring: Keyring

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.path), "-c", "user.name=t", "-c", "user.email=t@example", *args],
            check=True,
            capture_output=True,
            input=stdin,
            env={**os.environ, "GNUPGHOME": str(self.keyring.home)},
        ).stdout

    def commit(self, text: str, *, gpg: str | None = None, ssh: Path | None = None) -> str:
        """Commit a file; signed by git with the OpenPGP key `gpg` or the SSH key `ssh`."""
        (self.path / "file.txt").write_text(text)
        self.git("add", "-A")
        sign: list[str] = []
        if gpg:
            sign = ["-c", "gpg.format=openpgp", "-c", "gpg.program=gpg"]
            sign += ["-c", f"user.signingkey={gpg}", "commit", "-S"]
        elif ssh:
            sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh}", "commit", "-S"]
        else:
            sign = ["commit"]
        self.git(*sign, "-q", "-m", text)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").decode().strip()

    def raw(self) -> bytes:
        return self.git("cat-file", "commit", "HEAD")

    def replace_head(self, raw: bytes) -> str:
        """Write a hand-made commit object and point the branch at it."""
        sha = self.git("hash-object", "-t", "commit", "-w", "--stdin", stdin=raw).decode().strip()
        self.git("update-ref", "HEAD", sha)
        return sha


def with_signature(payload: bytes, signature: bytes) -> bytes:
    """A commit object: `payload` with a gpgsig header, as git writes one."""
    header, _, message = payload.partition(b"\n\n")
    folded = b"\n ".join(signature.rstrip(b"\n").split(b"\n"))
    return header + b"\ngpgsig " + folded + b"\n\n" + message


@pytest.fixture
def repo(tmp_path: Path, keyring: Keyring) -> Repo:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return Repo(path, keyring)


def refused(repo: Repo, keys: str, **kwargs: str) -> str:
    with pytest.raises(UntrustedRevisionError) as caught:
        verify_head(repo.path, trusted_keys=keys, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"commit {repo.head()[:12]} is not signed by a trusted key: ")
    return message


@pytest.mark.parametrize("signature_format", ["auto", "openpgp"])
def test_a_good_signature_by_a_trusted_key_is_accepted(
    repo: Repo, keyring: Keyring, signature_format: str
) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    repo.commit("one", gpg=trusted)
    verdict = verify_head(
        repo.path,
        trusted_keys=keyring.public(trusted),
        signature_format=signature_format,
    )
    assert verdict.startswith(f"good OpenPGP signature by {trusted}")
    assert "trusted@example" in verdict


def test_any_of_several_trusted_keys_and_other_secret_values_do_not_matter(
    repo: Repo, keyring: Keyring
) -> None:
    first = keyring.new_key("First <first@example>")
    second = keyring.new_key("Second <second@example>")
    repo.commit("one", gpg=second)
    keys = f"# the admins\n{keyring.public(first)}\n{keyring.public(second)}"
    assert second in verify_head(repo.path, trusted_keys=keys)


def test_an_unsigned_commit_is_refused(repo: Repo, keyring: Keyring) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    repo.commit("one")
    assert refused(repo, keyring.public(trusted)).endswith("it carries no signature")


def test_an_unknown_signer_is_refused(repo: Repo, keyring: Keyring) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    stranger = keyring.new_key("Stranger <stranger@example>")
    repo.commit("one", gpg=stranger)
    message = refused(repo, keyring.public(trusted))
    assert f"signed by OpenPGP key {stranger}, which is not trusted" in message


def test_a_commit_altered_after_signing_is_refused(repo: Repo, keyring: Keyring) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    repo.commit("one", gpg=trusted)
    repo.replace_head(repo.raw().replace(b"\n\none", b"\n\nnot what was signed"))
    assert "bad signature by OpenPGP key" in refused(repo, keyring.public(trusted))


def test_a_signature_by_an_expired_key_is_refused(repo: Repo, keyring: Keyring) -> None:
    # gpg exits 0 here (EXPKEYSIG with VALIDSIG): the status lines decide.
    old = keyring.new_key("Old <old@example>", expires="1d", at="20200101T000000")
    repo.commit("one")
    payload, _ = split_signature(repo.raw())
    repo.replace_head(with_signature(payload, keyring.sign(old, payload, at="20200101T010000")))
    assert "which has expired" in refused(repo, keyring.public(old))


def test_a_signature_by_a_revoked_key_is_refused(repo: Repo, keyring: Keyring) -> None:
    # gpg exits 0 here too (REVKEYSIG with VALIDSIG).
    key = keyring.new_key("Gone <gone@example>")
    repo.commit("one", gpg=key)
    keyring.revoke(key)
    assert "which is revoked" in refused(repo, keyring.public(key))


def test_no_trusted_key_refuses_everything(repo: Repo, keyring: Keyring) -> None:
    repo.commit("one", gpg=keyring.new_key("Trusted <trusted@example>"))
    assert "no trusted key is set" in refused(repo, "\n# nothing here\n")


def test_unreadable_openpgp_key_material_is_refused(repo: Repo, keyring: Keyring) -> None:
    repo.commit("one", gpg=keyring.new_key("Trusted <trusted@example>"))
    garbage = (
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----"
    )
    assert "could be read" in refused(repo, garbage)


def test_an_openpgp_signature_is_refused_when_only_ssh_is_accepted(
    repo: Repo, keyring: Keyring
) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    repo.commit("one", gpg=trusted)
    message = refused(repo, keyring.public(trusted), signature_format="ssh")
    assert "signed with openpgp, but spec.verify.format is ssh" in message


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_ssh_and_openpgp_keys_in_one_secret(repo: Repo, keyring: Keyring, tmp_path: Path) -> None:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pgp = keyring.new_key("Trusted <trusted@example>")
    keys = f"{(tmp_path / 'id.pub').read_text()}\n{keyring.public(pgp)}"
    repo.commit("ssh", ssh=key)
    assert verify_head(repo.path, trusted_keys=keys)
    assert "spec.verify.format is openpgp" in refused(repo, keys, signature_format="openpgp")
    repo.commit("pgp", gpg=pgp)
    assert pgp in verify_head(repo.path, trusted_keys=keys)
    # An SSH-signed commit with only OpenPGP keys trusted names what is missing.
    repo.commit("ssh again", ssh=key)
    assert "no SSH public key is trusted" in refused(repo, keyring.public(pgp))


def test_the_payload_is_what_git_signed(repo: Repo, keyring: Keyring) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    repo.commit("unsigned")
    unsigned = repo.raw()
    assert split_signature(unsigned) == (unsigned, None)
    repo.commit("signed", gpg=trusted)
    payload, signature = split_signature(repo.raw())
    assert signature is not None
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----\n")
    assert b"gpgsig" not in payload
    assert payload.endswith(b"\n\nsigned\n")
    # Put back together, the object hashes as before: nothing lost or added.
    assert repo.replace_head(with_signature(payload, signature)) == repo.head()


def test_trusted_keys_are_split_by_format() -> None:
    block = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----"
    keys = TrustedKeys.parse(
        f"# comment\nssh-ed25519 AAAA one\n{block}\nalice@example ssh-ed25519 AAAA two\n"
    )
    assert keys.openpgp == [block]
    assert keys.ssh == ["* ssh-ed25519 AAAA one", "alice@example ssh-ed25519 AAAA two"]


def test_the_temporary_keyring_is_removed_and_the_users_is_untouched(
    repo: Repo, keyring: Keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted = keyring.new_key("Trusted <trusted@example>")
    stranger = keyring.new_key("Stranger <stranger@example>")
    scratch = tmp_path / "scratch"
    users = tmp_path / "users-gnupg"
    scratch.mkdir()
    users.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("GNUPGHOME", str(users))
    monkeypatch.setenv("HOME", str(tmp_path))
    repo.commit("good", gpg=trusted)
    verify_head(repo.path, trusted_keys=keyring.public(trusted))
    repo.commit("stranger's", gpg=stranger)
    refused(repo, keyring.public(trusted))
    assert list(scratch.iterdir()) == []
    assert list(users.iterdir()) == []
    assert not (tmp_path / ".gnupg").exists()
