"""The Helm chart lints and renders, with the defaults and with every optional feature on
(ci/full-values.yaml), into objects that follow the house rules: one resource per template,
hardened pods with probes and resources, pinned images, bad values refused with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from support.helm import CHART, FULL_VALUES, NAMESPACE, helm, template, template_sources

VARIANTS = {"defaults": (), "full": ("--values", str(FULL_VALUES))}
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "FlowSchema",
    "PriorityLevelConfiguration",
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return template(*VARIANTS[request.param])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_chart_lints_strictly(variant: str) -> None:
    result = helm("lint", str(CHART), "--strict", "--namespace", NAMESPACE, *VARIANTS[variant])
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_defaults_and_full_values_render_what_they_promise() -> None:
    kinds = {v: sorted(d["kind"] for d in template(*args)) for v, args in VARIANTS.items()}
    optional = {
        "HorizontalPodAutoscaler",
        "Ingress",
        "NetworkPolicy",
        "ServiceMonitor",
        "ConfigMap",
    }
    assert not optional & set(kinds["defaults"])
    assert optional <= set(kinds["full"])
    for variant in VARIANTS:
        assert kinds[variant].count("Deployment") == 2
        assert kinds[variant].count("ValidatingAdmissionPolicy") == 4
        assert {"PodDisruptionBudget", "FlowSchema", "PriorityLevelConfiguration"} <= set(
            kinds[variant]
        )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_one_resource_per_template(variant: str) -> None:
    by_source = template_sources(*VARIANTS[variant])
    assert {s: len(d) for s, d in by_source.items() if len(d) != 1} == {}


def test_every_object_is_labelled_and_namespaced_in_the_platform_namespace(
    rendered: list[dict[str, Any]],
) -> None:
    for doc in rendered:
        meta = doc["metadata"]
        labels = meta.get("labels", {})
        where = f"{doc['kind']}/{meta['name']}"
        assert labels.get("app.kubernetes.io/part-of") == "alert-whisperer", where
        assert labels.get("app.kubernetes.io/instance") == "alert-whisperer", where
        assert "app.kubernetes.io/component" in labels, where
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, where
        else:
            assert meta.get("namespace") == NAMESPACE, where


def _pods(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in rendered
        if d["kind"] == "Deployment"
    }


def test_pods_are_non_root_read_only_without_capabilities_with_probes_and_resources(
    rendered: list[dict[str, Any]],
) -> None:
    pods = _pods(rendered)
    assert set(pods) == {"alert-whisperer-operator", "alert-whisperer-webhook"}
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["serviceAccountName"] == name, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert container["resources"]["requests"]["memory"], name
            assert container["resources"]["limits"]["memory"], name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] in ("/healthz", "/readyz")
            ports = {p["name"] for p in container["ports"]}
            assert container["livenessProbe"]["httpGet"]["port"] in ports, name
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, image
            assert not image.endswith(":latest"), image
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name  # the only writable place


def test_the_webhook_probes_readyz_and_the_operator_serves_its_probes_while_standing_by() -> None:
    pods = _pods(template())
    webhook = pods["alert-whisperer-webhook"]["containers"][0]
    assert webhook["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert webhook["command"] == ["whisperer-webhook"]
    operator = pods["alert-whisperer-operator"]["containers"][0]
    assert operator["command"] == ["whisperer-operator"]
    # Its own probe server (leader and standby alike), not Kopf's (only while leading).
    assert "--metrics-address=0.0.0.0:8080" in operator["args"]
    assert "--log-format=json" in operator["args"]
    assert operator["readinessProbe"]["httpGet"]["path"] == "/readyz"
    [deployment] = [
        d
        for d in template()
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "alert-whisperer-operator"
    ]
    assert deployment["spec"]["replicas"] == 2  # a leader and a standby by default
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["WHISPERER_WEBHOOK_URL"] == "http://alert-whisperer-webhook.alert-whisperer.svc:8080"
    assert env["WHISPERER_LEASE_NAME"] == "alert-whisperer-operator"


def test_the_image_defaults_to_the_charts_app_version() -> None:
    chart = (CHART / "Chart.yaml").read_text()
    app_version = chart.split("appVersion:", 1)[1].split()[0].strip("\"'")
    images = {c["image"] for p in _pods(template()).values() for c in p["containers"]}
    assert images == {f"alert-whisperer:{app_version}"}


def test_with_an_ingress_the_companies_webhook_url_is_the_ingress_host() -> None:
    pods = _pods(template("--values", str(FULL_VALUES)))
    env = {
        e["name"]: e.get("value") for e in pods["alert-whisperer-operator"]["containers"][0]["env"]
    }
    assert env["WHISPERER_WEBHOOK_URL"] == "https://alerts.northwind-msp.example"


def test_the_hpa_replaces_the_replica_count_and_the_pdb_follows() -> None:
    full = {
        d["kind"]: d
        for d in template("--values", str(FULL_VALUES))
        if d["metadata"]["name"].endswith("webhook")
    }
    assert "replicas" not in full["Deployment"]["spec"]
    assert full["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 3
    single = template("--set", "webhook.replicas=1")
    pdbs = {d["metadata"]["name"] for d in single if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == {"alert-whisperer-operator"}  # the operator's two replicas keep theirs


def test_the_operators_replicas_have_a_pdb_and_one_replica_none() -> None:
    [pdb] = [
        d
        for d in template()
        if d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"].endswith("operator")
    ]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
    alone = template("--set", "operator.replicas=1")
    assert not [
        d
        for d in alone
        if d["kind"] == "PodDisruptionBudget" and "operator" in d["metadata"]["name"]
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--set", "image.tag=latest"), "/image/tag"),
        (("--set", "operator.replicaCount=2"), "replicaCount"),
        (("--set", "webhook.logLevel=loud"), "/webhook/logLevel"),
        (
            ("--set", "monitoring.serviceMonitor.interval=often"),
            "/monitoring/serviceMonitor/interval",
        ),
        (
            ("--set", "operator.replicas=2", "--set", "operator.leaderElection.enabled=false"),
            "both act",
        ),
        (("--set", "webhook.ingress.enabled=true"), "needs at least one entry"),
        (
            ("--set", "operator.serviceAccount.create=false"),
            "operator.serviceAccount.name is required",
        ),
    ],
)
def test_bad_values_are_refused_with_a_reason(args: tuple[str, ...], reason: str) -> None:
    result = helm("template", "alert-whisperer", str(CHART), "-n", NAMESPACE, *args, check=False)
    assert result.returncode != 0
    assert reason in result.stderr, result.stderr


def test_another_namespace_is_refused() -> None:
    result = helm("template", "alert-whisperer", str(CHART), "-n", "default", check=False)
    assert result.returncode != 0
    assert "install into the platform namespace alert-whisperer" in result.stderr


def test_notes_tell_how_to_get_a_companys_key_and_the_webhook_url() -> None:
    result = helm("install", "alert-whisperer", str(CHART), "-n", NAMESPACE, "--dry-run=client")
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "http://alert-whisperer-webhook.alert-whisperer.svc:8080/v1/alerts/<format>" in notes
    assert "company-<company>-credentials" in notes and "{.data.api-key}" in notes
    assert "{.status.webhookUrl}" in notes
