"""`whisperer-operator` refuses bad input before it connects anywhere: exit 2 and one line
naming the flag or the variable (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OPERATOR = str(Path(sys.executable).with_name("whisperer-operator"))


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--metrics-address", "8080"], {}, "--metrics-address must be host:port"),
        ([], {"WHISPERER_LEASE_DURATION_SECONDS": "abc"}, "WHISPERER_LEASE_DURATION_SECONDS"),
    ],
)
def test_bad_input_is_a_one_line_error_naming_it(
    args: list[str], env: dict[str, str], names: str
) -> None:
    done = subprocess.run(
        [OPERATOR, *args],
        env={**os.environ, "PYTHONSAFEPATH": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert names in done.stderr
    assert "Traceback" not in done.stderr
