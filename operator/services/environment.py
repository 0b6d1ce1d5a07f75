"""Reading settings from an environment mapping: one parser for numbers, so every variable
is checked the same way (a bad value names the variable)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from whisperer.operator.errors import PermanentError


def number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    low: float = 0.0,
    high: float | None = None,
) -> float:
    """A numeric variable, `default` when unset; a malformed or out-of-range value is a
    PermanentError naming the variable."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise PermanentError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise PermanentError(f"{name} must be {bounds}, not {raw!r}")
    return value
