"""Caches: LRU against an OrderedDict reference, capacity, static sets."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.errors import ScenarioError
from edgescale.policies import LRUCache, StaticCache, make_policy


class ReferenceLRU:
    """The textbook LRU on an OrderedDict, independent of LRUCache's linked list."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.d: OrderedDict[Hashable, None] = OrderedDict()

    def request(self, item: Hashable) -> bool:
        if item in self.d:
            self.d.move_to_end(item)
            return True
        if self.capacity > 0:
            self.d[item] = None
            if len(self.d) > self.capacity:
                self.d.popitem(last=False)
        return False


def zipf_stream(n_items: int, alpha: float, length: int, seed: int) -> list[int]:
    p = 1.0 / np.arange(1, n_items + 1) ** alpha
    return np.random.default_rng(seed).choice(n_items, size=length, p=p / p.sum()).tolist()


@pytest.mark.parametrize(("capacity", "alpha"), [(10, 0.8), (100, 0.8), (100, 1.2), (1, 0.5)])
def test_lru_hit_ratio_on_zipf_matches_reference_exactly(capacity: int, alpha: float) -> None:
    stream = zipf_stream(2000, alpha, 50_000, seed=capacity)
    lru, ref = LRUCache(capacity_items=capacity), ReferenceLRU(capacity)
    hits = [lru.request(x) for x in stream]
    expected = [ref.request(x) for x in stream]
    assert hits == expected
    assert lru.hit_ratio == sum(expected) / len(stream)
    assert lru.items() == list(reversed(ref.d))
    assert 0.0 < lru.hit_ratio < 1.0


@given(
    capacity=st.integers(0, 6),
    ops=st.lists(st.tuples(st.sampled_from(["request", "lookup", "admit"]), st.integers(0, 9)), max_size=80),
)
@settings(max_examples=100, deadline=None, derandomize=True)
def test_lru_respects_capacity_and_agrees_with_reference(capacity: int, ops: list[tuple[str, int]]) -> None:
    lru, ref = LRUCache(capacity_items=capacity), ReferenceLRU(capacity)
    for op, item in ops:
        if op == "request":
            assert lru.request(item) == ref.request(item)
        elif op == "lookup":
            hit = item in ref.d
            if hit:
                ref.d.move_to_end(item)
            assert lru.lookup(item) == hit
        else:
            lru.admit(item)
            ref.request(item)
        assert len(lru) <= capacity
        assert lru.items() == list(reversed(ref.d))


def test_zero_capacity_never_hits() -> None:
    c = LRUCache(capacity_items=0)
    assert not any(c.request(x) for x in [1, 1, 1])
    assert len(c) == 0


def test_static_cache_holds_its_items_only() -> None:
    c = StaticCache(items=range(5))
    assert [c.request(x) for x in (0, 9, 9, 4)] == [True, False, False, True]
    assert 9 not in c and len(c) == 5
    assert c.hit_ratio == 0.5


def test_cache_params_are_checked() -> None:
    with pytest.raises(ScenarioError, match=r"policies.caching.params.capacity_items: must be >= 0"):
        make_policy("caching", "lru", {"capacity_items": -1})
    with pytest.raises(ScenarioError, match=r"policies.caching.params.items: must be a list"):
        make_policy("caching", "static", {"items": "abc"})
