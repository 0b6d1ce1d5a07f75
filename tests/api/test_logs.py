"""Log lines are JSON with the known fields, and never carry a key or a signing secret."""

from __future__ import annotations

import json
import logging

from whisperer.api.logs import JsonFormatter, redact


def test_keys_and_secrets_are_masked() -> None:
    key = "aw_" + "A1b2C3d4" + "x" * 35
    text = redact(f"presented {key} and whsec_c2VjcmV0LXNlY3JldA== in one line")
    assert key not in text and "whsec_c2Vj" not in text
    assert "aw_A1b2C3d4…" in text and "whsec_…" in text


def test_a_record_is_one_json_object_with_the_request_id() -> None:
    record = logging.LogRecord(
        "whisperer.api", logging.INFO, __file__, 1, "accepted %s", ("aw_" + "k" * 43,), None
    )
    record.request_id = "r-1"
    record.company = "acme-dental"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["request_id"] == "r-1" and entry["company"] == "acme-dental"
    assert entry["level"] == "info" and "k" * 20 not in line
