"""Every alert endpoint is served by the plain-ASGI fast path, the one FastAPI documents."""

from __future__ import annotations

from whisperer.api.app import alert_routes, create_app
from whisperer.api.routers import ROUTERS


def test_every_documented_post_is_on_the_fast_path() -> None:
    documented = {path for path, item in create_app().openapi()["paths"].items() if "post" in item}
    fast = set(alert_routes(ROUTERS))
    assert documented <= fast, documented - fast
    assert fast - documented == {"/v2/enqueue"}  # PagerDuty's own path, undocumented
