"""Verify a fetched commit's signature (SSH or OpenPGP) against the keys a GitSource trusts,
in throwaway keyrings: never the operator's own ~/.gnupg or allowed signers file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from git import GitCommandError, Repo

from whisperer.operator.gitio.fetch import FetchError, redact

SignatureFormat = Literal["auto", "ssh", "openpgp"]

_PGP_KEY_BLOCK = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.DOTALL
)
_SIGNATURE_KINDS = {
    b"-----BEGIN PGP SIGNATURE-----": "openpgp",
    b"-----BEGIN PGP MESSAGE-----": "openpgp",
    b"-----BEGIN SSH SIGNATURE-----": "ssh",
    b"-----BEGIN SIGNED MESSAGE-----": "x509",
}
_GPG_TIMEOUT = 30


class UntrustedRevisionError(FetchError):
    """The revision is unsigned, or signed by a key the GitSource does not trust, or its
    signature does not check out."""


class _Refused(Exception):  # noqa: N818 - internal: carries only the reason, never escapes
    """Why a signature is refused, before the commit is named."""


@dataclass(frozen=True)
class TrustedKeys:
    """The trusted key material, split by format: SSH allowed-signers lines and
    ASCII-armoured OpenPGP public key blocks."""

    ssh: list[str]
    openpgp: list[str]

    @classmethod
    def parse(cls, text: str) -> TrustedKeys:
        """Armoured blocks are OpenPGP; every other non-comment line is an SSH public key
        (`ssh-ed25519 AAAA... comment`) or an allowed-signers line."""
        blocks = _PGP_KEY_BLOCK.findall(text)
        ssh = []
        for line in _PGP_KEY_BLOCK.sub("", text).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                ssh.append(f"* {line}" if line.startswith(("ssh-", "ecdsa-", "sk-")) else line)
        return cls(ssh=ssh, openpgp=blocks)


def split_signature(raw: bytes) -> tuple[bytes, bytes | None]:
    """A raw commit object's signed payload and its `gpgsig` signature (None if unsigned):
    the payload is the object without its signature headers, as git signs it."""
    header, blank, message = raw.partition(b"\n\n")
    payload: list[bytes] = []
    signature: list[bytes] = []
    inside = None  # the signature header whose continuation lines follow, if any
    for line in header.split(b"\n"):
        if inside is not None and line.startswith(b" "):
            if inside == b"gpgsig":
                signature.append(line[1:])
            continue
        name = line.split(b" ", 1)[0]
        if name.startswith(b"gpgsig"):  # gpgsig, and gpgsig-sha256 of the other hash
            inside = name
            if name == b"gpgsig":
                signature.append(line[len(name) + 1 :])
            continue
        inside = None
        payload.append(line)
    body = b"\n".join(payload) + blank + message
    return body, (b"\n".join(signature) + b"\n" if signature else None)


def signature_kind(signature: bytes) -> str:
    """openpgp, ssh, x509 or unknown, from the armour's first line."""
    first = signature.lstrip().split(b"\n", 1)[0].strip()
    return _SIGNATURE_KINDS.get(first, "unknown")


def _status(output: str) -> list[tuple[str, list[str]]]:
    """gpg's --status-fd lines as (keyword, arguments)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, *args = line[len("[GNUPG:] ") :].split(" ")
            lines.append((keyword, args))
    return lines


def _gpg(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """gpg in the throwaway home only: no agent, no dirmngr, no key servers, no options file."""
    program = shutil.which("gpg")
    if program is None:
        raise FetchError("OpenPGP verification needs gpg, which is not installed", delay=300)
    command = [
        program,
        "--homedir",
        str(home),
        "--no-options",
        "--batch",
        "--no-tty",
        "--no-autostart",
        "--no-auto-key-retrieve",
        "--status-fd",
        "1",
        *args,
    ]
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_GPG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"gpg did not answer within {_GPG_TIMEOUT}s", delay=60) from exc


def _verify_openpgp(payload: bytes, signature: bytes, *, keys: list[str]) -> str:
    """Check an OpenPGP signature over `payload` with only `keys` (ASCII-armoured public
    keys) in a temporary GNUPGHOME, removed afterwards. Accepted only on a GOODSIG and a
    VALIDSIG whose primary key is one of `keys`: an expired or revoked key, a bad signature
    or an unknown signer is refused whatever gpg's exit code. Returns the signer's primary
    key fingerprint and user id."""
    if not keys:
        raise _Refused("it is signed with OpenPGP, but no OpenPGP public key is trusted")
    with tempfile.TemporaryDirectory(prefix="whisperer-gpg-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        (Path(tmp) / "keys.asc").write_text("\n".join(keys) + "\n")
        imported = _gpg(home, "--import", str(Path(tmp) / "keys.asc"))
        trusted = {args[1] for keyword, args in _status(imported.stdout) if keyword == "IMPORT_OK"}
        if not trusted:
            raise _Refused("none of the trusted OpenPGP public keys could be read")
        (Path(tmp) / "payload").write_bytes(payload)
        (Path(tmp) / "signature.asc").write_bytes(signature)
        checked = _gpg(
            home, "--verify", str(Path(tmp) / "signature.asc"), str(Path(tmp) / "payload")
        )
    status = _status(checked.stdout)
    found = {keyword: args for keyword, args in status}
    if sum(1 for keyword, _ in status if keyword == "NEWSIG") > 1:
        raise _Refused("it carries more than one OpenPGP signature")
    if "BADSIG" in found:
        raise _Refused(f"bad signature by OpenPGP key {found['BADSIG'][0]}: the commit was altered")
    if "REVKEYSIG" in found:
        raise _Refused(f"signed by OpenPGP key {found['REVKEYSIG'][0]}, which is revoked")
    if "EXPKEYSIG" in found:
        raise _Refused(f"signed by OpenPGP key {found['EXPKEYSIG'][0]}, which has expired")
    if "EXPSIG" in found:
        raise _Refused(f"the signature by OpenPGP key {found['EXPSIG'][0]} has expired")
    if "ERRSIG" in found:
        args = found["ERRSIG"]
        signer = args[6] if len(args) > 6 and args[6] != "-" else args[0]
        if len(args) > 5 and args[5] == "9":
            raise _Refused(f"signed by OpenPGP key {signer}, which is not trusted")
        raise _Refused(f"the signature by OpenPGP key {signer} cannot be checked")
    valid = found.get("VALIDSIG", [])
    primary = valid[9] if len(valid) > 9 else (valid[0] if valid else "")
    if checked.returncode != 0 or "GOODSIG" not in found or primary not in trusted:
        raise _Refused("gpg reported no good signature by a trusted OpenPGP key")
    return f"good OpenPGP signature by {primary} ({' '.join(found['GOODSIG'][1:])})"


def _verify_ssh(repo: Repo, *, lines: list[str]) -> str:
    """git verify-commit with an allowed signers file of `lines` only."""
    if not lines:
        raise _Refused("it is signed with SSH, but no SSH public key is trusted")
    with tempfile.TemporaryDirectory(prefix="whisperer-signers-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_text("\n".join(lines) + "\n")
        try:
            _, _, err = repo.git.execute(
                [
                    "git",
                    "-c",
                    f"gpg.ssh.allowedSignersFile={signers}",
                    "-c",
                    "gpg.format=ssh",
                    "verify-commit",
                    "HEAD",
                ],
                with_extended_output=True,
            )
        except GitCommandError as exc:
            raise _Refused(redact(str(exc.stderr)) or "bad SSH signature") from exc
    return str(err).strip().splitlines()[0] if err else "good SSH signature"


def verify_head(
    into: Path, *, trusted_keys: str, signature_format: SignatureFormat = "auto"
) -> str:
    """Check the checked-out commit's signature against the trusted keys (SSH public keys or
    allowed-signers lines, and/or ASCII-armoured OpenPGP public keys); return the verdict.

    `signature_format` ssh or openpgp accepts only that kind of signature; auto accepts the
    kind the commit carries, checked against the trusted keys of that kind. Raises
    UntrustedRevisionError naming the commit and why."""
    keys = TrustedKeys.parse(trusted_keys)
    with Repo(into) as repo:
        commit = repo.head.commit
        try:
            if not keys.ssh and not keys.openpgp:
                raise _Refused("signature verification is on but no trusted key is set")
            payload, signature = split_signature(repo.odb.stream(commit.binsha).read())
            if signature is None:
                raise _Refused("it carries no signature")
            kind = signature_kind(signature)
            if kind not in ("ssh", "openpgp"):
                raise _Refused(f"its signature is of an unsupported kind ({kind})")
            if signature_format != "auto" and kind != signature_format:
                raise _Refused(
                    f"it is signed with {kind}, but spec.verify.format is {signature_format}"
                )
            if kind == "openpgp":
                return _verify_openpgp(payload, signature, keys=keys.openpgp)
            return _verify_ssh(repo, lines=keys.ssh)
        except _Refused as refused:
            raise UntrustedRevisionError(
                f"commit {commit.hexsha[:12]} is not signed by a trusted key: {refused}",
                delay=60,
            ) from refused
