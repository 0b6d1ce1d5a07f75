"""How times and durations read in a message: one function each, used by the templates (as
filters) and by the facts of chat cards, so every part of a message says the same thing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def when(moment: datetime | None, time_zone: str = "UTC") -> str:
    """`Fri 27 Nov 2026 09:30 EST` in the reader's time zone; an em dash for none."""
    if moment is None:
        return "\u2014"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(time_zone))
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or time_zone)


def span(duration: timedelta | None) -> str:
    """`2 d 3 h`, `1 h 5 min`, `45 min`, `under a minute`; negative spans read as positive."""
    if duration is None:
        return "\u2014"
    minutes = int(abs(duration.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"
