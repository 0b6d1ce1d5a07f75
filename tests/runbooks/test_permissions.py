"""Permission repair: repair-permissions fixes real files with wrong modes (and owners) in a
throwaway tree, leaves symlinks, hard links, setuid files and .ssh alone, and refuses / and the
system trees."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest
from support.runbooks import Sandbox, real


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def tree(sb: Sandbox) -> dict[str, Path]:
    app = sb.path("/srv/shop")
    outside = sb.write("/etc/shadow", "root:*:19000::::::\n", mode=0o600)
    paths = {
        "app": app,
        "closed dir": app / "uploads",
        "open dir": app / "cache",
        "setgid dir": app / "shared",
        "private file": app / "uploads" / "invoice.pdf",
        "open file": app / "cache" / "page.html",
        "script": app / "bin" / "run.sh",
        "link": app / "shadow-link",
        "hard link": app / "hard-shadow",
        "ssh": app / ".ssh",
        "key": app / ".ssh" / "id_ed25519",
        "setuid": app / "bin" / "helper",
    }
    for d in ("closed dir", "open dir", "setgid dir", "ssh"):
        paths[d].mkdir(parents=True)
    (app / "bin").mkdir()
    for f in ("private file", "open file", "script", "key", "setuid"):
        paths[f].write_text("x\n")
    paths["link"].symlink_to(outside)
    os.link(outside, paths["hard link"])
    modes = {
        "app": 0o700, "closed dir": 0o700, "open dir": 0o777, "setgid dir": 0o2775,
        "private file": 0o600, "open file": 0o666, "script": 0o700, "ssh": 0o700,
        "key": 0o600, "setuid": 0o4755,
    }  # fmt: skip
    for key, value in modes.items():
        paths[key].chmod(value)
    return paths


def test_wrong_modes_are_repaired_and_what_must_be_kept_is_kept(sb: Sandbox) -> None:
    paths = tree(sb)
    got = sb.run("repair-permissions", TARGET_PATH="/srv/shop", DIR_MODE="755", FILE_MODE="644")
    assert got.code == 0, got.out
    want = {
        "app": 0o755, "closed dir": 0o755, "open dir": 0o755, "setgid dir": 0o2755,
        "private file": 0o644, "open file": 0o644, "script": 0o755,
        "ssh": 0o700, "key": 0o600, "setuid": 0o4755, "hard link": 0o600,
    }  # fmt: skip
    assert {k: oct(mode(paths[k])) for k in want} == {k: oct(v) for k, v in want.items()}
    assert mode(sb.path("/etc/shadow")) == 0o600, "a symlink is never followed"
    assert got.lines("before: ")[0].startswith(
        "before: /srv/shop: 4 folders not 0755, 3 files not 0644 (executables 0755)"
    )
    assert "left alone: 1 files with several hard links" in got.out
    assert "left alone: 1 setuid or setgid files" in got.out
    assert got.lines("after: ") == ["after: 0 folders, 0 files still wrong"]
    again = sb.run("repair-permissions", TARGET_PATH="/srv/shop", DIR_MODE="755", FILE_MODE="644")
    assert again.code == 3 and "already right" in again.result
    real("repair-permissions", "wrong modes repaired on real files; links, setuid and .ssh kept")


def test_tighter_modes_and_no_execute_bits_kept(sb: Sandbox) -> None:
    paths = tree(sb)
    got = sb.run(
        "repair-permissions",
        TARGET_PATH="/srv/shop/",
        DIR_MODE="0750",
        FILE_MODE="0640",
        KEEP_EXECUTABLE="false",
    )
    assert got.code == 0, got.out
    assert mode(paths["open file"]) == 0o640 and mode(paths["script"]) == 0o640
    assert mode(paths["open dir"]) == 0o750


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_the_owner_is_repaired_too(sb: Sandbox) -> None:
    paths = tree(sb)
    nobody = pwd.getpwnam("nobody").pw_uid
    got = sb.run("repair-permissions", TARGET_PATH="/srv/shop", OWNER="nobody")
    assert got.code == 0, got.out
    assert paths["open file"].stat().st_uid == nobody and paths["app"].stat().st_uid == nobody
    assert paths["key"].stat().st_uid != nobody, ".ssh is left alone"
    assert sb.path("/etc/shadow").stat().st_uid != nobody
    assert sb.run("repair-permissions", TARGET_PATH="/srv/shop", OWNER="no-such-user").code == 2
    real("repair-permissions", "owners repaired with chown -h")


@pytest.mark.parametrize(
    "target",
    [
        "/", "/etc", "/etc/nginx", "/usr", "/usr/local/lib", "/var", "/var/lib", "/var/lib/dpkg",
        "/home", "/root/app", "/boot", "/srv/shop/.ssh", "/srv/../etc", "/srv/escape",
        "/srv/outside", "/srv/missing",
    ],
)  # fmt: skip
def test_system_trees_are_refused(sb: Sandbox, target: str) -> None:
    tree(sb)
    for folder in ("/etc/nginx", "/usr/local/lib", "/var/lib/dpkg", "/home", "/root/app", "/boot"):
        sb.path(folder).mkdir(parents=True, exist_ok=True)
    sb.path("/srv/escape").symlink_to(sb.path("/etc"))
    sb.path("/srv/outside").symlink_to(sb.base)
    before = {p: mode(p) for p in sb.root.rglob("*")}
    got = sb.run("repair-permissions", TARGET_PATH=target, DIR_MODE="0755", FILE_MODE="0644")
    assert got.code == 2, got.out
    assert {p: mode(p) for p in sb.root.rglob("*")} == before, "nothing changed"
    real("repair-permissions", "refusals of / and the system trees, symlinks included")


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"DIR_MODE": "0777"}, "world-writable"),
        ({"FILE_MODE": "0666"}, "world-writable"),
        ({"MAX_ENTRIES": "3"}, "more than MAX_ENTRIES=3 entries"),
    ],
)
def test_unsafe_modes_and_huge_trees_are_refused(
    sb: Sandbox, params: dict[str, str], why: str
) -> None:
    paths = tree(sb)
    got = sb.run("repair-permissions", TARGET_PATH="/srv/shop", **params)
    assert got.code == 2 and why in got.result, got.out
    assert mode(paths["open dir"]) == 0o777
