"""Run the real operator under kopf.testing.KopfRunner, as the operator's own user."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from kopf.testing import KopfRunner


@contextlib.contextmanager
def run_operator(kubeconfig: Path) -> Iterator[KopfRunner]:
    """whisperer.operator.runner in a thread, logged in with `kubeconfig`; checked on exit."""
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    args = ["run", "--all-namespaces", "--standalone", "-m", "whisperer.operator.runner"]
    try:
        with KopfRunner(args, timeout=60) as runner:
            yield runner
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
