"""Structured (one JSON object per line) logs for the shim, with the request id.

Nothing here ever receives a header, a query string or a body, so keys, signatures and
secrets cannot reach the logs; `redact` masks anything that looks like one in a message.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_SECRETISH = re.compile(r"(aw_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+|(whsec_)[A-Za-z0-9+/=]+")
FIELDS = ("request_id", "company", "format", "status", "accepted", "duplicate", "path", "reason")


def redact(text: str) -> str:
    """Keep the first characters of an API key or signing secret, mask the rest."""
    return _SECRETISH.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the known extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["error"] = redact(repr(record.exc_info[1]))
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    """Send every log record to stderr as JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
