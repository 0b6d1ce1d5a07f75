"""`remote_revision`: what a branch, tag or commit names on a remote, without fetching."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from whisperer.operator.gitio import FetchError, remote_revision


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "one")
    return path


def test_a_branch_and_a_tag_name_their_commits(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "v1", "-m", "release")  # an annotated tag: its own object
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    url = f"file://{repo}"
    assert remote_revision(url, "main", kind="branch") == git(repo, "rev-parse", "HEAD")
    assert remote_revision(url, "v1", kind="tag") == first  # the commit, not the tag object
    assert remote_revision(url, "abc123", kind="commit") == "abc123"  # nothing to ask


def test_a_missing_ref_or_remote_is_a_fetch_error(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="has no branch 'nope'"):
        remote_revision(f"file://{repo}", "nope", kind="branch")
    with pytest.raises(FetchError, match="cannot fetch"):
        remote_revision(f"file://{tmp_path}/absent", "main", kind="branch")
