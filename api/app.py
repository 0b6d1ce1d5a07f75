"""`create_app()` wires the routers; nothing else happens here."""

from __future__ import annotations

from fastapi import FastAPI

from whisperer.api import health


def create_app() -> FastAPI:
    """The webhook shim's application."""
    app = FastAPI(
        title="Alert Whisperer webhook",
        version="0.1.0",
        description="Receives alerts from monitoring tools and writes them as Alert resources.",
    )
    app.include_router(health.router)
    return app
