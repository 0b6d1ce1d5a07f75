"""The API server itself refuses bad objects, with its own message naming the problem.

Each case starts from a valid object, breaks one thing, and expects the API server's
validation message (schema, enum, pattern, or a CEL rule from the models).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from whisperer.operator.errors import InvalidError
from whisperer.operator.kube import KubeClient
from whisperer.operator.models.v1alpha1 import API_VERSION, KINDS_BY_NAME

Mutate = Callable[[dict[str, Any]], None]

VALID: dict[str, dict[str, Any]] = {
    "Company": {
        "displayName": "Test Co",
        "slaPolicyRef": {"name": "premium-24x7"},
        "cloud": {
            "aws": [
                {"accountId": "111122223333", "roleArn": "arn:aws:iam::111122223333:role/Whisperer"}
            ]
        },
        "assets": [{"name": "web01", "cloud": "aws", "instanceId": "i-0123456789abcdef0"}],
    },
    "SLAPolicy": {
        "targets": [{"severity": "critical", "responseMinutes": 15, "resolutionMinutes": 60}],
        "coverage": {
            "type": "BusinessHours",
            "timeZone": "Europe/Berlin",
            "days": ["Mon", "Fri"],
            "start": "08:00",
            "end": "17:00",
        },
    },
    "RoutingRule": {"order": 5, "match": {"severities": ["critical"]}, "requiredSkills": ["linux"]},
    "Technician": {
        "username": "t@msp.example",
        "displayName": "T",
        "email": "t@msp.example",
        "leave": [{"start": "2026-12-01T00:00:00Z", "end": "2026-12-05T00:00:00Z"}],
    },
    "Runbook": {
        "title": "t",
        "risk": "low",
        "platform": "linux",
        "shell": "bash",
        "script": "echo hi",
        "timeout": "5m",
    },
    "Silence": {
        "matchers": [{"name": "asset", "value": "web01"}],
        "comment": "CHG-1",
        "startsAt": "2026-12-01T00:00:00Z",
        "endsAt": "2026-12-01T02:00:00Z",
    },
    "SignalRule": {
        "signal": "ups-on-battery",
        "category": "power",
        "patterns": [r"\bups\b.*on battery", "utility power (failure|lost)"],
        "sources": ["zabbix"],
        "order": 20,
    },
    "NotificationChannel": {
        "type": "smtp",
        "default": True,
        "smtp": {
            "host": "smtp.example.com",
            "from": "noc@example.com",
            "secretRef": {"name": "msp-smtp"},
        },
    },
    "GitSource": {
        "url": "https://git.example.com/cfg.git",
        "ref": {"branch": "main"},
        "interval": "1m",
    },
    "Alert": {
        "fingerprint": "0123456789abcdef",
        "source": "generic",
        "asset": {"name": "web01", "known": True},
        "signal": "cpu-high",
        "severity": "high",
        "state": "firing",
        "firstSeen": "2026-11-01T00:00:00Z",
        "lastSeen": "2026-11-01T00:05:00Z",
    },
    "Incident": {"title": "web01 CPU high"},
    "RunbookExecution": {
        "runbookRef": {"name": "restart-systemd-service"},
        "targets": ["web01"],
        "requestedBy": "sam@northwind-msp.example",
    },
}


def _set(path: str, value: Any) -> Mutate:
    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


_DELETE = object()

# kind, what breaks, expected fragment of the API server's message
CREATE_CASES: list[tuple[str, Mutate, str]] = [
    ("Company", _set("slaPolicyRef", _DELETE), "spec.slaPolicyRef: Required value"),
    (
        "Company",
        _set("cloud.aws.0.roleArn", "arn:aws:iam::999999999999:role/Whisperer"),
        "roleArn must be a role in accountId",
    ),
    ("Company", _set("assets.0.instanceId", _DELETE), "an AWS server or vm needs instanceId"),
    (
        "Company",
        _set("webhook", {"rateLimit": {"requestsPerSecond": 0}}),
        "requestsPerSecond in body should be greater than or equal to 1",
    ),
    (
        "Company",
        _set("assets", [{"name": "a", "dependsOn": ["a"]}]),
        "an asset cannot depend on itself",
    ),
    (
        "SLAPolicy",
        _set("targets.0.responseMinutes", -5),
        "responseMinutes in body should be greater than or equal to 1",
    ),
    ("SLAPolicy", _set("targets.0.severity", "urgent"), 'Unsupported value: "urgent"'),
    (
        "SLAPolicy",
        _set("targets.0.resolutionMinutes", 5),
        "resolutionMinutes must not be shorter than responseMinutes",
    ),
    (
        "SLAPolicy",
        _set("coverage.days", _DELETE),
        "BusinessHours coverage needs days, start and end",
    ),
    ("SLAPolicy", _set("coverage.start", "8am"), "spec.coverage.start in body should match"),
    ("RoutingRule", _set("order", -1), "order in body should be greater than or equal to 0"),
    ("RoutingRule", _set("match.severities", ["sev1"]), 'Unsupported value: "sev1"'),
    ("Technician", _set("email", "not-an-email"), "spec.email in body should match"),
    ("Technician", _set("leave.0.end", "2026-11-01T00:00:00Z"), "leave must end after it starts"),
    (
        "Technician",
        _set("maxOpenIncidents", 0),
        "maxOpenIncidents in body should be greater than or equal to 1",
    ),
    ("Runbook", _set("risk", "extreme"), 'Unsupported value: "extreme"'),
    ("Runbook", _set("platform", "windows"), "windows runbooks use powershell"),
    ("Runbook", _set("timeout", "ten minutes"), "spec.timeout in body should match"),
    ("Runbook", _set("timeout", "5h"), "timeout must be between 30s and 2h"),
    (
        "Silence",
        _set("recurrence", {"cron": "every sunday", "duration": "2h"}),
        "spec.recurrence.cron in body should match",
    ),
    (
        "Silence",
        _set("recurrence", {"cron": "0 25 * * *", "duration": "2h"}),
        "spec.recurrence.cron in body should match",
    ),
    ("Silence", _set("endsAt", "2026-11-30T00:00:00Z"), "endsAt must be after startsAt"),
    ("Silence", _set("matchers", []), "spec.matchers in body should have at least 1 items"),
    (
        "SignalRule",
        _set("patterns.1", "utility power (failure"),
        "every pattern must be a valid RE2 regular expression",
    ),
    (
        "SignalRule",
        _set("patterns.0", "(?<!no )battery"),
        "every pattern must be a valid RE2 regular expression",
    ),
    (
        "SignalRule",
        _set("patterns", ["(on battery+)+"]),
        "a pattern must not repeat a group that itself repeats",
    ),
    ("SignalRule", _set("category", "Power Supply"), "spec.category in body should match"),
    ("SignalRule", _set("sources", ["nagios"]), 'Unsupported value: "nagios"'),
    ("SignalRule", _set("patterns", []), "spec.patterns in body should have at least 1 items"),
    (
        "NotificationChannel",
        _set("slack", {"urlSecretRef": {"name": "s", "key": "url"}}),
        "give exactly one settings object, the one type names",
    ),
    (
        "NotificationChannel",
        _set("smtp.tls", "none"),
        "a password is never sent over an unencrypted connection",
    ),
    ("NotificationChannel", _set("smtp.timeout", "10m"), "timeout must be between 1s and 120s"),
    ("NotificationChannel", _set("broadcast", {"kinds": ["assigned"]}), "only a room"),
    (
        "NotificationChannel",
        _set("smtp.tls", "ssl"),
        'Unsupported value: "ssl"',
    ),
    (
        "Technician",
        _set("notifications", {"quietHours": {"start": "22:00", "end": "22:00"}}),
        "quiet hours must not be empty",
    ),
    (
        "GitSource",
        _set("ref", {"branch": "main", "tag": "v1"}),
        "give exactly one of branch, tag or commit",
    ),
    ("GitSource", _set("interval", "5s"), "interval must be at least 10s"),
    ("GitSource", _set("url", "ftp://example.com/x"), "spec.url in body should match"),
    ("Alert", _set("severity", "urgent"), 'Unsupported value: "urgent"'),
    ("Alert", _set("state", "resolved"), "a resolved alert needs resolvedAt"),
    ("Alert", _set("lastSeen", "2026-10-01T00:00:00Z"), "lastSeen must not be before firstSeen"),
    ("Incident", _set("title", _DELETE), "spec.title: Required value"),
    (
        "Incident",
        _set(
            "resolution", {"by": "x", "at": "2026-11-01T00:00:00Z", "code": "meh", "summary": "s"}
        ),
        'Unsupported value: "meh"',
    ),
    ("RunbookExecution", _set("targets", []), "spec.targets in body should have at least 1 items"),
    ("RunbookExecution", _set("runbookRef", _DELETE), "spec.runbookRef: Required value"),
    (
        "RunbookExecution",
        _set(
            "approval",
            {
                "decision": "Approved",
                "by": "sam@northwind-msp.example",
                "at": "2026-11-01T00:00:00Z",
            },
        ),
        "nobody approves their own request",
    ),
]


def _body(kind: str, spec: dict[str, Any], namespace: str) -> dict[str, Any]:
    cls = KINDS_BY_NAME[kind]
    meta: dict[str, Any] = {"name": f"t-{uuid.uuid4().hex[:8]}"}
    if cls.info.namespaced:
        meta["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def _create(admin: KubeClient, body: dict[str, Any]) -> dict[str, Any]:
    cls = KINDS_BY_NAME[body["kind"]]
    return admin.create(cls.info.plural, body, body["metadata"].get("namespace"))


def _cleanup(admin: KubeClient, created: dict[str, Any]) -> None:
    from kubernetes import client

    cls = KINDS_BY_NAME[created["kind"]]
    if not cls.info.namespaced:
        client.CustomObjectsApi(admin.api_client).delete_cluster_custom_object(
            "alertwhisperer.io", "v1alpha1", cls.info.plural, created["metadata"]["name"]
        )


def test_every_kind_is_rejected_at_least_twice() -> None:
    counts = {kind: 0 for kind in VALID}
    for kind, _, _ in CREATE_CASES:
        counts[kind] += 1
    assert min(counts.values()) >= 2, counts


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_baseline_is_accepted(kind: str, admin: KubeClient, namespace: str) -> None:
    """Every rejection case starts from this valid object, so a rejection is the break's."""
    created = _create(admin, _body(kind, copy.deepcopy(VALID[kind]), namespace))
    assert created["metadata"]["uid"]
    _cleanup(admin, created)


@pytest.mark.parametrize(
    ("kind", "mutate", "message"),
    CREATE_CASES,
    ids=[f"{kind}-{i}" for i, (kind, _, _) in enumerate(CREATE_CASES)],
)
def test_api_server_rejects(
    kind: str, mutate: Mutate, message: str, admin: KubeClient, namespace: str
) -> None:
    spec = copy.deepcopy(VALID[kind])
    mutate(spec)
    with pytest.raises(InvalidError) as info:
        _create(admin, _body(kind, spec, namespace))
    assert message in str(info.value)


UPDATE_CASES: list[tuple[str, Mutate, Mutate, str]] = [
    ("Alert", lambda s: None, _set("fingerprint", "fedcba9876543210"), "fingerprint is immutable"),
    (
        "Incident",
        _set("acknowledgement", {"by": "sam@northwind-msp.example", "at": "2026-11-01T00:00:00Z"}),
        _set("acknowledgement", {"by": "lee@northwind-msp.example", "at": "2026-11-01T00:00:00Z"}),
        "an acknowledgement cannot be changed once made",
    ),
    (
        "RunbookExecution",
        lambda s: None,
        _set("targets", ["db01"]),
        "runbookRef, targets and requestedBy are immutable",
    ),
]


@pytest.mark.parametrize(
    ("kind", "prepare", "mutate", "message"),
    UPDATE_CASES,
    ids=[f"{kind}-update-{i}" for i, (kind, _, _, _) in enumerate(UPDATE_CASES)],
)
def test_api_server_rejects_changes(
    kind: str, prepare: Mutate, mutate: Mutate, message: str, admin: KubeClient, namespace: str
) -> None:
    from kubernetes import client

    spec = copy.deepcopy(VALID[kind])
    prepare(spec)
    created = _create(admin, _body(kind, spec, namespace))
    changed = copy.deepcopy(created)
    mutate(changed["spec"])
    api = client.CustomObjectsApi(admin.api_client)
    with pytest.raises(client.ApiException) as info:
        api.replace_namespaced_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            namespace,
            KINDS_BY_NAME[kind].info.plural,
            created["metadata"]["name"],
            changed,
        )
    assert info.value.status == 422
    assert message in (info.value.body or "")


def test_an_approval_decision_cannot_be_changed(admin: KubeClient, namespace: str) -> None:
    from kubernetes import client

    api = client.CustomObjectsApi(admin.api_client)
    created = _create(
        admin, _body("RunbookExecution", copy.deepcopy(VALID["RunbookExecution"]), namespace)
    )
    name = created["metadata"]["name"]
    # The operator would record the risk from the Runbook; here the admin stands in for it.
    api.patch_namespaced_custom_object_status(
        "alertwhisperer.io",
        "v1alpha1",
        namespace,
        "runbookexecutions",
        name,
        {"status": {"risk": "medium"}},
    )
    decision = {"decision": "Rejected", "by": "whisperer:admin", "at": "2026-11-01T00:00:00Z"}
    api.patch_namespaced_custom_object(
        "alertwhisperer.io",
        "v1alpha1",
        namespace,
        "runbookexecutions",
        name,
        {"spec": {"approval": decision}},
    )
    with pytest.raises(client.ApiException) as info:
        api.patch_namespaced_custom_object(
            "alertwhisperer.io",
            "v1alpha1",
            namespace,
            "runbookexecutions",
            name,
            {"spec": {"approval": {**decision, "decision": "Approved"}}},
        )
    assert info.value.status == 422
    assert "a decision, once made, cannot be changed" in (info.value.body or "")
