"""A restart in the middle of a storm and of a periodic series changes nothing: the operator
rebuilds the storm window and the series' history from what it stored, and the stream gives
the same incidents as a run without the restart (compared alert by alert)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from support.alerts import API, a_company, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.operator import run_operator

from whisperer.operator.kube import KubeClient
from whisperer.operator.services.signals import classify

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
STORM = 40  # alerts within a minute: the storm begins at the 20th (the default threshold)
SERIES = 5  # a nightly backup failing at the same hour
STOP_AFTER = ("storm-09", "backup-1")  # where the restart falls: below the threshold, and
# with two occurrences known (the rhythm shows only with the third)


def stream() -> list[tuple[str, str, str, datetime]]:
    """(label, asset, tool's alert name, event time), in the order they arrive."""
    series = [
        (f"backup-{n}", "db01", "Veeam backup job failed", T0 + timedelta(hours=24 * n))
        for n in range(SERIES)
    ]
    storm = [
        (f"storm-{n:02d}", f"edge{n:02d}", "PacketLossHigh", T0 + timedelta(hours=30, seconds=n))
        for n in range(STORM)
    ]
    # Interleaved: the first two backups, the storm, the rest of the backups.
    return [*series[:2], *storm, *series[2:]]


def create(admin: KubeClient, company: str, label: str, asset: str, raw: str, at: datetime) -> str:
    fp = hashlib.sha256(f"{label}".encode()).hexdigest()[:16]  # the same in both companies
    signal = classify(raw)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    ns = f"company-{company}"
    admin.create(
        "alerts",
        {
            "apiVersion": API,
            "kind": "Alert",
            "metadata": {"name": f"al-{fp}", "namespace": ns, "labels": {"label": label}},
            "spec": {
                "fingerprint": fp,
                "source": "zabbix",
                "asset": {"name": asset, "known": True},
                "signal": signal.name,
                "rawSignal": raw,
                "severity": "high",
                "state": "firing",
                "labels": {"signal_category": signal.category},
                "firstSeen": stamp,
                "lastSeen": stamp,
            },
        },
        ns,
    )
    wait_for(
        lambda: admin.get("alerts", f"al-{fp}", ns).get("status", {}).get("incidentRef"),
        what=f"{label} placed",
    )
    return f"al-{fp}"


def outcome(admin: KubeClient, company: str) -> dict[str, Any]:
    """What the stream made: the final incidents as sets of alert labels (merges followed),
    their patterns, and the incident objects made (by the label of the alert that opened
    each, merged or not)."""
    ns = f"company-{company}"
    incidents = {i["metadata"]["name"]: i for i in admin.list("incidents", ns)}
    label_of = {
        a["metadata"]["name"]: a["metadata"]["labels"]["label"] for a in admin.list("alerts", ns)
    }
    fp_label = {name.removeprefix("al-"): label for name, label in label_of.items()}

    def final(name: str) -> str:
        while (incidents[name].get("status") or {}).get("mergedInto"):
            name = incidents[name]["status"]["mergedInto"]
        return name

    groups: dict[str, set[str]] = {}
    for alert in admin.list("alerts", ns):
        ref = alert["status"]["incidentRef"]["name"]
        groups.setdefault(final(ref), set()).add(alert["metadata"]["labels"]["label"])
    return {
        "groups": sorted(
            (
                sorted(members),
                incidents[name]["status"]["pattern"],
                incidents[name]["status"]["alerts"]["count"],
            )
            for name, members in groups.items()
        ),
        "made": sorted(
            (
                fp_label.get(name.removeprefix("inc-")[:16], name),
                bool(i["status"].get("mergedInto")),
            )
            for name, i in incidents.items()
        ),
    }


def test_a_restart_mid_storm_and_mid_series_gives_the_same_incidents(
    cluster: Cluster, admin: KubeClient
) -> None:
    kubeconfig = operator_kubeconfig(cluster)
    events = stream()
    split = max(i for i, e in enumerate(events) if e[0] in STOP_AFTER) + 1
    with a_company(admin, "whole") as whole, a_company(admin, "split") as split_company:
        with run_operator(kubeconfig):
            wait_namespace(admin, whole)
            wait_namespace(admin, split_company)
            for event in events:
                create(admin, whole, *event)
            for event in events[:split]:
                create(admin, split_company, *event)
        with run_operator(kubeconfig):  # memory rebuilt from what was stored
            for event in events[split:]:
                create(admin, split_company, *event)
            expected = outcome(admin, whole)
            wait_for(
                lambda: outcome(admin, split_company) == expected or None,
                timeout=30,
                what="the same incidents after the restart",
            )
        got = outcome(admin, split_company)
    assert got == expected
    groups = [members for members, _, _ in expected["groups"]]
    storm = next(g for g in groups if "storm-00" in g)
    series = next(g for g in groups if "backup-0" in g)
    assert len(storm) == STORM and len(series) == SERIES  # one storm, one series
    patterns = {members[0]: pattern for members, pattern, _ in expected["groups"]}
    assert patterns["backup-0"] == "periodic" and patterns["storm-00"] == "storm"
    # Without the rebuilt window the storm would begin ten alerts later, and without the
    # history the series would start over: both would make other incident objects.
    made = [label for label, _ in expected["made"]]
    assert "storm-19" in made and "storm-20" not in made
