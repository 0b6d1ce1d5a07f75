"""Times as a technician reads them: ages ("5m", "3h"), countdowns ("in 12m",
"BREACHED 5m ago")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 string (or a datetime) as an aware datetime; None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def span(seconds: float) -> str:
    """A length of time the way kubectl prints ages: 45s, 12m, 3h5m, 2d4h."""
    s = int(abs(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes and hours < 10 else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours and days < 10 else f"{days}d"


def age(value: Any, now: datetime) -> str:
    """How long ago `value` was ("<unknown>" without one)."""
    when = parse_time(value)
    return span((now - when).total_seconds()) if when else "<unknown>"


def countdown(due: Any, now: datetime) -> str:
    """Time left until `due` ("in 12m"), or how late it is ("BREACHED 5m ago")."""
    when = parse_time(due)
    if when is None:
        return ""
    left = (when - now).total_seconds()
    if left >= 0:
        return f"in {span(left)}"
    return f"BREACHED {span(-left)} ago"
