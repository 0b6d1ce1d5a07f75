"""The remediation tests' world: moto (SSM, STS) behind its fault proxy and the ARM stub,
the environment that points the production wrappers at them, companies with cloud assets,
runbooks, and waiting for a run while moving the operator's ManualClock."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from kubernetes import client

from support.arm_stub import CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION, TENANT, ArmStub
from whisperer.operator.clock import ManualClock
from whisperer.operator.kube import KubeClient

T = TypeVar("T")
GROUP, VERSION, API = "alertwhisperer.io", "v1alpha1", "alertwhisperer.io/v1alpha1"
PLATFORM = "alert-whisperer"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/whisperer-remediation"
REGION = "us-east-1"
INSTANCE = "i-0a1b2c3d4e5f60718"
VM_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-acme/providers/"
    "Microsoft.Compute/virtualMachines/vm-web01"
)


def cloud_environment(mp: pytest.MonkeyPatch, *, aws_url: str, arm: ArmStub, tmp: str) -> None:
    """boto3's chain finds dummy credentials and moto's proxy; Azure goes to the stub."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            mp.delenv(name)
    for key, value in {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": f"{tmp}/no-aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": f"{tmp}/no-aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "WHISPERER_AWS_READ_ATTEMPTS": "1",
        "WHISPERER_AZURE_ARM_ENDPOINT": arm.url,
        "WHISPERER_AZURE_AUTHORITY_HOST": arm.url,
        "WHISPERER_AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
        "WHISPERER_AZURE_CA_BUNDLE": str(arm.ca),
        "WHISPERER_AZURE_READ_RETRIES": "0",
        "WHISPERER_AZURE_BUSY_DELAY_SECONDS": "3",
    }.items():
        mp.setenv(key, value)


def custom(kube: KubeClient) -> Any:
    return client.CustomObjectsApi(kube.api_client)


@contextlib.contextmanager
def company(
    admin: KubeClient,
    prefix: str,
    *,
    remediation: dict[str, Any] | None = None,
    admins: list[str] | None = None,
    azure: bool = False,
) -> Iterator[str]:
    """A company with one cloud asset `web01` (AWS, or an Azure VM), its account or
    subscription, and a low-risk runbook `<company>-fix` of its own matching disk-space-low;
    deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    if azure:
        asset = {"name": "web01", "platform": "linux", "cloud": "azure", "resourceId": VM_ID}
        cloud = {
            "azure": [
                {
                    "subscriptionId": SUBSCRIPTION,
                    "tenantId": TENANT,
                    "credentialsSecret": f"{name}-azure",
                }
            ]
        }
        core = client.CoreV1Api(admin.api_client)
        core.create_namespaced_secret(
            PLATFORM,
            {
                "metadata": {"name": f"{name}-azure"},
                "stringData": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
            },
        )
    else:
        asset = {
            "name": "web01",
            "platform": "linux",
            "cloud": "aws",
            "instanceId": INSTANCE,
            "region": REGION,
        }
        cloud = {"aws": [{"accountId": ACCOUNT, "roleArn": ROLE, "regions": [REGION]}]}
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
                "admins": admins or [],
                "assets": [asset],
                "cloud": cloud,
                "remediation": remediation or {},
            },
        },
    )
    ns = f"company-{name}"
    from support.cluster import wait_for

    wait_for(
        lambda: (admin.get("companies", name).get("status") or {}).get("externalId"),
        timeout=60,
        what="the company's external id",
    )
    wait_for(lambda: admin.namespace_exists(ns), timeout=30, what="the company namespace")
    try:
        yield name
    finally:
        with contextlib.suppress(client.ApiException):
            custom(admin).delete_cluster_custom_object(GROUP, VERSION, "companies", name)
        if azure:
            with contextlib.suppress(client.ApiException):
                client.CoreV1Api(admin.api_client).delete_namespaced_secret(
                    f"{name}-azure", PLATFORM
                )


def runbook(
    admin: KubeClient,
    namespace: str,
    name: str,
    *,
    risk: str = "low",
    signals: list[str] | None = None,
    **spec: Any,
) -> None:
    """A runbook in `namespace`."""
    admin.create(
        "runbooks",
        {
            "apiVersion": API,
            "kind": "Runbook",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "title": f"{risk}-risk fix",
                "risk": risk,
                "platform": "linux",
                "shell": "bash",
                "script": '#!/usr/bin/env bash\nset -euo pipefail\necho "fixing $SERVICE"\n',
                "parameters": [{"name": "SERVICE", "default": "nginx"}],
                "matches": {"signals": signals if signals is not None else ["disk-space-low"]},
                "timeout": "2m",
                "verifyWindow": "10m",
                **spec,
            },
        },
        namespace,
    )


def request_run(
    kube: KubeClient,
    namespace: str,
    name: str,
    *,
    runbook_name: str,
    requested_by: str,
    incident: str | None = None,
    target: str = "web01",
) -> None:
    """A RunbookExecution on web01, as `kube` (the API server's admission applies)."""
    spec: dict[str, Any] = {
        "runbookRef": {"name": runbook_name},
        "targets": [target],
        "requestedBy": requested_by,
    }
    if incident:
        spec["incidentRef"] = {"name": incident}
    custom(kube).create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "runbookexecutions",
        {"apiVersion": API, "kind": "RunbookExecution", "metadata": {"name": name}, "spec": spec},
    )


def approve(
    kube: KubeClient, namespace: str, name: str, *, by: str, groups: list[str] | None = None
) -> None:
    """`by` approves the run, as `kube`; with `groups` recorded when given (kubectl whisper
    records the caller's), none when not (a raw kubectl patch)."""
    given: dict[str, Any] = {"decision": "Approved", "by": by, "at": "2026-12-01T00:00:00Z"}
    if groups is not None:
        given["groups"] = groups
    custom(kube).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "runbookexecutions", name, {"spec": {"approval": given}}
    )


def run_status(admin: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        body = admin.get("runbookexecutions", name, namespace)
    except Exception:
        return {}
    return dict(body.get("status") or {})


def ticking(
    clock: ManualClock | None,
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 60,
    step: timedelta = timedelta(seconds=2),
) -> T:
    """Wait for `probe`, moving the operator's clock on by `step` every 0.1 s (its polls
    happen on that clock, never on real sleeps)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        if clock is not None:
            clock.advance(step)
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def phase_is(admin: KubeClient, namespace: str, name: str, *phases: str) -> Callable[[], Any]:
    def probe() -> Any:
        s = run_status(admin, namespace, name)
        return s if s.get("phase") in phases else None

    return probe
