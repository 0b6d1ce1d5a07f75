"""Diagnostics: check-connectivity opens real TCP connections on loopback; report-recent-errors
reads a stand-in journal, and a real syslog file where there is no journal; reboot-host decides
against staged uptime with a stand-in shutdown."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support.runbooks import Sandbox, real


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def test_a_reachable_port_connects_on_every_attempt(sb: Sandbox, listening: int) -> None:
    got = sb.run("check-connectivity", HOST="localhost", PORT=str(listening), ATTEMPTS="3")
    assert got.code == 0, got.out
    assert got.lines("resolves: localhost -> ")
    tcp = got.lines("tcp: ")[0]
    assert tcp.startswith(f"tcp: 3 of 3 connected to localhost:{listening} (0 refused, 0 timed out")
    real("check-connectivity", "real TCP connections to a listening and a closed port")


def test_a_closed_port_is_reported_refused(sb: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got = sb.run("check-connectivity", HOST="127.0.0.1", PORT=str(port), ATTEMPTS="2")
    assert got.code == 1 and "is not reachable from here" in got.result
    assert "(2 refused, 0 timed out" in got.out


def test_a_name_that_does_not_resolve(sb: Sandbox) -> None:
    sb.stub("getent", "exit 2")
    sb.write("/etc/resolv.conf", "nameserver 10.0.0.2\n")
    got = sb.run("check-connectivity", HOST="erp.example.internal", PORT="443")
    assert got.code == 1 and "does not resolve here (DNS servers: 10.0.0.2 )" in got.result
    assert sb.run("check-connectivity", HOST="localhost", PORT="70000").code == 2


JOURNAL = r"""
if [[ " $* " == *" -k "* ]]; then
  echo "2024-05-02T10:00:00+0000 db01 kernel: Out of memory: Killed process 4711 (java)"
else
  echo "2024-05-02T09:58:01+0000 db01 backup.sh[812]: rsync: connection unexpectedly closed"
  echo "2024-05-02T09:58:02+0000 db01 backup.sh[812]: backup of /srv failed"
  echo "2024-05-02T09:59:00+0000 db01 sshd[901]: error: kex_exchange_identification"
fi
"""


def test_recent_errors_are_counted_by_source(sb: Sandbox) -> None:
    sb.stub("journalctl", JOURNAL)
    sb.stub("systemctl", "echo 'backup.service loaded failed failed Nightly backup'")
    got = sb.run("report-recent-errors", SINCE_MINUTES="30", UNIT="backup.service")
    assert got.code == 0, got.out
    first = got.called("journalctl")[0].args
    assert " ".join(first) == "--no-pager -q -o short-iso --since -30min -p err -u backup.service"
    by_source = got.out.split("== by source")[1].split("==")[0].split()
    assert by_source[:2] == ["2", "backup.sh"]
    assert "Killed process 4711 (java)" in got.out
    assert got.lines("failed units: ") == ["failed units: backup.service "]
    assert got.result == "result: done: reported 3 errors from the journal"


def test_without_a_journal_syslog_is_read(sb: Sandbox) -> None:
    sb.write(
        "/var/log/syslog",
        "May  2 09:00:00 web01 nginx[10]: started\n"
        "May  2 09:01:00 web01 php-fpm[11]: ERROR: unable to bind listening socket\n"
        "May  2 09:02:00 web01 cron[12]: (root) CMD (backup.sh)\n",
    )
    got = sb.run("report-recent-errors")
    assert got.code == 0, got.out
    assert "errors: 1 in the last 20000 lines of /var/log/syslog" in got.out
    assert "unable to bind listening socket" in got.out
    real("report-recent-errors", "a real syslog file read where there is no journal")
    sb.path("/var/log/syslog").unlink()
    assert sb.run("report-recent-errors").code == 1, "nothing to read at all"


def staged_host(sb: Sandbox, *, uptime_s: int, busy: str = "") -> None:
    sb.write("/proc/uptime", f"{uptime_s}.42 1000.00\n")
    sb.write("/proc/loadavg", "0.52 0.41 0.30 1/300 4242\n")
    sb.path("/run/systemd/system").mkdir(parents=True)
    sb.stub("who", "echo 'alice pts/0 2024-05-02 09:00'")
    sb.stub("pgrep", f"echo -n '{busy}'; [[ -n '{busy}' ]]")
    sb.stub(
        "shutdown",
        'mkdir -p "$AW_TEST_ROOT/run/systemd/shutdown"; '
        'echo "USEC=1714644000000000" > "$AW_TEST_ROOT/run/systemd/shutdown/scheduled"',
    )


def test_a_reboot_is_scheduled_with_a_delay_and_verified(sb: Sandbox) -> None:
    staged_host(sb, uptime_s=3 * 86400)
    got = sb.run("reboot-host", DELAY_MINUTES="2")
    assert got.code == 0, got.out
    assert [c.args for c in got.called("shutdown")] == [
        ("-r", "+2", "Alert Whisperer: reboot requested by runbook reboot-host")
    ]
    assert got.lines("before: ") == ["before: up 4320 min, 1 login sessions, load 0.52 0.41 0.30"]
    again = sb.run("reboot-host")
    assert again.code == 3 and again.called("shutdown") == [], "already scheduled"


@pytest.mark.parametrize(
    ("uptime_s", "busy", "why"),
    [(600, "", "booted 10 min ago"), (86400, "4242", "a package manager is running (pids 4242)")],
)
def test_a_reboot_loop_or_a_running_package_manager_is_refused(
    sb: Sandbox, uptime_s: int, busy: str, why: str
) -> None:
    staged_host(sb, uptime_s=uptime_s, busy=busy)
    got = sb.run("reboot-host")
    assert got.code == 2 and why in got.result and got.called("shutdown") == []


def test_a_shutdown_that_schedules_nothing_is_a_failure(sb: Sandbox) -> None:
    staged_host(sb, uptime_s=86400)
    sb.stub("shutdown", "true")
    got = sb.run("reboot-host")
    assert got.code == 1 and "systemd shows no scheduled reboot" in got.result
    sb.stub("shutdown", "echo 'Failed to schedule shutdown' >&2; exit 1")
    assert sb.run("reboot-host").code == 1
