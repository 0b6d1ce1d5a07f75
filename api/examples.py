"""Request examples for the OpenAPI document, one per format, shipped with the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def example(fmt: str) -> dict[str, Any] | list[Any]:
    """The example request body of a format (api/examples/<fmt>.json)."""
    text = resources.files("whisperer.api").joinpath(f"examples/{fmt}.json").read_text()
    data: dict[str, Any] | list[Any] = json.loads(text)
    return data


def request_body(fmt: str) -> dict[str, Any]:
    """`openapi_extra` for an endpoint: any JSON body, with the format's example."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": True},
                    "example": example(fmt),
                }
            },
        },
        "responses": {
            "202": {"description": "Written: every alert is durable in the API server."},
            "400": {
                "description": "Malformed (hostile JSON, a bad field, an unknown payload "
                "version, a bad delivery id): the problem names the field."
            },
            "401": {
                "description": "No, unknown or expired API key; bad, stale or missing "
                "signature (one body for every cause; the reason is logged)."
            },
            "403": {"description": "The company is suspended; an SNS topic not allowed."},
            "413": {"description": "The body is too large."},
            "415": {"description": "Not JSON (nor form fields where the format allows them)."},
            "422": {"description": "A delivery id already used for another body."},
            "503": {
                "description": "Over the rate limit, or the API server is unavailable: "
                "retry after Retry-After seconds."
            },
        },
    }
