"""WaterFilling places exactly as greedy least-loaded placement when arithmetic is exact, in one step per service."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.policies import ArrayClusterView, Demand, LeastLoadedPlacement
from edgescale.policies.water_filling import WaterFilling, fill


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 30),
    m=st.integers(1, 4),
    headroom=st.sampled_from([0.0, 0.25, 0.5]),
)
def test_water_filling_equals_greedy_least_loaded(seed: int, n: int, m: int, headroom: float) -> None:
    rng = np.random.default_rng(seed)
    # binary fractions: every threshold is computed exactly, so ties are real ties
    v = ArrayClusterView(
        site_tier=rng.choice([1, 2, 3], n),
        site_cpu_cores=rng.choice([1.0, 2.0, 4.0, 8.0], n),
        site_load=rng.choice([0.0, 0.125, 0.25, 0.5], n),
        site_up=rng.random(n) > 0.2,
        service_cpu_cores=rng.choice([0.125, 0.25, 0.5, 1.0], m),
        service_tier_mask=rng.choice([2, 8, 14], m),
    )
    want = rng.integers(0, 4 * n, m)
    a = LeastLoadedPlacement(headroom=headroom).place(v, Demand(replicas=want))
    b = WaterFilling(headroom=headroom).place(v, Demand(replicas=want))
    np.testing.assert_array_equal(a.replicas, b.replicas)
    np.testing.assert_array_equal(a.unplaced, b.unplaced)


def test_fill_takes_the_k_smallest_thresholds_with_ties_to_the_lower_index() -> None:
    base = np.array([0.0, 0.0, 0.5])
    step = np.array([1.0, 1.0, 0.25])
    room = np.array([5, 5, 5])
    # thresholds: site0 0,1,2..; site1 0,1,2..; site2 0.5,0.75,1.0,1.25
    assert fill(3, base, step, room).tolist() == [1, 1, 1]
    assert fill(4, base, step, room).tolist() == [1, 1, 2]
    assert fill(5, base, step, room).tolist() == [2, 1, 2]  # the tie at 1.0: lower index first
    assert fill(7, base, step, room).tolist() == [2, 2, 3]
    assert fill(100, base, step, room).tolist() == [5, 5, 5]


def test_water_filling_places_100k_replicas_on_10k_sites_fast() -> None:
    rng = np.random.default_rng(0)
    v = ArrayClusterView(
        site_tier=np.ones(10_000, int),
        site_cpu_cores=rng.choice([1.0, 2.0], 10_000),
        service_cpu_cores=np.full(10, 0.01),
    )
    t = time.perf_counter()
    p = WaterFilling().place(v, Demand(replicas=np.full(10, 10_000)))
    assert time.perf_counter() - t < 5.0
    assert p.replicas.sum() == 100_000
    load = (p.replicas * 0.01).sum(axis=0) / np.asarray(v.site_cpu_cores)
    assert load.max() - load.min() <= 0.01 + 1e-9  # one replica's share at most
