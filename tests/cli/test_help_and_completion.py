"""Every command has --help; completion scripts for bash, zsh and fish are valid and name
every command; usage errors exit 2 with the usage on stderr; no colour off a terminal."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support.plugin import PLUGIN

from whisperer.cli.commands.completion import _tree
from whisperer.cli.main import main

COMMANDS = sorted(_tree())


def _plugin(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [PLUGIN, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONSAFEPATH": "1", **env},
    )


def test_every_command_group_is_there() -> None:
    for expected in (
        "incidents", "inc", "show", "ack", "assign", "note", "wait-customer", "resume",
        "resolve", "reopen", "alerts", "runbooks", "run", "runs", "approve", "reject", "logs",
        "silence create", "silence list", "silence expire", "company list", "company show",
        "company rotate-key", "company resume-auto-runs", "report", "whoami", "diff", "version",
        "completion",
    ):  # fmt: skip
        assert expected in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command.split(), "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kubectl whisper {command.split()[0]}")
    if command not in ("company", "silence", "completion"):  # groups list their actions
        assert "--kubeconfig" in out and "--output" in out


def test_bash_completion_is_valid_bash_naming_every_command() -> None:
    result = _plugin("completion", "bash")
    assert result.returncode == 0
    check = subprocess.run(["bash", "-n"], input=result.stdout, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr
    for command in COMMANDS:
        assert command.split()[-1] in result.stdout
    assert "__complete" in result.stdout and "complete -F _kubectl_whisper" in result.stdout


def test_bash_completion_completes_commands_and_flags() -> None:
    script = _plugin("completion", "bash").stdout
    probe = (
        script + "\nCOMP_WORDS=(kubectl-whisper ac); COMP_CWORD=1; _kubectl_whisper; "
        'echo "${COMPREPLY[@]}"'
        + "\nCOMP_WORDS=(kubectl-whisper silence ex); COMP_CWORD=2; _kubectl_whisper; "
        'echo "${COMPREPLY[@]}"'
        + "\nCOMP_WORDS=(kubectl-whisper inc --so); COMP_CWORD=2; _kubectl_whisper; "
        'echo "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", probe], text=True, capture_output=True, check=True)
    assert out.stdout.splitlines() == ["ack", "expire", "--sort"]


def test_zsh_and_fish_completion() -> None:
    zsh = _plugin("completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef kubectl-whisper")
    fish = _plugin("completion", "fish")
    assert fish.returncode == 0 and "complete -c kubectl-whisper" in fish.stdout
    if shutil.which("fish"):
        check = subprocess.run(["fish", "-n"], input=fish.stdout, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["inc", "-A", "-n", "x"],
        ["inc", "--sort", "name"],
        ["resolve", "inc-1", "-n", "x"],
        ["report", "--company", "a", "-o", "wide"],
        ["completion", "tcsh"],
    ],
)
def test_bad_usage_is_exit_2_with_the_usage(args: list[str]) -> None:
    result = _plugin(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_no_colour_when_not_a_terminal_or_no_color_is_set() -> None:
    from whisperer.cli.output import paint

    assert paint("P1", "red") == "P1"  # pytest's stdout is not a terminal
    result = _plugin("completion", "bash", NO_COLOR="1")
    assert "\033[" not in result.stdout


def test_kubectls_own_completion_asks_the_plugin() -> None:
    """kubectl 1.26+ runs `kubectl_complete-whisper` for `kubectl whisper <TAB>`."""
    import os
    from pathlib import Path

    from support.cluster import kubectl_path

    env = {
        **os.environ,
        "PATH": f"{Path(PLUGIN).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONSAFEPATH": "1",
    }
    for words, expected in ((["ac"], ["ack"]), (["silence", ""], ["create", "expire", "list"])):
        result = subprocess.run(
            [kubectl_path(), "__complete", "whisper", *words],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [*expected, ":4"], result.stdout
