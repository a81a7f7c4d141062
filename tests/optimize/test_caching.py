"""Caching: exact against brute force, greedy guarantees and bounds, Zipf hit ratio."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.errors import ModelAssumptionError
from edgescale.optimize.caching import (
    CacheProblem,
    cache_greedy,
    cache_optimal,
    generalized_harmonic,
    regional_popularity,
    zipf_hit_ratio,
    zipf_popularity,
)


def random_problem(seed: int, s: int, n: int, *, sizes: bool = False, max_cap: int = 2) -> CacheProblem:
    rng = np.random.default_rng(seed)
    pop = regional_popularity(s, n, float(rng.uniform(0.5, 1.2)), spread=0.3, seed=rng)
    rate = pop * rng.uniform(1, 10, (s, 1))
    xy = rng.uniform(0, 10, (s, 2))
    lat = 1.0 + np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
    size = rng.integers(1, 4, n).astype(float) if sizes else 1.0
    return CacheProblem.build(
        rate_per_s=rate,
        capacity=rng.integers(0, max_cap + 1, s) * (2 if sizes else 1),
        latency_ms=lat,
        origin_ms=rng.uniform(10, 25, s),
        item_size=size,
    )


def brute_force(p: CacheProblem) -> float:
    per_site = []
    for t in range(p.n_sites):
        options = []
        for mask in itertools.product([False, True], repeat=p.n_items):
            if (np.array(mask) * p.item_size).sum() <= p.capacity[t] + 1e-9:
                options.append(mask)
        per_site.append(options)
    return max(p.saved(np.array(combo)) for combo in itertools.product(*per_site))


def plain_greedy(p: CacheProblem) -> float:
    placed = np.zeros((p.n_sites, p.n_items), bool)
    left = p.capacity.copy()
    while True:
        base = p.saved(placed)
        best, arg = 0.0, None
        for t, n in itertools.product(range(p.n_sites), range(p.n_items)):
            if placed[t, n] or p.item_size[n] > left[t]:
                continue
            placed[t, n] = True
            g = (p.saved(placed) - base) / p.item_size[n]
            placed[t, n] = False
            if g > best + 1e-12:
                best, arg = g, (t, n)
        if arg is None:
            return p.saved(placed)
        placed[arg] = True
        left[arg[0]] -= p.item_size[arg[1]]


@pytest.mark.parametrize("seed", range(10))
def test_exact_equals_brute_force(seed):
    p = random_problem(seed, 2 + seed % 2, 4, sizes=seed % 3 == 0)
    r = cache_optimal(p)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(brute_force(p), rel=1e-9, abs=1e-9)
    assert not p.check(r.placed)
    assert r.bound >= r.objective - 1e-9 and r.gap <= 1e-6


@given(seed=st.integers(0, 100_000), s=st.integers(1, 3), n=st.integers(2, 5))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_greedy_guarantee_and_bound(seed, s, n):
    p = random_problem(seed, s, n)
    g = cache_greedy(p)
    opt = brute_force(p)
    # Nemhauser-Wolsey-Fisher: 1 - 1/e for one cache (cardinality), 1/2 for several (partition matroid)
    assert g.guarantee == (1 - 1 / math.e if s == 1 else 0.5)
    assert g.objective >= g.guarantee * opt - 1e-9
    assert g.objective <= opt + 1e-9
    assert g.bound >= opt - 1e-9  # the reported bound is a true upper bound
    assert not p.check(g.placed)


@given(seed=st.integers(0, 100_000), s=st.integers(1, 3), n=st.integers(2, 5))
@settings(max_examples=20, deadline=None, derandomize=True)
def test_greedy_bound_with_sizes(seed, s, n):
    p = random_problem(seed, s, n, sizes=True)
    g = cache_greedy(p)
    assert g.guarantee is None or p.unit_sizes
    assert g.bound >= brute_force(p) - 1e-9
    assert not p.check(g.placed)


@pytest.mark.parametrize("seed", range(8))
def test_lazy_greedy_matches_plain_greedy(seed):
    p = random_problem(seed, 3, 6, sizes=seed % 2 == 1, max_cap=3)
    assert cache_greedy(p).objective == pytest.approx(plain_greedy(p), rel=1e-9)


@pytest.mark.parametrize(
    ("c", "n", "alpha"), [(10, 1000, 0.8), (50, 500, 1.0), (1, 100, 0.6), (100, 100, 0.9)]
)
def test_zipf_hit_ratio_of_top_c(c, n, alpha):
    # one cache, no neighbours: greedy caches the C most popular items, hit ratio H_{C,a} / H_{N,a}
    pop = zipf_popularity(n, alpha)
    p = CacheProblem.build(rate_per_s=pop[None, :] * 7.0, capacity=[c], latency_ms=[[2.0]], origin_ms=[30.0])
    r = cache_greedy(p)
    assert r.placed[0, :c].all() and r.placed.sum() == c
    assert r.local_hit == pytest.approx(zipf_hit_ratio(c, n, alpha), rel=1e-12)
    assert r.local_hit == pytest.approx(generalized_harmonic(c, alpha) / generalized_harmonic(n, alpha))
    assert r.mean_latency_ms == pytest.approx(30.0 - 28.0 * r.local_hit)


def test_zipf_hit_ratio_known_values():
    assert zipf_hit_ratio(1, 2, 1.0) == pytest.approx(1 / 1.5)
    assert zipf_hit_ratio(3, 10, 0.0) == pytest.approx(0.3)
    assert zipf_hit_ratio(0, 10, 0.8) == 0.0


def test_neighbour_hits_counted():
    p = CacheProblem.build(
        rate_per_s=[[3.0, 2.0], [3.0, 2.0]],
        capacity=[1, 1],
        latency_ms=[[1.0, 2.0], [2.0, 1.0]],
        origin_ms=[20.0, 20.0],
    )
    r = cache_optimal(p)
    assert r.local_hit == pytest.approx(0.5) and r.neighbour_hit == pytest.approx(0.5)
    assert r.mean_latency_ms == pytest.approx(1.5)
    entries = r.plan_entries(["a", "b"])
    assert sorted(e.items for e in entries) == [(0,), (1,)]
    assert r.to_dict()["status"] == "optimal"


def test_neighbours_limit():
    lat = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 2.0], [3.0, 2.0, 1.0]])
    p = CacheProblem.build(
        rate_per_s=np.ones((3, 2)), capacity=[1, 0, 0], latency_ms=lat, origin_ms=[10.0] * 3, neighbours=2
    )
    # site 2's two nearest caches are itself and site 1: it cannot fetch from cache 0
    r = cache_greedy(p)
    assert r.objective == pytest.approx(9.0 + 8.0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"rate_per_s": [[1.0, -1.0]]}, r"rate_per_s\[1\] must be finite and >= 0"),
        ({"capacity": [-1]}, r"capacity\[0\] must be finite and >= 0"),
        ({"latency_ms": [[1.0, 2.0]]}, r"latency_ms must broadcast to shape \(1, 1\)"),
        ({"item_size": [1.0, 0.0]}, r"item_size\[1\] must be finite and > 0"),
    ],
    ids=["rate", "capacity", "latency", "size"],
)
def test_bad_input(kw, match):
    base = {"rate_per_s": [[1.0, 2.0]], "capacity": [1], "latency_ms": [[1.0]], "origin_ms": [5.0]}
    base.update(kw)
    with pytest.raises(ModelAssumptionError, match=match):
        CacheProblem.build(**base)


CACHE_SCENARIO = {
    "schema_version": 1,
    "name": "cache-metro",
    "sites": [
        {"id": "e1", "tier": "edge", "cpu_cores": 4, "cache_gb": 0.2, "location": {"lat": 0.0, "lon": 0.0}},
        {"id": "e2", "tier": "edge", "cpu_cores": 4, "cache_gb": 0.3, "location": {"lat": 0.0, "lon": 0.1}},
        {"id": "c1", "tier": "cloud", "cpu_cores": 64, "location": {"lat": 0.0, "lon": 1.0}},
    ],
    "links": [
        {"src": "e1", "dst": "e2", "latency_ms": 2.0},
        {"src": "e1", "dst": "c1", "latency_ms": 30.0},
        {"src": "e2", "dst": "c1", "latency_ms": 25.0},
    ],
    "services": [{"id": "web", "work_ms": 2}],
    "applications": [{"id": "browse", "stages": [{"service": "web"}], "content_share": 0.5}],
    "content": {"items": 50, "item_size_mb": 100, "zipf_alpha": 0.9},
    "device_groups": [
        {
            "id": "a",
            "count": 10,
            "application": "browse",
            "placement": {"around": {"sites": ["e1"]}},
            "arrival": {"process": "poisson", "rate_per_s": 2.0},
        },
        {
            "id": "b",
            "count": 10,
            "application": "browse",
            "placement": {"around": {"sites": ["e2"]}},
            "arrival": {"process": "poisson", "rate_per_s": 1.0},
        },
    ],
}


def _scenario(doc):
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import scenario_from_dict

    sc = scenario_from_dict(doc)
    return sc, compile_scenario(sc, devices=False)


def test_scenario_problem_from_catalog():
    from edgescale.optimize.caching import cache_problem_from_scenario

    sc, arrays = _scenario(CACHE_SCENARIO)
    out = cache_problem_from_scenario(sc, arrays, max_items=20)
    p = out.problem
    assert [arrays.site_ids[i] for i in out.sites] == ["e1", "e2"]
    assert p.capacity.tolist() == [2.0, 3.0]  # 0.2 GB and 0.3 GB of 100 MB items
    assert p.origin_ms.tolist() == pytest.approx([27.0, 25.0])  # e1 reaches the cloud via e2
    pop = zipf_popularity(50, 0.9)[:20]
    assert p.rate_per_s[0] == pytest.approx(10 * 2.0 * 0.5 * pop)
    assert p.rate_per_s[1] == pytest.approx(10 * 1.0 * 0.5 * pop)
    assert out.content_rate_per_s == pytest.approx(15.0)
    r = cache_optimal(p)
    g = cache_greedy(p)
    assert r.status == "optimal" and r.objective >= g.objective - 1e-9


def test_scenario_without_catalog_is_rejected():
    from edgescale.errors import ScenarioError
    from edgescale.optimize.caching import cache_problem_from_scenario

    doc = {k: v for k, v in CACHE_SCENARIO.items() if k != "content"}
    sc, arrays = _scenario(doc)
    with pytest.raises(ScenarioError, match="content: caching needs a content catalog"):
        cache_problem_from_scenario(sc, arrays)
    doc = dict(CACHE_SCENARIO, applications=[dict(CACHE_SCENARIO["applications"][0], content_share=0.0)])
    sc, arrays = _scenario(doc)
    with pytest.raises(ScenarioError, match=r"content_share: no content requests"):
        cache_problem_from_scenario(sc, arrays)


def test_cli_cache_writes_plan(tmp_path):
    import json

    import typer
    from typer.testing import CliRunner

    from edgescale.cli import optimize_extra
    from edgescale.model.io import write_atomic
    from edgescale.model.plan import load_plan

    app = typer.Typer()
    app.callback()(lambda: None)
    optimize_extra.register(app)
    scen = tmp_path / "s.json"
    write_atomic(scen, json.dumps(CACHE_SCENARIO))
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(app, ["cache", str(scen), "--method", "milp", "-o", str(out), "-f", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["status"] == "optimal"
    plan = load_plan(out)
    assert plan.created_by == "cache:milp (on default)"
    sizes = {e.site: len(e.items) for e in plan.cache}
    assert sizes == {"e1": 2, "e2": 3}
    assert plan.routes  # the other sections come from the default plan


def test_cli_cache_milp_too_large_fails_before_building(tmp_path):
    """Melbourne with a 5000-item catalog: 125 sites x 5000 items is far over the MILP size limit."""
    import json
    from pathlib import Path

    import typer
    import yaml
    from typer.testing import CliRunner

    from edgescale.cli import optimize_extra
    from edgescale.model.io import write_atomic

    ex = Path(__file__).resolve().parents[2] / "examples"
    doc = yaml.safe_load((ex / "melbourne-metro.yaml").read_text())
    (tmp_path / "data").symlink_to(ex / "data")  # the scenario's relative CSV paths
    for g in doc["site_groups"]:
        if g["tier"] == "edge":
            g["cache_gb"] = 10.0
    for a in doc["applications"]:
        a["content_share"] = 0.5
    doc["content"] = {"items": 5000, "item_size_mb": 10.0}
    scen = tmp_path / "melbourne-content.json"
    write_atomic(scen, json.dumps(doc))
    app = typer.Typer()
    app.callback()(lambda: None)
    optimize_extra.register(app)
    r = CliRunner().invoke(app, ["cache", str(scen), "--method", "milp", "--max-items", "5000", "-f", "json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["error"] == "ModelAssumptionError", out
    assert "columns (limit 2,000,000)" in out["message"] and "--method greedy" in out["message"]


@pytest.mark.parametrize(("c", "n", "alpha"), [(0, 0, 1.0), (1, 10, -0.5), (-1, 10, 0.8)])
def test_zipf_hit_ratio_rejects_bad_input(c, n, alpha):
    with pytest.raises(ModelAssumptionError, match=r"zipf_hit_ratio: need capacity_items >= 0, n_items >= 1"):
        zipf_hit_ratio(c, n, alpha)


def test_requests_beyond_max_items_count_as_origin_fetches():
    from edgescale.optimize.caching import cache_problem_from_scenario

    sc, arrays = _scenario(CACHE_SCENARIO)  # 50 items, Zipf 0.9
    full = cache_problem_from_scenario(sc, arrays, max_items=50)
    part = cache_problem_from_scenario(sc, arrays, max_items=3)
    modelled = float(zipf_popularity(50, 0.9)[:3].sum())
    assert part.problem.uncached_rate_per_s.sum() == pytest.approx(part.content_rate_per_s * (1 - modelled))
    assert full.problem.uncached_rate_per_s.sum() == pytest.approx(0.0, abs=1e-9)
    r_part = cache_optimal(part.problem)
    # at most the share of requests modelled can hit; the 3 items fit the caches (2 and 3 items)
    assert r_part.local_hit + r_part.neighbour_hit <= modelled + 1e-12
    assert r_part.local_hit + r_part.neighbour_hit == pytest.approx(modelled)
    # the same placement judged on the full catalog gives the same hit ratio and mean latency
    fp = full.problem
    padded = np.zeros(fp.rate_per_s.shape, bool)
    padded[:, :3] = r_part.placed
    f_cur = fp.served_latency(padded)
    assert (fp.rate_per_s * padded).sum() / fp.rate_per_s.sum() == pytest.approx(r_part.local_hit)
    assert (fp.rate_per_s * f_cur).sum() / fp.rate_per_s.sum() == pytest.approx(r_part.mean_latency_ms)
    # mean latency by hand: every request from its site's origin except those served by a copy
    p = part.problem
    cur = p.served_latency(r_part.placed)
    total = p.rate_per_s.sum() + p.uncached_rate_per_s.sum()
    by_hand = ((p.rate_per_s * cur).sum() + (p.uncached_rate_per_s * p.origin_ms).sum()) / total
    assert r_part.mean_latency_ms == pytest.approx(by_hand)
