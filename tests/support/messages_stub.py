"""A local stand-in for the Anthropic Messages API: a real HTTP server on loopback that the
real `anthropic` SDK talks to, scripted per test (an answer, a delay, an HTTP error, text
that is not JSON) and recording every request it got."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Request:
    """One request as the stub received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def credential(self) -> str | None:
        """The API key, as `x-api-key` or (newer SDKs) a bearer token."""
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or bearer.removeprefix("Bearer ") or None

    @property
    def prompt(self) -> str:
        """The user message's text."""
        content = self.body["messages"][-1]["content"]
        if isinstance(content, str):
            return content
        return "".join(block.get("text", "") for block in content)


@dataclass
class Script:
    """What the stub does with the next requests."""

    text: str = ""
    status: int = 200
    delay: float = 0.0
    input_tokens: int = 420
    output_tokens: int = 90


@dataclass
class MessagesStub:
    """The server's state: its URL, the script, the requests received."""

    url: str = ""
    script: Script = field(default_factory=Script)
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    def answer(self, payload: dict[str, Any] | str, *, delay: float = 0.0) -> None:
        """Answer every request with this JSON object (or raw text), after `delay` seconds."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        with self._lock:
            self.script = Script(text=text, delay=delay)

    def suggest(
        self,
        *,
        asset: str,
        signal: str,
        severity: str,
        confidence: float,
        summary: str = "The disk filled up.",
        delay: float = 0.0,
    ) -> None:
        """Answer with a well-formed suggestion."""
        self.answer(
            {
                "summary": summary,
                "probableCause": {"asset": asset, "signal": signal},
                "suggestedSeverity": severity,
                "confidence": confidence,
            },
            delay=delay,
        )

    def fail(self, status: int, *, delay: float = 0.0) -> None:
        """Answer every request with this HTTP error, as the API shapes its errors."""
        with self._lock:
            self.script = Script(status=status, delay=delay)

    def current(self) -> Script:
        with self._lock:
            return self.script

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def received(self) -> list[Request]:
        """The requests so far (a copy)."""
        with self._lock:
            return list(self.requests)

    def count(self) -> int:
        """How many requests came."""
        with self._lock:
            return len(self.requests)


def _handler(stub: MessagesStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            request = Request(
                path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body
            )
            stub.record(request)
            script = stub.current()
            if script.delay and stub._closing.wait(script.delay):
                self.close_connection = True
                return
            if not request.credential:
                self._send(
                    401,
                    {
                        "type": "error",
                        "error": {"type": "authentication_error", "message": "no key"},
                    },
                )
            elif self.path.split("?")[0] != "/v1/messages":
                self._send(404, {"type": "error", "error": {"type": "not_found_error"}})
            elif script.status != 200:
                kind = ERROR_TYPES.get(script.status, "api_error")
                self._send(
                    script.status,
                    {"type": "error", "error": {"type": kind, "message": f"stub says {kind}"}},
                )
            else:
                self._send(
                    200,
                    {
                        "id": f"msg_{uuid.uuid4().hex[:24]}",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model", "claude-stub"),
                        "content": [{"type": "text", "text": script.text}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": script.input_tokens,
                            "output_tokens": script.output_tokens,
                        },
                    },
                )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            with contextlib.suppress(OSError):  # the client may have given up (a timeout)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
                self.end_headers()
                self.wfile.write(data)

    return Handler


@contextlib.contextmanager
def messages_stub() -> Iterator[MessagesStub]:
    """The stub on a free loopback port, stopped afterwards."""
    stub = MessagesStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub._closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
