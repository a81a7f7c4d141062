"""analyze and simulate agree on a caching scenario (within 5 % at utilization <= 0.7, 4 x 600 s, seed 1).

analyze models a cache as in the twin (``edgescale.analysis._caching_paths``): a content request is a hit at the
edge with Che's (LRU) or the exact (static) hit ratio, then returns from there; misses go on to the origin,
whose load is thinned to them.
"""

from __future__ import annotations

from typing import Any

import pytest

from edgescale.analysis.caching import che_hit_ratio, zipf_hit_ratio, zipf_popularity
from edgescale.analysis.scenario import analyze_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario
from tests.analysis.test_caching_analysis import _chain


def _cdn_queues(policy: str) -> dict[str, Any]:
    """100 requests/s from devices at an edge site with a 50-item cache (0.5 GB of 10 MB items, catalogue of
    1000, Zipf 0.8), 80 % of them for content. The edge runs ``front`` (5 ms exponential, one core: rho 0.5)
    and looks the cache up after it; misses go on to ``origin`` in the cloud, 20 ms away (8 ms exponential,
    one core: rho 0.8 without the cache, 0.63 with LRU's hits (Che: h = 0.262), 0.53 with static's (the 50 most
    popular items: h = 0.421)). A hit returns from the edge (2 x 1 ms of access)."""
    return {
        "schema_version": 1,
        "name": "cdn-queues",
        "sites": [{"id": "e", "tier": "edge", "cpu_cores": 1, "cache_gb": 0.5, "location": {"lat": 0, "lon": 0}},
                  {"id": "c", "tier": "cloud", "cpu_cores": 1, "location": {"lat": 0, "lon": 1}}],
        "links": [{"src": "e", "dst": "c", "latency_ms": 20, "bandwidth_mbps": 10000}],
        "services": [{"id": "front", "work_ms": 5, "tiers": ["edge"]},
                     {"id": "origin", "work_ms": 8, "tiers": ["cloud"]}],
        "applications": [{"id": "video", "content_share": 0.8, "response_kb": 0,
                          "stages": [{"service": "front", "request_kb": 0},
                                     {"service": "origin", "request_kb": 0}]}],
        "content": {"items": 1000, "item_size_mb": 10, "zipf_alpha": 0.8},
        "device_groups": [{"id": "d", "count": 100, "application": "video",
                           "placement": {"around": {"sites": ["e"]}},
                           "arrival": {"process": "poisson", "rate_per_s": 1},
                           "access": {"assign": "home", "latency_ms": 1}}],
        "policies": {"caching": {"name": policy}},
    }  # fmt: skip


@pytest.mark.parametrize("policy", ["lru", "static"])
def test_analyze_matches_simulate_with_an_edge_cache(policy: str) -> None:
    """Measured (seed 1, simulate against analyze): means -0.35 % (LRU, 60.63 against 60.84 ms) and -0.22 %
    (static, 49.70 against 49.81 ms), p95 -0.34 % and -0.14 %; the twin's hit ratios 0.2623 and 0.4216."""
    s = scenario_from_dict(_cdn_queues(policy))
    an = analyze_scenario(s).to_dict()
    sim = simulate_scenario(s, duration_s=600, warmup_s=60, replications=4, seed=1).to_dict()
    p = zipf_popularity(1000, 0.8)
    h = che_hit_ratio(p, 50) if policy == "lru" else zipf_hit_ratio(50, 1000, 0.8)
    assert h == pytest.approx(0.2616 if policy == "lru" else 0.4213, abs=1e-4)
    (row,) = an["caches"]["sites"]
    assert (row["site"], row["capacity_items"]) == ("e", 50)
    assert row["expected_hit_ratio"] == pytest.approx(h)
    assert sim["caching"]["sites"][0]["expected_hit_ratio"] == pytest.approx(h)  # the twin's own reference
    # the origin sees the misses only: 100/s * (1 - 0.8 h)
    load = {b["service"]: b for b in an["bottlenecks"]}
    assert load["origin"]["rate_per_s"] == pytest.approx(100.0 * (1 - 0.8 * h))
    assert load["origin"]["utilization"] == pytest.approx(0.8 * (1 - 0.8 * h))
    assert sim["utilization"]["mean_by_site_max"] <= 0.7
    (a,) = an["applications"]
    (b,) = sim["applications"]
    # M/M/1 sojourns: 10 ms at the edge; every request 2 ms of access, a miss 40 ms of path and the origin's
    edge_ms, origin_ms = 5.0 / 0.5, 8.0 / (1 - load["origin"]["utilization"])
    hit = 0.8 * h
    assert a["mean_ms"] == pytest.approx(edge_ms + 2.0 + (1 - hit) * (40.0 + origin_ms))
    assert b["latency_ms"]["mean"] == pytest.approx(a["mean_ms"], rel=0.05)
    assert b["latency_ms"]["p95"] == pytest.approx(a["p95_ms"], rel=0.05)


@pytest.mark.parametrize("policy", ["lru", "static"])
def test_a_hit_at_the_second_stage_thins_the_queueing_link_after_it(policy: str) -> None:
    """tests/analysis' chain (front at e, mid at m, origin at c; 100/s) with a 200-item cache at m, 80 % content
    requests, mid on one core (5 ms: rho 0.5) and m - c a 10 Mb/s FIFO link that the 10 kB origin requests
    cross in 8 ms: only the misses queue there, rho 0.8 (1 - 0.8 h), an M/D/1 queue. Measured (seed 1): means
    -0.28 % (LRU) and -0.36 % (static), p95 -0.83 % and +0.09 %, the link's load within 0.1 %."""
    doc = _chain(0.0, 2.0, share=0.8, policy={"name": policy})
    doc["links"][1].update(queueing="fifo", bandwidth_mbps=10)
    doc["applications"][0]["stages"][2]["request_kb"] = 10
    doc["services"][1]["work_ms"] = 5
    doc["sites"][1]["cpu_cores"] = 1
    s = scenario_from_dict(doc)
    an = analyze_scenario(s).to_dict()
    sim = simulate_scenario(s, duration_s=600, warmup_s=60, replications=4, seed=1).to_dict()
    p = zipf_popularity(1000, 0.8)
    h = che_hit_ratio(p, 200) if policy == "lru" else zipf_hit_ratio(200, 1000, 0.8)
    (x,) = [x for x in an["links"] if x["visits_per_s"] > 0]
    (y,) = [y for y in sim["links"] if y["visits_per_s"] > 0]
    assert (x["from"], x["to"]) == (y["from"], y["to"]) == ("m", "c")
    assert x["visits_per_s"] == pytest.approx(100.0 * (1 - 0.8 * h))
    assert x["utilization"] == pytest.approx(0.008 * 100.0 * (1 - 0.8 * h))
    assert y["utilization"] == pytest.approx(x["utilization"], rel=0.05)
    assert sim["utilization"]["mean_by_site_max"] <= 0.7 and y["utilization"] <= 0.7
    (a,) = an["applications"]
    (b,) = sim["applications"]
    assert b["latency_ms"]["mean"] == pytest.approx(a["mean_ms"], rel=0.05)
    assert b["latency_ms"]["p95"] == pytest.approx(a["p95_ms"], rel=0.05)
