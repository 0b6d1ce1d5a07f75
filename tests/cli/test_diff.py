"""`kubectl whisper diff`: what a config folder would add, change (field by field) and prune,
against the real cluster, without changing anything."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from support.cluster import Cluster
from support.plugin import diff

from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import KINDS_BY_NAME

API = "alertwhisperer.io/v1alpha1"


def docs(s: str, *, display: str, with_rule: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "apiVersion": API,
            "kind": "SLAPolicy",
            "metadata": {"name": f"p-{s}"},
            "spec": {
                "targets": [{"severity": "low", "responseMinutes": 10, "resolutionMinutes": 20}],
                "coverage": {"type": "24x7"},
            },
        },
        {
            "apiVersion": API,
            "kind": "Company",
            "metadata": {"name": f"c-{s}"},
            "spec": {"displayName": display, "slaPolicyRef": {"name": f"p-{s}"}},
        },
    ]
    if with_rule:
        out.append(
            {
                "apiVersion": API,
                "kind": "RoutingRule",
                "metadata": {"name": f"r-{s}"},
                "spec": {"order": 7},
            }
        )
    return out


def test_diff_names_adds_field_changes_and_prunes(
    cluster: Cluster, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    s = uuid.uuid4().hex[:6]
    for doc in docs(s, display="Before", with_rule=False):
        admin.apply_custom(KINDS_BY_NAME[doc["kind"]].info.plural, doc, field_manager="test")
    admin.create(
        "gitsources",
        {
            "apiVersion": API,
            "kind": "GitSource",
            "metadata": {"name": "cfg", "namespace": namespace},
            "spec": {"url": "https://git.example.com/x.git"},
        },
        namespace,
    )
    gone = f"_old-{s}_alertwhisperer.io_RoutingRule"
    admin.patch_status(
        "gitsources",
        "cfg",
        {
            "inventory": [
                {"id": f"_c-{s}_alertwhisperer.io_Company", "v": "v1alpha1"},
                {"id": gone, "v": "v1alpha1"},
            ]
        },
        namespace,
    )
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "all.yaml").write_text(
        yaml.safe_dump_all(docs(s, display="After", with_rule=True))
    )

    result = diff(
        tmp_path / "cfg", cluster.kubeconfig, "--source", f"{namespace}/cfg", "-o", "json"
    )
    assert result.returncode == 1, result.stderr
    changes = {c["id"]: c for c in json.loads(result.stdout)["changes"]}
    company = changes[f"_c-{s}_alertwhisperer.io_Company"]
    assert company["action"] == "change"
    assert company["fields"] == [{"path": "spec.displayName", "before": "Before", "after": "After"}]
    assert changes[f"_r-{s}_alertwhisperer.io_RoutingRule"]["action"] == "add"
    assert changes[gone]["action"] == "prune"
    assert f"_p-{s}_alertwhisperer.io_SLAPolicy" not in changes  # unchanged
    # Nothing was applied.
    assert admin.get("companies", f"c-{s}")["spec"]["displayName"] == "Before"

    table = diff(tmp_path / "cfg", cluster.kubeconfig)
    assert 'spec.displayName: "Before" -> "After"' in table.stdout

    from kubernetes import client

    for plural, name in (("companies", f"c-{s}"), ("slapolicies", f"p-{s}")):
        client.CustomObjectsApi(admin.api_client).delete_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", plural, name
        )


def test_diff_of_an_invalid_folder_exits_5_naming_the_file(
    cluster: Cluster, tmp_path: Path
) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "bad.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {}\n")
    result = diff(tmp_path / "cfg", cluster.kubeconfig)
    assert result.returncode == 5
    assert "bad.yaml[0]" in result.stderr and "Secret" in result.stderr
    assert result.stdout == ""
