"""Services: restart-systemd-service, reload-nginx and reload-apache against a systemctl
stand-in that plays the unit's states; the health port is a real socket on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support.runbooks import Sandbox, Unit, systemd


@pytest.fixture
def listening() -> Iterator[int]:
    """A real TCP port that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def verbs(got: object, tool: str = "systemctl") -> list[str]:
    return [c.args[0] for c in got.called(tool)]  # type: ignore[attr-defined]


def test_a_failed_service_is_restarted_and_verified(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(state="failed"))
    sb.stub("sleep")
    got = sb.run("restart-systemd-service", SERVICE="nginx")
    assert got.code == 0, got.out
    assert "systemctl restart -- nginx.service" in [c.line for c in got.calls]
    assert got.lines("before: ") == ["before: nginx.service failed (pid 100)"]
    assert got.lines("after: ") == ["after: nginx.service active (pid 101)"]
    assert [c.line for c in got.called("sleep")] == ["sleep 5"], "the settle check, no polling"


def test_an_active_answering_service_is_left_alone_unless_forced(
    sb: Sandbox, listening: int
) -> None:
    systemd(sb, postgresql=Unit(state="active"))
    sb.stub("sleep")
    got = sb.run("restart-systemd-service", SERVICE="postgresql", HEALTH_PORT=str(listening))
    assert got.code == 3 and "restart" not in verbs(got), got.out
    forced = sb.run("restart-systemd-service", SERVICE="postgresql.service", FORCE="true")
    assert forced.code == 0 and "restart" in verbs(forced)


def test_a_service_that_stays_deaf_on_its_port_fails_with_its_journal(
    sb: Sandbox, closed_port: int
) -> None:
    systemd(sb, app=Unit(state="active"))
    sb.stub("sleep")
    sb.stub("journalctl", "echo 'app[100]: bind: address already in use'")
    got = sb.run(
        "restart-systemd-service",
        SERVICE="app",
        HEALTH_PORT=str(closed_port),
        HEALTH_TIMEOUT_SECONDS="4",
    )
    assert got.code == 1, got.out
    assert "is active but port" in got.out and "address already in use" in got.out
    assert f"port {closed_port} is closed 4 s after the restart" in got.result
    assert len(got.called("sleep")) == 1, "two attempts, one wait between them"


def test_a_crash_loop_right_after_the_restart_is_a_failure(sb: Sandbox, listening: int) -> None:
    systemd(sb, worker=Unit(state="failed", after=("active", "failed")))
    sb.stub("sleep")
    sb.stub("journalctl")
    got = sb.run("restart-systemd-service", SERVICE="worker", HEALTH_PORT=str(listening))
    assert got.code == 1 and "crash-looping" in got.result, got.out


def test_a_restart_systemd_refuses_is_a_failure(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(fails=True))
    sb.stub("journalctl")
    got = sb.run("restart-systemd-service", SERVICE="nginx")
    assert got.code == 1 and got.result == "result: failed: systemctl restart nginx.service failed"
    assert "status" in verbs(got)


@pytest.mark.parametrize(
    ("service", "unit", "code", "why"),
    [
        ("sshd", None, 2, "keeps this server reachable"),
        ("systemd-journald", None, 2, "keeps this server reachable"),
        ("amazon-ssm-agent", None, 2, "keeps this server reachable"),
        ("walinuxagent", None, 2, "keeps this server reachable"),
        ("nginx.socket", None, 2, "not a service unit"),
        ("backup", Unit(type="oneshot"), 2, "oneshot job"),
        ("legacy", Unit(load="masked"), 2, "masked"),
        ("nosuch", Unit(load="not-found"), 3, "there is no nosuch.service"),
    ],
)
def test_restart_refuses_what_it_must_not_touch(
    sb: Sandbox, service: str, unit: Unit | None, code: int, why: str
) -> None:
    systemd(sb, **({service: unit} if unit else {}))
    got = sb.run("restart-systemd-service", SERVICE=service)
    assert got.code == code and why in got.result, got.out
    assert "restart" not in verbs(got)
    if unit is None:
        assert got.calls == (), "a protected name is refused before systemctl is asked"


def test_restart_without_systemd_has_nothing_to_do(sb: Sandbox) -> None:
    got = sb.run("restart-systemd-service", SERVICE="nginx")
    assert got.code == 3 and "not a systemd server" in got.result


def test_nginx_with_a_broken_configuration_is_not_reloaded(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(state="active"))
    sb.stub(
        "nginx",
        'echo "nginx: [emerg] unknown directive \\"lisen\\" in /etc/nginx/sites/shop:3" >&2; '
        'echo "nginx: configuration file /etc/nginx/nginx.conf test failed" >&2; exit 1',
    )
    got = sb.run("reload-nginx")
    assert got.code == 1, got.out
    assert "unknown directive" in got.out and "nginx was not reloaded" in got.result
    assert got.called("systemctl") == [], "no reload, no start, not even a look"


def test_nginx_is_reloaded_gracefully_after_a_passing_test(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(state="active", pid=4242))
    sb.stub(
        "nginx", 'echo "nginx: configuration file /etc/nginx/nginx.conf test is successful" >&2'
    )
    sb.stub("sleep")
    got = sb.run("reload-nginx")
    assert got.code == 0, got.out
    assert [c.line for c in got.called("nginx")] == ["nginx -t"]
    assert "reload" in verbs(got) and "restart" not in verbs(got)
    assert got.lines("after: ") == ["after: nginx active (master pid 4242)"]


def test_nginx_that_restarted_instead_of_reloading_is_a_failure(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(state="active", reload_restarts=True))
    sb.stub("nginx")
    sb.stub("sleep")
    got = sb.run("reload-nginx")
    assert got.code == 1 and "restarted instead of reloading" in got.result


def test_a_stopped_nginx_is_started_only_when_allowed(sb: Sandbox) -> None:
    systemd(sb, nginx=Unit(state="inactive"))
    sb.stub("nginx")
    sb.stub("sleep")
    assert sb.run("reload-nginx", START_IF_STOPPED="false").code == 3
    got = sb.run("reload-nginx")
    assert got.code == 0 and "start" in verbs(got), got.out
    assert sb.run("reload-nginx").code == 0, "a second run reloads the running nginx"


def test_reload_nginx_where_there_is_no_nginx(sb: Sandbox) -> None:
    systemd(sb)
    got = sb.run("reload-nginx")
    assert got.code == 3 and got.result == "result: nothing to do: nginx is not installed here"


@pytest.mark.parametrize(("ctl", "unit"), [("apache2ctl", "apache2"), ("apachectl", "httpd")])
def test_apache_is_tested_then_reloaded_on_debian_and_red_hat(
    sb: Sandbox, ctl: str, unit: str
) -> None:
    systemd(sb, **{unit: Unit(state="active")})
    sb.stub(ctl, 'echo "Syntax OK" >&2')
    sb.stub("sleep")
    got = sb.run("reload-apache")
    assert got.code == 0, got.out
    assert [c.line for c in got.called(ctl)] == [f"{ctl} configtest"]
    assert f"systemctl reload -- {unit}.service" in [c.line for c in got.calls]
    assert "config test: ok (Syntax OK)" in got.out


def test_apache_with_a_broken_configuration_is_not_reloaded(sb: Sandbox) -> None:
    systemd(sb, apache2=Unit(state="active"))
    sb.stub(
        "apache2ctl",
        'echo "AH00526: Syntax error on line 12 of /etc/apache2/sites-enabled/x" >&2; exit 1',
    )
    got = sb.run("reload-apache")
    assert got.code == 1 and "Syntax error on line 12" in got.out
    assert "reload" not in verbs(got) and "start" not in verbs(got)


def test_reload_apache_without_an_apache_unit(sb: Sandbox) -> None:
    systemd(sb)
    sb.stub("apachectl")
    got = sb.run("reload-apache")
    assert got.code == 3 and "neither apache2.service nor httpd.service" in got.result
