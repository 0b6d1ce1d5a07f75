"""Fetching over HTTP with a token from the Secret, against git's own smart-HTTP backend on
loopback: the token opens the repository, a wrong one is refused, and no error message
carries it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.githttp import GitServer, git_http_server

from whisperer.operator.gitio import FetchError, fetch, remote_revision

TOKEN = "test-token-not-a-secret-0123456789"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> tuple[GitServer, str]:
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    (work / "a.yaml").write_text("x: 1\n")
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-q", "-m", "one")
    git("clone", "-q", "--bare", str(work), str(tmp_path / "srv" / "config.git"))
    return GitServer(tmp_path / "srv", TOKEN), git("-C", str(work), "rev-parse", "HEAD")


def test_the_token_fetches_and_lists(served: tuple[GitServer, str], tmp_path: Path) -> None:
    spec, head = served
    with git_http_server(spec.root, spec.token) as server:
        url = f"{server.url}/config.git"
        assert remote_revision(url, "main", kind="branch", token=TOKEN) == head
        into = tmp_path / "checkout"
        into.mkdir()
        assert fetch(url, "main", into, token=TOKEN) == head
        assert (into / "a.yaml").read_text() == "x: 1\n"
    assert server.refused == 0
    assert server.authorizations and all(a.startswith("Basic ") for a in server.authorizations)


def test_a_wrong_or_missing_token_is_refused_without_showing_it(
    served: tuple[GitServer, str], tmp_path: Path
) -> None:
    spec, _ = served
    with git_http_server(spec.root, spec.token) as server:
        url = f"{server.url}/config.git"
        for token in ("wrong-token-value", None):
            into = tmp_path / f"c-{token}"
            into.mkdir()
            with pytest.raises(FetchError) as refused:
                fetch(url, "main", into, token=token)
            assert "wrong-token-value" not in str(refused.value)
            with pytest.raises(FetchError):
                remote_revision(url, "main", kind="branch", token=token)
    assert server.refused >= 4
