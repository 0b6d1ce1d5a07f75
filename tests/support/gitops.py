"""Local config repos and a GitSource following one, for the git syncer's tests."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from support.cluster import wait_for
from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient

API = "alertwhisperer.io/v1alpha1"


@dataclass
class Repo:
    """A local config repo, committed to with plain git."""

    path: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, name: str, docs: list[dict[str, Any]] | str) -> None:
        file = self.path / "config" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(docs if isinstance(docs, str) else yaml.safe_dump_all(docs))

    def remove(self, name: str) -> None:
        (self.path / "config" / name).unlink()

    def commit(self, message: str, *, signing_key: Path | None = None) -> str:
        """Commit everything; with `signing_key`, SSH-sign the commit."""
        self.git("add", "-A")
        config = ["-c", "user.name=t", "-c", "user.email=t@example"]
        sign: list[str] = []
        if signing_key:
            config += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}"]
            sign = ["-S"]
        self.git(*config, "commit", "-q", "--allow-empty", *sign, "-m", message)
        return self.git("rev-parse", "HEAD")


@dataclass
class World:
    """A repo, names unique to the test, and a GitSource following the repo."""

    repo: Repo
    ns: str
    s: str  # suffix for cluster-scoped names
    admin: KubeClient

    def docs(self, *, display: str = "Test Co", policy: str | None = None) -> list[dict]:
        policy = policy or f"p-{self.s}"
        return [
            {
                "apiVersion": API,
                "kind": "SLAPolicy",
                "metadata": {"name": f"p-{self.s}"},
                "spec": {
                    "targets": [
                        {"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 60}
                    ],
                    "coverage": {"type": "24x7"},
                },
            },
            {
                "apiVersion": API,
                "kind": "Company",
                "metadata": {"name": f"c-{self.s}"},
                "spec": {"displayName": display, "slaPolicyRef": {"name": policy}},
            },
            {
                "apiVersion": API,
                "kind": "Technician",
                "metadata": {"name": f"t-{self.s}"},
                "spec": {
                    "username": f"t-{self.s}@msp.example",
                    "displayName": "T",
                    "email": "t@msp.example",
                    "companies": [f"c-{self.s}"],
                },
            },
        ]

    def rule(self) -> dict[str, Any]:
        return {
            "apiVersion": API,
            "kind": "RoutingRule",
            "metadata": {"name": f"r-{self.s}"},
            "spec": {"order": 5, "preferredTechnicians": [f"t-{self.s}"]},
        }

    def source(self) -> dict[str, Any]:
        return self.admin.get("gitsources", "config", self.ns)

    def request_sync(self) -> str:
        token = uuid.uuid4().hex
        client.CustomObjectsApi(self.admin.api_client).patch_namespaced_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            self.ns,
            "gitsources",
            "config",
            {"metadata": {"annotations": {"alertwhisperer.io/reconcile-requested-at": token}}},
        )
        wait_for(
            lambda: self.source().get("status", {}).get("lastHandledRequest") == token,
            timeout=30,
            what="the requested sync",
        )
        return token

    def ready(self) -> dict[str, Any]:
        conds = self.source().get("status", {}).get("conditions", [])
        return next((c for c in conds if c["type"] == "Ready"), {})

    def exists(self, plural: str, name: str, namespace: str | None = None) -> bool:
        try:
            self.admin.get(plural, name, namespace)
        except NotFoundError:
            return False
        return True


def start(w: World, *, url: str | None = None, **spec: Any) -> None:
    w.admin.create(
        "gitsources",
        {
            "apiVersion": API,
            "kind": "GitSource",
            "metadata": {"name": "config", "namespace": w.ns},
            "spec": {
                "url": url or f"file://{w.repo.path}",
                "ref": {"branch": "main"},
                "path": "./config",
                "interval": "10m",
                **spec,
            },
        },
        w.ns,
    )


def synced(w: World, revision: str) -> dict[str, Any]:
    return wait_for(
        lambda: (s := w.source().get("status", {})).get("lastAppliedRevision") == revision and s,
        timeout=30,
        what=f"revision {revision[:8]} applied",
    )


def failed(w: World, reason: str) -> dict[str, Any]:
    return wait_for(
        lambda: (c := w.ready()).get("reason") == reason and c,
        timeout=30,
        what=f"Ready=False {reason}",
    )
