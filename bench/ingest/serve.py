"""Servers for the ingest benchmark, each run in its own process by bench/ingest/run.py.

shim       the real shim (whisperer.api), writing to the API server
noop       the real shim with the Alert write replaced by a no-op (and a fixed tenant)
bare       a bare FastAPI endpoint that parses the same JSON and answers 202
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from whisperer.api.app import create_app
from whisperer.api.ingest import Ingestor
from whisperer.api.main import build_state
from whisperer.api.metrics import Metrics
from whisperer.api.registry import Tenant
from whisperer.api.state import Settings, ShimState
from whisperer.operator.models.v1alpha1 import Company
from whisperer.operator.services.assets import Inventory
from whisperer.operator.services.credentials import issue

BENCH_KEY_ENV = "BENCH_API_KEY"


class NoopWriter:
    """Stands in for AlertWriter: accepts every report at once."""

    async def write(self, namespace: str, reports: list[Any]) -> None:
        return None


class FixedRegistry:
    """One tenant, known without the API server."""

    def __init__(self, tenant: Tenant, key: str) -> None:
        self._tenant, self._key, self.healthy = tenant, key, True

    async def refresh(self) -> None:
        return None

    async def run(self) -> None:
        return None

    async def authenticate(self, key: str) -> Tenant | None:
        return self._tenant if key == self._key else None


def noop_app(key: str) -> FastAPI:
    company = Company.from_body(
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "bench"},
            "spec": {
                "displayName": "bench",
                "slaPolicyRef": {"name": "x"},
                "webhook": {"rateLimit": {"requestsPerSecond": 10000, "burst": 100000}},
                "assets": [{"name": "web01", "hostnames": ["web01.bench"]}],
            },
        }
    )
    creds = issue(hmac_required=False)
    creds = type(creds)(
        api_keys=(type(creds.api_keys[0])(key, creds.api_keys[0].created_at),),
        external_id=creds.external_id,
    )
    tenant = Tenant(company, creds, Inventory(company.spec.assets))
    metrics = Metrics()
    state = ShimState(
        settings=Settings(),
        kube=None,
        akube=None,  # type: ignore[arg-type]
        registry=FixedRegistry(tenant, key),  # type: ignore[arg-type]
        ingestor=Ingestor(NoopWriter(), metrics),  # type: ignore[arg-type]
        metrics=metrics,
    )
    return create_app(state)


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/alerts/generic")
    async def post(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        return JSONResponse(
            {"status": "accepted", "accepted": 1 if isinstance(body, dict) else len(body)},
            status_code=202,
        )

    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["shim", "noop", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--key", default="")
    args = parser.parse_args()
    if args.mode == "shim":
        app = create_app(build_state(args.kubeconfig, Settings(write_timeout=30)))
    elif args.mode == "noop":
        app = noop_app(args.key)
    else:
        app = bare_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
