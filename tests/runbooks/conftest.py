"""Fixtures for the runbook library's tests: a sandboxed server per test, and the list of what
ran for real and what ran with stand-in tools, printed at the end of the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.runbooks import LEDGER, Sandbox


@pytest.fixture
def sb(tmp_path: Path) -> Sandbox:
    """A throwaway server in tmp_path."""
    return Sandbox(tmp_path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which runbooks ran for real and which with stand-in tools."""
    if not LEDGER.runs and not LEDGER.notes:
        return
    terminalreporter.write_sep("=", "runbook library: how each runbook was run")
    for line in LEDGER.report():
        terminalreporter.write_line(line)
