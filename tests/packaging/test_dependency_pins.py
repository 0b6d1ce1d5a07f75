"""The installed dependencies are the ones docs/decisions.md chose: one consistent set (pip
check), the Kubernetes client of the control plane's minor version, and botocore's
python-dateutil (below 3), which is why the Kubernetes client stops before 37."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from support.cluster import REPO


def test_the_installed_dependencies_are_consistent() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_kubernetes_client_matches_the_control_plane_and_botocore() -> None:
    control_plane_minor = int((REPO / "hack" / "kube-version").read_text().strip().split(".")[1])
    client_major = int(version("kubernetes").split(".")[0])
    assert client_major == control_plane_minor  # client 36.x speaks the 1.36 API
    assert int(version("python-dateutil").split(".")[0]) < 3  # botocore requires <3
    assert int(version("botocore").split(".")[0]) == 1
