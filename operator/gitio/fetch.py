"""Fetch one revision of a config repo into a fresh directory, with credentials kept out of
URLs, argv and error messages."""

from __future__ import annotations

import base64
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from git import Git, GitCommandError, Repo

from whisperer.operator.errors import TemporaryError

_SECRETISH = re.compile(r"(://)[^/@\s]+@")


class FetchError(TemporaryError):
    """The repository could not be reached or the revision not found (retry later)."""


def redact(text: str) -> str:
    """An error message without credentials that might sit in a URL."""
    return _SECRETISH.sub(r"\1***@", text).strip().splitlines()[-1][:500] if text else ""


@contextmanager
def _environment(
    *, token: str | None, ssh_key: str | None
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """git -c options and environment for the credentials; the key file lives only here."""
    options: list[str] = []
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    with tempfile.TemporaryDirectory(prefix="whisperer-git-") as tmp:
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            options += ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
        if ssh_key:
            key = Path(tmp) / "key"
            key.write_text(ssh_key if ssh_key.endswith("\n") else ssh_key + "\n")
            key.chmod(stat.S_IRUSR | stat.S_IWUSR)
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {key} -o IdentitiesOnly=yes "
                "-o StrictHostKeyChecking=accept-new -o BatchMode=yes"
            )
        yield options, env


def fetch(
    url: str,
    ref: str,
    into: Path,
    *,
    token: str | None = None,
    ssh_key: str | None = None,
    timeout: float = 60,
) -> str:
    """Fetch `ref` (branch, tag or commit) of `url` into the empty folder `into`; return the
    commit checked out."""
    with _environment(token=token, ssh_key=ssh_key) as (options, env):
        try:
            repo = Repo.init(into)
            with repo.git.custom_environment(**env):
                repo.git.execute(
                    ["git", *options, "fetch", "--depth", "1", url, ref], kill_after_timeout=timeout
                )
                repo.git.checkout("--detach", "FETCH_HEAD")
            return str(repo.head.commit.hexsha)
        except GitCommandError as exc:
            raise FetchError(
                f"cannot fetch {ref!r} from {redact(url)}: {redact(str(exc.stderr))}", delay=30
            ) from exc


def remote_revision(
    url: str,
    ref: str,
    *,
    kind: str,
    token: str | None = None,
    ssh_key: str | None = None,
    timeout: float = 30,
) -> str:
    """The commit `ref` (a `branch`, `tag` or `commit`) names on the remote now, without
    fetching it (`git ls-remote`); a tag's commit, not the tag object."""
    if kind == "commit":
        return ref
    wanted = f"refs/heads/{ref}" if kind == "branch" else f"refs/tags/{ref}"
    with _environment(token=token, ssh_key=ssh_key) as (options, env):
        try:
            git = Git()
            with git.custom_environment(**env):
                listed = git.execute(
                    ["git", *options, "ls-remote", url, wanted, f"{wanted}^{{}}"],
                    kill_after_timeout=timeout,
                )
        except GitCommandError as exc:
            raise FetchError(
                f"cannot fetch {ref!r} from {redact(url)}: {redact(str(exc.stderr))}", delay=30
            ) from exc
    found: dict[str, str] = {}
    for line in str(listed).splitlines():
        sha, _, name = line.partition("\t")
        found[name.strip()] = sha.strip()
    revision = found.get(f"{wanted}^{{}}") or found.get(wanted)
    if not revision:
        raise FetchError(f"{redact(url)} has no {kind} {ref!r}", delay=30)
    return revision
