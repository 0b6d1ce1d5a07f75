"""The pieces of `make run` (hack/run) together: the demo SLA policy, companies, technicians
and mail channel (hack/demo/), the demo's mail server (`hack/demo/mail-sink`), moto's server
for AWS, the real shim and the real operator as their own processes (on the wall clock, as
in `make run`), and `hack/demo/scenario --once` posting the three companies' bad morning
through the shim. What it drives has to happen: incidents for all three companies, the
cascade, the storm and the flapping check recognised, the disk's low-risk runbook run by
itself as one SSM command in moto and SelfHealed once the alert resolves, the reboot left
AwaitingApproval, the SLA breach escalated by mail to the mail sink, and the summary saying
so in numbers. hack/run itself parses and passes shellcheck."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from support.cluster import REPO, Cluster, kubectl_path, wait_for
from support.moto import aws_double
from support.operator import operator_process, process_active
from support.shim import shim_process
from support.smtp import free_port

from whisperer.operator.errors import NotFoundError
from whisperer.operator.kube import KubeClient

API = ("alertwhisperer.io", "v1alpha1")
PLATFORM = "alert-whisperer"
TECHNICIANS = ("riley", "casey", "jordan")
PLURALS = {"Company": "companies", "Technician": "technicians", "RoutingRule": "routingrules"}
DENTAL_ACCOUNT, DENTAL_REGION, PM_DB01 = "111122223333", "us-east-1", "i-0a1b2c3d4e5f60718"


def test_hack_run_parses_and_passes_shellcheck() -> None:
    subprocess.run(["bash", "-n", str(REPO / "hack/run")], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (hack/test installs it)")
    done = subprocess.run(
        ["shellcheck", "-x", "hack/run"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout


def _gone(admin: KubeClient, names: list[str]) -> None:
    """Delete the companies and technicians named, and wait (30 s at most) until they are gone."""
    custom = client.CustomObjectsApi(admin.api_client)
    plurals = {
        n: "technicians" if n.rsplit("-", 1)[-1] in TECHNICIANS else "companies" for n in names
    }
    for name, plural in plurals.items():
        with contextlib.suppress(client.ApiException):
            custom.delete_cluster_custom_object(*API, plural, name)

    def none_left() -> bool:
        for name, plural in plurals.items():
            try:
                custom.get_cluster_custom_object(*API, plural, name)
            except client.ApiException:
                continue
            return False
        return True

    with contextlib.suppress(AssertionError):
        wait_for(none_left, timeout=30, what="the demo's companies and technicians to go")


def _items(admin: KubeClient, kind: str, namespace: str) -> list[dict[str, Any]]:
    return admin.list(kind, namespace)


def test_the_scenario_runs_once_through_the_shim_operator_and_moto(
    cluster: Cluster, admin: KubeClient, tmp_path: Path
) -> None:
    if cluster.kubeconfig_dir is None:
        pytest.skip("the demo needs the operator's and the shim's identities of hack/cluster")
    s = uuid.uuid4().hex[:6]
    # The first default channel by name takes the mail: "0-" sorts before make run's own
    # a-demo-mail, should the developer's cluster still hold it.
    prefix, policy_name, channel_name = f"d{s}", f"demo-short-{s}", f"0-demo-mail-{s}"
    policy = yaml.safe_load((REPO / "hack/demo/sla-policy.yaml").read_text())
    policy["metadata"]["name"] = policy_name
    made = subprocess.run(
        [
            sys.executable,
            str(REPO / "hack/demo/companies"),
            "--prefix",
            prefix,
            "--policy",
            policy_name,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    docs = list(yaml.safe_load_all(made.stdout))
    companies = [d["metadata"]["name"] for d in docs if d["kind"] == "Company"]
    technicians = [d["metadata"]["name"] for d in docs if d["kind"] == "Technician"]
    [rule] = [d["metadata"]["name"] for d in docs if d["kind"] == "RoutingRule"]
    assert companies == [f"{prefix}-dental", f"{prefix}-globex", f"{prefix}-initech"]
    dental, globex, initech = (f"company-{c}" for c in companies)
    channel = yaml.safe_load((REPO / "hack/demo/mail-channel.yaml").read_text())
    channel["metadata"]["name"] = channel_name
    smtp_port, mail = free_port(), tmp_path / "mail"
    channel["spec"]["smtp"]["port"] = smtp_port
    custom = client.CustomObjectsApi(admin.api_client)
    created_runbooks: list[str] = []
    with (tmp_path / "mail-sink.log").open("w") as sink_log:
        sink = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "hack/demo/mail-sink"),
                "--port",
                str(smtp_port),
                "--dir",
                str(mail),
            ],
            stderr=sink_log,
        )
    try:
        admin.create("notificationchannels", channel)
        admin.create("slapolicies", policy)
        for doc in docs:
            admin.create(PLURALS[doc["kind"]], doc)
        # The library's two runbooks the scenario needs (make run syncs the whole library).
        for path in ("linux/free-disk-space.yaml", "linux/reboot-host.yaml"):
            book = yaml.safe_load((REPO / "runbooks" / path).read_text())
            try:
                admin.get("runbooks", book["metadata"]["name"], PLATFORM)
            except NotFoundError:
                admin.create("runbooks", book, PLATFORM)
                created_runbooks.append(book["metadata"]["name"])
        with aws_double(tmp_path) as aws:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(
                AWS_ENDPOINT_URL=aws.url,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_DEFAULT_REGION="us-east-1",
                AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
                AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
                AWS_EC2_METADATA_DISABLED="true",
            )
            operator_log = tmp_path / "operator.log"
            with (
                operator_process(cluster.identity("operator"), operator_log, env=env) as op,
                shim_process(cluster.identity("webhook"), log=tmp_path / "shim.log") as shim,
                contextlib.ExitStack() as leaving,
            ):
                process_active(op, operator_log, seen=0)
                # The companies and technicians go while the operator still runs (their
                # finalizers are its: it deletes the companies' namespaces).
                leaving.callback(_gone, admin, [*companies, *technicians])
                ran = subprocess.run(
                    [
                        sys.executable,
                        str(REPO / "hack/demo/scenario"),
                        "--once",
                        "--url",
                        shim.url,
                        "--kubectl",
                        kubectl_path(),
                        "--prefix",
                        prefix,
                        "--wait",
                        "60",
                        "--mail-dir",
                        str(mail),
                        "--mail-channel",
                        channel_name,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
                )
                out = ran.stderr
                assert ran.returncode == 0, out
                # Every company has its incidents; the shapes were recognised.
                found = {ns: _items(admin, "incidents", ns) for ns in (dental, globex, initech)}
                assert all(found.values()), {ns: len(i) for ns, i in found.items()}

                def patterns(ns: str) -> set[str]:
                    return {
                        str((i.get("status") or {}).get("pattern"))
                        for i in _items(admin, "incidents", ns)
                        if not (i.get("status") or {}).get("mergedInto")
                    }

                assert {"cascade", "storm"} <= patterns(globex), patterns(globex)
                wait_for(
                    lambda: "flapping" in patterns(dental), timeout=30, what="the flapping check"
                )
                # The disk's runbook ran by itself: one command to moto, then SelfHealed.
                [run] = _items(admin, "runbookexecutions", dental)
                assert run["spec"]["requestedBy"] == "operator:auto-remediation"
                assert run["spec"]["targets"] == ["pm-db01"]
                assert run["status"]["phase"] == "Succeeded", run["status"]
                assert run["status"]["outcome"] == "SelfHealed", run["status"]
                [command] = aws.commands(account=DENTAL_ACCOUNT, region=DENTAL_REGION)
                assert command["InstanceIds"] == [PM_DB01]
                assert command["DocumentName"] == "AWS-RunShellScript"
                # The reboot waits for an MSP admin.
                [reboot] = _items(admin, "runbookexecutions", initech)
                assert reboot["spec"]["runbookRef"]["name"] == "reboot-host"
                assert reboot["status"]["phase"] == "AwaitingApproval", reboot["status"]
                # The breach escalated by mail, into the mail sink's folder.
                files = wait_for(
                    lambda: sorted(mail.glob("*.eml")) or None, timeout=60, what="the demo's mail"
                )
                subjects = [f.read_text().split("Subject: ", 1)[-1].split("\n")[0] for f in files]
                assert any("Escalation" in x or "SLA" in x for x in subjects), subjects
                # The summary says so, per company.
                dental_line = re.search(
                    rf"{prefix}-dental +alerts (\d+) \((\d+) reports\) -> incidents (\d+) .*"
                    r"runs (\d+) \((\d+) self-healed.*assigned (\d+)",
                    out,
                )
                assert dental_line is not None, out
                assert int(dental_line[1]) >= 2 and int(dental_line[3]) >= 2, dental_line[0]
                assert int(dental_line[5]) == 1 and int(dental_line[6]) >= 1, dental_line[0]
                initech_line = re.search(
                    rf"{prefix}-initech +.*? self-healed, (\d+) awaiting approval.*"
                    r"SLA (\d+) warned, (\d+) breached, (\d+) escalated",
                    out,
                )
                assert initech_line is not None, out
                assert all(int(initech_line[i]) >= 1 for i in (1, 2, 3, 4)), initech_line[0]
                shape = rf"{prefix}-globex .*noise -(\d+)%; 1 cascade, 1 storm"
                globex_line = re.search(shape, out)
                assert globex_line is not None and int(globex_line[1]) > 50, out
                assert re.search(r"\[demo\] .* all +alerts \d+", out), out
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        for plural, name in [
            *(("companies", c) for c in companies),
            *(("technicians", t) for t in technicians),
            ("routingrules", rule),
            ("notificationchannels", channel_name),
            ("slapolicies", policy_name),
        ]:
            with contextlib.suppress(client.ApiException):
                custom.delete_cluster_custom_object(*API, plural, name)
        for name in created_runbooks:
            with contextlib.suppress(client.ApiException):
                custom.delete_namespaced_custom_object(*API, PLATFORM, "runbooks", name)
