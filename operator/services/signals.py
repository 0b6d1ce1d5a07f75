"""The taxonomy of canonical signals: each tool's name for a problem, mapped onto one name.

The taxonomy is data (`data/signals.yaml`); a name no rule matches keeps a normalized
signature of its own (`alerts.canonical_signal`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import yaml

from whisperer.operator.services.alerts import canonical_signal


@dataclass(frozen=True)
class Signal:
    """A canonical signal and the category it belongs to."""

    name: str
    category: str


@dataclass(frozen=True)
class Rule:
    """A canonical signal and the patterns that recognise it."""

    signal: Signal
    pattern: re.Pattern[str]


def load_rules(text: str) -> tuple[Rule, ...]:
    """Rules from the taxonomy's YAML (a list of {name, category, patterns})."""
    rules = []
    for entry in yaml.safe_load(text):
        joined = "|".join(f"(?:{p})" for p in entry["patterns"])
        rules.append(
            Rule(Signal(entry["name"], entry["category"]), re.compile(joined, re.IGNORECASE))
        )
    return tuple(rules)


@functools.cache
def default_rules() -> tuple[Rule, ...]:
    """The taxonomy shipped with the operator."""
    data = resources.files("whisperer.operator.services").joinpath("data/signals.yaml")
    return load_rules(data.read_text())


@functools.lru_cache(maxsize=8192)
def classify(raw: str, rules: tuple[Rule, ...] | None = None) -> Signal:
    """The canonical signal of a tool's alert name; unmatched names keep their own."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", raw).replace("_", " ")
    for rule in rules or default_rules():
        if rule.pattern.search(text) or rule.pattern.search(raw):
            return rule.signal
    return Signal(canonical_signal(raw), "other")
