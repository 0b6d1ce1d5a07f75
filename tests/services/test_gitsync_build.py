"""build and validate, the syncer's pure steps: every problem named by file and document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.cluster import REPO

from whisperer.operator.services.gitsync import SyncStepError, build, validate


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_the_example_config_repo_builds_and_validates() -> None:
    docs = build(REPO, "manifests/config")
    assert {d.kind.info.kind for d in docs} == {
        "Company",
        "SLAPolicy",
        "RoutingRule",
        "Technician",
        "Silence",
        "SignalRule",
        "NotificationChannel",
    }
    validate(docs)
    assert len({d.id for d in docs}) == len(docs)


def test_multi_document_files_and_subfolders(tmp_path: Path) -> None:
    policy = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "SLAPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "targets": [{"severity": "low", "responseMinutes": 1, "resolutionMinutes": 2}],
            "coverage": {"type": "24x7"},
        },
    }
    write(
        tmp_path,
        "cfg/a/b/two.yaml",
        yaml.safe_dump_all([policy, {**policy, "metadata": {"name": "q"}}]),
    )
    docs = build(tmp_path, "cfg")
    assert [(d.file, d.index) for d in docs] == [("cfg/a/b/two.yaml", 0), ("cfg/a/b/two.yaml", 1)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1", "invalid YAML"),
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", "a Secret in git is refused"),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", "is not a config kind"),
        ("- just\n- a list\n", "not a Kubernetes object"),
    ],
)
def test_build_refuses_with_file_and_document(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "cfg/ok.yaml", "")
    write(tmp_path, "cfg/bad.yaml", text)
    with pytest.raises(SyncStepError) as info:
        build(tmp_path, "cfg")
    assert info.value.reason == "BuildFailed"
    assert [(e.file, e.document) for e in info.value.errors] == [("cfg/bad.yaml", 0)]
    assert message in info.value.errors[0].message


def test_a_path_outside_the_repo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SyncStepError, match="leaves the repository"):
        build(tmp_path, "../elsewhere")


def test_validate_names_every_dangling_reference(tmp_path: Path) -> None:
    docs = [
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Company",
            "metadata": {"name": "c"},
            "spec": {"displayName": "C", "slaPolicyRef": {"name": "missing"}},
        },
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "t"},
            "spec": {
                "username": "u",
                "displayName": "T",
                "email": "t@x.example",
                "companies": ["ghost"],
            },
        },
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "t2"},
            "spec": {"username": "u", "displayName": "T2", "email": "t@x.example"},
        },
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "RoutingRule",
            "metadata": {"name": "r"},
            "spec": {"order": 1, "preferredTechnicians": ["nobody"]},
        },
    ]
    write(tmp_path, "cfg/all.yaml", yaml.safe_dump_all(docs))
    with pytest.raises(SyncStepError) as info:
        validate(build(tmp_path, "cfg"))
    messages = sorted(e.message for e in info.value.errors)
    assert info.value.reason == "ValidationFailed"
    assert len(messages) == 4
    assert any("'missing'" in m for m in messages)
    assert any("'ghost'" in m for m in messages)
    assert any("username 'u'" in m for m in messages)
    assert any("'nobody'" in m for m in messages)


def _signal_rule(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "SignalRule",
        "metadata": {"name": name},
        "spec": {"signal": "backup-failed", "category": "backup", "patterns": ["x"], **spec},
    }


def test_signal_rules_are_config_and_validate_refuses_conflicts(tmp_path: Path) -> None:
    docs = [
        _signal_rule("veeam", order=10, patterns=["replication job .*fail"]),
        # the same signal under another category: which one would the alert carry?
        _signal_rule("datto", order=20, category="backup-dr", patterns=["screenshot"]),
        # a pattern an earlier rule already claims for the same tool never matches here
        _signal_rule("again", order=30, signal="job-failed", patterns=["Replication job .*fail"]),
        # the same pattern for other tools only is no conflict
        _signal_rule("z1", order=40, signal="s1", patterns=["ups"], sources=["zabbix"]),
        _signal_rule("z2", order=50, signal="s2", patterns=["ups"], sources=["datadog"]),
        # nor is a second rule adding patterns to the same signal and category
        _signal_rule("more", order=60, patterns=["local verification fail"]),
    ]
    write(tmp_path, "cfg/signals.yaml", yaml.safe_dump_all(docs))
    built = build(tmp_path, "cfg")
    assert {d.kind.info.kind for d in built} == {"SignalRule"}
    with pytest.raises(SyncStepError) as info:
        validate(built)
    assert info.value.reason == "ValidationFailed"
    assert sorted((e.document, e.message) for e in info.value.errors) == [
        (
            1,
            "signal 'backup-failed' has category 'backup' in SignalRule 'veeam', not "
            "'backup-dr': a signal has one category",
        ),
        (2, "pattern 'Replication job .*fail' is also SignalRule 'veeam''s, which is tried first"),
    ]


def test_validate_refuses_a_signal_rule_whose_pattern_python_cannot_use(tmp_path: Path) -> None:
    write(tmp_path, "cfg/s.yaml", yaml.safe_dump(_signal_rule("bad", patterns=["(?i)ups"])))
    with pytest.raises(SyncStepError) as info:
        validate(build(tmp_path, "cfg"))
    assert [(e.file, e.document) for e in info.value.errors] == [("cfg/s.yaml", 0)]
    assert "spec.patterns" in info.value.errors[0].message
    assert "does not compile" in info.value.errors[0].message


def _channel(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "NotificationChannel",
        "metadata": {"name": name},
        "spec": {"type": "sms", "sms": {"region": "us-east-1"}, **spec},
    }


def test_channels_are_config_one_default_each_and_technicians_name_real_ones(
    tmp_path: Path,
) -> None:
    smtp = {"host": "smtp.example.com", "from": "noc@example.com"}
    docs = [
        _channel("mail-a", type="smtp", smtp=smtp, sms=None, default=True),
        _channel("mail-b", type="smtp", smtp=smtp, sms=None, default=True),
        _channel("texts", default=True),
        _channel("more-texts"),  # not a default: fine
        {
            "apiVersion": "alertwhisperer.io/v1alpha1",
            "kind": "Technician",
            "metadata": {"name": "t"},
            "spec": {
                "username": "t@example.com",
                "displayName": "T",
                "email": "t@example.com",
                "notifications": {"channels": ["texts", "pager"]},
            },
        },
    ]
    for doc in docs:
        spec = doc["spec"]
        assert isinstance(spec, dict)
        for key in [k for k, v in spec.items() if v is None]:
            del spec[key]
    write(tmp_path, "cfg/channels.yaml", yaml.safe_dump_all(docs))
    built = build(tmp_path, "cfg")
    assert {d.kind.info.kind for d in built} == {"NotificationChannel", "Technician"}
    with pytest.raises(SyncStepError) as info:
        validate(built)
    assert sorted((e.document, e.message) for e in info.value.errors) == [
        (
            1,
            "NotificationChannel 'mail-a' is already the default email channel: "
            "one default email channel at most",
        ),
        (
            4,
            "notifications.channels names 'pager', which is not a NotificationChannel in the "
            "repository",
        ),
    ]
