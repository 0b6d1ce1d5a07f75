"""The parameter preamble, run by the real sh and bash here: every value reaches the runbook
as an environment variable, byte for byte, and none can become code; the runbook's exit code
and interpreter are kept."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from whisperer.operator.remote import RESERVED, posix_script, powershell_script, remote_script

NASTY = {
    "QUOTES": 'it\'s "quoted" `backticked` $(touch /tmp/aw-pwned) ${HOME} \\ ;',
    "NEWLINES": "line 1\nline 2\n\n",
    "EMPTY": "",
    "UNICODE": "ünïcødé ✓ 日本",
    "DELIMITER": "AW_RUNBOOK_0000\nEOF\n'",
}
PRINT = (
    'for n in QUOTES NEWLINES EMPTY UNICODE DELIMITER; do eval "printf \'%s|\' \\"\\$$n\\""; done\n'
)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_every_value_arrives_as_an_environment_variable_unchanged(shell: str) -> None:
    text = posix_script(PRINT, shell=shell, parameters=NASTY)  # type: ignore[arg-type]
    ran = subprocess.run(["sh", "-c", text], capture_output=True, text=True, check=True)

    assert ran.stdout == "".join(
        f"{NASTY[n]}|" for n in ("QUOTES", "NEWLINES", "EMPTY", "UNICODE", "DELIMITER")
    )
    for value in NASTY.values():
        if value:
            assert value not in text  # only base64 of it is in the script


def test_the_runbooks_exit_code_interpreter_and_strict_mode_are_kept() -> None:
    script = (
        '#!/usr/bin/env bash\nset -euo pipefail\necho "${BASH_VERSION:+bash}"\nfalse\necho never\n'
    )
    ran = subprocess.run(
        ["sh", "-c", posix_script(script, shell="bash", parameters={})],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 1
    assert ran.stdout == "bash\n"

    exits = subprocess.run(
        ["sh", "-c", posix_script("exit 42", shell="sh", parameters={})], capture_output=True
    )
    assert exits.returncode == 42


def test_the_temporary_copy_of_the_runbook_is_removed() -> None:
    ran = subprocess.run(
        ["sh", "-c", posix_script('printf "%s" "$0"', shell="sh", parameters={})],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.startswith("/")
    assert not Path(ran.stdout).exists()


def test_names_that_would_change_the_interpreter_are_refused() -> None:
    for name in sorted(RESERVED):
        with pytest.raises(ValueError, match="reserved"):
            remote_script("true", shell="bash", parameters={name: "x"})
    with pytest.raises(ValueError, match="UPPER_SNAKE"):
        remote_script("true", shell="bash", parameters={"service": "x"})
    with pytest.raises(ValueError, match="NUL"):
        remote_script("true", shell="sh", parameters={"A": "x\x00y"})


def test_powershell_gets_the_values_from_base64_before_the_runbook() -> None:
    text = powershell_script(
        "Restart-Service -Name $env:SERVICE", parameters={"SERVICE": "W3SVC'; rm"}
    )

    encoded = base64.b64encode(b"W3SVC'; rm").decode()
    assert text.splitlines()[-2] == (
        "$env:SERVICE = [System.Text.Encoding]::UTF8.GetString("
        f"[System.Convert]::FromBase64String('{encoded}'))"
    )
    assert text.endswith("\nRestart-Service -Name $env:SERVICE")
    assert "W3SVC'" not in text
