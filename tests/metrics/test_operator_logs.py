"""The operator's log lines (runner.configure_logging): concise text or one JSON object per
line; Kopf's routine INFO lines (timers, handlers) hidden unless --verbose."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from whisperer.operator.runner import JsonLines, configure_logging


@pytest.fixture
def restore() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    kopf = logging.getLogger("kopf").level
    yield
    root.handlers[:], root.level = handlers, level
    logging.getLogger("kopf").setLevel(kopf)


def test_kopfs_routine_lines_are_hidden_unless_verbose(restore: None) -> None:
    configure_logging(verbose=False)
    assert not logging.getLogger("kopf.objects").isEnabledFor(logging.INFO)
    assert logging.getLogger("kopf.objects").isEnabledFor(logging.WARNING)
    assert logging.getLogger("whisperer.operator.sla").isEnabledFor(logging.INFO)
    configure_logging(verbose=True)
    assert logging.getLogger("whisperer.operator.sla").isEnabledFor(logging.DEBUG)


def test_json_lines_are_one_object_per_record_with_the_error() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("whisperer.operator.x").makeRecord(
            "whisperer.operator.x",
            logging.WARNING,
            __file__,
            1,
            "incident %s: %s",
            ("a/b", "late"),
            exc_info=sys.exc_info(),
        )
    line = JsonLines().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["logger"] == "whisperer.operator.x"
    assert entry["message"] == "incident a/b: late"
    assert entry["error"] == "ValueError('boom')"
    assert entry["time"].endswith("+00:00")
