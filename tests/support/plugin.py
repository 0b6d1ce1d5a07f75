"""Run the installed `kubectl-whisper` plugin as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
