"""Correlation benchmark: the correlator against Alertmanager-style grouping, on generated
scenarios whose ground-truth incident of every alert is known.

    PYTHONSAFEPATH=1 .venv/bin/python bench/correlation/run.py [--seed 7] [--hours 12]

Scenarios per company: cascades over a topology (host down, its services follow), the same
problem seen by several tools, storms (one outage, hundreds of alerts in a minute),
flapping, periodic nightly jobs, and background noise; deliveries arrive out of order (up
to 10 minutes late). Reported for both: compression (alerts per incident, and the ground
truth's), pairwise precision, recall and F1 (overall and per scenario type), adjusted Rand
index, time from first alert to incident, and CPU microseconds per alert.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import comb

from whisperer.operator.services.correlation import AlertFacts, Correlator
from whisperer.operator.services.signals import classify

WINDOW = timedelta(minutes=15)
T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
# What each tool calls a few problems (raw names the taxonomy must recognise).
NAMES = {
    "host-down": {
        "alertmanager": "InstanceDown",
        "zabbix": "Unavailable by ICMP ping",
        "datadog": "Host is down",
        "cloudwatch": "StatusCheckFailed_System",
    },
    "disk-space-low": {
        "alertmanager": "NodeFilesystemAlmostOutOfSpace",
        "zabbix": "Free disk space is less than 10% on volume /",
        "datadog": "Disk space low",
        "cloudwatch": "disk_used_percent high",
    },
    "cpu-high": {
        "alertmanager": "NodeHighCPU",
        "zabbix": "High CPU utilization",
        "datadog": "CPU usage above 90%",
        "cloudwatch": "CPUUtilization",
    },
    "http-error-rate": {
        "alertmanager": "HTTPErrorRateHigh",
        "datadog": "5xx above 5%",
        "cloudwatch": "HTTPCode_Target_5XX_Count",
    },
    "latency-high": {"alertmanager": "HighLatencyP99", "datadog": "Latency p99 above 2s"},
    "service-down": {"alertmanager": "ServiceDown", "zabbix": "Service is not running"},
    "backup-failed": {"zabbix": "Veeam backup job failed", "datadog": "Backup failed"},
    "memory-high": {"alertmanager": "NodeMemoryHigh", "datadog": "Memory usage high"},
    "network-packet-loss": {"alertmanager": "PacketLossHigh", "zabbix": "Packet loss above 5%"},
}


@dataclass(frozen=True)
class Event:
    """One generated alert: what the tool sends, when, and the incident it truly belongs to."""

    id: str
    company: str
    asset: str
    raw: str
    tool: str
    severity: str
    at: datetime
    arrives: datetime
    truth: str
    scenario: str


class Generator:
    """Scenarios over a small topology per company."""

    def __init__(self, rng: random.Random, hours: int) -> None:
        self.rng, self.hours = rng, hours
        self.events: list[Event] = []
        self.topology: dict[str, dict[str, tuple[str, ...]]] = {}
        self._n = 0

    def _emit(
        self,
        company: str,
        asset: str,
        signal: str,
        tool: str,
        at: datetime,
        truth: str,
        scenario: str,
        severity: str = "high",
    ) -> None:
        self._n += 1
        late = timedelta(seconds=self.rng.choice([0, 0, 0, 5, 30, 120, 600]))
        raw = NAMES[signal].get(tool) or next(iter(NAMES[signal].values()))
        self.events.append(
            Event(
                f"a{self._n}", company, asset, raw, tool, severity, at, at + late, truth, scenario
            )
        )

    def _when(self) -> datetime:
        return T0 + timedelta(minutes=self.rng.uniform(0, self.hours * 60))

    def company(self, name: str) -> None:
        hosts = [f"{name}-h{i}" for i in range(12)]
        deps: dict[str, tuple[str, ...]] = {h: () for h in hosts}
        services = {h: [f"{h}-svc{j}" for j in range(self.rng.randint(2, 4))] for h in hosts}
        for h, svcs in services.items():
            for s in svcs:
                deps[s] = (h,)
        self.topology[name] = deps
        tools = ["alertmanager", "zabbix", "datadog", "cloudwatch"]
        for k in range(6):  # cascades
            host, at = self.rng.choice(hosts), self._when()
            truth = f"{name}-cascade-{k}"
            self._emit(
                name, host, "host-down", self.rng.choice(tools), at, truth, "cascade", "critical"
            )
            for s in services[host]:
                for signal in self.rng.sample(
                    ["http-error-rate", "latency-high", "service-down"], 2
                ):
                    self._emit(
                        name,
                        s,
                        signal,
                        "datadog",
                        at + timedelta(minutes=self.rng.uniform(0, 5)),
                        truth,
                        "cascade",
                    )
        for k in range(8):  # the same problem, several tools
            asset = self.rng.choice(hosts)
            signal = self.rng.choice(["disk-space-low", "cpu-high", "memory-high"])
            at, truth = self._when(), f"{name}-dup-{k}"
            for tool in self.rng.sample(tools, 3):
                self._emit(
                    name,
                    asset,
                    signal,
                    tool,
                    at + timedelta(minutes=self.rng.uniform(0, 4)),
                    truth,
                    "cross-tool",
                )
        at, truth = self._when(), f"{name}-storm"  # a network outage: everything at once
        for _ in range(150):
            host = self.rng.choice(hosts)
            self._emit(
                name,
                host,
                "network-packet-loss",
                "alertmanager",
                at + timedelta(seconds=self.rng.uniform(0, 60)),
                truth,
                "storm",
            )
        for k in range(2):  # flapping: one alert firing every 2 minutes for half an hour
            asset, at, truth = self.rng.choice(hosts), self._when(), f"{name}-flap-{k}"
            for i in range(15):
                self._emit(
                    name,
                    asset,
                    "service-down",
                    "zabbix",
                    at + timedelta(minutes=2 * i),
                    truth,
                    "flapping",
                )
        asset = self.rng.choice(hosts)  # periodic: the nightly backup fails every night
        for day in range(max(1, self.hours // 24) + 2):
            self._emit(
                name,
                asset,
                "backup-failed",
                "zabbix",
                T0 + timedelta(days=day, hours=2),
                f"{name}-periodic",
                "periodic",
            )
        for k in range(60):  # background noise: unrelated single alerts
            signal = self.rng.choice(list(NAMES))
            self._emit(
                name,
                self.rng.choice(hosts + [s for v in services.values() for s in v]),
                signal,
                self.rng.choice(list(NAMES[signal])),
                self._when(),
                f"{name}-noise-{k}",
                "noise",
                "medium",
            )


def correlate(
    events: list[Event], topology: dict[str, dict[str, tuple[str, ...]]]
) -> tuple[dict[str, str], float]:
    correlator = Correlator()
    assigned: dict[str, str] = {}
    merged: dict[str, str] = {}
    started = time.process_time()
    for e in sorted(events, key=lambda e: e.arrives):
        signal = classify(e.raw)
        facts = AlertFacts(
            company=e.company,
            name=e.id,
            asset=e.asset,
            signal=signal.name,
            category=signal.category,
            severity=e.severity,
            source=e.tool,
            at=e.at,
        )
        decision = correlator.decide(
            facts, new_name=f"i-{e.id}", window=WINDOW, depends_on=topology[e.company]
        )
        assigned[e.id] = decision.incident
        for absorbed in decision.absorbed:  # a late cause took these incidents in
            merged[absorbed] = decision.incident
    cpu = time.process_time() - started

    def final(incident: str) -> str:
        while incident in merged:
            incident = merged[incident]
        return incident

    return {alert: final(incident) for alert, incident in assigned.items()}, cpu


def alertmanager_groups(events: list[Event]) -> dict[str, str]:
    """Grouping by (alertname, instance): a group lives while alerts keep coming within the
    group interval (5 min) of its last one."""
    groups: dict[tuple[str, str, str], tuple[str, datetime]] = {}
    assigned: dict[str, str] = {}
    for e in sorted(events, key=lambda e: e.arrives):
        key = (e.company, e.raw, e.asset)
        current = groups.get(key)
        if current is None or e.arrives - current[1] > timedelta(minutes=5):
            current = (f"g-{e.id}", e.arrives)
        groups[key] = (current[0], e.arrives)
        assigned[e.id] = current[0]
    return assigned


def pairs(pred: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    cells = Counter((pred[a], truth[a]) for a in pred)
    rows, cols = Counter(pred.values()), Counter(truth.values())
    tp = sum(comb(n, 2) for n in cells.values())
    pred_pairs, true_pairs = (
        sum(comb(n, 2) for n in rows.values()),
        sum(comb(n, 2) for n in cols.values()),
    )
    total = comb(len(pred), 2)
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = pred_pairs * true_pairs / total if total else 0.0
    ceiling = (pred_pairs + true_pairs) / 2
    ari = (tp - expected) / (ceiling - expected) if ceiling != expected else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ari": ari,
        "incidents": len(rows),
        "compression": len(pred) / len(rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hours", type=int, default=12)
    parser.add_argument("--companies", type=int, default=3)
    args = parser.parse_args()
    gen = Generator(random.Random(args.seed), args.hours)
    for c in range(args.companies):
        gen.company(f"co{c}")
    events = gen.events
    truth = {e.id: e.truth for e in events}
    ours, cpu = correlate(events, gen.topology)
    baseline = alertmanager_groups(events)
    report: dict[str, object] = {
        "alerts": len(events),
        "ground_truth": {
            "incidents": len(set(truth.values())),
            "compression": len(events) / len(set(truth.values())),
        },
        "correlator": {
            **pairs(ours, truth),
            "cpu_us_per_alert": cpu / len(events) * 1e6,
            "time_to_incident_s": 0.0,
        },
        "alertmanager_baseline": {**pairs(baseline, truth), "time_to_incident_s": 30.0},
    }
    by_scenario: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for scenario in sorted({e.scenario for e in events}):
        ids = [e.id for e in events if e.scenario == scenario]
        for label, assigned in (("correlator", ours), ("baseline", baseline)):
            result = pairs({i: assigned[i] for i in ids}, {i: truth[i] for i in ids})
            by_scenario[scenario][label] = {k: round(v, 3) for k, v in result.items()}
    report["by_scenario"] = by_scenario
    print(json.dumps(report, indent=2, default=float))
    c, b = report["correlator"], report["alertmanager_baseline"]
    assert isinstance(c, dict) and isinstance(b, dict)
    print(
        f"\ncorrelator: precision {c['precision']:.3f} recall {c['recall']:.3f} "
        f"F1 {c['f1']:.3f} ARI {c['ari']:.3f} compression {c['compression']:.1f} "
        f"(truth {len(events) / len(set(truth.values())):.1f}) "
        f"{c['cpu_us_per_alert']:.1f} us CPU/alert",
        file=sys.stderr,
    )
    print(
        f"baseline:   precision {b['precision']:.3f} recall {b['recall']:.3f} "
        f"F1 {b['f1']:.3f} ARI {b['ari']:.3f} compression {b['compression']:.1f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
