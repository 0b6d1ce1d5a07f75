"""A token bucket per company, as each Company's webhook settings configure it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    """Tokens refill at `rate` per second up to `burst`; each request takes one."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, *, now: float | None = None) -> float:
        """0 when a token was taken; else the seconds until one will be there."""
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """Buckets by company, reshaped when the company's settings change."""

    def __init__(self) -> None:
        self._buckets: dict[str, Bucket] = {}

    def retry_after(self, company: str, *, rate: float, burst: int) -> int:
        """0 when the request may go on; else whole seconds to wait (at least 1)."""
        bucket = self._buckets.get(company)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = self._buckets[company] = Bucket(rate=rate, burst=float(burst))
        wait = bucket.take()
        return 0 if wait == 0 else max(1, math.ceil(wait))
