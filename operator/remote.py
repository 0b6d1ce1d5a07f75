"""How runbooks run on remote machines, whatever the cloud: the preamble that carries a
runbook's parameters (exported as environment variables from base64, so no value is ever
pasted into script text), and what a finished remote run came to (`Outcome`).

AWS-RunShellScript and Azure Run Command both take one script and nothing else we can trust
to carry values (SSM's document has only `commands`; Azure passes parameters differently on
Linux and Windows). So the script sent is: a preamble we wrote, in which every value is a
base64 literal (an alphabet that cannot end a quote or start a command), decoded into an
environment variable; then the runbook's own text, unchanged. On Linux the runbook's text is
written to a temporary file through a quoted here-document (no expansion) and run by the
runbook's interpreter (bash or sh), so its shebang and `set -e` behave as written.

It sits in the bottom layer with `errors` and `clock` (pure, no I/O) and raises `ValueError`;
the cloud wrappers turn that into `InvalidError`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from collections.abc import Mapping
from typing import Literal

Shell = Literal["bash", "sh", "powershell"]


class Outcome(enum.StrEnum):
    """What a finished run on one target came to (SSM and Azure Run Command alike)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    NOT_RUN = "NotRun"
    """Never started on the target (SSM: delivery timed out, undeliverable, terminated):
    sending it again cannot run it twice."""
    RESULT_UNKNOWN = "ResultUnknown"
    """Started, then stopped at its execution timeout: it may have changed things. Never sent
    again on its own; a human looks."""
    CANCELLED = "Cancelled"


NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# Variables that change how the interpreter itself behaves (BASH_ENV and ENV are sourced by
# every non-interactive bash and sh): a runbook parameter may not take these names.
RESERVED = frozenset(
    {
        "PATH",
        "IFS",
        "HOME",
        "ENV",
        "BASH_ENV",
        "SHELL",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "CDPATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "PATHEXT",
        "COMSPEC",
        "PSMODULEPATH",
    }
)


def check_parameters(parameters: Mapping[str, str]) -> None:
    """Refuse names that are not UPPER_SNAKE or that would change the interpreter, and values
    an environment variable cannot hold."""
    for name, value in parameters.items():
        if not NAME.match(name):
            raise ValueError(f"parameter name {name!r} is not UPPER_SNAKE (A-Z, 0-9, _)")
        if name.upper() in RESERVED:
            raise ValueError(f"parameter name {name!r} is reserved (it changes the interpreter)")
        if "\x00" in value:
            raise ValueError(f"parameter {name} contains a NUL character")


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _delimiter(script: str) -> str:
    """A here-document delimiter that cannot be a line of the script (it names its hash)."""
    digest = hashlib.sha256(script.encode("utf-8")).hexdigest()[:20]
    delimiter = f"AW_RUNBOOK_{digest}"
    if delimiter in script.splitlines():  # pragma: no cover - a script holding its own hash
        raise ValueError("the script contains its own here-document delimiter")
    return delimiter


def posix_script(
    script: str, *, shell: Literal["bash", "sh"], parameters: Mapping[str, str]
) -> str:
    """The text to run under /bin/sh: the parameters exported, then the runbook's text run by
    `shell` from a temporary file. A trailing newline of a value survives (the `x` sentinel)."""
    check_parameters(parameters)
    body = script if script.endswith("\n") else script + "\n"
    delimiter = _delimiter(body)
    lines = [
        "#!/bin/sh",
        "# Alert Whisperer: the runbook's parameters, base64-encoded, become environment",
        "# variables; the runbook's own text follows unchanged and runs under its interpreter.",
        "aw_param() { printf '%s' \"$1\" | base64 -d && printf x; }",
    ]
    for name in sorted(parameters):
        lines.append(
            f"{name}=$(aw_param '{_b64(parameters[name])}') || exit 125; "
            f"{name}=${{{name}%x}}; export {name}"
        )
    lines += [
        "aw_script=$(mktemp) || exit 125",
        "trap 'rm -f \"$aw_script\"' EXIT",
        f"cat > \"$aw_script\" <<'{delimiter}'",
    ]
    return (
        "\n".join(lines)
        + "\n"
        + body
        + delimiter
        + "\n"
        + f'{shell} "$aw_script"\naw_rc=$?\nrm -f "$aw_script"\nexit $aw_rc\n'
    )


def powershell_script(script: str, *, parameters: Mapping[str, str]) -> str:
    """The text to run under PowerShell: `$env:NAME` set from base64, then the runbook's text
    (which therefore cannot open with a `param()` block: its values come from the environment)."""
    check_parameters(parameters)
    lines = [
        "# Alert Whisperer: the runbook's parameters, base64-encoded, become environment",
        "# variables; the runbook's own text follows unchanged.",
    ]
    for name in sorted(parameters):
        lines.append(
            f"$env:{name} = [System.Text.Encoding]::UTF8.GetString("
            f"[System.Convert]::FromBase64String('{_b64(parameters[name])}'))"
        )
    return "\n".join(lines) + "\n" + script


def remote_script(script: str, *, shell: Shell, parameters: Mapping[str, str]) -> str:
    """The whole text to send for a runbook written for `shell`."""
    if shell == "powershell":
        return powershell_script(script, parameters=parameters)
    return posix_script(script, shell=shell, parameters=parameters)


__all__ = [
    "RESERVED",
    "Outcome",
    "Shell",
    "check_parameters",
    "posix_script",
    "powershell_script",
    "remote_script",
]
