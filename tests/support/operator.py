"""Run the real operator under kopf.testing.KopfRunner, as the operator's own user, on the
wall clock or on a test's clock; and see what it did (its runtime's marks)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from kopf.testing import KopfRunner

from whisperer.operator import runner
from whisperer.operator.clock import Clock
from whisperer.operator.runtime import Runtime


@contextlib.contextmanager
def run_operator(kubeconfig: Path, *, clock: Clock | None = None) -> Iterator[KopfRunner]:
    """whisperer.operator.runner in a thread, logged in with `kubeconfig` (on `clock` when
    given); waits until it is active, checks on exit that it stopped cleanly."""
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    args = ["run", "--all-namespaces", "--standalone", "-m", "whisperer.operator.runner"]
    hold = runner.clock_for_tests(clock) if clock is not None else contextlib.nullcontext()
    try:
        with hold, KopfRunner(args, timeout=60) as kopf:
            active(timeout=60)
            yield kopf
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
    assert kopf.exception is None, kopf.output
    assert kopf.exit_code == 0, kopf.output


@contextlib.contextmanager
def operator_process(
    kubeconfig: Path,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """`whisperer-operator` as its own process (so a test can kill -9 it), logged in with
    `kubeconfig`, its output appended to `log`; terminated (then killed) on exit."""
    environ = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONSAFEPATH": "1", **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("whisperer-operator")), *args],
            env=environ,
            stdout=out,
            stderr=out,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


ACTIVE_LINE = "whisperer.operator.handlers.activation: active:"
"""What the operator logs once its memory is rebuilt and its watches run."""


def activations(log: Path) -> int:
    """How often an operator writing to `log` has become active so far."""
    return log.read_text(errors="replace").count(ACTIVE_LINE) if log.exists() else 0


def process_active(
    proc: subprocess.Popen[bytes], log: Path, *, seen: int, timeout: float = 120
) -> None:
    """Wait until the operator process `proc` logs its activation (the log held `seen`
    activations before it started); fail at once, with the log's tail, if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if activations(log) > seen:
            return
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"the operator exited ({proc.returncode}) before it was active:\n{tail}"
            )
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:]
    raise AssertionError(f"the operator was not active within {timeout}s:\n{tail}")


def active(timeout: float = 60) -> Runtime:
    """The operator running in this process, once its memory is rebuilt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runner.current()
        if found is not None and "activated" in found.marks:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the operator did not become active within {timeout}s")


def ran_since(name: str, since: datetime, timeout: float = 30) -> datetime:
    """Wait until the operator's periodic work `name` (a mark: auto_resolve, prune_alerts,
    technicians, ...) has run at or after `since` on its clock; the time it ran. A test
    that asserts that nothing happened calls this first, so it knows the work ran."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runner.current()
        mark = found.marks.get(name) if found is not None else None
        if mark is not None and mark >= since:
            return mark  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{name} did not run after {since} within {timeout}s")


def evaluated(timeout: float = 30) -> datetime:
    """Make the operator's auto-resolution look at its incidents now (as a change of memory
    would) and wait until it has: what it did not resolve then, it would not resolve."""
    found = active()
    since = found.clock.now()
    found.correlation.on_change()
    return ran_since("auto_resolve", since, timeout)
