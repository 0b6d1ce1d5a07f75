"""The delivery store: answers repeats, forgets the oldest past its bound and expired ones,
so memory stays bounded whatever the traffic (a soak of ten times its size)."""

from __future__ import annotations

import sys

from whisperer.api.ingest import Outcome, RecentDeliveries


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bound_holds_over_a_soak() -> None:
    clock = Clock()
    store = RecentDeliveries(size=5_000, ttl=3600, now=clock)
    sizes = []
    for i in range(50_000):
        clock.now += 0.001
        store.put(f"company|generic|{i:08d}", Outcome(1, (f"al-{i:016x}",), body="b"))
        if i % 5_000 == 4_999:
            sizes.append((len(store), sys.getsizeof(store._seen)))
    assert {n for n, _ in sizes} == {5_000}
    assert len({size for _, size in sizes[1:]}) == 1, sizes  # no growth once it is full
    assert store.get("company|generic|00000000") is None  # the oldest went first
    assert store.get("company|generic|00044999") is None
    assert store.get("company|generic|00045000") is not None
    assert store.get("company|generic|00049999") is not None


def test_entries_expire_after_the_ttl_and_are_dropped() -> None:
    clock = Clock()
    store = RecentDeliveries(size=100, ttl=60, now=clock)
    store.put("a", Outcome(1, ("al-a",)))
    clock.now += 30
    store.put("b", Outcome(1, ("al-b",)))
    assert store.get("a") is not None
    clock.now += 31
    assert store.get("a") is None and store.get("b") is not None
    store.put("c", Outcome(1, ("al-c",)))  # a put also sweeps the expired front
    clock.now += 31
    store.put("d", Outcome(1, ("al-d",)))
    assert len(store) == 2 and store.get("b") is None
