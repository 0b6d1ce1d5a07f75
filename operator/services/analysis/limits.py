"""What bounds the AI analysis: a cache of answers by input, and a daily budget."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime

from whisperer.operator.services.analysis.verdict import Suggestion


class TTLCache:
    """A bounded LRU of suggestions by input hash, each kept for `ttl` seconds."""

    def __init__(
        self, *, size: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size, self._ttl, self._clock = size, ttl, clock
        self._items: OrderedDict[str, tuple[float, Suggestion]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Suggestion | None:
        """The cached suggestion, if it has not expired."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if found[0] <= self._clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: str, value: Suggestion) -> None:
        """Remember a suggestion, dropping the least recently used past the size."""
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = (self._clock() + self._ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class DailyBudget:
    """US dollars spent today (UTC), in this process: a request whose worst case would pass
    the limit is not made."""

    def __init__(self, limit: float, *, today: Callable[[], date] | None = None) -> None:
        self.limit = limit
        self._today = today or (lambda: datetime.now(UTC).date())
        self._day = self._today()
        self._spent = 0.0
        self._lock = threading.Lock()

    def _roll(self) -> None:
        if self._today() != self._day:
            self._day, self._spent = self._today(), 0.0

    @property
    def spent(self) -> float:
        """Spent today."""
        with self._lock:
            self._roll()
            return self._spent

    def allows(self, worst_case: float) -> bool:
        """Whether a request costing up to `worst_case` fits in what is left today."""
        with self._lock:
            self._roll()
            return self._spent + worst_case <= self.limit

    def charge(self, cost: float) -> None:
        """Count what a request cost."""
        with self._lock:
            self._roll()
            self._spent += cost
