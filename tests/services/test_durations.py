"""Go-style durations: what parses, to how long, and what is refused by name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from whisperer.operator.services.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("100ms", timedelta(milliseconds=100)),
        ("0s", timedelta(0)),
        ("24h", timedelta(days=1)),
        ("1m30s", timedelta(seconds=90)),
        ("2h45m10s500ms", timedelta(hours=2, minutes=45, seconds=10, milliseconds=500)),
        ("0.5s", timedelta(milliseconds=500)),
        ("720h", timedelta(days=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "5", "m", "5 m", "1d", "-1s", "1h 30m", "1h30", " 5m", "5m ", ".5s", "5M", "1h-30m"],
)
def test_parse_duration_refuses_and_names_the_input(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a duration: {text!r}")):
        parse_duration(text)
