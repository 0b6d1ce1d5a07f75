"""Flux-style conditions: set one, keeping its transition time when nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from whisperer.operator.clock import rfc3339

Status = Literal["True", "False", "Unknown"]


def set_condition(
    conditions: list[dict[str, Any]],
    *,
    type: str,
    status: Status,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return the conditions with `type` set; lastTransitionTime moves only when status does."""
    now = now or datetime.now(UTC)
    previous = next((c for c in conditions if c.get("type") == type), None)
    transition = (
        previous["lastTransitionTime"]
        if previous and previous.get("status") == status and previous.get("lastTransitionTime")
        else rfc3339(now)
    )
    updated: dict[str, Any] = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    }
    if generation is not None:
        updated["observedGeneration"] = generation
    others = [c for c in conditions if c.get("type") != type]
    return sorted([*others, updated], key=lambda c: (c["type"] != "Ready", c["type"]))
