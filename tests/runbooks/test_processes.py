"""Processes and memory: stop-runaway-process stops real throwaway processes and refuses
protected ones (the script itself included); report-top-processes reads the real process
table; drop-page-cache runs against a staged /proc with a stand-in sync."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.runbooks import BASH, Sandbox, real


class Processes:
    """Throwaway processes with unique names, all stopped at the end of the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen[bytes]] = []

    def named(self, name: str, binary: str) -> Path:
        copy = self.folder / name
        if not copy.exists():
            shutil.copy(binary, copy)
        return copy

    def start(self, name: str, *args: str, binary: str = "sleep") -> subprocess.Popen[bytes]:
        exe = self.named(name, shutil.which(binary) or binary)
        # stdin stays open and silent: a shell reading it blocks without forking.
        proc = subprocess.Popen([str(exe), *args], start_new_session=True, stdin=subprocess.PIPE)
        self.started.append(proc)
        deadline = time.monotonic() + 5
        while comm(proc.pid) != name[:15]:
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.01)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdin:
                proc.stdin.close()


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def gone(proc: subprocess.Popen[bytes]) -> bool:
    """Exited (reaped here, or a zombie waiting for this test to reap it)."""
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return False
    return True


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    folder = tmp_path / "procs"
    folder.mkdir()
    p = Processes(folder)
    yield p
    p.stop_all()


def unique(prefix: str = "aw") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_a_runaway_process_is_stopped_with_sigterm(sb: Sandbox, procs: Processes) -> None:
    name = unique("aw.x")
    target = procs.start(name, "300")
    bystander = procs.start(name.replace(".", "-"), "300")  # a dot in the name means a dot
    got = sb.run("stop-runaway-process", PROCESS_NAME=name, GRACE_SECONDS="5")
    assert got.code == 0, got.out
    assert gone(target) and target.returncode == -signal.SIGTERM
    assert bystander.poll() is None, "only the named process"
    assert got.lines("before: ") == [f"before: 1 processes named {name}"]
    assert (
        got.result == f"result: done: stopped 1 processes named {name} (1 by SIGTERM, 0 by SIGKILL)"
    )
    again = sb.run("stop-runaway-process", PROCESS_NAME=name)
    assert again.code == 3, "a second run finds nothing to stop"
    real("stop-runaway-process", "a real process stopped by SIGTERM")


def test_a_process_that_ignores_sigterm_gets_sigkill_when_allowed(
    sb: Sandbox, procs: Processes
) -> None:
    name = unique()
    stubborn = "trap '' TERM; read -r _"  # ignores SIGTERM, and forks no child to confuse pgrep
    kept = procs.start(name, "-c", stubborn, binary=BASH)
    got = sb.run("stop-runaway-process", PROCESS_NAME=name, GRACE_SECONDS="1", FORCE_KILL="false")
    assert got.code == 1 and "FORCE_KILL=false" in got.result, got.out
    assert kept.poll() is None, "without FORCE_KILL it survives"
    got = sb.run("stop-runaway-process", PROCESS_NAME=name, GRACE_SECONDS="1")
    assert got.code == 0, got.out
    assert gone(kept) and kept.returncode == -signal.SIGKILL
    assert "(0 by SIGTERM, 1 by SIGKILL)" in got.result
    real("stop-runaway-process", "a real process ignoring SIGTERM stopped by SIGKILL")


def test_too_many_processes_of_one_name_are_not_one_runaway(sb: Sandbox, procs: Processes) -> None:
    name = unique()
    three = [procs.start(name, "300") for _ in range(3)]
    got = sb.run("stop-runaway-process", PROCESS_NAME=name, MAX_PROCESSES="2")
    assert got.code == 2 and "more than MAX_PROCESSES=2" in got.result
    assert all(p.poll() is None for p in three)
    real("stop-runaway-process", "refusal of more matches than MAX_PROCESSES")


@pytest.mark.parametrize(
    "name", ["systemd", "sshd", "bash", "amazon-ssm-agen", "ssm-agent-worke", "postgres", "kworker"]
)
def test_a_protected_name_is_refused_before_anything_is_signalled(sb: Sandbox, name: str) -> None:
    sb.stub("pgrep")
    got = sb.run("stop-runaway-process", PROCESS_NAME=name)
    assert got.code == 2 and "protected list" in got.result, got.out
    assert got.calls == (), "not even looked up"


def test_the_script_and_its_parents_are_never_stopped(sb: Sandbox, procs: Processes) -> None:
    runner = procs.named(unique("aw-run"), BASH)
    got = sb.run("stop-runaway-process", PROCESS_NAME=runner.name, interpreter=str(runner))
    assert got.code == 2 and "is this script or runs it" in got.result, got.out
    real("stop-runaway-process", "refusal to stop the shell running it")


def test_a_process_whose_command_line_is_an_agent_is_refused(sb: Sandbox, procs: Processes) -> None:
    name = unique()
    agent = procs.start(name, "-c", "sleep 300; :", "amazon-ssm-agent", binary=BASH)
    got = sb.run("stop-runaway-process", PROCESS_NAME=name)
    assert got.code == 2 and "management agent" in got.result, got.out
    assert agent.poll() is None
    real("stop-runaway-process", "refusal of a management agent by its command line")


def test_report_top_processes_reads_the_real_process_table(sb: Sandbox) -> None:
    sb.path("/proc").symlink_to("/proc")
    got = sb.run("report-top-processes", TOP="5")
    assert got.code == 0, got.out
    assert got.lines("load: ")[0].endswith(f"on {os.cpu_count()} CPUs")
    total_kb = int(Path("/proc/meminfo").read_text().split()[1])
    assert got.lines("memory: MemTotal:") == [f"memory: MemTotal:      {total_kb // 1024:8d} MiB"]
    by_cpu = got.out.split("== top 5 by CPU")[1].split("==")[0].strip().splitlines()
    assert by_cpu[0].split()[:4] == ["PID", "PPID", "USER", "%CPU"] and len(by_cpu) == 6
    assert "== waiting on I/O (state D)" in got.out
    real("report-top-processes", "the real process table, load and memory read")


MEMINFO = """MemTotal:       16000000 kB
MemFree:         1000000 kB
MemAvailable:    9000000 kB
Cached:          {cached} kB
Dirty:              2048 kB
"""


def staged_memory(sb: Sandbox, *, cached: int, after: int | None, knob: bool = True) -> Path:
    sb.write("/proc/meminfo", MEMINFO.format(cached=cached))
    if knob:
        sb.write("/proc/sys/vm/drop_caches", "0\n")
    # The stand-in sync is where the kernel would do its part: the cache shrinks.
    body = (
        ""
        if after is None
        else f"sed -i 's/^Cached:.*/Cached: {after} kB/' \"$AW_TEST_ROOT/proc/meminfo\""
    )
    sb.stub("sync", body)
    return sb.path("/proc/sys/vm/drop_caches")


def test_drop_page_cache_syncs_then_drops_and_checks_it_shrank(sb: Sandbox) -> None:
    knob = staged_memory(sb, cached=6_400_000, after=400_000)
    got = sb.run("drop-page-cache", MODE="3")
    assert got.code == 0, got.out
    assert knob.read_text() == "3\n" and [c.line for c in got.calls] == ["sync"]
    assert got.lines("before: ")[0].endswith("page cache 6250 MiB (40%), dirty 2 MiB")
    assert got.result == "result: done: dropped 5859 MiB of page cache"


def test_drop_page_cache_with_little_cache_has_nothing_to_do(sb: Sandbox) -> None:
    knob = staged_memory(sb, cached=800_000, after=100)
    got = sb.run("drop-page-cache")
    assert got.code == 3 and "processes hold the rest" in got.result
    assert knob.read_text() == "0\n" and got.calls == ()


def test_drop_page_cache_refuses_where_it_cannot_write_the_knob(sb: Sandbox) -> None:
    staged_memory(sb, cached=6_400_000, after=100, knob=False)
    got = sb.run("drop-page-cache")
    assert got.code == 2 and "not writable" in got.result and got.calls == ()


def test_drop_page_cache_fails_when_the_cache_does_not_shrink(sb: Sandbox) -> None:
    staged_memory(sb, cached=6_400_000, after=None)
    got = sb.run("drop-page-cache")
    assert got.code == 1 and "did not shrink" in got.result
