"""A local HTTP receiver on loopback (aiohttp) standing in for Slack, Teams and a customer's
webhook endpoint: it keeps every request and answers each path as the test says."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web


@dataclass(frozen=True)
class Request:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """How to answer a path."""

    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow receiver)


@dataclass
class Receiver:
    """The base URL, the requests seen, and the replies by path (default 200 "ok")."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)

    def on(self, path: str) -> list[Request]:
        """The requests to one path."""
        return [r for r in self.requests if r.path == path]


@contextlib.asynccontextmanager
async def receiver(*, tls: tuple[Path, Path] | None = None) -> AsyncIterator[Receiver]:
    """Serve on 127.0.0.1 (HTTPS with `tls` = (cert, key)) until the block ends."""
    state = Receiver()

    async def handle(request: web.Request) -> web.Response:
        state.requests.append(Request(request.path, dict(request.headers), await request.read()))
        reply = state.replies.get(request.path, Reply())
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    context = None
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
