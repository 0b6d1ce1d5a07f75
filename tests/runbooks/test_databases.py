"""Database health checks: mysql-health-check and postgresql-health-check against stand-in
clients that answer each query as a healthy or a troubled server would; every query they send
is read-only."""

from __future__ import annotations

import getpass
import os

import pytest
from support.runbooks import Result, Sandbox

MYSQL = r"""
q=${*: -1}
s=$STUB_STATE
case $q in
  'SELECT VERSION()')
    [[ -e $s/down ]] && { echo "ERROR 2002 (HY000): Can't connect through socket" >&2; exit 1; }
    echo 8.0.36 ;;
  'SELECT @@GLOBAL.max_connections') echo 151 ;;
  *Threads_connected*) printf 'Threads_connected\t%s\n' "$(cat "$s/threads")" ;;
  *'GROUP BY USER'*) printf 'shop\t40\nroot\t1\n' ;;
  'SHOW REPLICA STATUS\G') [[ -e $s/old ]] && { echo "ERROR 1064 (42000): syntax" >&2; exit 1; }
    cat "$s/replica" 2>/dev/null ;;
  'SHOW SLAVE STATUS\G') cat "$s/replica" 2>/dev/null ;;
  *'TIME >='*) cat "$s/long" 2>/dev/null ;;
  *Innodb_row_lock_current_waits*) printf 'Innodb_row_lock_current_waits\t0\n' ;;
  'SHOW ENGINE INNODB STATUS\G')
    printf '%s\n' '-----' 'LATEST DETECTED DEADLOCK' '-----' '2024-05-02 10:11:12 0x7f00' ;;
  *) echo "unexpected query: $q" >&2; exit 1 ;;
esac
"""

REPLICA = """*************************** 1. row ***************************
             Replica_IO_State: Waiting for source to send event
           Replica_IO_Running: {io}
          Replica_SQL_Running: Yes
        Seconds_Behind_Source: {lag}
"""


def mysql(sb: Sandbox, *, threads: int = 41, replica: str = "", long: str = "") -> None:
    sb.stub("mysql", MYSQL)
    (sb.state / "threads").write_text(str(threads))
    (sb.state / "replica").write_text(replica)
    (sb.state / "long").write_text(long)


def queries(got: Result, tool: str) -> list[str]:
    return [c.args[-1] for c in got.called(tool)]


def test_a_healthy_mysql_primary_passes_every_check(sb: Sandbox) -> None:
    mysql(sb)
    got = sb.run("mysql-health-check")
    assert got.code == 0, got.out
    assert "connections: 41 of 151 (27%)" in got.out
    assert "replication: not a replica" in got.out
    assert "latest deadlock: 2024-05-02 10:11:12" in got.out
    assert got.result == "result: done: MySQL is within every threshold"
    assert all(q.lstrip().startswith(("SELECT", "SHOW")) for q in queries(got, "mysql"))


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ({"threads": 140}, "connections at 92% of max_connections"),
        ({"replica": REPLICA.format(io="Yes", lag=900)}, "replication 900 s behind (over 300 s)"),
        ({"replica": REPLICA.format(io="No", lag="NULL")}, "replication is not running (IO No"),
        ({"long": "17\tshop\t480\tSELECT * FROM orders\n"}, "1 queries running 60 s or longer"),
    ],
)
def test_a_troubled_mysql_fails_and_says_why(sb: Sandbox, setup: dict, problem: str) -> None:
    mysql(sb, **setup)
    got = sb.run("mysql-health-check")
    assert got.code == 1 and problem in got.result, got.out


def test_an_old_mysql_is_asked_for_slave_status(sb: Sandbox) -> None:
    mysql(sb, replica=REPLICA.format(io="Yes", lag=3).replace("Source", "Master"))
    (sb.state / "old").touch()
    got = sb.run("mysql-health-check")
    assert got.code == 0 and "SHOW SLAVE STATUS\\G" in queries(got, "mysql"), got.out
    assert "3 s behind" in got.out


def test_mysql_credentials_come_from_the_defaults_file(sb: Sandbox) -> None:
    mysql(sb)
    assert sb.run("mysql-health-check", DEFAULTS_FILE="/etc/mysql/debian.cnf").code == 2
    cnf = sb.write("/etc/mysql/debian.cnf", "[client]\nuser=debian-sys-maint\n")
    got = sb.run("mysql-health-check", DEFAULTS_FILE="/etc/mysql/debian.cnf")
    assert got.code == 0 and got.called("mysql")[0].args[0] == f"--defaults-extra-file={cnf}"


def test_an_unreachable_or_absent_mysql(sb: Sandbox) -> None:
    assert sb.run("mysql-health-check").code == 3
    mysql(sb)
    (sb.state / "down").touch()
    got = sb.run("mysql-health-check")
    assert got.code == 1 and "cannot connect to MySQL" in got.result and "ERROR 2002" in got.out


PSQL = r"""
q=${*: -1}
s=$STUB_STATE
printf '%s\n' "$PGOPTIONS" > "$s/pgoptions"
case $q in
  'select version()') echo 'PostgreSQL 15.5 on x86_64-pc-linux-gnu' ;;
  *"current_setting('max_connections')"*) echo "$(cat "$s/used")|100" ;;
  *'group by 1'*) printf 'active|3\nidle|9\n' ;;
  *"idle in transaction"*) cat "$s/idle" ;;
  'select pg_is_in_recovery()') cat "$s/recovery" ;;
  *pg_last_xact_replay_timestamp*) cat "$s/lag" ;;
  'select status from pg_stat_wal_receiver') cat "$s/receiver" ;;
  *pg_stat_replication*) cat "$s/standbys" ;;
  *"state = 'active'"*) cat "$s/long" ;;
  *pg_blocking_pids*) cat "$s/blocked" ;;
  *deadlocks*) echo 7 ;;
  *) echo "unexpected query: $q" >&2; exit 1 ;;
esac
"""


def postgres(sb: Sandbox, **answers: str) -> None:
    defaults = {
        "used": "12",
        "idle": "0",
        "recovery": "f",
        "lag": "0|t",
        "receiver": "streaming",
        "standbys": "",
        "long": "",
        "blocked": "",
    }
    sb.stub("psql", PSQL)
    for key, value in {**defaults, **answers}.items():
        (sb.state / key).write_text(value)


ME = {"PG_USER": getpass.getuser()}


def test_a_healthy_postgresql_passes_every_check_read_only(sb: Sandbox) -> None:
    postgres(sb, standbys="10.0.0.2|streaming|3")
    got = sb.run("postgresql-health-check", **ME)
    assert got.code == 0, got.out
    assert "connections: 12 of 100 (12%)" in got.out and "deadlocks since" in got.out
    assert "10.0.0.2|streaming|3" in got.out
    options = (sb.state / "pgoptions").read_text()
    assert "default_transaction_read_only=on" in options and "statement_timeout=15s" in options
    assert all(q.lstrip().startswith("select") for q in queries(got, "psql"))
    assert got.result == "result: done: PostgreSQL is within every threshold"


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        ({"used": "95"}, "connections at 95% of max_connections"),
        ({"idle": "2"}, "2 sessions idle in a transaction for over 60 s"),
        ({"recovery": "t", "lag": "1200|f"}, "replication 1200 s behind (over 300 s)"),
        ({"recovery": "t", "receiver": ""}, "the WAL receiver is not running"),
        ({"standbys": "10.0.0.2|streaming|4000"}, "standby 10.0.0.2 4000 s behind"),
        ({"long": "4711|shop|300|select * from orders"}, "1 queries running over 60 s"),
        ({"blocked": "4712|{4711}|30"}, "1 queries waiting on locks"),
    ],
)
def test_a_troubled_postgresql_fails_and_says_why(
    sb: Sandbox, answers: dict[str, str], problem: str
) -> None:
    postgres(sb, **answers)
    got = sb.run("postgresql-health-check", **ME)
    assert got.code == 1 and problem in got.result, got.out


def test_a_caught_up_replica_of_an_idle_primary_is_not_lagging(sb: Sandbox) -> None:
    postgres(sb, recovery="t", lag="86400|t")
    got = sb.run("postgresql-health-check", **ME)
    assert got.code == 0 and "replica, WAL receiver streaming, 0 s behind" in got.out


@pytest.mark.skipif(os.geteuid() != 0, reason="runuser needs root")
def test_root_runs_psql_as_the_postgres_account(sb: Sandbox) -> None:
    postgres(sb)
    sb.stub("runuser", 'while [[ $1 != -- ]]; do shift; done; shift; exec "$@"')
    got = sb.run("postgresql-health-check")
    assert got.code == 0, got.out
    assert got.called("runuser")[0].args[:3] == ("-u", "postgres", "--")


def test_no_psql_has_nothing_to_check(sb: Sandbox) -> None:
    assert sb.run("postgresql-health-check", **ME).code == 3
