"""A storm against the real API server and the running operator: 500 alerts of one signal
from 500 hosts within a minute become one storm incident (the incidents the first alerts
opened before the threshold are merged into it), with every alert accounted for."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.alerts import a_company, alert, incidents, operator_kubeconfig, wait_namespace
from support.cluster import Cluster, wait_for
from support.operator import run_operator

from whisperer.operator.kube import KubeClient

STORM = 500


@pytest.fixture
def company(cluster: Cluster, admin: KubeClient) -> Iterator[str]:
    """A company with the default storm threshold (20 alerts a minute)."""
    with a_company(
        admin,
        "storm",
        incidents={"stormThreshold": 20},
        assets=[],
    ) as name:
        yield name


def test_a_storm_of_500_alerts_is_one_incident(
    cluster: Cluster, admin: KubeClient, company: str
) -> None:
    ns = f"company-{company}"
    with run_operator(operator_kubeconfig(cluster)):
        wait_namespace(admin, company)
        with ThreadPoolExecutor(max_workers=8) as pool:
            names = list(
                pool.map(
                    lambda i: alert(
                        admin,
                        company,
                        asset=f"host{i:03d}",
                        raw="Packet loss high",
                        source="alertmanager",
                        minutes=i * 50 / STORM / 60,  # all within 50 seconds
                    ),
                    range(STORM),
                )
            )

        def placed() -> dict[str, str] | None:
            refs = {
                a["metadata"]["name"]: (a.get("status") or {}).get("incidentRef", {}).get("name")
                for a in admin.list("alerts", ns)
            }
            return refs if len(refs) == STORM and all(refs.values()) else None

        refs = wait_for(placed, timeout=180, what="every alert of the storm correlated")
        assert set(refs) == set(names)

        def settled() -> list[dict] | None:
            found = incidents(admin, company)
            current = [i for i in found if not (i.get("status") or {}).get("mergedInto")]
            if len(current) != 1:
                return None
            count = (current[0].get("status") or {}).get("alerts", {}).get("count")
            return current if count == STORM else None

        (storm,) = wait_for(settled, timeout=120, what="one storm incident holding 500 alerts")
    status = storm["status"]
    assert status["pattern"] == "storm"
    assert status["aggregationKey"] == "storm|network-packet-loss"
    assert status["alerts"]["firing"] == STORM
    assert len(status["alerts"]["refs"]) == 50  # bounded
    merged = [i for i in incidents(admin, company) if i["status"].get("mergedInto")]
    assert all(i["status"]["mergedInto"] == storm["metadata"]["name"] for i in merged)
    assert all(i["status"]["phase"] == "Resolved" for i in merged)
    # Every alert points at the storm, or at an incident merged into it.
    assert set(refs.values()) <= {storm["metadata"]["name"]} | {
        i["metadata"]["name"] for i in merged
    }
