"""Inhibition: a firing alert that explains others mutes them (Alertmanager's rule shape)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from whisperer.operator.models.v1alpha1.company import InhibitRule
from whisperer.operator.services.matchers import matches


@dataclass(frozen=True)
class FiringAlert:
    """What inhibition needs to know of a firing alert."""

    name: str
    fields: dict[str, str]
    incident: str | None


def inhibitor(
    rules: tuple[InhibitRule, ...], fields: dict[str, str], name: str, firing: Iterable[FiringAlert]
) -> FiringAlert | None:
    """A firing alert that mutes this one under some rule, if any."""
    for rule in rules:
        if not matches(rule.target_matchers, fields):
            continue
        for source in firing:
            if (
                source.name != name
                and matches(rule.source_matchers, source.fields)
                and all(source.fields.get(label) == fields.get(label) for label in rule.equal)
            ):
                return source
    return None
