"""Per-recipient rate limits: a token bucket per address, so a bad night sends a person a few
messages a minute at most, not one per incident the moment they open. Over the limit a
message waits for its token (it is never dropped). Time comes from an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class RateLimiter:
    """`burst` messages at once per key, then one every `every`."""

    def __init__(
        self,
        *,
        burst: int,
        every: timedelta,
        now: Callable[[], datetime],
        max_keys: int = 10000,
    ) -> None:
        if burst < 1 or every <= timedelta(0):
            raise ValueError("a rate limit needs burst >= 1 and every > 0")
        self._burst = float(burst)
        self._every = every.total_seconds()
        self._now = now
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, key: str, now: datetime) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            return _Bucket(self._burst, now)
        gained = max((now - bucket.at).total_seconds(), 0.0) / self._every
        return _Bucket(min(self._burst, bucket.tokens + gained), now)

    def take(self, key: str) -> timedelta:
        """Take a token for `key`: zero when it was there (the message may go now), else how
        long until one is (nothing is taken: ask again then)."""
        now = self._now()
        bucket = self._refilled(key, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            self._buckets[key] = bucket
            self._forget_idle(now)
            return timedelta(0)
        self._buckets[key] = bucket
        return timedelta(seconds=(1.0 - bucket.tokens) * self._every)

    def _forget_idle(self, now: datetime) -> None:
        """A full bucket is the same as none: drop those when there are too many keys."""
        if len(self._buckets) <= self._max_keys:
            return
        for key in [k for k in self._buckets if self._refilled(k, now).tokens >= self._burst]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
