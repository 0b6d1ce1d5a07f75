"""Run the installed `kubectl-whisper` plugin as a user would: through the real kubectl
(which finds it on PATH), as one of hack/cluster's identities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.cluster import kubectl_path

PLUGIN = str(Path(sys.executable).parent / "kubectl-whisper")


def diff(folder: Path, kubeconfig: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PLUGIN, "--kubeconfig", str(kubeconfig), "diff", str(folder), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONSAFEPATH": "1"},
    )


def env_for(kubeconfig: Path, **extra: str) -> dict[str, str]:
    """The environment a user's shell has: the plugin on PATH, their kubeconfig."""
    env = {
        **os.environ,
        "PATH": f"{Path(PLUGIN).parent}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(kubeconfig),
        "PYTHONSAFEPATH": "1",
        **extra,
    }
    env.pop("WHISPERER_TECHNICIAN", None)
    env.update(extra)
    return env


def whisper(kubeconfig: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`kubectl whisper ARGS` as the user of `kubeconfig`."""
    return subprocess.run(
        [kubectl_path(), "whisper", *args],
        capture_output=True,
        text=True,
        env=env_for(kubeconfig, **env),
        check=False,
        timeout=120,
    )


def ok(kubeconfig: Path, *args: str, **env: str) -> str:
    """stdout of a command that must succeed (the test fails with its stderr otherwise)."""
    result = whisper(kubeconfig, *args, **env)
    assert result.returncode == 0, f"kubectl whisper {' '.join(args)}: {result.stderr}"
    return result.stdout


def as_json(kubeconfig: Path, *args: str, **env: str) -> Any:
    return json.loads(ok(kubeconfig, *args, "-o", "json", **env))


def refused(kubeconfig: Path, *args: str) -> str:
    """The one stderr line of a command the API server must refuse (exit 1, no stdout)."""
    result = whisper(kubeconfig, *args)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]
