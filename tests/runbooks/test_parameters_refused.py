"""Every bash runbook checks its parameters again before it does anything: a value that fails
the pattern (an injection attempt, a newline, a missing required value) is refused with exit 2,
no tool is called and nothing runs."""

from __future__ import annotations

import pytest
from support.runbooks import Sandbox, bash_runbooks, library

# Valid values for the required parameters, so that each test trips on the one it means.
REQUIRED = {
    "SERVICE": "nginx",
    "LOG_DIR": "/var/log/app",
    "TARGET_PATH": "/srv/app",
    "PROCESS_NAME": "aw-none",
    "HOST": "localhost",
    "PORT": "22",
}
HOSTILE = ("$(touch /tmp/aw-pwned)", "x; touch pwned", "`touch pwned`", "1\nINJECTED", "a b$c")
_SYSTEM_TOOLS = """
    systemctl journalctl apt-get dpkg dnf yum mysql psql runuser certbot chronyc timedatectl
    resolvectl nscd nginx apachectl apache2ctl shutdown docker podman sync uname rm chmod chown
"""
SYSTEM_TOOLS = _SYSTEM_TOOLS.split()

CASES = [(name, p.name) for name in bash_runbooks() for p in library()[name].spec.parameters]


def valid(name: str) -> dict[str, str]:
    return {p.name: REQUIRED[p.name] for p in library()[name].spec.parameters if p.required}


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}:{p}" for n, p in CASES])
def test_a_value_outside_the_pattern_is_refused_before_anything_runs(
    sb: Sandbox, name: str, param: str
) -> None:
    for tool in SYSTEM_TOOLS:
        sb.stub(tool)
    for value in HOSTILE:
        canary = sb.home / "pwned"
        got = sb.run(name, **{**valid(name), param: value.replace("pwned", str(canary))})
        assert got.code == 2, got.out
        assert got.result.startswith(f"result: refused: {param} does not match"), got.out
        assert got.calls == (), "a refused run calls no tool"
        assert not canary.exists() and not (sb.home / "pwned").exists()


@pytest.mark.parametrize("name", [n for n in bash_runbooks() if valid(n)])
def test_a_missing_required_parameter_is_refused(sb: Sandbox, name: str) -> None:
    for tool in SYSTEM_TOOLS:
        sb.stub(tool)
    missing = next(p.name for p in library()[name].spec.parameters if p.required)
    got = sb.run(name, **{k: v for k, v in valid(name).items() if k != missing})
    assert got.code == 2 and got.result.startswith(f"result: refused: {missing} "), got.out
    assert got.calls == ()
