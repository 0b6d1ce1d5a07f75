"""Kubernetes Events the operator posts once: the name derives from the object and a key, so
posting the same event again (after a restart) is refused as a duplicate."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from whisperer.operator.clock import rfc3339

COMPONENT = "alert-whisperer-operator"


def event_body(
    involved: dict[str, Any],
    *,
    reason: str,
    message: str,
    key: str,
    now: datetime,
    type: str = "Normal",
    component: str = COMPONENT,
) -> dict[str, Any]:
    """The core/v1 Event about `involved` (an object with metadata.uid)."""
    meta = involved["metadata"]
    namespace = meta.get("namespace") or "default"
    digest = hashlib.sha256(f"{meta['uid']}/{key}".encode()).hexdigest()[:16]
    stamp = rfc3339(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{digest}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message[:1024],
        "type": type,
        "source": {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
