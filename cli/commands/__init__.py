"""One module per command group; each `register`s its sub-commands with a handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whisperer.cli.commands import (
    actions,
    alerts,
    basics,
    companies,
    completion,
    diff,
    incidents,
    report,
    runbooks,
    runs,
    show,
    silences,
)

REGISTRY: list[Callable[[Any], None]] = [
    incidents.register,
    show.register,
    actions.register,
    alerts.register,
    runbooks.register,
    runs.register,
    silences.register,
    companies.register,
    report.register,
    diff.register,
    basics.register,
    completion.register,
]
