"""`kubectl whisper` is found by the real kubectl as a plugin and talks to the real cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cluster import Cluster, kubectl_path

PLUGIN = shutil.which("kubectl-whisper") or str(Path(sys.executable).parent / "kubectl-whisper")


def _run(*args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(PLUGIN).parent}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(kubeconfig),
    }
    return subprocess.run(
        [kubectl_path(), *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def test_kubectl_finds_the_plugin_and_whoami_names_the_user(cluster: Cluster) -> None:
    result = _run("whisper", "whoami", "-o", "json", kubeconfig=cluster.identity("technician"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["username"] == "sam@northwind-msp.example"


def test_version_reports_the_server(cluster: Cluster) -> None:
    result = _run("whisper", "version", kubeconfig=cluster.kubeconfig)
    assert result.returncode == 0, result.stderr
    assert "SERVER" in result.stdout and "v1." in result.stdout


def test_unreachable_server_is_exit_1_on_stderr(tmp_path: Path, cluster: Cluster) -> None:
    text = cluster.kubeconfig.read_text()
    import re

    dead = re.sub(r"server: \"?https://127\.0\.0\.1:\d+\"?", "server: https://127.0.0.1:1", text)
    path = tmp_path / "dead"
    path.write_text(dead)
    result = subprocess.run(
        [PLUGIN, "--kubeconfig", str(path), "whoami"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "did not answer" in result.stderr


@pytest.mark.parametrize("args", [["whoami", "-o", "xml"], ["frobnicate"], []])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = subprocess.run([PLUGIN, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr
