"""AWS for tests: moto's server in its own process on loopback, behind a thin fault proxy,
also on loopback. The code under test reaches both only through AWS_ENDPOINT_URL.

moto records what it is sent (emails, SMS and assumed roles, read back through
`/moto-api/data.json`; commands, through its own ListCommands) but runs no script: every SSM
invocation it reports is Success. The proxy passes every request through to moto unchanged
and can, per test:

- answer an operation with an AWS error, in that protocol's wire shape (JSON 1.1 for SSM,
  XML for the query protocol of STS and SNS, REST-JSON for SES v2), a number of times;
- rewrite moto's GetCommandInvocation answer for one instance: a scripted sequence of
  (Status, StatusDetails, ResponseCode, output), one per poll, the last one repeating.

moto itself enforces a few things for real: SES refuses an unverified sender
(MessageRejected); with IAM authentication switched on (`iam_enforced`), STS AssumeRole
checks the caller's identity policy and the role's trust policy, including a StringEquals
condition on sts:ExternalId (when one is sent). A role that does not exist is not refused
(moto does not look roles up unless they exist).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

# X-Amz-Target prefixes of the JSON-protocol services we use.
JSON_TARGETS = {"AmazonSSM": "ssm"}
# SES v2's REST paths we name.
SESV2_OPERATIONS = {("POST", "/v2/email/outbound-emails"): "SendEmail"}
QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}


@dataclass(frozen=True)
class Invocation:
    """One scripted GetCommandInvocation answer."""

    status: str
    details: str
    exit_code: int = -1
    stdout: str = ""
    stderr: str = ""


@dataclass
class Fault:
    """An AWS error to answer `operation` with, `times` more times. With `after`, the
    request first reaches moto (it is carried out) and only the answer is replaced: a lost
    answer. With `delay`, the answer comes that many seconds late (past a read timeout)."""

    operation: str
    code: str
    message: str
    status: int
    times: int
    after: bool = False
    delay: float = 0.0


@dataclass
class Seen:
    """One request the proxy passed on (or answered itself)."""

    operation: str
    body: bytes
    faulted: bool = False


@dataclass
class _State:
    moto_port: int
    faults: list[Fault] = field(default_factory=list)
    scripts: dict[str, list[Invocation]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _service_from_auth(headers: Any) -> str:
    """The signing service from SigV4's credential scope (…/<region>/<service>/aws4_request)."""
    auth = headers.get("Authorization", "")
    marker = "Credential="
    if marker not in auth:
        return ""
    scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else ""


def operation_of(method: str, path: str, headers: Any, body: bytes) -> str:
    """`service:Operation` for a request, whatever its protocol."""
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, name = target.partition(".")
        return f"{JSON_TARGETS.get(prefix, prefix)}:{name}"
    service = _service_from_auth(headers)
    if service == "ses" and path.startswith("/v2/"):
        name = SESV2_OPERATIONS.get((method, path.split("?")[0]), f"{method} {path}")
        return f"sesv2:{name}"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    action = form.get("Action", [""])[0]
    return f"{service}:{action}" if action else f"{service}:{method} {path}"


def error_response(
    operation: str, code: str, message: str, status: int
) -> tuple[int, dict[str, str], bytes]:
    """An AWS error as that service's protocol writes it."""
    service = operation.split(":", 1)[0]
    if service in JSON_TARGETS.values():
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1"}, body
    if service == "sesv2":
        body = json.dumps({"message": message}).encode()
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body
    namespace = QUERY_NAMESPACES.get(service, "")
    xml = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, xml.encode()


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, *args: object) -> None:
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        operation = operation_of(self.command, self.path, self.headers, body)
        with self.state.lock:
            fault = next((f for f in self.state.faults if f.operation == operation), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.state.faults.remove(fault)
            self.state.seen.append(Seen(operation, body, faulted=fault is not None))
        if fault is not None:
            if fault.after:
                self._forward(body)
            if fault.delay:
                time.sleep(fault.delay)  # a slow answer, on purpose
            self._answer(*error_response(operation, fault.code, fault.message, fault.status))
            return
        status, headers, answer = self._forward(body)
        if operation == "ssm:GetCommandInvocation" and status == 200:
            answer = self._rewrite_invocation(body, answer)
        self._answer(status, headers, answer)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.state.moto_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            skip = {"content-length", "connection", "transfer-encoding", "server", "date"}
            kept = {k: v for k, v in response.getheaders() if k.lower() not in skip}
            return response.status, kept, answer
        finally:
            connection.close()

    def _rewrite_invocation(self, body: bytes, answer: bytes) -> bytes:
        instance = json.loads(body or b"{}").get("InstanceId", "")
        with self.state.lock:
            script = self.state.scripts.get(instance)
            if not script:
                return answer
            step = script.pop(0) if len(script) > 1 else script[0]
        data = json.loads(answer)
        data.update(
            Status=step.status,
            StatusDetails=step.details,
            ResponseCode=step.exit_code,
            StandardOutputContent=step.stdout,
            StandardErrorContent=step.stderr,
        )
        return json.dumps(data).encode()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that timed out and left (the `delay` fault) is expected


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AwsDouble:
    """moto's server and the fault proxy in front of it."""

    def __init__(self, moto_url: str, proxy_url: str, state: _State) -> None:
        self.moto_url = moto_url
        self.url = proxy_url
        self._state = state

    # -- per test --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything moto holds, every fault, script and seen request."""
        self._post("/moto-api/reset", b"")
        with self._state.lock:
            self._state.faults.clear()
            self._state.scripts.clear()
            self._state.seen.clear()

    def fail(
        self,
        operation: str,
        code: str,
        *,
        message: str = "",
        status: int = 400,
        times: int = 1,
        after: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests of `operation` (e.g. "ssm:SendCommand") with an
        AWS error `code` (see `Fault` for `after` and `delay`)."""
        text = message or f"{code} (injected by the test)"
        with self._state.lock:
            self._state.faults.append(
                Fault(operation, code, text, status, times, after=after, delay=delay)
            )

    def script(self, instance_id: str, *steps: Invocation) -> None:
        """GetCommandInvocation for `instance_id` answers these, one per poll, the last
        repeating (moto's own answer is always Success)."""
        with self._state.lock:
            self._state.scripts[instance_id] = list(steps)

    def seen(self, operation: str | None = None) -> list[Seen]:
        """The requests the proxy got (of one operation)."""
        with self._state.lock:
            return [s for s in self._state.seen if operation is None or s.operation == operation]

    @contextlib.contextmanager
    def iam_enforced(self) -> Iterator[None]:
        """moto checks every request against IAM (access keys, identity policies, trust
        policies) while inside; it is global to the server, so tests using it run alone."""
        self._post("/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self._post("/moto-api/reset-auth", b"inf")

    # -- what moto holds -------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """moto's model instances, by service and model (`/moto-api/data.json`)."""
        with urllib.request.urlopen(f"{self.moto_url}/moto-api/data.json", timeout=10) as r:
            data: dict[str, Any] = json.load(r)
        return data

    def commands(self, *, account: str, region: str) -> list[dict[str, Any]]:
        """Every SSM command moto holds for one account and region, oldest first, read
        through moto's own ListCommands (data.json walks every EC2 object moto loaded for
        SendCommand, and takes seconds)."""
        import boto3  # the tests' own view of moto, not the code under test

        client = boto3.client(
            "ssm",
            region_name=region,
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

        def pick_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.ssm.*", pick_account)
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        try:
            while True:
                page = client.list_commands(**kwargs)
                found.extend(page.get("Commands", []))
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        finally:
            client.close()

    def emails(self) -> list[dict[str, Any]]:
        """Every raw email SES recorded (`raw_data`, `source`, `destinations`)."""
        return list(self.data().get("ses", {}).get("RawMessage", []))

    def sms(self) -> list[dict[str, Any]]:
        """Every SMS SNS recorded (`phone_number`, `message`)."""
        return list(self.data().get("sns", {}).get("SMS", []))

    def assumed_roles(self) -> list[dict[str, Any]]:
        """Every AssumeRole moto granted (`role_arn`, `session_name`, `external_id`)."""
        return list(self.data().get("sts", {}).get("AssumedRole", []))

    def _post(self, path: str, body: bytes) -> None:
        # text/plain: as a form, Flask would swallow the body moto reads (reset-auth's count).
        request = urllib.request.Request(
            f"{self.moto_url}{path}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@contextlib.contextmanager
def aws_double(log_dir: Path) -> Iterator[AwsDouble]:
    """Start moto's server (its own process) and the proxy; stop both afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONSAFEPATH"] = "1"
    log = (log_dir / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=log_dir,
    )
    moto_url = f"http://127.0.0.1:{port}"
    state = _State(moto_port=port)
    handler = type("Proxy", (_Proxy,), {"state": state})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto's server exited: {(log_dir / 'moto.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not answer within 30 s") from None
                time.sleep(0.1)
        yield AwsDouble(moto_url, f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
        process.terminate()
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


__all__ = ["AwsDouble", "Invocation", "aws_double", "error_response", "operation_of"]
