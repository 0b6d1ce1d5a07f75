"""Prometheus metrics of the shim, in their own registry (tests create many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    """Every metric the shim exports."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.received = Counter(
            "whisperer_webhook_requests", "Requests received.", ["format"], registry=r
        )
        self.accepted = Counter(
            "whisperer_webhook_alerts_accepted", "Alerts written.", ["format"], registry=r
        )
        self.duplicates = Counter(
            "whisperer_webhook_duplicates",
            "Deliveries recognised as already written.",
            ["format"],
            registry=r,
        )
        self.rejected = Counter(
            "whisperer_webhook_rejected",
            "Requests refused, by reason.",
            ["format", "reason"],
            registry=r,
        )
        self.write_latency = Histogram(
            "whisperer_webhook_write_seconds",
            "Time from request to durable write.",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.batch_size = Histogram(
            "whisperer_webhook_commit_batch_size",
            "Reports folded into one API write.",
            registry=r,
            buckets=(1, 2, 5, 10, 25, 50, 100, 250),
        )
        self.api_writes = Counter(
            "whisperer_webhook_api_writes",
            "Writes to the API server (create or patch).",
            registry=r,
        )
        self.in_flight = Gauge("whisperer_webhook_in_flight", "Requests being handled.", registry=r)
