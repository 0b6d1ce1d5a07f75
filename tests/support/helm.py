"""Run the Helm that hack/build-helm builds (through hack/helm) and read what it renders."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from support.cluster import REPO

CHART = REPO / "charts" / "alert-whisperer"
FULL_VALUES = CHART / "ci" / "full-values.yaml"
RELEASE = NAMESPACE = "alert-whisperer"


def helm(
    *args: str, kubeconfig: Path | None = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """hack/helm ARGS (building Helm first if needed); with check, fail with Helm's stderr."""
    cmd = [str(REPO / "hack" / "helm"), *args]
    if kubeconfig is not None:
        cmd += ["--kubeconfig", str(kubeconfig)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def template(*args: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """`helm template` of the chart as the release alert-whisperer, parsed."""
    out = helm("template", RELEASE, str(CHART), "--namespace", namespace, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def template_sources(*args: str) -> dict[str, list[dict[str, Any]]]:
    """Rendered objects by the template file that produced them."""
    out = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args).stdout
    by_source: dict[str, list[dict[str, Any]]] = {}
    for chunk in out.split("\n---\n"):
        source = next(
            (line.split("templates/", 1)[1] for line in chunk.splitlines() if "# Source:" in line),
            None,
        )
        docs = [d for d in yaml.safe_load_all(chunk) if d]
        if source and docs:
            by_source.setdefault(source, []).extend(docs)
    return by_source
