"""The API server and operator plumbing of bench/correlation/e2e.py: the cluster, writes,
watches, the API server's request counters, and the operator in its own process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes import client

from whisperer.operator.kube import KubeClient
from whisperer.operator.kube.aio import AsyncKube
from whisperer.operator.kube.client import Connection
from whisperer.operator.models.v1alpha1 import GROUP, VERSION

REPO = Path(__file__).resolve().parents[2]
REQUEST = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$", re.MULTILINE)
REJECTED = re.compile(
    r"^apiserver_flowcontrol_rejected_requests_total\{([^}]*)\} (\S+)$", re.MULTILINE
)
LABEL = re.compile(r'(\w+)="([^"]*)"')
OURS = {"alerts", "incidents", "events"}  # what the operator touches per alert


# -- talking to the API server -------------------------------------------------------------


def session(conn: Connection) -> aiohttp.ClientSession:
    """A session with the kubeconfig's credentials (for watches, metrics, deletecollection)."""
    ctx: ssl.SSLContext | bool = False
    if not conn.insecure:
        ctx = ssl.create_default_context(cafile=conn.ca_path)
        if conn.certificate_path and conn.private_key_path:
            ctx.load_cert_chain(conn.certificate_path, conn.private_key_path)
    headers = {"Accept": "application/json"}
    if conn.token:
        headers["Authorization"] = f"{conn.scheme or 'Bearer'} {conn.token}"
    return aiohttp.ClientSession(
        base_url=conn.server.rstrip("/") + "/",
        connector=aiohttp.TCPConnector(ssl=ctx),
        headers=headers,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


STATUS_IN_FLIGHT = 64
"""Status writes in flight at once in the create-and-status baseline."""


async def write(
    kubeconfig: str,
    bodies: list[dict[str, Any]],
    writers: int,
    *,
    rate: float | None = None,
    status: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Create the Alerts in order with `writers` concurrent clients (as fast as they go, or
    the i-th at `i / rate` seconds); the rate, latencies and errors, and when each create
    was answered (perf_counter). With `status`, each created Alert also gets that status
    written at once, up to STATUS_IN_FLIGHT at a time beside the creates (the least any
    operator writes per alert), and the rate counts until the last of them is stored."""
    kube = AsyncKube.from_kubeconfig(kubeconfig, pool=writers + (STATUS_IN_FLIGHT if status else 0))
    pending = iter(enumerate(bodies))
    done: dict[str, float] = {}
    latencies: list[float] = []
    errors = 0
    begin = time.perf_counter()
    slots = asyncio.Semaphore(STATUS_IN_FLIGHT)
    patches: set[asyncio.Task[None]] = set()

    async def patch(name: str, namespace: str) -> None:
        nonlocal errors
        try:
            await kube.patch_status("alerts", name, {"status": status}, namespace)
        except Exception as exc:
            errors += 1
            if errors <= 3:
                print(f"status write failed: {exc}", file=sys.stderr)
        finally:
            slots.release()

    async def writer() -> None:
        nonlocal errors
        for index, body in pending:
            if rate is not None:
                await asyncio.sleep(max(0.0, begin + index / rate - time.perf_counter()))
            started = time.perf_counter()
            try:
                await kube.create("alerts", body, body["metadata"]["namespace"])
            except Exception as exc:  # counted, and the first few shown
                errors += 1
                if errors <= 3:
                    print(f"create failed: {exc}", file=sys.stderr)
                continue
            done[body["metadata"]["name"]] = time.perf_counter()
            latencies.append(done[body["metadata"]["name"]] - started)
            if status is not None:
                await slots.acquire()
                task = asyncio.create_task(
                    patch(body["metadata"]["name"], body["metadata"]["namespace"])
                )
                patches.add(task)
                task.add_done_callback(patches.discard)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    if patches:
        await asyncio.gather(*patches)
    elapsed = time.perf_counter() - started
    await kube.close()
    return {
        "alerts": len(bodies),
        "seconds": elapsed,
        "rate": len(bodies) / elapsed,
        "p50_ms": pct(latencies, 0.5) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "errors": errors,
    }, done


async def metrics(http: aiohttp.ClientSession) -> str:
    """The API server's /metrics (the admin may read them)."""
    async with http.get("metrics") as response:
        response.raise_for_status()
        return await response.text()


def requests(text: str) -> Counter[tuple[str, str, str]]:
    """apiserver_request_total by (verb, resource[/subresource], code)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for labels, value in REQUEST.findall(text):
        found = dict(LABEL.findall(labels))
        resource = found.get("resource", "")
        if found.get("subresource"):
            resource += "/" + found["subresource"]
        counts[(found.get("verb", ""), resource, found.get("code", ""))] += int(float(value))
    return counts


def rejected(text: str) -> Counter[str]:
    """Requests API Priority and Fairness turned away (429), by priority level, flow
    schema and reason."""
    counts: Counter[str] = Counter()
    for labels, value in REJECTED.findall(text):
        found = dict(LABEL.findall(labels))
        key = "/".join(found.get(k, "") for k in ("priority_level", "flow_schema", "reason"))
        counts[key] += int(float(value))
    return counts


def ours(counts: Counter[tuple[str, str, str]]) -> int:
    return sum(n for (_, resource, _), n in counts.items() if resource.split("/")[0] in OURS)


async def quiet(http: aiohttp.ClientSession, *, limit: float = 20.0) -> None:
    """Wait until nobody touches alerts, incidents or events for a second (or `limit`)."""
    deadline = time.monotonic() + limit
    last = ours(requests(await metrics(http)))
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now = ours(requests(await metrics(http)))
        if now == last:
            return
        last = now


@dataclass
class Watched:
    """What the watches saw, timed with perf_counter."""

    placed: dict[str, float] = field(default_factory=dict)  # alert -> when it was placed
    incidents: dict[str, float] = field(default_factory=dict)  # incident -> when it appeared
    errors: list[str] = field(default_factory=list)


async def watch(
    http: aiohttp.ClientSession,
    plural: str,
    version: str,
    seen: Callable[[str, dict[str, Any]], None],
    errors: list[str],
) -> None:
    """Every change of a kind cluster-wide from `version` on, to `seen(type, object)`."""
    params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": "1800"}
    path = f"apis/{GROUP}/{VERSION}/{plural}"
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with http.get(path, params=params, timeout=timeout) as response:
        response.raise_for_status()
        buffer = b""
        async for chunk in response.content.iter_any():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event["type"] == "ERROR":
                    errors.append(f"watch {plural}: {event['object'].get('message')}")
                    return
                seen(event["type"], event["object"])


async def resource_version(http: aiohttp.ClientSession, plural: str) -> str:
    async with http.get(f"apis/{GROUP}/{VERSION}/{plural}", params={"limit": "1"}) as response:
        response.raise_for_status()
        return str((await response.json())["metadata"]["resourceVersion"])


# -- the operator --------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes], *, within: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not ended `within` seconds later."""
    proc.terminate()
    try:
        proc.wait(within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def start_operator(kubeconfig: str, log: Path) -> subprocess.Popen[bytes]:
    """`whisperer-operator` in its own process, as the given identity."""
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "PYTHONSAFEPATH": "1",
        "WHISPERER_AI_PROVIDER": "off",
    }
    code = "import sys; from whisperer.operator.runner import main; sys.exit(main())"
    if os.environ.get("WHISPERER_E2E_PROFILE"):  # a cProfile of the operator, for digging
        code = (
            "import cProfile, os; from whisperer.operator.runner import main; "
            "cProfile.run('main()', os.environ['WHISPERER_E2E_PROFILE'])"
        )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )


def control_plane_pids() -> dict[str, int]:
    """The local control plane's processes (kube-apiserver, etcd), from hack/cluster's
    record; empty with a cluster of one's own."""
    state = Path(
        os.environ.get("WHISPERER_STATE_DIR")
        or Path(os.environ.get("WHISPERER_CACHE_DIR") or Path.home() / ".cache" / "alert-whisperer")
        / "cluster"
    )
    try:
        record = json.loads((state / "cluster.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in record.get("pids", {}).items() if k in ("kube-apiserver", "etcd")}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (WARNING|ERROR|CRITICAL)\s+(.*)$")
"""A warning or worse in the operator's text log (`HH:MM:SS LEVEL   logger: message`, the
runner's format)."""


def log_summary(log: Path) -> dict[str, Any]:
    """Warnings, errors and tracebacks the operator logged, with the commonest messages
    (namespaces, object names and the server's address left out)."""
    levels: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        found = LOG_LINE.match(line)
        if found:
            level, rest = found.groups()
            levels[level] += 1
            message = re.sub(r"https?://[^/\s]+/apis/[^/]+/[^/]+/", "", rest.partition(": ")[2])
            message = re.sub(r"namespaces/[^/\s]+/", "", message)
            messages[re.sub(r"\b(inc|al)-[0-9a-f]{16,}", r"\1-*", message)[:140]] += 1
        elif line.startswith("Traceback"):
            levels["traceback"] += 1
    return {"levels": dict(levels), "top": messages.most_common(5)}


def cluster_up() -> tuple[str, str]:
    """`hack/cluster up`: the admin's and the operator's kubeconfigs."""
    admin, found = cluster_identities("operator")
    return admin, found["operator"]


def cluster_identities(*names: str) -> tuple[str, dict[str, str]]:
    """`hack/cluster up`: the admin's kubeconfig and those of the named identities
    (`operator`, `webhook`; the admin's where the cluster has no identities)."""
    result = subprocess.run(
        [str(REPO / "hack" / "cluster"), "up"],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise SystemExit(f"hack/cluster up failed:\n{result.stderr}")
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in result.stdout.splitlines()
        if line.startswith("export ")
    )
    admin = env["KUBECONFIG"].strip("'")
    kdir = env.get("WHISPERER_KUBECONFIG_DIR", "").strip("'")
    found = {}
    for name in names:
        path = Path(kdir) / name if kdir else Path(admin)
        found[name] = str(path if path.exists() else admin)
    return admin, found


def kubectl(admin: str, *args: str) -> None:
    """kubectl as the admin: the one hack/ built, or the one on PATH for an existing cluster."""
    if os.environ.get("WHISPERER_USE_EXISTING_CLUSTER") == "1":
        command = ["kubectl", "--kubeconfig", admin, *args]
    else:
        command = [str(REPO / "hack" / "cluster"), "kubectl", *args]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def namespace_gone(kube: KubeClient, name: str) -> bool:
    """Whether a namespace is gone (not merely being deleted)."""
    try:
        client.CoreV1Api(kube.api_client).read_namespace(name)
    except client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def wait_for(probe: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)
