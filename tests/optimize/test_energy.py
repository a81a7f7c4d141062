"""DVFS and load distribution: worked examples, enumeration, continuous limit, KKT split vs scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.model.schema import DvfsLevel
from edgescale.optimize.energy import (
    balancing_weights,
    dvfs_continuous,
    dvfs_levels,
    optimal_split,
    response_time_ms,
)

LEVELS = [(1.0, 80.0), (1.5, 110.0), (2.0, 150.0)]


def test_dvfs_levels_worked_example():
    # 40/s of 10 ms at 2 GHz: mu = 50, 75, 100 per s; M/M/1 means 100, 28.6, 16.7 ms
    r = dvfs_levels([40.0], [10.0], [LEVELS], 50.0, idle_w=50.0)
    assert r.frequency_ghz.tolist() == [1.5] and r.level.tolist() == [1]
    assert r.power_w[0] == pytest.approx(50 + 60 * 40 / 75)
    assert r.response_ms[0] == pytest.approx(1e3 / 35)
    assert r.utilization[0] == pytest.approx(40 / 75)
    # a looser bound lets 1.0 GHz run: 50 + 30 * 0.8 = 74 W at 100 ms
    r = dvfs_levels([40.0], [10.0], [LEVELS], 100.0, idle_w=50.0)
    assert r.frequency_ghz.tolist() == [1.0] and r.power_w[0] == pytest.approx(74.0)
    assert (r.objective, r.bound, r.gap, r.status) == (
        pytest.approx(74.0),
        pytest.approx(74.0),
        0.0,
        "optimal",
    )


def test_dvfs_levels_percentile_bound():
    # M/M/1 p95 = -ln(0.05) / (mu - lambda): 1.5 GHz gives 85.6 ms, 2.0 GHz 49.9 ms
    assert response_time_ms(40.0, 75.0, 1, 95.0) == pytest.approx(-1e3 * math.log(0.05) / 35, rel=1e-9)
    r = dvfs_levels(
        [40.0],
        [10.0],
        [[DvfsLevel(frequency_ghz=f, peak_w=w) for f, w in LEVELS]],
        60.0,
        idle_w=50.0,
        percentile=95.0,
    )
    assert r.frequency_ghz.tolist() == [2.0]


def test_dvfs_levels_prefers_lower_power_not_lower_frequency():
    # a level whose full-load power is oddly high is skipped even though slower
    r = dvfs_levels([10.0], [10.0], [[(1.0, 300.0), (2.0, 150.0)]], 1000.0, idle_w=50.0)
    assert r.frequency_ghz.tolist() == [2.0]  # 50 + 100 * 0.1 = 60 W < 50 + 250 * 0.2 = 100 W


@given(
    seed=st.integers(0, 10_000),
    sites=st.integers(1, 4),
)
@settings(max_examples=25, deadline=None, derandomize=True)
def test_dvfs_levels_is_exact_over_levels(seed, sites):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(1, 60, sites)
    work = rng.uniform(2, 20, sites)
    c = rng.integers(1, 5, sites)
    idle = rng.uniform(10, 80, sites)
    levels = [
        sorted(
            (float(f), float(p)) for f, p in zip(rng.uniform(0.5, 3, 4), rng.uniform(80, 300, 4), strict=True)
        )
        for _ in range(sites)
    ]
    bound = rng.uniform(20, 400, sites)
    try:
        r = dvfs_levels(lam, work, levels, bound, servers=c, idle_w=idle)
    except InfeasibleError:
        return
    for s in range(sites):
        nom = max(f for f, _ in levels[s])
        for f, peak in levels[s]:
            mu = 1e3 / work[s] * f / nom
            t = response_time_ms(lam[s], mu, int(c[s]))
            if t <= bound[s]:
                assert idle[s] + (peak - idle[s]) * lam[s] / (c[s] * mu) >= r.power_w[s] - 1e-9
        assert r.response_ms[s] <= bound[s] * (1 + 1e-12)


def test_dvfs_continuous_closed_form_mm1():
    # M/M/1 mean 1/(mu - lambda) <= D  =>  mu = lambda + 1/D  =>  f = f_nom (lambda + 1000/D) / mu_nom
    lam, work, d = np.array([80.0, 30.0]), np.array([10.0, 5.0]), np.array([100.0, 20.0])
    r = dvfs_continuous(lam, work, d, min_ghz=0.2, max_ghz=2.0, peak_w=150.0, idle_w=50.0)
    mu_nom = 1e3 / work
    expect = 2.0 * (lam + 1e3 / d) / mu_nom
    assert r.frequency_ghz == pytest.approx(expect, rel=1e-10)
    assert r.response_ms == pytest.approx(d, rel=1e-9)
    assert r.power_w == pytest.approx(50 + 100 * (lam / mu_nom) * (expect / 2.0) ** 2, rel=1e-9)


def test_dvfs_continuous_clips_and_mmc():
    # a loose bound: the lowest frequency that is still stable enough, clipped at min_ghz
    r = dvfs_continuous([5.0], [10.0], 1e4, min_ghz=1.0, max_ghz=2.0, peak_w=100.0)
    assert r.frequency_ghz[0] == 1.0
    r = dvfs_continuous(
        [300.0], [10.0], 15.0, min_ghz=0.1, max_ghz=3.0, peak_w=100.0, servers=4, nominal_ghz=2.0
    )
    assert r.response_ms[0] == pytest.approx(15.0, rel=1e-9)
    assert response_time_ms(300.0, 100.0 * r.frequency_ghz[0] / 2.0 * (1 - 1e-6), 4) > 15.0


@given(seed=st.integers(0, 10_000))
@settings(max_examples=20, deadline=None, derandomize=True)
def test_fine_levels_approach_continuous(seed):
    rng = np.random.default_rng(seed)
    lam, work, c = float(rng.uniform(5, 50)), float(rng.uniform(2, 10)), int(rng.integers(1, 4))
    idle, peak, fmax = float(rng.uniform(10, 50)), float(rng.uniform(100, 200)), 2.0
    bound = float(rng.uniform(15, 100))
    freqs = np.linspace(0.05, fmax, 400)
    levels = [[(float(f), idle + (peak - idle) * (f / fmax) ** 3) for f in freqs]]
    try:
        cont = dvfs_continuous(
            [lam], [work], bound, min_ghz=0.05, max_ghz=fmax, peak_w=peak, idle_w=idle, servers=c
        )
    except InfeasibleError:
        return
    disc = dvfs_levels([lam], [work], levels, bound, servers=c, idle_w=idle)
    assert cont.objective <= disc.objective + 1e-9  # the continuous optimum is a relaxation
    assert disc.frequency_ghz[0] - cont.frequency_ghz[0] <= freqs[1] - freqs[0] + 1e-12


def test_dvfs_infeasible_says_by_how_much():
    with pytest.raises(
        InfeasibleError,
        match=r"sites\[edge-1\].latency_bound_ms: .* 16.67 ms, over the 10 ms bound by 6.667 ms",
    ):
        dvfs_levels([40.0], [10.0], [LEVELS], 10.0, site_ids=["edge-1"])
    with pytest.raises(InfeasibleError, match=r"utilization is 1.2 >= 1") as e:
        dvfs_levels([120.0], [10.0], [LEVELS], 10.0)
    assert e.value.excess == pytest.approx(0.2)
    with pytest.raises(InfeasibleError, match="latency_bound_ms"):
        dvfs_continuous([40.0], [10.0], 10.0, min_ghz=0.5, max_ghz=2.0, peak_w=100.0)


def split_objective_ms(x, mu, d_ms, lam):
    return float(1e3 * np.sum(x * (d_ms / 1e3 + 1.0 / (mu - x))) / lam)


def test_split_closed_form_without_delay():
    mu = np.array([10.0, 5.0, 1.0])
    r = optimal_split(6.0, mu)
    # Bell & Stidham: active set {10, 5}; the 1/s server would need nu < 1/1
    s = np.sqrt(mu[:2])
    expect = mu[:2] - s * (mu[:2].sum() - 6.0) / s.sum()
    assert r.rate_per_s[:2] == pytest.approx(expect, rel=1e-9)
    assert r.rate_per_s[2] == 0.0
    assert r.fraction.sum() == pytest.approx(1.0)
    assert r.objective == pytest.approx(split_objective_ms(r.rate_per_s, mu, 0.0, 6.0))
    assert r.status == "optimal" and r.bound <= r.objective


@given(seed=st.integers(0, 10_000), n=st.integers(2, 6))
@settings(max_examples=25, deadline=None, derandomize=True)
def test_split_matches_scipy(seed, n):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(1, 20, n)
    d = rng.uniform(0, 200, n)
    lam = float(rng.uniform(0.1, 0.9) * mu.sum())
    r = optimal_split(lam, mu, delay_ms=d)
    assert r.rate_per_s.sum() == pytest.approx(lam, rel=1e-9)
    assert (r.rate_per_s >= 0).all() and (r.rate_per_s < mu).all()
    x0 = mu / mu.sum() * lam
    ref = minimize(
        split_objective_ms,
        x0,
        args=(mu, d, lam),
        method="SLSQP",
        bounds=[(0.0, m * (1 - 1e-9)) for m in mu],
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - lam}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    ours = split_objective_ms(r.rate_per_s, mu, d, lam)
    assert ours == pytest.approx(r.objective, rel=1e-9)
    assert ours <= ref.fun * (1 + 1e-7)
    assert r.bound <= ours + 1e-9 and r.gap <= 1e-9


def test_split_infeasible():
    with pytest.raises(
        InfeasibleError, match=r"capacity: arrival rate 20/s .* total service rate 15/s \(over by 5/s\)"
    ):
        optimal_split(20.0, [10.0, 5.0])


SCENARIO = {
    "schema_version": 1,
    "name": "two-edges",
    "sites": [
        {"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0.0, "lon": 0.0}},
        {"id": "e2", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0.0, "lon": 0.1}},
    ],
    "links": [{"src": "e1", "dst": "e2", "latency_ms": 2.0}],
    "services": [{"id": "api", "work_ms": 5}],
    "applications": [{"id": "app", "stages": [{"service": "api"}]}],
    "device_groups": [
        {
            "id": "a",
            "count": 10,
            "application": "app",
            "placement": {"around": {"sites": ["e1"]}},
            "arrival": {"process": "poisson", "rate_per_s": 3.0},
        },
        {
            "id": "b",
            "count": 5,
            "application": "app",
            "placement": {"around": {"sites": ["e2"]}},
            "arrival": {"process": "poisson", "rate_per_s": 2.0},
        },
    ],
}


def test_balancing_weights_from_plan_routes():
    sc = scenario_from_dict(SCENARIO)
    arrays = compile_scenario(sc)
    plan, _ = default_plan(sc, arrays)
    w, entries = balancing_weights(plan, arrays)
    # group a (30/s) is served at e1, group b (10/s) at e2
    assert w[0].tolist() == pytest.approx([0.75, 0.25])
    assert {(e.site, round(e.weight, 6)) for e in entries} == {("e1", 0.75), ("e2", 0.25)}
    # send half of a's requests to e2: e1 15/s, e2 25/s
    routes = [r for r in plan.routes if r.group == "b"]
    a_route = next(r for r in plan.routes if r.group == "a")
    routes += [
        a_route.model_copy(update={"fraction": 0.5}),
        a_route.model_copy(update={"fraction": 0.5, "site": "e2"}),
    ]
    w, _ = balancing_weights(plan.model_copy(update={"routes": tuple(routes)}), arrays)
    assert w[0].tolist() == pytest.approx([15 / 40, 25 / 40])


def test_docs_page_examples():
    import doctest
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "optimize-offloading-caching.md"
    result = doctest.testfile(str(page), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0


def test_dvfs_for_plan_uses_routed_load():
    from edgescale.optimize.energy import dvfs_for_plan, site_load

    doc = dict(SCENARIO)
    levels = [{"frequency_ghz": 1.0, "peak_w": 80.0}, {"frequency_ghz": 2.0, "peak_w": 150.0}]
    doc["sites"] = [
        dict(s, dvfs_levels=levels, power={"idle_w": 50.0, "peak_w": 150.0}) for s in SCENARIO["sites"]
    ]
    sc = scenario_from_dict(doc)
    arrays = compile_scenario(sc)
    plan, _ = default_plan(sc, arrays)
    lam, work = site_load(plan, arrays)
    assert lam.tolist() == pytest.approx([30.0, 10.0]) and work.tolist() == pytest.approx([5.0, 5.0])
    # M/M/4 at 1 GHz: mu = 100/s, ~10 ms; 50 + 30 * 30 / 400 = 52.25 W beats 2 GHz's 53.75 W
    r = dvfs_for_plan(sc, arrays, plan, 20.0)
    assert r.site_ids == ("e1", "e2") and r.frequency_ghz.tolist() == [1.0, 1.0]
    assert r.power_w[0] == pytest.approx(52.25)
    assert r.response_ms[0] == pytest.approx(response_time_ms(30.0, 100.0, 4))
    r = dvfs_for_plan(sc, arrays, plan, 8.0)
    assert r.frequency_ghz.tolist() == [2.0, 2.0]
    assert [(e.site, e.frequency_ghz) for e in r.plan_entries()] == [("e1", 2.0), ("e2", 2.0)]


def test_dvfs_continuous_rejects_peak_below_idle():
    from edgescale.errors import ModelAssumptionError

    # with peak < idle the power falls with the frequency: the least feasible frequency is the worst
    with pytest.raises(ModelAssumptionError, match=r"peak_w\[1\] must be >= idle_w\[1\] \(got 40 < 50\)"):
        dvfs_continuous(
            [80.0, 80.0], [10.0, 10.0], 100.0, min_ghz=0.5, max_ghz=2.0, peak_w=[150.0, 40.0], idle_w=50.0
        )
    # peak == idle (constant power) is accepted
    r = dvfs_continuous([80.0], [10.0], 100.0, min_ghz=0.5, max_ghz=2.0, peak_w=50.0, idle_w=50.0)
    assert r.status == "optimal" and r.power_w[0] == pytest.approx(50.0)
