"""Schemathesis against the checked-in OpenAPI document and the real shim: whatever a sender
posts, the answer is never a 5xx (except the 503 a sender is told to retry)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from support.cluster import REPO

schema = schemathesis.openapi.from_path(str(REPO / "docs" / "api" / "openapi.json"))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_on_generated_input(case: Any, hooks: Any) -> None:
    response = case.call(base_url=hooks.url, headers={"X-API-Key": hooks.key})
    assert response.status_code < 500 or response.status_code == 503, (
        f"{case.method} {case.path} -> {response.status_code}: {response.text[:500]}"
    )
    if response.status_code >= 400:
        content_type = response.headers["content-type"]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), content_type
