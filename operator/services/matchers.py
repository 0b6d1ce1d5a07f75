"""Alertmanager-style matchers over an alert's fields (labels, asset, signal, severity,
source): what silences and inhibition rules share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from whisperer.operator.models.v1alpha1.common import Matcher


def alert_fields(
    labels: Mapping[str, str], *, asset: str, signal: str, severity: str, source: str
) -> dict[str, str]:
    """The fields matchers see."""
    return {**labels, "asset": asset, "signal": signal, "severity": severity, "source": source}


def matches(matchers: Iterable[Matcher], fields: Mapping[str, str]) -> bool:
    """Every matcher holds (a broken regular expression matches nothing)."""
    for matcher in matchers:
        value = fields.get(matcher.name, "")
        if matcher.op == "=":
            ok = value == matcher.value
        elif matcher.op == "!=":
            ok = value != matcher.value
        else:
            try:
                found = re.fullmatch(matcher.value, value) is not None
            except re.error:
                return False
            ok = found if matcher.op == "=~" else not found
        if not ok:
            return False
    return True
