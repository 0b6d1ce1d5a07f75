"""Bring up (or reuse) the local control plane and talk to it as its seven identities."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]
IDENTITIES = (
    "admin",
    "operator",
    "msp-admin",
    "company-admin",
    "technician",
    "company-viewer",
    "outsider",
    "webhook",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    """Where the cluster is and how to reach it."""

    kubeconfig: Path
    kubeconfig_dir: Path | None
    audit_log: Path | None = None
    """The API server's audit log (hack/cluster's; unknown on an existing cluster)."""

    def identity(self, name: str) -> Path:
        """The kubeconfig of one of the seven identities."""
        if self.kubeconfig_dir is None:
            raise LookupError("WHISPERER_KUBECONFIG_DIR is not set: identities are unknown")
        return self.kubeconfig_dir / name


def _parse_exports(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def bring_up() -> Cluster:
    """`hack/cluster up` (which reuses a running one, or hands back an existing cluster)."""
    result = subprocess.run(
        [str(REPO / "hack" / "cluster"), "up"],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"hack/cluster up failed ({result.returncode}):\n{result.stderr}")
    env = _parse_exports(result.stdout)
    kdir = env.get("WHISPERER_KUBECONFIG_DIR") or os.environ.get("WHISPERER_KUBECONFIG_DIR")
    audit = env.get("WHISPERER_AUDIT_LOG")
    return Cluster(
        Path(env["KUBECONFIG"]), Path(kdir) if kdir else None, Path(audit) if audit else None
    )


def kubectl_path() -> str:
    """The kubectl built by hack/ (or the one on PATH with an existing cluster)."""
    version = os.environ.get("WHISPERER_KUBE_VERSION") or (
        (REPO / "hack" / "kube-version").read_text().strip()
    )
    cache = Path(
        os.environ.get("WHISPERER_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "alert-whisperer"
    )
    built = cache / f"k8s-{version}" / "bin" / "kubectl"
    return str(built) if built.exists() else "kubectl"


def kubectl(
    *args: str, kubeconfig: Path, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run kubectl; with check, fail the test with kubectl's own stderr."""
    result = subprocess.run(
        [kubectl_path(), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.25, what: str = ""
) -> T:
    """Poll until probe returns something truthy; fail with what we waited for."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}; last: {last!r}")


def load_documents(*paths: Path) -> list[dict[str, Any]]:
    """Every YAML document under the given files or folders."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            docs.extend(d for d in yaml.safe_load_all(file.read_text()) if d)
    return docs
