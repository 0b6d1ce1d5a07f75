"""The sample payloads under tests/api/payloads, shared with the shim's integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"


def load(name: str) -> Any:
    """A sample payload by `<format>/<name>`, decoded."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


@pytest.fixture
def payload() -> Any:
    """`payload("alertmanager/firing")`: a fresh copy of a sample, to alter at will."""
    return load


@pytest.fixture
def payload_text() -> Any:
    """`payload_text("alertmanager/firing")`: a sample as the sender's bytes (decoded)."""
    return lambda name: (PAYLOADS / f"{name}.json").read_text()
