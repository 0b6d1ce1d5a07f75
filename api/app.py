"""`create_app()` wires the routers, the error rendering and the lifespan; nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from whisperer.api import health
from whisperer.api.problems import Problem, problem_response
from whisperer.api.routers import ROUTERS
from whisperer.api.state import ShimState


def create_app(state: ShimState | None = None) -> FastAPI:
    """The webhook shim. With `state`, the clients are made by the caller (tests, main)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        shim: ShimState | None = getattr(app.state, "shim", None)
        task = None
        if shim is not None:
            await shim.registry.refresh()
            task = asyncio.create_task(shim.registry.run())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if shim is not None and shim.akube is not None:
                await shim.akube.close()

    app = FastAPI(
        title="Alert Whisperer webhook",
        version="0.1.0",
        description="Receives alerts from monitoring tools and writes them as Alert resources "
        "in the company's namespace. The API key decides the company.",
        lifespan=lifespan,
    )
    if state is not None:
        app.state.shim = state
        app.state.kube = state.kube
    app.add_exception_handler(Problem, problem_response)
    app.add_exception_handler(HTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.middleware("http")(_request_id)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _request_id(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    response = await call_next(request)
    response.headers["X-Request-ID"] = request.state.request_id
    return response


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return await problem_response(
        request,
        Problem(exc.status_code, str(exc.detail), str(exc.detail), headers=dict(exc.headers or {})),
    )


async def _validation_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ()))
    return await problem_response(
        request, Problem(400, "Bad Request", f"{field}: {first.get('msg', 'invalid')}", field=field)
    )
