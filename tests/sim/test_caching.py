"""Content caching in the twin: exact LRU in the kernel, hit ratios against theory, hits skip the origin."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from edgescale.errors import ScenarioError, SimulationError
from edgescale.model.io import scenario_from_dict
from edgescale.optimize.caching import zipf_hit_ratio
from edgescale.sim._kernel_state import CacheSpec
from edgescale.sim.caching import che_hit_ratio, zipf_popularity
from edgescale.sim.kernel import init_state, make_model, read_metrics, reset_metrics, run_until
from edgescale.sim.runner import simulate_scenario


def _lru_exact(p: np.ndarray, c: int) -> float:
    """Exact LRU hit ratio under IRM (King 1971): the stationary probability of the ordered cache contents
    (i1, ..., ic) is prod_k p_ik / (1 - p_i1 - ... - p_i(k-1)); a request hits when it asks for one of them."""
    h = 0.0
    for seq in itertools.permutations(range(len(p)), c):
        pr, used = 1.0, 0.0
        for i in seq:
            pr *= p[i] / (1.0 - used)
            used += p[i]
        h += pr * sum(p[i] for i in seq)
    return h


def _edge_origin(kind: str, p: Any, capacity: int, share: float = 1.0, seed: int = 1) -> Any:
    """Edge station (cache after service) then origin; hits return in 0.5 s, misses in 1 s from the origin."""
    m = make_model(servers=[1, 1], rate_per_s=[1.0], route_ptr=[0, 2], stage_station=[0, 1],
                   stage_work_mean_s=[0.01, 0.01], stage_cache=[0, -1], stage_content_share=[share, 0.0],
                   stage_hit_return_s=[0.5, 0.0], return_delay_s=[1.0])  # fmt: skip
    st = init_state(m, seed, caches=CacheSpec(p, kind=[kind], capacity_items=[capacity]))
    run_until(m, st, 1_000.0)
    reset_metrics(st)
    run_until(m, st, 101_000.0)
    return read_metrics(st)


def test_kernel_lru_is_exact_lru_not_an_approximation() -> None:
    """6 items (Zipf 1.2), capacity 3: King's exact LRU hit ratio is 0.6872, while FIFO and RANDOM replacement
    (Gelenbe 1973: a set S is cached with probability proportional to prod_{i in S} p_i) give 0.6534 and a
    static cache of the top 3 gives 0.7906. 100,000 lookups: standard error 0.0016."""
    p = zipf_popularity(6, 1.2)
    m = _edge_origin("lru", p, 3)
    n = m.cache_requests[0]
    h = m.cache_hits[0] / n
    se = math.sqrt(0.25 / n)
    assert abs(h - _lru_exact(p, 3)) < 4 * se
    sets = list(itertools.combinations(range(6), 3))
    w = np.array([np.prod(p[list(s)]) for s in sets])
    fifo = float(sum(wi * p[list(s)].sum() for wi, s in zip(w / w.sum(), sets, strict=True)))
    assert fifo == pytest.approx(0.6534, abs=1e-4) and abs(h - fifo) > 10 * se
    # misses go on to the origin; hits do not
    assert m.station_departures[1] == pytest.approx(n - m.cache_hits[0], abs=2)
    # latency: 0.5 s back from the edge on a hit, 1 s back from the origin on a miss, plus light service
    assert float(m.mean_latency_s[0]) == pytest.approx(h * 0.5 + (1 - h) * 1.0 + 0.02 - 0.01 * h, abs=0.005)


def test_static_cache_hit_ratio_is_the_popularity_it_holds() -> None:
    p = zipf_popularity(50, 0.8)
    m = _edge_origin("static", p, 10)
    h = m.cache_hits[0] / m.cache_requests[0]
    exact = zipf_hit_ratio(10, 50, 0.8)  # sum of the 10 largest popularities
    assert exact == pytest.approx(float(p[:10].sum()))
    assert abs(h - exact) < 4 * math.sqrt(exact * (1 - exact) / m.cache_requests[0])


@pytest.mark.parametrize(("n_items", "capacity", "alpha"), [(1000, 50, 0.8), (1000, 200, 1.0)])
def test_lru_matches_ches_approximation(n_items: int, capacity: int, alpha: float) -> None:
    """Che et al. 2002: accurate to well under 1 % for Zipf popularity and catalogues of this size (Fricker,
    Robert and Roberts 2012 report relative errors of 1e-3 for N = 1000)."""
    p = zipf_popularity(n_items, alpha)
    m = _edge_origin("lru", p, capacity, seed=7)
    h = m.cache_hits[0] / m.cache_requests[0]
    che = che_hit_ratio(p, capacity)
    assert abs(h - che) < 4 * math.sqrt(che * (1 - che) / m.cache_requests[0]) + 0.003
    assert h < zipf_hit_ratio(capacity, n_items, alpha)  # LRU is below the best static cache under IRM


def test_content_share_and_window_counting() -> None:
    """With share 0.3 only 30 % of requests look the cache up; lookups count in the window only."""
    p = zipf_popularity(5, 0.9)
    m = _edge_origin("lru", p, 2, share=0.3)
    arrivals = int(m.arrivals[0])
    assert m.cache_requests[0] == pytest.approx(0.3 * arrivals, rel=0.03)


def test_che_approximation_limits() -> None:
    p = zipf_popularity(100, 0.0)
    assert che_hit_ratio(p, 0) == 0.0 and che_hit_ratio(p, 100) == 1.0
    # uniform popularity: T solves N (1 - exp(-T/N)) = C and the hit ratio is C / N exactly
    assert che_hit_ratio(p, 25) == pytest.approx(0.25, rel=1e-9)


def test_bad_cache_specs_are_refused() -> None:
    with pytest.raises(SimulationError, match="kind"):
        CacheSpec([1.0], kind=["fifo"], capacity_items=[1])
    with pytest.raises(SimulationError, match="capacity_items"):
        CacheSpec([1.0], kind=["lru"], capacity_items=[-1])
    m = make_model(servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.1],
                   stage_cache=[0])  # fmt: skip
    with pytest.raises(ScenarioError, match="stage_cache"):
        run_until(m, init_state(m, 1), 1.0)  # no caches given to the state


def _cdn(policy: str | None, share: float = 0.8, cache_gb: float = 0.5) -> dict[str, Any]:
    """Devices at an edge site with a 50-item cache (0.5 GB of 10 MB items); the origin runs in the cloud,
    20 ms away. A hit returns from the edge (2 x 1 ms access), a miss from the cloud (+ 2 x 20 ms)."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": "cdn",
        "sites": [
            {
                "id": "e",
                "tier": "edge",
                "cpu_cores": 8,
                "cache_gb": cache_gb,
                "location": {"lat": 0, "lon": 0},
            },
            {"id": "c", "tier": "cloud", "cpu_cores": 64, "location": {"lat": 0, "lon": 1}},
        ],
        "links": [{"src": "e", "dst": "c", "latency_ms": 20, "bandwidth_mbps": 10000}],
        "services": [
            {"id": "front", "work_ms": 1, "tiers": ["edge"]},
            {"id": "origin", "work_ms": 1, "tiers": ["cloud"]},
        ],
        "applications": [
            {
                "id": "video",
                "content_share": share,
                "response_kb": 0,
                "stages": [{"service": "front", "request_kb": 0}, {"service": "origin", "request_kb": 0}],
            }
        ],
        "content": {"items": 1000, "item_size_mb": 10, "zipf_alpha": 0.8},
        "device_groups": [
            {
                "id": "d",
                "count": 100,
                "application": "video",
                "placement": {"around": {"sites": ["e"]}},
                "arrival": {"process": "poisson", "rate_per_s": 1},
                "access": {"assign": "home", "latency_ms": 1},
            }
        ],
    }
    if policy is not None:
        doc["policies"] = {"caching": {"name": policy}}
    return doc


@pytest.mark.parametrize("policy", ["lru", "static"])
def test_scenario_caching_hits_skip_the_origin(policy: str) -> None:
    r = simulate_scenario(scenario_from_dict(_cdn(policy)), duration_s=300, warmup_s=30, seed=2).to_dict()
    c = r["caching"]
    assert c["policy"] == policy and c["sites"][0]["site"] == "e" and c["sites"][0]["capacity_items"] == 50
    p = zipf_popularity(1000, 0.8)
    ref = che_hit_ratio(p, 50) if policy == "lru" else float(p[:50].sum())
    assert c["sites"][0]["expected_hit_ratio"] == pytest.approx(ref)
    h = c["hit_ratio"]
    assert abs(h - ref) < 4 * math.sqrt(ref * (1 - ref) / c["requests"]) + 0.005
    app = r["applications"][0]
    assert c["requests"] == pytest.approx(0.8 * app["arrivals"], rel=0.02)
    # a hit takes 2 ms of access and 1 ms at the edge; everything else 2 + 40 ms of path and 2 ms of work
    hit_share = 0.8 * h
    expect = hit_share * 3.0 + (1 - hit_share) * 44.0
    assert app["latency_ms"]["mean"] == pytest.approx(expect, rel=0.03)


def test_no_cache_without_cache_sites() -> None:
    r = simulate_scenario(scenario_from_dict(_cdn("lru", cache_gb=0.0)), duration_s=60, warmup_s=0, seed=2)
    assert r.to_dict()["caching"] is None


def test_unknown_twin_cache_policy_is_a_clear_error() -> None:
    doc = _cdn("lru")
    doc["policies"]["caching"]["name"] = "water-filling"
    with pytest.raises(ScenarioError):
        simulate_scenario(scenario_from_dict(doc), duration_s=10, warmup_s=0, seed=2)
