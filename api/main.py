"""The `whisperer-webhook` entry point: serve the shim with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from whisperer.api.app import create_app
from whisperer.operator.kube import KubeClient


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(prog="whisperer-webhook", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig (default: $KUBECONFIG)")
    args = parser.parse_args(argv)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kube = KubeClient.from_kubeconfig(args.kubeconfig)
        try:
            yield
        finally:
            app.state.kube.close()

    app = create_app()
    app.router.lifespan_context = lifespan
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
