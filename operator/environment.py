"""Reading settings from an environment mapping: one parser per kind of value, so every
variable is checked the same way (a bad value is a PermanentError naming the variable).
In the bottom layer, so every settings class (the wrappers' too) uses it."""

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


def flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A yes/no variable (true/false, 1/0, yes/no)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise PermanentError(f"{name} must be true or false, not {raw!r}")


def https_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An https:// URL (bearer tokens go only over TLS), without a trailing slash."""
    value = (env.get(name) or default).strip().rstrip("/")
    if not value.startswith("https://"):
        raise PermanentError(f"{name} must be an https:// URL (bearer tokens go only over TLS)")
    return value
