"""A local stand-in for Azure Resource Manager and the Entra ID token endpoint, served over
HTTPS with a test CA on loopback (azure-core sends bearer tokens only over TLS), for the real
azure-identity and azure-mgmt-compute SDKs.

Shaped after the published REST API specifications (azure-rest-api-specs,
Microsoft.Compute/ComputeRP, virtualMachine and runCommand): a VM GET; a managed run
command's PUT (201 with provisioningState Creating and an Azure-AsyncOperation header, 200
when it exists), GET (with `$expand=instanceView`: executionState, exitCode, output, error)
and DELETE; the async operation's status; errors as `{"error": {"code", "message"}}`. The
token side is OpenID discovery plus the client-credentials grant, as MSAL asks for them.

Per test it can be told to answer an operation with an error N times (409 another run
command in progress, 500), to carry the request out and then lose the answer (`after`), and
to make a run command take N polls before it finishes, with a given state, exit code and
output. It records every request.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.pki import make_test_ca

VM_PATH = (
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)"
)
ROUTES = [
    ("discovery", re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")),
    ("token", re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")),
    ("run-command", re.compile(VM_PATH + r"/runCommands/(?P<name>[^/]+)$", re.IGNORECASE)),
    ("vm", re.compile(VM_PATH + r"$", re.IGNORECASE)),
    (
        "operation",
        re.compile(
            r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/"
            r"(?P<loc>[^/]+)/operations/(?P<op>[^/]+)$",
            re.IGNORECASE,
        ),
    ),
]
# The identities tests use (nothing real): a subscription, a tenant, and an app registration.
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-111122223333"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "5c1e3d0e-0000-4000-8000-00000000a11e"
CLIENT_SECRET = "stub-secret-not-a-real-one"
BUSY_MESSAGE = (
    "Run command extension execution is in progress. Please wait for completion before "
    "invoking a run command."
)


@dataclass
class Outcome:
    """How a run command on a VM ends, and after how many polls of its instance view."""

    state: str = "Succeeded"
    exit_code: int = 0
    output: str = ""
    error: str = ""
    polls: int = 1


@dataclass
class RunCommand:
    """A run command the stub holds."""

    vm: tuple[str, str, str]
    name: str
    body: dict[str, Any]
    location: str
    outcome: Outcome
    operation: str
    polls: int = 0

    @property
    def finished(self) -> bool:
        """Whether the scripted number of polls has been reached."""
        return self.polls >= self.outcome.polls


@dataclass
class Fault:
    """An ARM error for the next `times` requests of one kind ("put-run-command", ...)."""

    kind: str
    status: int
    code: str
    message: str
    times: int
    after: bool = False


@dataclass
class Request:
    """One request as the stub got it."""

    method: str
    kind: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str


@dataclass
class ArmStub:
    """The stub's state: its URL, the CA to trust, what it holds and what it was asked."""

    url: str = ""
    ca: Path = Path()
    principals: dict[tuple[str, str], str] = field(default_factory=dict)
    vms: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    commands: dict[tuple[str, str, str, str], RunCommand] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget everything but the URL and the CA."""
        with self.lock:
            for holder in (
                self.principals,
                self.vms,
                self.commands,
                self.outcomes,
            ):
                holder.clear()
            self.faults.clear()
            self.requests.clear()
            self.tokens.clear()

    def principal(self, tenant: str, client_id: str, secret: str) -> None:
        """Accept this service principal at the token endpoint."""
        with self.lock:
            self.principals[(tenant, client_id)] = secret

    def vm(
        self, sub: str, rg: str, name: str, *, location: str = "westeurope", os: str = "Linux"
    ) -> None:
        """A VM that exists."""
        with self.lock:
            self.vms[(sub, rg.lower(), name.lower())] = {
                "location": location,
                "os": os,
                "name": name,
            }

    def outcome(self, vm: str, outcome: Outcome) -> None:
        """How run commands created on `vm` from now on end."""
        with self.lock:
            self.outcomes[vm.lower()] = outcome

    def fail(
        self,
        kind: str,
        status: int,
        code: str,
        message: str = "",
        *,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """Answer the next `times` requests of `kind` with this error; with `after`, carry
        the request out first (the answer is lost)."""
        with self.lock:
            self.faults.append(Fault(kind, status, code, message or code, times, after))

    def seen(self, kind: str, method: str | None = None) -> list[Request]:
        """The requests of one kind (and method)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.kind == kind and (method is None or r.method == method)
            ]

    def run_commands_on(self, vm: str) -> list[RunCommand]:
        """The run commands that exist on a VM."""
        with self.lock:
            return [c for k, c in self.commands.items() if k[2] == vm.lower()]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: ArmStub

    def log_message(self, *args: object) -> None:
        return

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind, match = "unknown", None
        for name, pattern in ROUTES:
            match = pattern.match(parsed.path)
            if match:
                kind = name
                break
        if kind == "token":
            body: Any = urllib.parse.parse_qs(raw.decode())
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        stub = self.stub
        fault_kind = f"{self.command.lower()}-{kind}" if kind in ("run-command", "vm") else kind
        with stub.lock:
            stub.requests.append(
                Request(
                    self.command,
                    kind,
                    parsed.path,
                    query,
                    body,
                    self.headers.get("Authorization", ""),
                )
            )
            fault = next((f for f in stub.faults if f.kind == fault_kind), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    stub.faults.remove(fault)
        if fault is not None and not fault.after:
            self._reply(fault.status, _error(fault.code, fault.message))
            return
        if match is None:
            self._reply(404, _error("NotFound", f"no route for {parsed.path}"))
            return
        if kind not in ("discovery", "token") and not self._authorized():
            self._reply(
                401, _error("AuthenticationFailed", "Authentication failed: no valid bearer token.")
            )
            return
        status, answer, headers = getattr(self, "_" + kind.replace("-", "_"))(match, query, body)
        if fault is not None:
            self._reply(fault.status, _error(fault.code, fault.message))
            return
        self._reply(status, answer, headers)

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        with self.stub.lock:
            return auth.startswith("Bearer ") and auth[7:] in self.stub.tokens

    # -- Entra ID ------------------------------------------------------------------------

    def _discovery(self, match: re.Match[str], query: Any, body: Any) -> tuple[int, Any, None]:
        base = f"{self.stub.url}/{match['tenant']}"
        return (
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            },
            None,
        )

    def _token(self, match: re.Match[str], query: Any, form: Any) -> tuple[int, Any, None]:
        client_id = (form.get("client_id") or [""])[0]
        secret = (form.get("client_secret") or [""])[0]
        with self.stub.lock:
            expected = self.stub.principals.get((match["tenant"], client_id))
            if expected is None or expected != secret:
                return (
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                    None,
                )
            token = f"stub-token-{uuid.uuid4().hex}"
            self.stub.tokens.add(token)
        return (
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            },
            None,
        )

    # -- ARM -----------------------------------------------------------------------------

    def _vm_key(self, match: re.Match[str]) -> tuple[str, str, str]:
        return (match["sub"], match["rg"].lower(), match["vm"].lower())

    def _vm(self, match: re.Match[str], query: Any, body: Any) -> tuple[int, Any, None]:
        key = self._vm_key(match)
        with self.stub.lock:
            vm = self.stub.vms.get(key)
        if vm is None:
            return 404, _error("ResourceNotFound", self._missing_vm(match)), None
        return (
            200,
            {
                "id": match.group(0),
                "name": vm["name"],
                "type": "Microsoft.Compute/virtualMachines",
                "location": vm["location"],
                "properties": {
                    "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, match.group(0))),
                    "provisioningState": "Succeeded",
                    "storageProfile": {
                        "osDisk": {
                            "osType": vm["os"],
                            "name": f"{vm['name']}-os",
                            "createOption": "FromImage",
                        }
                    },
                },
            },
            None,
        )

    def _missing_vm(self, match: re.Match[str]) -> str:
        return (
            f"The Resource 'Microsoft.Compute/virtualMachines/{match['vm']}' under resource "
            f"group '{match['rg']}' was not found."
        )

    def _run_command(self, match: re.Match[str], query: Any, body: Any) -> tuple[int, Any, Any]:
        key = (*self._vm_key(match), match["name"])
        stub = self.stub
        with stub.lock:
            vm = stub.vms.get(key[:3])
            command = stub.commands.get(key)
            if self.command == "PUT":
                if vm is None:
                    return 404, _error("ParentResourceNotFound", self._missing_vm(match)), None
                if command is not None:
                    command.body = body
                    return 200, self._view(command, expand=False), None
                command = RunCommand(
                    vm=key[:3],
                    name=match["name"],
                    body=body or {},
                    location=(body or {}).get("location", vm["location"]),
                    outcome=stub.outcomes.get(key[2], Outcome()),
                    operation=str(uuid.uuid4()),
                )
                stub.commands[key] = command
                operation = (
                    f"{stub.url}/subscriptions/{match['sub']}/providers/Microsoft.Compute/"
                    f"locations/{vm['location']}/operations/{command.operation}"
                    f"?api-version={(query.get('api-version') or [''])[0]}"
                )
                return 201, self._view(command, expand=False), {"Azure-AsyncOperation": operation}
            if command is None:
                return (
                    404,
                    _error("ResourceNotFound", f"run command {match['name']} not found"),
                    None,
                )
            if self.command == "DELETE":
                del stub.commands[key]
                return 200, None, None
            expand = "instanceView" in (query.get("$expand") or [""])[0]
            if expand:
                command.polls += 1
            return 200, self._view(command, expand=expand), None

    def _view(self, command: RunCommand, *, expand: bool) -> dict[str, Any]:
        sub, rg, vm = command.vm
        properties = dict((command.body or {}).get("properties", {}))
        properties["provisioningState"] = "Succeeded" if command.finished else "Creating"
        if expand:
            outcome = command.outcome
            if command.finished:
                view: dict[str, Any] = {
                    "executionState": outcome.state,
                    "executionMessage": "",
                    "exitCode": outcome.exit_code,
                    "output": outcome.output,
                    "error": outcome.error,
                    "startTime": _now(),
                    "endTime": _now(),
                }
            else:
                view = {
                    "executionState": "Pending" if command.polls <= 1 else "Running",
                    "executionMessage": "",
                    "startTime": _now(),
                }
            view["statuses"] = []
            properties["instanceView"] = view
        return {
            "name": command.name,
            "id": (
                f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/"
                f"virtualMachines/{vm}/runCommands/{command.name}"
            ),
            "type": "Microsoft.Compute/virtualMachines/runCommands",
            "location": command.location,
            "properties": properties,
        }

    def _operation(self, match: re.Match[str], query: Any, body: Any) -> tuple[int, Any, None]:
        with self.stub.lock:
            command = next(
                (c for c in self.stub.commands.values() if c.operation == match["op"]), None
            )
            done = command is None or command.finished
        return (
            200,
            {
                "name": match["op"],
                "status": "Succeeded" if done else "InProgress",
                "startTime": _now(),
            },
            None,
        )

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()


@contextlib.contextmanager
def arm_stub(tmp: Path) -> Iterator[ArmStub]:
    """Serve the stub over HTTPS on loopback with a fresh test CA; yields its state."""
    ca, cert, key = make_test_ca(tmp)
    stub = ArmStub(ca=ca)
    handler = type("Handler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    stub.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


__all__ = [
    "BUSY_MESSAGE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SUBSCRIPTION",
    "TENANT",
    "ArmStub",
    "Outcome",
    "RunCommand",
    "arm_stub",
]
