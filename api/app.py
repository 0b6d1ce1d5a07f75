"""`create_app()` wires the routers, the error rendering and the lifespan; nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from whisperer.api import health
from whisperer.api.deps import authenticate, authenticate_routing_key, get_state
from whisperer.api.problems import Problem, problem_response
from whisperer.api.routers import ROUTERS
from whisperer.api.state import ShimState


def create_app(state: ShimState | None = None) -> FastAPI:
    """The webhook shim. With `state`, the clients are made by the caller (tests, main)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        shim: ShimState | None = getattr(app.state, "shim", None)
        tasks = []
        if shim is not None:
            await shim.registry.refresh()
            tasks.append(asyncio.create_task(shim.registry.run()))
            if shim.tls is not None:
                tasks.append(asyncio.create_task(shim.tls.watch(shim.settings.tls_reload_seconds)))
        try:
            yield
        finally:
            for task in tasks:
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
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(AlertRoutes, routes=alert_routes(ROUTERS))
    app.add_middleware(RequestIdMiddleware)  # outermost: the alert routes log its id
    return app


Handler = Callable[[Request], Awaitable[Response]]
AUTHENTICATORS = (authenticate, authenticate_routing_key)


def alert_routes(routers: Iterable[APIRouter]) -> dict[str, Handler]:
    """Every POST endpoint whose only dependency is an authenticator (every alert
    endpoint), by path, as a plain handler of a request."""
    routes: dict[str, Handler] = {}
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or route.methods != {"POST"}:
            continue
        dependant = route.dependant
        if (
            len(dependant.dependencies) != 1
            or dependant.dependencies[0].call not in AUTHENTICATORS
            or dependant.path_params
            or dependant.query_params
            or dependant.body_params
        ):
            continue
        routes[route.path] = _handler(dependant.dependencies[0].call, route.endpoint)
    return routes


def _handler(auth: Callable[..., Any], endpoint: Callable[..., Any]) -> Handler:
    async def handle(request: Request) -> Response:
        caller = await auth(request, await get_state(request))
        response: Response = await endpoint(caller)
        return response

    return handle


class AlertRoutes:
    """Serves the alert endpoints (POST on their exact path) straight from the handler
    FastAPI documents, without FastAPI's per-request routing and dependency solving, which
    cost more than the shim's own work (bench/ingest, docs/webhook.md). Anything else
    (other methods, paths, /healthz) goes to FastAPI as usual."""

    def __init__(self, app: ASGIApp, routes: dict[str, Handler]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except Problem as exc:
            response = await problem_response(request, exc)
        except ClientDisconnect:
            return  # gone before its body was read: nothing was written, nobody to answer
        await response(scope, receive, send)


class RequestIdMiddleware:
    """Tags each request with an id (the sender's X-Request-ID or a new one) and echoes it.

    Plain ASGI: Starlette's BaseHTTPMiddleware costs a task and a stream copy per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = given.decode("latin-1")[:64] or uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        await self.app(scope, receive, send_with_id)


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
