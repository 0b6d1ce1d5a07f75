"""From a parsed request to durable Alerts: normalize, resolve assets, dedupe, write."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from whisperer.api.formats.base import Parsed, RawAlert
from whisperer.api.metrics import Metrics
from whisperer.api.problems import unavailable
from whisperer.api.registry import Tenant
from whisperer.api.writer import AlertWriter
from whisperer.operator.errors import UnavailableError
from whisperer.operator.services.alerts import (
    Report,
    canonical_signal,
    delivery_digest,
    fingerprint,
)
from whisperer.operator.services.signals import Taxonomy, default_taxonomy

DEDUPE_SECONDS = 24 * 3600
log = logging.getLogger("whisperer.api")


@dataclass(frozen=True)
class Outcome:
    """What the shim answers for a request."""

    accepted: int
    alerts: tuple[str, ...]
    duplicate: bool = False
    body: str = ""
    """The sha256 of the body this answer was for: a sender's delivery id reused with
    another body is refused, not answered with this."""


class RecentDeliveries:
    """Deliveries answered in the last 24 h, with their answer (a fast path; the Alerts'
    recorded deliveries are what makes redelivery safe across restarts). Holds at most
    `size` entries, the oldest forgotten first, so memory is bounded whatever the traffic."""

    def __init__(
        self,
        *,
        size: int = 100_000,
        ttl: float = DEDUPE_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        # Plain tuples of numbers and strings, which the garbage collector stops tracking:
        # 100,000 tracked objects here made every full collection walk them all.
        self._seen: OrderedDict[str, tuple[float, int, tuple[str, ...], str]] = OrderedDict()
        self._size = size
        self._ttl = ttl
        self._now = now

    def __len__(self) -> int:
        return len(self._seen)

    def get(self, key: str) -> Outcome | None:
        """The earlier answer to this delivery, if still remembered."""
        hit = self._seen.get(key)
        if hit is None:
            return None
        when, accepted, alerts, body = hit
        if self._now() - when > self._ttl:
            del self._seen[key]
            return None
        return Outcome(accepted, alerts, body=body)

    def put(self, key: str, outcome: Outcome) -> None:
        """Remember an answer (forgetting the oldest past `size`, and expired ones)."""
        now = self._now()
        self._seen[key] = (now, outcome.accepted, outcome.alerts, outcome.body)
        self._seen.move_to_end(key)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        while self._seen:  # entries are in answer order: expired ones are at the front
            first = next(iter(self._seen.values()))
            if now - first[0] <= self._ttl:
                break
            self._seen.popitem(last=False)


class DeliveryReused(Exception):  # noqa: N818 - an outcome the router renders as 422
    """A sender's delivery id came again with a different body."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"delivery id {delivery_id[:80]!r} was already used for another body")
        self.delivery_id = delivery_id


def report_for(
    tenant: Tenant, raw: RawAlert, *, delivery: str | None, taxonomy: Taxonomy | None = None
) -> Report:
    """One raw alert, resolved against the tenant's inventory, classified (by the built-in
    taxonomy unless told) and fingerprinted."""
    hint = raw.asset
    asset = tenant.inventory.resolve(
        name=hint.name,
        hostnames=hint.hostnames,
        ip_addresses=hint.ip_addresses,
        instance_id=hint.instance_id,
        resource_id=hint.resource_id,
    )
    signal = canonical_signal(raw.signal)  # the Alert's identity keeps the tool's own name
    # correlation works on the taxonomy's
    canonical = (taxonomy or default_taxonomy()).classify(raw.signal, source=raw.source)
    # The tool's own key, where it has one, follows the alert from firing to resolved even
    # when the resolution carries nothing else (PagerDuty resolve, a CloudWatch OK).
    fp = fingerprint(
        company=tenant.name,
        source=raw.source,
        identity=f"key:{raw.key}" if raw.key else f"{asset.name}|{signal}",
    )
    labels = dict(raw.labels)
    labels.setdefault("signal_category", canonical.category)
    if raw.key:
        labels.setdefault("tool_key", raw.key[:1024])
    per_alert = None
    if delivery:  # stable per alert of the delivery, whatever the order they came in (not
        # the event time: a format may default it to the time of arrival)
        per_alert = delivery_digest(f"{delivery}|{raw.key}|{raw.signal}|{asset.name}|{raw.state}")
    return Report(
        company=tenant.name,
        fingerprint=fp,
        source=raw.source,
        asset=asset.name,
        asset_known=asset.known,
        signal=canonical.name[:256],  # what an Alert keeps (the identity used all of it)
        raw_signal=raw.signal,
        severity=raw.severity,
        state=raw.state,
        occurred_at=raw.occurred_at,
        message=raw.message,
        labels=labels,
        delivery=per_alert,
        ends_at=raw.ends_at,
    )


class Ingestor:
    """The shim's one path from request to Alert."""

    def __init__(
        self,
        writer: AlertWriter,
        metrics: Metrics,
        *,
        timeout: float = 10.0,
        taxonomy: Callable[[], Taxonomy] = default_taxonomy,
        recent: RecentDeliveries | None = None,
    ) -> None:
        self._writer = writer
        self._metrics = metrics
        self._timeout = timeout
        self._taxonomy = taxonomy
        """The taxonomy in force now (the registry's, reloaded from the SignalRules)."""
        self._recent = recent or RecentDeliveries()
        self._in_flight: dict[str, str] = {}
        """Sender delivery ids being written now, with their body's digest."""

    async def ingest(self, tenant: Tenant, parsed: Parsed, *, body: bytes, fmt: str) -> Outcome:
        """Write the request's alerts; 503 (Problem) when the API server cannot take them."""
        body_digest = hashlib.sha256(body).hexdigest()
        key = parsed.delivery_id or parsed.content_key or body_digest
        delivery = f"{tenant.name}|{fmt}|{key}"
        earlier = self._recent.get(delivery)
        if parsed.delivery_id:  # the sender's id: the same id must mean the same body
            claimed = earlier.body if earlier is not None else self._in_flight.get(delivery)
            if claimed is not None and claimed != body_digest:
                self._metrics.rejected.labels(fmt, "delivery_reused").inc()
                log.warning(
                    "delivery id reused with another body",
                    extra={"company": tenant.name, "format": fmt, "reason": parsed.delivery_id},
                )
                raise DeliveryReused(parsed.delivery_id)
        if earlier is not None:
            self._metrics.duplicates.labels(fmt).inc()
            return Outcome(earlier.accepted, earlier.alerts, duplicate=True, body=earlier.body)
        taxonomy = self._taxonomy()
        reports = [
            report_for(tenant, raw, delivery=delivery, taxonomy=taxonomy) for raw in parsed.alerts
        ]
        started = time.perf_counter()
        if parsed.delivery_id:
            self._in_flight.setdefault(delivery, body_digest)
        try:
            # asyncio.timeout, not wait_for: no extra task per request.
            with self._metrics.in_flight.track_inprogress():
                async with asyncio.timeout(self._timeout):
                    await self._writer.write(tenant.namespace, reports)
        except (UnavailableError, TimeoutError) as exc:
            self._metrics.rejected.labels(fmt, "unavailable").inc()
            raise unavailable(f"the alert store is unavailable, retry later ({exc})") from exc
        finally:
            if parsed.delivery_id and self._in_flight.get(delivery) == body_digest:
                self._in_flight.pop(delivery, None)
        self._metrics.write_latency.observe(time.perf_counter() - started)
        self._metrics.accepted.labels(fmt).inc(len(reports))
        outcome = Outcome(
            len(reports),
            tuple(sorted({f"al-{r.fingerprint}" for r in reports})),
            body=body_digest,
        )
        self._recent.put(delivery, outcome)
        return outcome
