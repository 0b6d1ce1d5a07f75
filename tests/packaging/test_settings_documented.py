"""Every environment variable the code reads is named in docs/settings.md, and the operator's
settings are read once, from the mapping given (not from whatever the process has)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from whisperer.operator.errors import PermanentError
from whisperer.operator.settings import Settings

REPO = Path(__file__).resolve().parents[2]
READ_BY = ("operator", "api", "cli", "hack", "bench", "Makefile")


def variables_in_code() -> set[str]:
    found: set[str] = set()
    for top in READ_BY:
        path = REPO / top
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            if file.suffix in (".pyc",) or "__pycache__" in file.parts:
                continue
            text = file.read_text(errors="ignore")
            found |= set(re.findall(r"\bWHISPERER_[A-Z0-9_]*[A-Z0-9]\b", text))
    return found


def test_every_variable_the_code_reads_is_documented() -> None:
    documented = (REPO / "docs" / "settings.md").read_text()
    missing = sorted(v for v in variables_in_code() if f"`{v}`" not in documented)
    assert missing == [], f"add these to docs/settings.md: {', '.join(missing)}"


def test_settings_come_from_the_mapping_given_with_production_defaults() -> None:
    defaults = Settings.from_env({})
    assert defaults.webhook_url == "http://whisperer-webhook.alert-whisperer.svc:8080"
    assert (defaults.incident_linger_seconds, defaults.alerts_in_flight) == (0.05, 256)
    assert defaults.ai.provider == "off"
    given = Settings.from_env(
        {"WHISPERER_WEBHOOK_URL": "https://hooks.example/", "WHISPERER_ALERTS_IN_FLIGHT": "8"}
    )
    assert (given.webhook_url, given.alerts_in_flight) == ("https://hooks.example", 8)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WHISPERER_INCIDENT_LINGER_SECONDS", "soon"),
        ("WHISPERER_ALERTS_IN_FLIGHT", "0"),
        ("WHISPERER_ALERT_SWEEP_SECONDS", "nan"),
    ],
)
def test_a_malformed_setting_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(PermanentError, match=name):
        Settings.from_env({name: value})
