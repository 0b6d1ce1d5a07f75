"""Disk space: free-disk-space deletes old temp files and rotated logs for real (and keeps what
is new, locked, private or held open), rotate-logs rotates real files, report-disk-usage ranks
real folders; journal, package manager, container runtime and df are stand-ins."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest
from support.runbooks import Sandbox, real

OLD = time.time() - 30 * 86400


def aged(path: Path) -> Path:
    os.utime(path, (OLD, OLD))
    return path


def df_says(sb: Sandbox, *used: int) -> None:
    """A df that reports `used` percent on successive calls (the last one from then on)."""
    lines = " ".join(str(u) for u in used)
    sb.stub(
        "df",
        f"""n=$(cat "$STUB_STATE/df" 2>/dev/null || echo 0); echo $((n + 1)) > "$STUB_STATE/df"
set -- {lines}; shift $(( n < $# ? n : $# - 1 ))
echo "Filesystem 1024-blocks Used Available Capacity Mounted on"
echo "/dev/sda1 10485760 $(( $1 * 104857 )) $(( (100 - $1) * 104857 )) $1% /"
""",
    )


def server_with_clutter(sb: Sandbox) -> dict[str, Path]:
    files = {
        "old temp": aged(sb.write("/tmp/report-2023.csv", "x" * 4096)),
        "old var tmp": aged(sb.write("/var/tmp/upload.part", "x" * 4096)),
        "rotated log": aged(sb.write("/var/log/syslog.3.gz", "x" * 4096)),
        "dated log": aged(sb.write("/var/log/app/app.log-20240101", "x")),
        "new temp": sb.write("/tmp/fresh.txt", "x"),
        "pid file": aged(sb.write("/tmp/worker.pid", "123")),
        "private": aged(sb.write("/tmp/systemd-private-abc/tmp/x", "x")),
        "current log": aged(sb.write("/var/log/syslog", "x")),
        "held open": aged(sb.write("/tmp/held-open.log", "x")),
    }
    for folder in ("/var/log/journal", "/var/cache/apt", "/var/lib/docker"):
        sb.path(folder).mkdir(parents=True, exist_ok=True)
    sb.stub("journalctl", 'echo "Archived and active journals take up 480.0M in the file system."')
    sb.stub("apt-get")
    sb.stub(
        "docker",
        """case $1 in
  info) echo /var/lib/docker ;;
  image) echo "Total reclaimed space: 1.2GB" ;;
esac""",
    )
    return files


def test_free_disk_space_deletes_only_what_a_server_can_lose(sb: Sandbox) -> None:
    files = server_with_clutter(sb)
    df_says(sb, 93, 78)
    with files["held open"].open():
        got = sb.run("free-disk-space", MAX_AGE_DAYS="7", TARGET_USED_PCT="85")
    assert got.code == 0, got.out
    gone = {"old temp", "old var tmp", "rotated log", "dated log"}
    assert {k for k, p in files.items() if not p.exists()} == gone
    assert got.lines("before: ") == ["before: / 93% used, 717M free"]
    assert got.lines("after: ")[0].startswith("after: / 78% used") and "deleted 4 files" in got.out
    assert "kept 1 old files a process holds open" in got.out
    assert got.result == "result: done: / went from 93% to 78% used"
    assert got.called("journalctl")[0].line == "journalctl --vacuum-size=500M"
    assert [c.line for c in got.called("apt-get")] == ["apt-get clean"]
    assert "docker image prune -f" in [c.line for c in got.called("docker")]
    real("free-disk-space", "old temp files and rotated logs deleted, new, locked and open kept")


def test_free_disk_space_twice_has_nothing_left_to_do(sb: Sandbox) -> None:
    server_with_clutter(sb)
    df_says(sb, 93, 78, 78)
    assert sb.run("free-disk-space").code == 0
    again = sb.run("free-disk-space")
    assert again.code == 3 and [c.tool for c in again.calls] == ["df"], "nothing but a look"
    assert again.result.startswith("result: nothing to do: / is 78% used, at or below")


def test_free_disk_space_fails_when_the_disk_stays_full_and_keeps_images_when_asked(
    sb: Sandbox,
) -> None:
    server_with_clutter(sb)
    df_says(sb, 97, 96)
    got = sb.run("free-disk-space", PRUNE_IMAGES="none")
    assert got.code == 1 and "report-disk-usage" in got.result
    assert "images: skipped (PRUNE_IMAGES=none)" in got.out and not got.called("docker")


def test_free_disk_space_leaves_other_filesystems_alone(sb: Sandbox) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == sb.root.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to put /tmp on")
    elsewhere = shm / f"aw-test-{os.getpid()}-{sb.base.name}"
    elsewhere.mkdir()
    try:
        victim = elsewhere / "old.tmp"
        victim.write_text("x")
        aged(victim)
        sb.path("/tmp").symlink_to(elsewhere)
        df_says(sb, 93, 80)
        got = sb.run("free-disk-space")
        assert victim.exists(), "a temp file on another filesystem is not deleted"
        assert "temp /tmp: skipped (not on this filesystem)" in got.out
        real("free-disk-space", "files on another filesystem kept")
    finally:
        for f in elsewhere.iterdir():
            f.unlink()
        elsewhere.rmdir()


def test_free_disk_space_with_the_real_df(sb: Sandbox) -> None:
    """Unstubbed, the usage is this machine's: the target of 1% is never met."""
    server_with_clutter(sb)
    got = sb.run("free-disk-space", TARGET_USED_PCT="1")
    assert got.code == 1, got.out
    assert got.lines("before: ")[0].startswith("before: / ") and "still" in got.result


def logs(sb: Sandbox) -> Path:
    folder = sb.path("/var/log/shop")
    folder.mkdir(parents=True)
    (folder / "app.log").write_text("old line\n" * 500)
    (folder / "small.log").write_text("")
    (folder / "other.txt").write_text("not a log\n" * 500)
    with gzip.open(folder / "app.log.1.gz", "wt") as f:
        f.write("yesterday\n")
    with gzip.open(folder / "app.log.2.gz", "wt") as f:
        f.write("the day before\n")
    return folder


def test_rotate_logs_copies_truncates_and_keeps_the_writer_writing(sb: Sandbox) -> None:
    folder = logs(sb)
    live = folder / "app.log"
    with live.open("a") as writer:
        got = sb.run("rotate-logs", LOG_DIR="/var/log/shop", MIN_SIZE_MB="0", KEEP="2")
        writer.write("after the rotation\n")
    assert got.code == 0, got.out
    assert live.read_text() == "after the rotation\n", "truncated in place, O_APPEND goes on"
    assert gunzipped(folder / "app.log.1.gz") == "old line\n" * 500
    assert gunzipped(folder / "app.log.2.gz") == "yesterday\n"
    assert not (folder / "app.log.3.gz").exists(), "KEEP=2 keeps two copies"
    assert (folder / "other.txt").stat().st_size > 0 and not (folder / "small.log.1.gz").exists()
    assert got.lines("after: ") == ["after: app.log 4.4K -> 0, kept app.log.1.gz"]
    assert got.result == "result: done: rotated 1 files in /var/log/shop, keeping 2 copies each"
    real("rotate-logs", "large logs copied, compressed, truncated in place; old copies shifted")


def test_rotate_logs_without_compression_keeps_plain_copies(sb: Sandbox) -> None:
    folder = logs(sb)
    got = sb.run("rotate-logs", LOG_DIR="/var/log/shop", MIN_SIZE_MB="0", COMPRESS="false")
    assert got.code == 0, got.out
    assert (folder / "app.log.1").read_text() == "old line\n" * 500
    assert live_size(folder) == 0
    again = sb.run("rotate-logs", LOG_DIR="/var/log/shop", MIN_SIZE_MB="0", COMPRESS="false")
    assert again.code == 3 and "no *.log in /var/log/shop is larger than 0 MiB" in again.result
    assert (folder / "app.log.1").read_text() == "old line\n" * 500, "a second run loses nothing"


def gunzipped(path: Path) -> str:
    with gzip.open(path, "rt") as f:
        return f.read()


def live_size(folder: Path) -> int:
    return (folder / "app.log").stat().st_size


@pytest.mark.parametrize(
    ("log_dir", "why"),
    [
        ("/etc", "not a log location"),
        ("/var/log/../../etc", ". or .. segments"),
        ("/var/log/escape", "not a log location"),
        ("/var/log/outside", "leads outside the server"),
        ("/var/log/missing", "does not exist"),
    ],
)
def test_rotate_logs_refuses_what_is_not_a_log_folder(sb: Sandbox, log_dir: str, why: str) -> None:
    logs(sb)
    sb.path("/etc").mkdir()
    (sb.path("/etc") / "passwd.log").write_text("root:x:0:0\n" * 100)
    sb.path("/var/log/escape").symlink_to(sb.path("/etc"))
    sb.path("/var/log/outside").symlink_to(sb.base)
    got = sb.run("rotate-logs", LOG_DIR=log_dir, MIN_SIZE_MB="0", FILE_GLOB="*")
    assert got.code == 2 and why in got.result, got.out
    assert (sb.path("/etc") / "passwd.log").stat().st_size > 0
    real("rotate-logs", "refusals of system folders and symlinks leading out")


def test_report_disk_usage_ranks_real_folders_and_files(sb: Sandbox) -> None:
    big = sb.path("/srv/media")
    big.mkdir(parents=True)
    (big / "video.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    with (big / "sparse.img").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MiB apparent size, no blocks
    sessions = sb.path("/var/lib/php/sessions")
    sessions.mkdir(parents=True)
    for i in range(300):
        (sessions / f"sess_{i}").write_text("")
    sb.write("/home/alice/notes.txt", "hi")
    got = sb.run("report-disk-usage", DIR="/", DEPTH="2", TOP="5")
    assert got.code == 0, got.out
    folders = got.out.split("== largest folders")[1].split("==")[0].splitlines()[1:]
    assert folders[0].split("\t")[1] == "/", "the total comes first"
    assert folders[1].split("\t")[1] in {"/srv", "/srv/media"}, got.out
    files = got.out.split("== largest files")[1].split("==")[0]
    assert "50.0 MiB" in files and "/srv/media/sparse.img" in files
    entries = got.out.split("== folders with the most entries")[1].splitlines()[1]
    assert entries.split()[0] == "300" and entries.split()[1] == "/var/lib/php/sessions"
    assert got.result == "result: done: reported the usage of /"
    assert sb.run("report-disk-usage", DIR="/nowhere").code == 2
    real("report-disk-usage", "real folders and files ranked by size and entries")
