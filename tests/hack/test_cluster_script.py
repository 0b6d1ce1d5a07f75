"""hack/cluster: the verbs other scripts rely on, and recovery from a crashed cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from support.cluster import REPO, Cluster, kubectl, wait_for

CLUSTER = str(REPO / "hack" / "cluster")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLUSTER, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_env_and_status_describe_the_running_cluster(cluster: Cluster) -> None:
    if os.environ.get("WHISPERER_USE_EXISTING_CLUSTER"):
        pytest.skip("an existing cluster is not ours to describe")
    env = _run("env")
    assert env.returncode == 0, env.stderr
    assert f"export KUBECONFIG={cluster.kubeconfig}" in env.stdout
    assert "export WHISPERER_KUBECONFIG_DIR=" in env.stdout
    status = _run("status")
    assert status.returncode == 0, status.stderr


@pytest.mark.skipif(
    bool(os.environ.get("WHISPERER_USE_EXISTING_CLUSTER")),
    reason="starts a second local control plane",
)
def test_up_after_a_crash_starts_fresh_and_down_cleans_up(tmp_path: Path, cluster: Cluster) -> None:
    """kill -9 of every component (a crashed run) does not break the next `up`."""
    state = {"WHISPERER_STATE_DIR": str(tmp_path / "state")}
    first = _run("up", env=state)
    assert first.returncode == 0, first.stderr
    record = json.loads((tmp_path / "state" / "cluster.json").read_text())
    pids = list(record["pids"].values())
    assert len(pids) == 3
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: _run("status", env=state).returncode == 3,
        timeout=20,
        what="status to report the crashed cluster as down",
    )

    second = _run("up", env=state)
    try:
        assert second.returncode == 0, second.stderr
        kubeconfig = Path(second.stdout.split("export KUBECONFIG=")[1].split()[0])
        assert kubectl("get", "ns", "default", kubeconfig=kubeconfig).returncode == 0
        # The CRDs were installed on the fresh cluster too.
        crds = kubectl("get", "crd", "-o", "name", kubeconfig=kubeconfig).stdout
        assert crds.count(".alertwhisperer.io") == len(list((REPO / "crds").glob("*.yaml")))
    except BaseException:
        _run("down", env=state)  # a failed check must not leave a control plane running
        raise

    down = _run("down", env=state)
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "state").exists()
    for pid in json.loads(json.dumps(record))["pids"].values():
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_binaries_report_the_pinned_version(cluster: Cluster) -> None:
    """The build stamps the version with ldflags: kubectl and the API server both say it."""
    pinned = (REPO / "hack" / "kube-version").read_text().strip()
    out = json.loads(kubectl("version", "-o", "json", kubeconfig=cluster.kubeconfig).stdout)
    if not os.environ.get("WHISPERER_USE_EXISTING_CLUSTER"):
        assert out["clientVersion"]["gitVersion"] == pinned
        assert out["serverVersion"]["gitVersion"] == pinned
    assert out["serverVersion"]["major"] == "1"


def test_up_on_a_running_cluster_renews_the_service_account_tokens(cluster: Cluster) -> None:
    """The operator and webhook kubeconfigs are TokenRequest tokens of their ServiceAccounts;
    each `up` mints fresh ones (a week long), and the earlier ones keep working meanwhile."""
    if os.environ.get("WHISPERER_USE_EXISTING_CLUSTER") or cluster.kubeconfig_dir is None:
        pytest.skip("an existing cluster's identities are not ours to renew")
    operator = cluster.identity("operator")
    before = operator.read_text()
    again = _run("up")
    assert again.returncode == 0, again.stderr
    assert "minted ServiceAccount tokens" in again.stderr
    after = operator.read_text()
    assert after != before
    old = operator.with_name("operator-before")
    old.write_text(before)
    try:
        for kubeconfig in (operator, old):
            who = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                          kubeconfig=kubeconfig).stdout  # fmt: skip
            assert who == "system:serviceaccount:alert-whisperer:alert-whisperer-operator"
    finally:
        old.unlink()
