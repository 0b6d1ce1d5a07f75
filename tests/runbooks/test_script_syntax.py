"""Every bash runbook passes shellcheck; every PowerShell runbook parses (with pwsh where it is
installed; a structural check of brackets and strings always)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.runbooks import LEDGER, bash_runbooks, library, powershell_runbooks

SHELLCHECK = shutil.which("shellcheck")
PWSH = shutil.which("pwsh")
PARSE = (
    "$errors = $null; $tokens = $null; "
    "[void][System.Management.Automation.Language.Parser]::ParseFile("
    "$env:RUNBOOK_FILE, [ref]$tokens, [ref]$errors); "
    "if ($errors) { $errors | ForEach-Object { $_.ToString() }; exit 1 }"
)


@pytest.mark.parametrize("name", bash_runbooks())
def test_bash_runbook_passes_shellcheck(name: str, tmp_path: Path) -> None:
    if SHELLCHECK is None:
        pytest.fail(
            "shellcheck is not installed: hack/test installs it (apt-get install shellcheck)"
        )
    script = tmp_path / f"{name}.sh"
    script.write_text(library()[name].spec.script)
    done = subprocess.run(
        [SHELLCHECK, "--shell=bash", "--severity=style", "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_powershell_runbooks_parse_with_pwsh(tmp_path: Path) -> None:
    names = powershell_runbooks()
    if PWSH is None:
        LEDGER.notes.append(
            f"PowerShell ({len(names)} runbooks): pwsh syntax check skipped, no pwsh on PATH "
            "(the structural check of brackets and strings ran)"
        )
        pytest.skip(f"no pwsh on PATH: the {len(names)} PowerShell runbooks were not parsed")
    failures = []
    for name in names:
        script = tmp_path / f"{name}.ps1"
        script.write_text(library()[name].spec.script)
        done = subprocess.run(
            [PWSH, "-NoProfile", "-NonInteractive", "-Command", PARSE],
            env={**os.environ, "RUNBOOK_FILE": str(script)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            failures.append(f"{name}: {done.stdout}{done.stderr}")
    LEDGER.notes.append(f"PowerShell ({len(names)} runbooks): parsed by {PWSH}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", powershell_runbooks())
def test_powershell_runbook_brackets_and_strings_close(name: str) -> None:
    problem = structure_problem(library()[name].spec.script)
    assert problem is None, problem


PAIRS = {"(": ")", "{": "}", "[": "]"}


def structure_problem(text: str) -> str | None:
    """Why PowerShell could not parse `text` (an unclosed string, comment or bracket, a stray
    closing one), or None. Not a parser: a check that runs where no pwsh is installed."""
    stack: list[str] = []  # open brackets, and '"' for a double-quoted string
    i, line = 0, 1
    while i < len(text):
        c = text[i]
        in_string = bool(stack) and stack[-1] == '"'
        if c == "\n":
            line += 1
        if in_string:
            if c == "`":
                i += 2
                continue
            if c == '"':
                stack.pop()
            elif text.startswith("$(", i):
                stack.append("(")
                i += 2
                continue
            i += 1
            continue
        if c == "#":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if text.startswith("<#", i):
            end = text.find("#>", i)
            if end < 0:
                return f"line {line}: a block comment never closes"
            line += text.count("\n", i, end)
            i = end + 2
            continue
        if text.startswith(("@'\n", '@"\n'), i):
            quote = text[i + 1]
            end = text.find(f"\n{quote}@", i)
            if end < 0:
                return f"line {line}: a here-string never closes"
            line += text.count("\n", i, end + 1)
            i = end + 3
            continue
        if c == "'":
            j = i + 1
            while True:
                j = text.find("'", j)
                if j < 0:
                    return f"line {line}: a single-quoted string never closes"
                if text.startswith("''", j):
                    j += 2
                    continue
                break
            line += text.count("\n", i, j)
            i = j + 1
            continue
        if c == '"':
            stack.append('"')
        elif c == "`":
            i += 2
            continue
        elif c in PAIRS:
            stack.append(c)
        elif c in PAIRS.values():
            if not stack or PAIRS.get(stack[-1]) != c:
                return f"line {line}: {c!r} closes nothing open"
            stack.pop()
        i += 1
    if stack:
        return f"{stack[-1]!r} never closes"
    return None


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('if ($a) { Say "x $($b.c) y" }', True),
        ("$s = 'it''s'; # a comment with ( and '\n$t = 1", True),
        ('Say "tab`"quote"', True),
        ("if ($a) { Say 'x' ", False),
        ('Say "never closed', False),
        ("$a = @(1, 2]", False),
    ],
)
def test_the_structural_check_tells_good_from_bad(text: str, ok: bool) -> None:
    assert (structure_problem(text) is None) == ok
