"""The taxonomy of canonical signals: each tool's name for a problem, mapped onto one name.

The built-in taxonomy is data (`data/signals.yaml`); an MSP extends it from git with
SignalRule objects, tried before it (by order, then name). A name no rule matches keeps a
normalized signature of its own (`alerts.canonical_signal`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import yaml

from whisperer.operator.models.v1alpha1 import SignalRule
from whisperer.operator.models.v1alpha1.signalrule import pattern_problem
from whisperer.operator.services.alerts import canonical_signal

BUILT_IN = "built-in"
CACHE_SIZE = 8192


@dataclass(frozen=True)
class Signal:
    """A canonical signal and the category it belongs to."""

    name: str
    category: str


@dataclass(frozen=True)
class Rule:
    """A canonical signal and the patterns that recognise it, for some tools or all."""

    signal: Signal
    pattern: re.Pattern[str]
    sources: frozenset[str] = frozenset()
    origin: str = BUILT_IN
    """Where the rule comes from: `built-in`, or `SignalRule/<name>`."""

    def matches(self, text: str, raw: str, source: str | None) -> bool:
        """Whether the rule recognises a tool's name (`text` is its spaced-out form)."""
        if self.sources and source not in self.sources:
            return False
        return bool(self.pattern.search(text) or self.pattern.search(raw))


@dataclass(frozen=True)
class Skipped:
    """A SignalRule the taxonomy could not use, and why."""

    name: str
    reason: str


def compile_patterns(patterns: Sequence[str]) -> re.Pattern[str]:
    """One case-insensitive expression that matches where any of `patterns` does."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def load_rules(text: str) -> tuple[Rule, ...]:
    """Rules from the taxonomy's YAML (a list of {name, category, patterns})."""
    return tuple(
        Rule(Signal(entry["name"], entry["category"]), compile_patterns(entry["patterns"]))
        for entry in yaml.safe_load(text)
    )


@functools.cache
def default_rules() -> tuple[Rule, ...]:
    """The taxonomy shipped with the operator."""
    data = resources.files("whisperer.operator.services").joinpath("data/signals.yaml")
    return load_rules(data.read_text())


def msp_rule(rule: SignalRule) -> Rule:
    """One SignalRule as a taxonomy rule; ValueError when a pattern cannot be used here."""
    for pattern in rule.spec.patterns:
        problem = pattern_problem(pattern)
        if problem:
            raise ValueError(f"pattern {pattern!r} {problem}")
    return Rule(
        Signal(rule.spec.signal, rule.spec.category),
        compile_patterns(rule.spec.patterns),
        frozenset(str(s) for s in rule.spec.sources),
        f"SignalRule/{rule.metadata.name}",
    )


def _spaced(raw: str) -> str:
    """`NodeFilesystemSpace_low` as `Node Filesystem Space low`, for patterns with spaces."""
    return re.sub(r"([a-z])([A-Z])", r"\1 \2", raw).replace("_", " ")


@dataclass(frozen=True)
class Taxonomy:
    """Rules tried in order, first match wins; the MSP's SignalRules before the built-ins.

    A signal has one category: the first SignalRule naming a signal decides its category
    wherever the signal is recognised, built-in patterns included (a re-categorisation).
    """

    rules: tuple[Rule, ...]
    skipped: tuple[Skipped, ...] = ()
    _cache: dict[tuple[str, str | None], Signal] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(cls, signal_rules: Iterable[SignalRule] = ()) -> Taxonomy:
        """The built-in taxonomy behind the MSP's rules (by order, then name). A rule whose
        patterns Python cannot use is left out and listed in `skipped`."""
        ours: list[Rule] = []
        skipped: list[Skipped] = []
        for given in sorted(signal_rules, key=lambda r: (r.spec.order, r.metadata.name)):
            try:
                ours.append(msp_rule(given))
            except (ValueError, re.error) as exc:
                skipped.append(Skipped(given.metadata.name, str(exc)))
        categories: dict[str, str] = {}
        for ok in ours:
            categories.setdefault(ok.signal.name, ok.signal.category)

        def recategorised(rule: Rule) -> Rule:
            category = categories.get(rule.signal.name, rule.signal.category)
            if category == rule.signal.category:
                return rule
            return dataclasses.replace(rule, signal=Signal(rule.signal.name, category))

        rules = tuple(recategorised(r) for r in (*ours, *default_rules()))
        return cls(rules, tuple(skipped))

    def rule_for(self, raw: str, *, source: str | None = None) -> Rule | None:
        """The first rule that recognises a tool's name for an alert, if any."""
        text = _spaced(raw)
        return next((r for r in self.rules if r.matches(text, raw, source)), None)

    def category_of(self, signal: str) -> str:
        """The category of a canonical signal ("other" for one no rule names)."""
        return next((r.signal.category for r in self.rules if r.signal.name == signal), "other")

    def classify(self, raw: str, *, source: str | None = None) -> Signal:
        """The canonical signal of a tool's alert name; unmatched names keep their own."""
        key = (raw, source)
        found = self._cache.get(key)
        if found is None:
            rule = self.rule_for(raw, source=source)
            found = rule.signal if rule else Signal(canonical_signal(raw), "other")
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = found
        return found


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The built-in taxonomy alone."""
    return Taxonomy(default_rules())


def classify(raw: str, *, source: str | None = None) -> Signal:
    """The canonical signal of a tool's alert name under the built-in taxonomy."""
    return default_taxonomy().classify(raw, source=source)
