"""What the fuzzers run, shared by the atheris harness (`fuzz_main.py`) and the tests that
replay every input that ever failed (tests/fuzz/regressions/<target>/).

An input is bytes: the first selects the endpoint (and so the parser), the second holds
flags (content type, how the key is presented, SNS raw delivery, a delivery id), then an
optional delivery id (a length byte and that many bytes) and the body. `mutate` is a
structure-aware mutator: half the time it replaces one node of the JSON body with a hostile
value, otherwise it leaves the bytes to libFuzzer.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from whisperer.api.formats import (
    alertmanager,
    azure,
    cloudwatch,
    datadog,
    generic,
    pagerduty,
    strictjson,
    zabbix,
)
from whisperer.api.formats.base import Confirm, Ignored, Parsed, PayloadError, check
from whisperer.api.ingest import report_for
from whisperer.api.registry import Tenant
from whisperer.operator.models.v1alpha1 import Alert, Company
from whisperer.operator.services.alerts import new_alert
from whisperer.operator.services.assets import Inventory
from whisperer.operator.services.credentials import issue

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "api" / "payloads"
REGRESSIONS = REPO / "tests" / "fuzz" / "regressions"
DICTIONARY = REPO / "tests" / "fuzz" / "json.dict"

# endpoint, sample folder, parser
ENDPOINTS: list[tuple[str, str, Callable[..., Parsed]]] = [
    ("/v1/alerts/generic", "generic", generic.parse),
    ("/v1/alerts/alertmanager", "alertmanager", alertmanager.parse),
    ("/v1/alerts/grafana", "grafana", alertmanager.parse),
    ("/v1/alerts/datadog", "datadog", datadog.parse),
    ("/v1/alerts/sns", "sns", cloudwatch.parse),
    ("/v1/alerts/eventbridge", "eventbridge", cloudwatch.parse_eventbridge),
    ("/v1/alerts/zabbix", "zabbix", zabbix.parse),
    ("/v1/alerts/pagerduty", "pagerduty", pagerduty.parse),
    ("/v2/enqueue", "pagerduty", pagerduty.parse),
    ("/v1/alerts/azure", "azure", azure.parse),
]
CONTENT_TYPES = [
    "application/json",
    "text/plain; charset=UTF-8",
    "",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-16",
    "application/xml",
    "application/cloudevents+json",
    "multipart/form-data",
]
KEY_HEADER, KEY_BEARER, KEY_QUERY, KEY_BODY = range(4)
RAW_DELIVERY = 0x20
HAS_DELIVERY_ID = 0x40


@dataclass(frozen=True)
class Request:
    """A fuzz input, read."""

    endpoint: int
    content_type: str
    key_mode: int
    raw_delivery: bool
    delivery_id: str | None
    body: bytes

    @property
    def path(self) -> str:
        return ENDPOINTS[self.endpoint][0]

    def headers(self) -> dict[str, str]:
        """The headers a parser is given (lower-cased, as the router passes them)."""
        out = {}
        if self.content_type:
            out["content-type"] = self.content_type
        if self.raw_delivery:
            out["x-amz-sns-rawdelivery"] = "true"
        if self.delivery_id is not None:
            out["x-delivery-id" if self.endpoint != 4 else "x-amz-sns-message-id"] = (
                self.delivery_id
            )
        return out


def read(data: bytes) -> Request:
    """Any bytes as a Request (short inputs get defaults)."""
    endpoint = data[0] % len(ENDPOINTS) if data else 0
    flags = data[1] if len(data) > 1 else 0
    rest = data[2:]
    delivery = None
    if flags & HAS_DELIVERY_ID and rest:
        size, rest = rest[0], rest[1:]
        delivery, rest = rest[:size].decode("latin-1"), rest[size:]
    return Request(
        endpoint=endpoint,
        content_type=CONTENT_TYPES[flags & 0x07],
        key_mode=(flags >> 3) & 0x03,
        raw_delivery=bool(flags & RAW_DELIVERY),
        delivery_id=delivery,
        body=rest,
    )


def write(request: Request) -> bytes:
    """The bytes `read` makes `request` from (seeds are written this way)."""
    flags = CONTENT_TYPES.index(request.content_type) | request.key_mode << 3
    flags |= RAW_DELIVERY if request.raw_delivery else 0
    head = bytes([request.endpoint])
    if request.delivery_id is None:
        return head + bytes([flags]) + request.body
    delivery = request.delivery_id.encode("latin-1")
    return head + bytes([flags | HAS_DELIVERY_ID, len(delivery)]) + delivery + request.body


def seeds() -> list[bytes]:
    """Every sample payload, as an input for its endpoint."""
    out = []
    for index, (_, folder, _) in enumerate(ENDPOINTS):
        for sample in sorted((PAYLOADS / folder).glob("*.json")):
            body = sample.read_bytes()
            raw = sample.stem == "raw-delivery"
            content_type = "text/plain; charset=UTF-8" if folder == "sns" else "application/json"
            out.append(write(Request(index, content_type, KEY_HEADER, raw, None, body)))
            out.append(write(Request(index, content_type, KEY_BODY, raw, "d-1", body)))
    return out


def tenant() -> Tenant:
    """acme-dental (its inventory), as the registry would hold it."""
    body = yaml.safe_load((REPO / "manifests/config/companies/acme-dental.yaml").read_text())
    company = Company.from_body(body)
    return Tenant(company, issue(hmac_required=False), Inventory(company.spec.assets))


TENANT: Tenant | None = None


def parse_one(data: bytes) -> None:
    """The parser path without I/O: decode, parse, check, and make the Alert that would be
    created. Raises on a bug: any exception but the refusals, or an accepted alert that
    the API server would refuse (it would answer 422, not 400)."""
    global TENANT
    TENANT = TENANT or tenant()
    request = read(data)
    _, _, parse = ENDPOINTS[request.endpoint]
    try:
        payload = strictjson.loads(request.body)
        parsed = parse(payload, headers=request.headers())
        for alert in parsed.alerts:
            check(alert)
    except (PayloadError, Ignored, Confirm):
        return
    for raw in parsed.alerts:
        report = report_for(TENANT, raw, delivery=request.delivery_id or "fuzz")
        body = new_alert([report], TENANT.namespace)
        json.dumps(body, ensure_ascii=False).encode()  # what the client sends
        Alert.from_body(body)  # what the API server validates (the CRD is this model)


HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1e308,
    -0.0,
    "",
    " ",
    "x" * 300,
    "\ud800",
    "\x00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-02-30T25:61:00Z",
    "1e999",
    "{EVENT.ID}",
    "firing",
    "resolved",
    "ALARM",
    [],
    {},
    [[[[[[]]]]]],
    {"a": {"b": {"c": {}}}},
]


def mutate(data: bytes, max_size: int, seed: int, fallback: Callable[[bytes, int], bytes]) -> bytes:
    """Replace one node of the JSON body with a hostile value (or leave it to `fallback`,
    libFuzzer's own mutator)."""
    rng = random.Random(seed)
    request = read(data)
    try:
        value = json.loads(request.body)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
        return fallback(data, max_size)
    if rng.random() < 0.4:
        return fallback(data, max_size)
    slots = _slots(value)
    if not slots:
        return fallback(data, max_size)
    parent, key = rng.choice(slots)
    old = parent[key]
    if isinstance(old, str) and rng.random() < 0.5:
        mutated = fallback(old.encode("utf-8", "surrogatepass"), 256)
        # invalid bytes become lone surrogates (escaped or raw in the body) or U+FFFD
        parent[key] = mutated.decode("utf-8", rng.choice(["surrogateescape", "replace"]))
    else:
        parent[key] = rng.choice(HOSTILE)
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    body = text.encode("utf-8", "surrogatepass")
    out = write(
        Request(
            request.endpoint,
            request.content_type,
            request.key_mode,
            request.raw_delivery,
            request.delivery_id,
            body,
        )
    )
    return out[:max_size]


def _slots(value: Any) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.extend((item, k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            out.extend((item, i) for i in range(len(item)))
            stack.extend(item)
    return out


async def call(app: Any, request: Request, *, key: str) -> tuple[int, bytes]:
    """One request through the ASGI app in this process: status and body. An exception the
    app lets out (Starlette answers 500 and re-raises it) propagates."""
    headers = [(b"host", b"fuzz")]
    if request.content_type:
        headers.append((b"content-type", request.content_type.encode("latin-1")))
    if request.raw_delivery:
        headers.append((b"x-amz-sns-rawdelivery", b"true"))
    if request.delivery_id is not None:
        name = b"x-delivery-id" if request.endpoint != 4 else b"x-amz-sns-message-id"
        headers.append((name, request.delivery_id.encode("latin-1")))
    query = b""
    body = request.body
    if request.key_mode == KEY_HEADER:
        headers.append((b"x-api-key", key.encode()))
    elif request.key_mode == KEY_BEARER:
        headers.append((b"authorization", b"Bearer " + key.encode()))
    elif request.key_mode == KEY_QUERY:
        query = b"api_key=" + key.encode()
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the body was read: what follows is the client going away
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def check_answer(status: int, body: bytes) -> None:
    """What the shim may answer to anything: never a 5xx but the 503 senders retry, never
    a 422 that says the API server refused what the shim accepted, problem+json errors."""
    if status >= 500 and status != 503:
        raise AssertionError(f"answered {status}: {body[:500]!r}")
    if status == 422 and b"already used for another body" not in body:
        raise AssertionError(f"the API server refused an accepted alert: {body[:500]!r}")
    if status == 0:
        raise AssertionError("no answer")


def run_atheris(
    target: str,
    *,
    seconds: int,
    tmp: Path,
    env: dict[str, str] | None = None,
    replay: Callable[[bytes], None] | None = None,
) -> str:
    """Fuzz `target` for `seconds` in a process of its own, from the seeds and every kept
    regression; fail with the input and how to keep it when something breaks. The output
    (libFuzzer's statistics) is returned."""
    done, found = _fuzz(target, seconds=seconds, tmp=tmp / "try-1", env=env)
    if (done.returncode != 0 or found) and replay is not None and _exited(done.stderr, found):
        # libFuzzer saw the process exit with no Python exception in the target. Seen only
        # in the full suite, cause unknown (docs/webhook.md, "Fuzzing"): if the input it
        # blames passes through the same app in the test's process, it is not the input;
        # fuzz once more, and fail if that fails too.
        replay(found[0].read_bytes())
        (tmp / "first-try.log").write_text(done.stderr[-6000:])
        done, found = _fuzz(target, seconds=seconds, tmp=tmp / "try-2", env=env)
        if (done.returncode != 0 or found) and _exited(done.stderr, found):
            replay(found[0].read_bytes())  # a real failure of the input fails here
            raise FuzzerExitedError(
                f"the {target} fuzzer's process exited twice with no Python exception "
                f"(exit {done.returncode}), and both inputs libFuzzer blamed pass through the "
                "same app in the test's process (docs/webhook.md, Fuzzing)\n"
                + _witness(done.stderr)
                + done.stderr[-1500:]
            )
    if done.returncode != 0 or found:
        kept = REGRESSIONS / target
        raise AssertionError(
            f"the {target} fuzzer failed (exit {done.returncode}); keep the input as a "
            f"regression case: cp {' '.join(map(str, found)) or '<artifact>'} {kept}/\n"
            + _exception(done.stderr)
            + done.stderr[-3000:]
        )
    return done.stderr


class FuzzerExitedError(AssertionError):
    """libFuzzer saw the fuzzing process exit (no Python exception) on both tries, and the
    inputs it blamed replay clean: not a finding about the inputs; the cause is unknown."""


def _exited(stderr: str, found: list[Path]) -> bool:
    """libFuzzer's "fuzz target exited" with an input, and no Python exception."""
    return (
        "libFuzzer: fuzz target exited" in stderr
        and "Uncaught Python exception" not in stderr
        and len(found) == 1
    )


def _fuzz(
    target: str, *, seconds: int, tmp: Path, env: dict[str, str] | None
) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
    """One libFuzzer run of `target`: its process, and the inputs it kept as failures."""
    tmp.mkdir(parents=True)
    corpus = tmp / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    for kept in sorted((REGRESSIONS / target).glob("*")):
        (corpus / f"kept-{kept.name}").write_bytes(kept.read_bytes())
    artifacts = tmp / "artifacts"
    artifacts.mkdir()
    command = [
        sys.executable,
        str(Path(__file__).with_name("fuzz_main.py")),
        target,
        f"-max_total_time={seconds}",
        # libFuzzer's per-input timeout is a periodic SIGALRM, which kills the process when a
        # thread other than its own takes it (the request path has asyncio's worker threads);
        # the subprocess timeout below bounds a hang there instead.
        f"-timeout={10 if target == 'parsers' else 0}",
        "-rss_limit_mb=2048",
        "-max_len=8192",
        f"-dict={DICTIONARY}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
    ]
    witness = _exit_witness(tmp) if target == "requests" else None
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=seconds + 120,
        env={
            **os.environ,
            "PYTHONSAFEPATH": "1",
            **({"LD_PRELOAD": str(witness)} if witness else {}),
            **(env or {}),
        },
        check=False,
    )
    return done, sorted(artifacts.iterdir())


def _exit_witness(tmp: Path) -> Path | None:
    """exitwitness.c built into `tmp` (None without a C compiler: the fuzzer runs without
    it). Preloaded, it prints the native stack of whoever calls exit()."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    out = tmp / "exitwitness.so"
    source = Path(__file__).with_name("exitwitness.c")
    built = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(out), str(source), "-ldl"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out if built.returncode == 0 else None


def _witness(stderr: str) -> str:
    """Who ended the process: the last native stack of an exit() call (exitwitness.c),
    and what fuzz_main.py printed as Python ended (a SystemExit or KeyboardInterrupt in
    the target, every thread's stack)."""
    parts = []
    native = stderr.rfind("=== exit witness ===")
    if native >= 0:
        parts.append(stderr[native : native + 3000])
    python = stderr.find("=== fuzz_main exit ===")
    if python >= 0:
        parts.append(stderr[python : python + 3000])
    return "\n...\n".join(parts) + "\n...\n" if parts else "(no exit witness)\n"


def _exception(stderr: str) -> str:
    """The Python exception atheris reports, first (the input's dump after it is long, and a
    CI log keeps only so much)."""
    start = stderr.find("=== Uncaught Python exception: ===")
    return stderr[start : start + 3000] + "\n...\n" if start >= 0 else ""


def runs(stats: str) -> int:
    """How many inputs libFuzzer ran, from its closing line ("Done 1871 runs in 9 s")."""
    found = re.search(r"^Done (\d+) runs", stats, re.MULTILINE)
    return int(found.group(1)) if found else 0
