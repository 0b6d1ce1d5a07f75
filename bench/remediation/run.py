"""Remediation benchmark: what a run costs the product itself, against the real API server
and moto's server (SSM, STS), with the real operator in this process.

    eval "$(hack/cluster up)"   # with WHISPERER_STATE_DIR of your own
    PYTHONSAFEPATH=1 .venv/bin/python bench/remediation/run.py [--runs 20]

One company with N AWS assets and an incident for each, a low-risk runbook the company lets
run by itself, and N RunbookExecutions created at once. The operator's `Remediator.stats`
records, per run: from the approval decision to SendCommand returned, less the time in cloud
calls (STS and SSM round trips: reported apart, as the baseline the product adds to); from
the poll that saw the command's end to the incident's write stored (the incident writer's
linger included); and the polls per command. Output: JSON with p50, p95 and max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from support.arm_stub import arm_stub  # noqa: E402
from support.moto import aws_double  # noqa: E402
from support.operator import run_operator  # noqa: E402

from whisperer.operator import runner  # noqa: E402
from whisperer.operator.kube import KubeClient  # noqa: E402

API = "alertwhisperer.io/v1alpha1"
ACCOUNT = "111122223333"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 0.5) * scale, 2),
        "p95": round(pct(values, 0.95) * scale, 2),
        "max": round(max(values, default=float("nan")) * scale, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG")
    kdir = os.environ.get("WHISPERER_KUBECONFIG_DIR")
    if not kubeconfig or not kdir:
        print('run `eval "$(hack/cluster up)"` first', file=sys.stderr)
        return 2
    admin = KubeClient.from_kubeconfig(kubeconfig)
    tmp = Path(tempfile.mkdtemp(prefix="bench-remediation-"))
    name = f"bench-{uuid.uuid4().hex[:6]}"
    ns = f"company-{name}"
    with aws_double(tmp) as aws, arm_stub(tmp) as arm:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            del os.environ[var]
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": aws.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "WHISPERER_AI_PROVIDER": "off",
                "WHISPERER_REMEDIATION_RUNS_PER_COMPANY": str(args.runs),
                "WHISPERER_AZURE_ARM_ENDPOINT": arm.url,
                "WHISPERER_AZURE_AUTHORITY_HOST": arm.url,
            }
        )
        assets = [
            {
                "name": f"web{i:03d}",
                "platform": "linux",
                "cloud": "aws",
                "instanceId": f"i-{i + 1:017x}",
                "region": "us-east-1",
            }
            for i in range(args.runs)
        ]
        with run_operator(Path(kdir) / "operator"):
            admin.create(
                "companies",
                {
                    "apiVersion": API,
                    "kind": "Company",
                    "metadata": {"name": name},
                    "spec": {
                        "displayName": name,
                        "slaPolicyRef": {"name": "x"},
                        "deletionPolicy": "Delete",
                        "assets": assets,
                        "cloud": {
                            "aws": [
                                {
                                    "accountId": ACCOUNT,
                                    "regions": ["us-east-1"],
                                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bench",
                                }
                            ]
                        },
                        "remediation": {"autoRunLowRisk": True},
                    },
                },
            )
            wait(lambda: (admin.get("companies", name).get("status") or {}).get("externalId"))
            wait(lambda: admin.namespace_exists(ns))
            admin.create(
                "runbooks",
                {
                    "apiVersion": API,
                    "kind": "Runbook",
                    "metadata": {"name": "fix", "namespace": ns},
                    "spec": {
                        "title": "fix",
                        "risk": "low",
                        "platform": "linux",
                        "shell": "bash",
                        "script": "echo ok",
                        "verifyWindow": "1h",
                    },
                },
                ns,
            )
            time.sleep(1)
            for i in range(args.runs):
                incident = f"inc-{i:03d}"
                admin.create(
                    "incidents",
                    {
                        "apiVersion": API,
                        "kind": "Incident",
                        "metadata": {"name": incident, "namespace": ns},
                        "spec": {"title": incident},
                    },
                    ns,
                )
            started = time.perf_counter()
            for i in range(args.runs):
                admin.create(
                    "runbookexecutions",
                    {
                        "apiVersion": API,
                        "kind": "RunbookExecution",
                        "metadata": {"name": f"run-{i:03d}", "namespace": ns},
                        "spec": {
                            "runbookRef": {"name": "fix"},
                            "targets": [f"web{i:03d}"],
                            "incidentRef": {"name": f"inc-{i:03d}"},
                            "requestedBy": "bench@msp.example",
                        },
                    },
                    ns,
                )
            live = runner.current()
            assert live is not None
            stats = live.remediator.stats
            wait(lambda: len(stats.to_report) >= args.runs, timeout=300)
            elapsed = time.perf_counter() - started
            runs = [admin.get("runbookexecutions", f"run-{i:03d}", ns) for i in range(args.runs)]
            phases = sorted({r["status"]["phase"] for r in runs})
            commands = len(aws.commands(account=ACCOUNT, region="us-east-1"))
            result = {
                "runs": args.runs,
                "phases": phases,
                "commands": commands,
                "approval_to_send_own_ms": summary(stats.to_send),
                "cloud_calls_to_send_ms (baseline: moto round trips)": summary(stats.cloud),
                "terminal_to_incident_updated_ms": summary(stats.to_report),
                "polls_per_command": {
                    "mean": statistics.mean(stats.polls),
                    "max": max(stats.polls),
                },
                "wall_seconds_all_runs": round(elapsed, 2),
                "at": datetime.now(UTC).isoformat(),
            }
            admin.delete_custom("companies", name)
    # KopfRunner (click's CliRunner in a thread) swaps sys.stdout: write to the descriptor.
    os.write(1, (json.dumps(result, indent=2) + "\n").encode())
    return 0


def wait(probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.1)
    raise SystemExit(f"timed out: {probe}")


if __name__ == "__main__":
    raise SystemExit(main())
