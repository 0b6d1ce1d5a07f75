"""Run the real webhook shim (uvicorn, real HTTP) in a thread, and a TCP proxy to cut it off
from the API server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn

from support.cluster import wait_for
from whisperer.api.app import create_app
from whisperer.api.main import build_state
from whisperer.api.state import Settings, ShimState
from whisperer.operator.kube import KubeClient
from whisperer.operator.services.credentials import Credentials


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_shim(kubeconfig: Path, settings: Settings) -> Iterator[tuple[str, ShimState]]:
    """The shim on a free loopback port; yields its base URL and state."""
    state = build_state(str(kubeconfig), settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the shim did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        state.kube.close()


class Proxy:
    """A loopback TCP forwarder that can be stopped and started: the API server "goes away"."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._conns |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for conn in self._conns:
            conn.close()
        self._conns.clear()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def kubeconfig_through(kubeconfig: Path, proxy: Proxy, out: Path) -> Path:
    """A copy of the kubeconfig whose server is the proxy (the certificate still matches)."""
    text = re.sub(
        r'server: "?https://127\.0\.0\.1:\d+"?',
        f"server: https://127.0.0.1:{proxy.port}",
        kubeconfig.read_text(),
    )
    out.write_text(text)
    return out


def apiserver_port(kubeconfig: Path) -> int:
    match = re.search(r'server: "?https://127\.0\.0\.1:(\d+)', kubeconfig.read_text())
    assert match, "the kubeconfig does not point at a loopback API server"
    return int(match.group(1))


def credentials(admin: KubeClient, company: str) -> Credentials:
    """A company's credentials, once the operator has issued them."""
    found = wait_for(
        lambda: admin.read_secret(f"company-{company}-credentials", "alert-whisperer"),
        timeout=30,
        what=f"{company}'s credentials",
    )
    return Credentials.from_secret_data(found[0])


def post(
    hooks: Any,
    path: str,
    body: Any,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST to the shim `hooks.url` (with `hooks.key` unless told) and decode the answer."""
    return asyncio.run(
        apost(
            hooks.url,
            path,
            body,
            key=key if key is not None else hooks.key,
            headers=headers,
            raw=raw,
        )
    )


async def apost(
    url: str, path: str, body: Any, *, key: str, headers: dict[str, str] | None, raw: bytes | None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST a JSON body (or raw bytes) and return status, decoded body and headers."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if key:
        all_headers["X-API-Key"] = key
    data = io.BytesIO(raw if raw is not None else json.dumps(body).encode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + path, data=data, headers=all_headers) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text else {}), dict(response.headers)


class ShimProcess:
    """The real `whisperer-webhook` program in its own process, on a free loopback port."""

    def __init__(self, kubeconfig: Path, *args: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        tls = "--tls-cert" in args
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._args = [
            str(Path(sys.executable).with_name("whisperer-webhook")),
            "--kubeconfig",
            str(kubeconfig),
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *args,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self._args, stdout=out, stderr=subprocess.STDOUT)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the shim exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return True

        wait_for(up, timeout=30, interval=0.1, what="the shim process to listen")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no draining, whatever is in flight."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def shim_process(kubeconfig: Path, *args: str, log: Path) -> Iterator[ShimProcess]:
    """A started ShimProcess, stopped at the end of the block."""
    shim = ShimProcess(kubeconfig, *args, log=log)
    shim.start()
    try:
        yield shim
    finally:
        shim.stop()
