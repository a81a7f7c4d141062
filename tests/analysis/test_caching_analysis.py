"""analyze with content caches: hit ratios per cache site, the hit/miss mixture, thinned loads (closed forms).

Every station here is nearly idle (1 ms of work on 8 or 64 cores), so the latencies are the paths' delays plus
1 ms per stage visited, and the means have closed forms; the parity with the twin under load is in
tests/sim/test_caching_parity.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edgescale.analysis._caching_paths import cache_sites, stage_hits
from edgescale.analysis.caching import che_hit_ratio, zipf_popularity
from edgescale.analysis.scenario import analyze_scenario
from edgescale.errors import ScenarioError
from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict

RATE_PER_S = 100.0


def _chain(edge_gb: float, agg_gb: float, share: float = 0.5, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """front (edge e) -> mid (aggregation m, 5 ms from e) -> origin (cloud c, 20 ms from m); 1 ms access.
    A request on the full route takes 2 (access) + 5 + 20 + 25 (back from c) + 3 x 1 ms = 55 ms; a hit at m
    2 + 5 + 2 + 5 = 14 ms; a hit at e 2 + 1 = 3 ms. Items of 10 MB: 0.5 GB holds 50, 2 GB 200."""
    loc = [{"lat": 0, "lon": x} for x in (0, 0.5, 2)]
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": "chain",
        "sites": [{"id": "e", "tier": "edge", "cpu_cores": 8, "cache_gb": edge_gb, "location": loc[0]},
                  {"id": "m", "tier": "aggregation", "cpu_cores": 8, "cache_gb": agg_gb, "location": loc[1]},
                  {"id": "c", "tier": "cloud", "cpu_cores": 64, "location": loc[2]}],
        "links": [{"src": "e", "dst": "m", "latency_ms": 5, "bandwidth_mbps": 10000},
                  {"src": "m", "dst": "c", "latency_ms": 20, "bandwidth_mbps": 10000}],
        "services": [{"id": "front", "work_ms": 1, "tiers": ["edge"]},
                     {"id": "mid", "work_ms": 1, "tiers": ["aggregation"]},
                     {"id": "origin", "work_ms": 1, "tiers": ["cloud"]}],
        "applications": [{"id": "video", "content_share": share, "response_kb": 0,
                          "stages": [{"service": x, "request_kb": 0} for x in ("front", "mid", "origin")]}],
        "content": {"items": 1000, "item_size_mb": 10, "zipf_alpha": 0.8},
        "device_groups": [{"id": "d", "count": 100, "application": "video",
                           "placement": {"around": {"sites": ["e"]}},
                           "arrival": {"process": "poisson", "rate_per_s": RATE_PER_S / 100},
                           "access": {"assign": "home", "latency_ms": 1}}],
    }  # fmt: skip
    if policy is not None:
        doc["policies"] = {"caching": policy}
    return doc


def _rates(res: dict[str, Any]) -> dict[str, float]:
    return {b["service"]: b["rate_per_s"] for b in res["bottlenecks"]}


P = zipf_popularity(1000, 0.8)


def test_a_hit_at_the_second_stage_returns_from_there_and_thins_the_origin() -> None:
    res = analyze_scenario(scenario_from_dict(_chain(0.0, 2.0))).to_dict()
    h = che_hit_ratio(P, 200)
    assert h == pytest.approx(0.5224, abs=1e-4)  # the best static 200 hold 0.6462: what LRU costs under IRM
    assert res["caches"] == {"policy": "lru", "catalogue_items": 1000, "reference": "che",
                             "sites": [{"site": "m", "capacity_items": 200, "expected_hit_ratio": h}]}  # fmt: skip
    hit = 0.5 * h
    (app,) = res["applications"]
    assert app["mean_ms"] == pytest.approx(hit * 14.0 + (1 - hit) * 55.0, rel=1e-6)
    assert sum(app["decomposition_ms"].values()) == pytest.approx(app["mean_ms"], rel=1e-9)
    assert app["decomposition_ms"]["propagation"] == pytest.approx(hit * 10.0 + (1 - hit) * 50.0)
    assert app["decomposition_ms"]["processing"] == pytest.approx(hit * 2.0 + (1 - hit) * 3.0, rel=1e-6)
    assert _rates(res) == pytest.approx({"front": RATE_PER_S, "mid": RATE_PER_S, "origin": RATE_PER_S * (1 - hit)})
    # the distribution: 13 % of hits, 12 ms of delays and two exponential 1-ms services, the rest 52 ms and three
    assert 12.0 < app["cdf"]["latency_ms"][5] < 15.0 and 52.0 < app["p50_ms"] < 55.0


def test_only_the_first_caching_site_of_a_route_is_looked_up() -> None:
    res = analyze_scenario(scenario_from_dict(_chain(0.5, 2.0))).to_dict()
    h_e = che_hit_ratio(P, 50)
    assert [x["site"] for x in res["caches"]["sites"]] == ["e", "m"]
    hit = 0.5 * h_e
    (app,) = res["applications"]
    assert app["mean_ms"] == pytest.approx(hit * 3.0 + (1 - hit) * 55.0, rel=1e-6)
    expect = {"front": RATE_PER_S, "mid": RATE_PER_S * (1 - hit), "origin": RATE_PER_S * (1 - hit)}
    assert _rates(res) == pytest.approx(expect)


def test_static_cache_holds_the_given_items() -> None:
    res = analyze_scenario(
        scenario_from_dict(_chain(0.5, 0.0, share=1.0, policy={"name": "static", "params": {"items": [0, 1, 2, 10]}}))
    ).to_dict()
    h = float(P[[0, 1, 2, 10]].sum())
    assert res["caches"]["reference"] == "exact"
    assert res["caches"]["sites"][0]["expected_hit_ratio"] == pytest.approx(h)
    assert res["applications"][0]["mean_ms"] == pytest.approx(h * 3.0 + (1 - h) * 55.0, rel=1e-6)


def test_without_content_requests_nothing_changes() -> None:
    """content_share 0 (or no cache site): no ``caches`` entry and the same results as without a catalogue."""
    plain = _chain(0.0, 0.0)
    del plain["content"]
    base = analyze_scenario(scenario_from_dict(plain)).to_dict()
    assert base["caches"] is None and base["applications"][0]["mean_ms"] == pytest.approx(55.0, rel=1e-6)
    for doc in (_chain(0.5, 2.0, share=0.0), _chain(0.0, 0.0)):
        res = analyze_scenario(scenario_from_dict(doc)).to_dict()
        assert res["caches"] is None
        for key in ("applications", "bottlenecks", "sites", "capacity_plan"):
            assert res[key] == base[key], key


def test_stage_hits_on_a_split_stage() -> None:
    """One demand point, stage 1 split 0.5/0.5 between a caching site (h 0.4) and another, stage 2 at a caching
    site (h 0.6), share 0.5: the first stage hits with 0.5 * 0.5 * 0.4 = 0.1; the half that did not look up
    looks up at stage 2, 0.5 * 0.5 * 0.6 = 0.15; so 0.9 reach stage 2 and 0.75 stage 3."""
    s = scenario_from_dict(_chain(0.5, 2.0))
    a = compile_scenario(s, devices=False)
    cs = cache_sites(s, a, None)
    assert cs is not None
    site_h = np.array([0.4, 0.6, -1.0])
    cs = type(cs)(cs.policy, cs.catalogue_items, cs.site, cs.capacity_items, cs.hit_ratio, site_h, cs.app_share)
    one = np.zeros(1, np.int64)
    hops = [(np.array([0, 2]), np.zeros(2, np.int64), np.array([0.5, 0.5])), (np.array([1]), one, np.ones(1)),
            (np.array([2]), one, np.ones(1))]  # fmt: skip
    sh = stage_hits(cs, 0.5, 1, hops)
    np.testing.assert_allclose([r[0] for r in sh.reach], [1.0, 0.9, 0.75])
    np.testing.assert_allclose(sh.hit[0], [0.1, 0.0])
    np.testing.assert_allclose(sh.hit[1], [0.15])


def test_unknown_cache_policy_is_a_clear_error() -> None:
    with pytest.raises(ScenarioError, match=r"policies\.caching\.name"):
        analyze_scenario(scenario_from_dict(_chain(0.5, 0.0, policy={"name": "fifo"})))
    with pytest.raises(ScenarioError, match="cache items of site 'e'"):
        analyze_scenario(scenario_from_dict(_chain(0.5, 0.0, policy={"name": "static", "params": {"items": [1000]}})))
