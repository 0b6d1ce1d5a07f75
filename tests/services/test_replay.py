"""The config diff's replay: alerts through the operator's own placement and follow-up code
under two configs, and every difference named by incident."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from whisperer.operator.models.v1alpha1 import Alert
from whisperer.operator.services.replay import Config, compare, replay

API = "alertwhisperer.io/v1alpha1"
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
NS = "company-acme"


def fp(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def inc(name: str) -> str:
    """The incident an alert opens, by the operator's naming."""
    return f"{NS}/inc-{fp(name)}"


def alert(name: str, asset: str, signal: str, minutes: float, **spec: Any) -> Alert:
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    body = {
        "apiVersion": API,
        "kind": "Alert",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "fingerprint": fp(name),
            "source": "alertmanager",
            "asset": {"name": asset, "known": True},
            "signal": signal,
            "severity": "high",
            "state": "firing",
            "labels": {"signal_category": "storage" if signal == "disk-space-low" else "database"},
            "firstSeen": at,
            "lastSeen": at,
            **spec,
        },
    }
    return Alert.model_validate(body)


def obj(kind: str, name: str, spec: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": API, "kind": kind, "metadata": meta, "spec": spec}


def tech(name: str, **spec: Any) -> dict[str, Any]:
    return obj(
        "Technician",
        name,
        {
            "username": f"{name}@msp.example",
            "displayName": name,
            "email": f"{name}@msp.example",
            "skills": ["linux", "databases"],
            "companies": ["acme"],
            **spec,
        },
    )


def config_objects() -> list[dict[str, Any]]:
    return [
        obj(
            "SLAPolicy",
            "std",
            {
                "targets": [{"severity": "high", "responseMinutes": 60, "resolutionMinutes": 480}],
                "coverage": {"type": "24x7"},
            },
        ),
        obj(
            "Company",
            "acme",
            {
                "displayName": "Acme",
                "slaPolicyRef": {"name": "std"},
                "assets": [{"name": "db01"}, {"name": "app01", "dependsOn": ["db01"]}],
            },
        ),
        obj("RoutingRule", "default", {"order": 100, "preferredTechnicians": ["ana"]}),
        tech("ana"),
        tech("bo"),
    ]


ALERTS = [
    alert("a1", "db01", "disk-space-low", 0),
    alert("a2", "db01", "disk-space-low", 2),
    alert("a3", "db01", "replication-lag", 3),
    alert("a4", "app01", "disk-space-low", 30),
]


def differences(change: Any) -> list[Any]:
    proposed = copy.deepcopy(config_objects())
    change(proposed)
    return compare(
        replay(ALERTS, Config.from_bodies(config_objects())),
        replay(ALERTS, Config.from_bodies(proposed)),
    )


def test_the_replay_groups_routes_and_sets_deadlines_as_the_operator_would() -> None:
    result = replay(ALERTS, Config.from_bodies(config_objects()))
    assert result.placed[f"{NS}/a1"] == result.placed[f"{NS}/a2"] == inc("a1")
    assert result.placed[f"{NS}/a3"] == inc("a3")
    assert set(result.incidents) == {inc("a1"), inc("a3"), inc("a4")}
    first = result.incidents[inc("a1")]
    assert first.assignee == "ana"
    assert first.response_due_at == T0 + timedelta(minutes=60)
    assert first.resolution_due_at == T0 + timedelta(minutes=480)


def test_the_same_config_makes_no_difference() -> None:
    assert differences(lambda objects: None) == []


def test_a_routing_change_names_every_incident_it_would_move() -> None:
    def prefer_bo(objects: list[dict[str, Any]]) -> None:
        objects[2]["spec"]["preferredTechnicians"] = ["bo"]

    found = differences(prefer_bo)
    assert [(d.kind, d.subject, d.before, d.after) for d in found] == sorted(
        [
            ("reroute", inc("a1"), "ana", "bo"),
            ("reroute", inc("a3"), "ana", "bo"),
            ("reroute", inc("a4"), "ana", "bo"),
        ]
    )
    assert found[0].detail == "preferred by rule default"


def test_a_rule_only_for_databases_moves_only_the_database_incident() -> None:
    def dba(objects: list[dict[str, Any]]) -> None:
        objects.append(
            obj(
                "RoutingRule",
                "dba",
                {
                    "order": 10,
                    "match": {"signalCategories": ["database"]},
                    "requiredSkills": ["databases"],
                    "preferredTechnicians": ["bo"],
                },
            )
        )

    found = differences(dba)
    assert [(d.kind, d.subject, d.after) for d in found] == [("reroute", inc("a3"), "bo")]


def test_a_late_repeat_joins_with_a_wider_window() -> None:
    alerts = [*ALERTS, alert("a5", "db01", "disk-space-low", 25)]

    def wider(objects: list[dict[str, Any]]) -> None:
        objects[1]["spec"]["incidents"] = {"aggregationWindow": "30m"}

    proposed = copy.deepcopy(config_objects())
    wider(proposed)
    found = compare(
        replay(alerts, Config.from_bodies(config_objects())),
        replay(alerts, Config.from_bodies(proposed)),
    )
    # a5 (minute 25) opened its own incident with the 15m window; now it joins a1's.
    by_subject = {d.subject: (d.kind, d.before, d.after) for d in found}
    assert by_subject == {
        inc("a1"): ("regroup", "2 alerts", f"{inc('a1')} (3 alerts)"),
        inc("a5"): ("regroup", "1 alert", f"{inc('a1')} (3 alerts)"),
    }


def test_a_stricter_sla_policy_moves_deadlines() -> None:
    def stricter(objects: list[dict[str, Any]]) -> None:
        objects[0]["spec"]["targets"][0]["responseMinutes"] = 15

    found = differences(stricter)
    assert {d.kind for d in found} == {"sla"}
    assert len(found) == 3
    first = next(d for d in found if d.subject == inc("a1"))
    assert first.before == "respond 2026-11-25T16:00Z, resolve 2026-11-25T23:00Z"
    assert first.after == "respond 2026-11-25T15:15Z, resolve 2026-11-25T23:00Z"


def test_a_new_silence_and_a_new_runbook_show_up() -> None:
    def silence_and_runbook(objects: list[dict[str, Any]]) -> None:
        objects.append(
            obj(
                "Silence",
                "maint",
                {
                    "matchers": [{"name": "signal", "value": "replication-lag"}],
                    "startsAt": "2026-11-25T00:00:00Z",
                    "endsAt": "2026-11-26T00:00:00Z",
                    "comment": "db maintenance",
                    "createdBy": "ops@msp.example",
                },
                NS,
            )
        )
        objects.append(
            obj(
                "Runbook",
                "clean",
                {
                    "title": "Clean",
                    "risk": "low",
                    "platform": "linux",
                    "shell": "bash",
                    "script": "true",
                    "matches": {"signals": ["disk-space-low"]},
                },
                "alert-whisperer",
            )
        )

    found = differences(silence_and_runbook)
    kinds = [(d.kind, d.subject) for d in found]
    assert ("silence", f"{NS}/a3") in kinds
    assert ("regroup", inc("a3")) in kinds
    assert ("runbook", inc("a1")) in kinds
    runbook = next(d for d in found if d.kind == "runbook")
    assert runbook.after == "alert-whisperer/clean (needs approval)"


def test_resolved_alerts_let_an_incident_resolve_and_reopen_in_event_time() -> None:
    resolved = alert(
        "r1",
        "db01",
        "disk-space-low",
        0,
        state="resolved",
        resolvedAt=(T0 + timedelta(minutes=5)).isoformat(),
        lastSeen=(T0 + timedelta(minutes=5)).isoformat(),
    )
    again = alert("r2", "db01", "disk-space-low", 40)
    result = replay([resolved, again], Config.from_bodies(config_objects()))
    # Quiet from minute 5, resolved after the 5m hold-down; minute 40 is within the 1h
    # reopen window: the same incident reopens.
    assert result.placed[f"{NS}/r2"] == inc("r1")


def test_a_new_signal_rule_reclassifies_alerts_and_regroups_them() -> None:
    # Two tools report one failing backup; the built-in taxonomy does not know the Datto
    # wording, so they are two incidents until a SignalRule says it is a backup failure.
    alerts = [
        alert(
            "v1",
            "fs01",
            "siris-screenshot-verification-error",
            0,
            rawSignal="SIRIS screenshot verification error",
            source="generic",
        ),
        alert("v2", "fs01", "backup-failed", 1, rawSignal="Backup failed on fs01", source="zabbix"),
    ]

    def rule(objects: list[dict[str, Any]]) -> None:
        objects.append(
            obj(
                "SignalRule",
                "datto",
                {
                    "signal": "backup-failed",
                    "category": "backup",
                    "patterns": ["screenshot verification (fail|error)"],
                },
            )
        )

    proposed = copy.deepcopy(config_objects())
    rule(proposed)
    before = replay(alerts, Config.from_bodies(config_objects()))
    after = replay(alerts, Config.from_bodies(proposed))
    assert before.placed[f"{NS}/v1"] != before.placed[f"{NS}/v2"]
    assert after.placed[f"{NS}/v1"] == after.placed[f"{NS}/v2"]
    found = compare(before, after)
    signal = next(d for d in found if d.kind == "signal")
    assert (signal.subject, signal.after) == (f"{NS}/v1", "backup-failed")
    assert any(d.kind == "regroup" for d in found)


def test_a_point_event_goes_stale_in_the_replay_as_in_the_operator() -> None:
    """A generic alert (30 minutes by default) goes stale at its timeout: its incident
    resolves in replayed time, so a report an hour later reopens it. From Alertmanager
    (which sends resolutions) the first alert still fires: its incident never resolved,
    and the report an hour later, past the window, opens another."""
    point = alert("p1", "db01", "disk-space-low", 0, source="generic")
    again = alert("p2", "db01", "disk-space-low", 60, source="generic")
    result = replay([point, again], Config.from_bodies(config_objects()))
    assert result.placed[f"{NS}/p2"] == inc("p1")
    lasting = alert("l1", "db01", "disk-space-low", 0)
    later = alert("l2", "db01", "disk-space-low", 60)
    result = replay([lasting, later], Config.from_bodies(config_objects()))
    assert result.placed[f"{NS}/l2"] == inc("l2")
