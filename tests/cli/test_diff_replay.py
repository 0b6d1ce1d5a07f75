"""`kubectl whisper diff` replays alerts with the current and the proposed config: a
routing change names the incidents it would move (and only those), and the replay of the
current config agrees with what the running operator decided."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from support.alerts import alert, incident_of, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.operator import run_operator
from support.plugin import diff
from support.routing import routing_config

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import Alert
from whisperer.operator.services.replay import CONFIG_KINDS, Config, replay


def test_a_routing_change_names_the_incidents_it_would_move(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    with routing_config(admin) as names:
        check_diff(cluster, admin, tmp_path, names)


def check_diff(cluster: Cluster, admin: KubeClient, tmp_path: Path, names: dict[str, str]) -> None:
    with run_operator(operator_kubeconfig(cluster)):
        company = names["company"]
        ns = f"company-{company}"
        wait_namespace(admin, company)
        disk = "NodeFilesystemAlmostOutOfSpace"
        first = incident_of(
            admin, company, alert(admin, company, asset="db01", raw=disk, source="alertmanager")
        )
        wait_for(
            lambda: admin.get("incidents", first, ns).get("status", {}).get("assignee"),
            what="the first incident assigned",
        )
        second = incident_of(
            admin,
            company,
            alert(admin, company, asset="db02", raw=disk, source="alertmanager", minutes=5),
        )
        operator_said = {
            name: wait_for(
                lambda n=name: admin.get("incidents", n, ns).get("status", {}).get("assignee"),
                what=f"{name} assigned",
            )
            for name in (first, second)
        }
    # Ana takes one incident at most: the second went to Bo.
    assert operator_said == {first: names["ana"], second: names["bo"]}

    # The replay of the current config decides as the operator did.
    alerts = [Alert.from_body({"kind": "Alert", **a}) for a in admin.list("alerts", ns)]
    current = Config.from_bodies(
        {"kind": kind, **body}
        for kind, plural in (
            ("Company", "companies"),
            ("SLAPolicy", "slapolicies"),
            ("RoutingRule", "routingrules"),
            ("Technician", "technicians"),
            ("Runbook", "runbooks"),
            ("Silence", "silences"),
        )
        if kind in CONFIG_KINDS
        for body in admin.list(plural)
    )
    replayed = replay(alerts, current)
    assert {i.id: i.assignee for i in replayed.incidents.values()} == {
        f"{ns}/{n}": who for n, who in operator_said.items()
    }

    # The proposed commit (the whole config, as in git) prefers Bo: only the first moves.
    def as_in_git(plural: str, name: str) -> dict[str, Any]:
        live = admin.get(plural, name)
        return {k: live[k] for k in ("apiVersion", "kind", "spec")} | {"metadata": {"name": name}}

    repo = [
        as_in_git("slapolicies", names["policy"]),
        as_in_git("companies", names["company"]),
        as_in_git("technicians", names["ana"]),
        as_in_git("technicians", names["bo"]),
        as_in_git("routingrules", names["rule"]),
    ]
    repo[-1]["spec"]["preferredTechnicians"] = [names["bo"]]
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump_all(repo))
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(
        subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "get",
                "alerts",
                "-n",
                ns,
                "-o",
                "yaml",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )

    result = diff(folder, cluster.kubeconfig, "--alerts", str(alerts_file), "-o", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [c["action"] for c in report["changes"]] == ["change"]
    assert report["behaviour"]["alertsReplayed"] == 2
    assert report["behaviour"]["differences"] == [
        {
            "kind": "reroute",
            "subject": f"{ns}/{first}",
            "before": names["ana"],
            "after": names["bo"],
            "detail": f"preferred by rule {names['rule']}",
        }
    ]
    table = diff(folder, cluster.kubeconfig, "--alerts", str(alerts_file))
    assert f"reroute  {ns}/{first}: {names['ana']} -> {names['bo']}" in table.stdout
    assert second not in table.stdout

    # The same folder against the cluster's own alerts (the default source) agrees.
    from_cluster = diff(folder, cluster.kubeconfig, "--since", "87600h", "-o", "json")
    differences = json.loads(from_cluster.stdout)["behaviour"]["differences"]
    assert {
        "kind": "reroute",
        "subject": f"{ns}/{first}",
        "before": names["ana"],
        "after": names["bo"],
        "detail": f"preferred by rule {names['rule']}",
    } in differences
    assert not any(d["subject"] == f"{ns}/{second}" for d in differences)

    # Without a change there is nothing to report, and a bad alerts file is a clear error.
    unchanged = diff(folder, cluster.kubeconfig, "--no-replay")
    assert "behaviour" not in unchanged.stdout
    (tmp_path / "bad.yaml").write_text("- just a string\n")
    bad = diff(folder, cluster.kubeconfig, "--alerts", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1
    assert "bad.yaml" in bad.stderr and "not an Alert" in bad.stderr
