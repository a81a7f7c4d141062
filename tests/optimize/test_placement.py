"""Placement: MILP against brute force, heuristics never beat a proven optimum, constraints bite, examples."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from edgescale.analysis.scenario import analyze_scenario
from edgescale.errors import InfeasibleError
from edgescale.model.arrays import compile_scenario
from edgescale.model.io import load, scenario_from_dict
from edgescale.optimize._placement_model import ModelOptions, build_model, objective
from edgescale.optimize.check import check_plan
from edgescale.optimize.placement import capacitated_facility_location, optimize_placement

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _brute_force(doc: dict[str, Any], weights: dict[str, float]) -> float:
    """Enumerate replicas of every queue; route by an LP for each; the least total objective."""
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    obj = objective(a, m, weights)
    n_q = len(m.q_service)
    kmax = np.diff(m.q_level_ptr)
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    best = math.inf
    for ks in itertools.product(*[range(int(k) + 1) for k in kmax]):
        kq = np.array(ks)
        cores = np.zeros(a.n_sites)
        mem = np.zeros(a.n_sites)
        np.add.at(cores, m.q_site, kq * a.service_cpu_cores[m.q_service])
        np.add.at(mem, m.q_site, kq * a.service_memory_mb[m.q_service] / 1024.0)
        per_svc = np.bincount(m.q_service, weights=kq, minlength=len(a.service_ids))
        if (cores > a.site_cpu_cores + 1e-9).any() or (mem > a.site_memory_gb + 1e-9).any():
            continue
        if (per_svc < a.service_min_replicas).any():
            continue
        doms_ok = all(
            len(set(a.site_domain[m.q_site[(m.q_service == s_) & (kq > 0)]].tolist())) >= m.min_domains[s_]
            for s_ in range(len(a.service_ids))
        )
        if not doms_ok:
            continue
        cap = np.array([m.level_cap[m.q_level_ptr[q] + kq[q] - 1] if kq[q] > 0 else 0.0 for q in range(n_q)])
        a_ub = np.zeros((n_q, len(rows)))
        for c in range(m.chain_queue.shape[1]):
            on = np.flatnonzero(m.chain_queue[:, c] >= 0)
            a_ub[m.chain_queue[on, c], on] += m.rate[rows[on]]
        a_eq = np.zeros((len(m.dem), len(rows)))
        a_eq[rows, np.arange(len(rows))] = 1.0
        lp = linprog(obj.chain, A_ub=a_ub, b_ub=cap, A_eq=a_eq, b_eq=np.ones(len(m.dem)), bounds=(0, 1))
        if lp.status != 0:
            continue
        on = np.flatnonzero(kq > 0)
        fixed = obj.level[m.q_level_ptr[on] + kq[on] - 1].sum() + obj.site[np.unique(m.q_site[on])].sum()
        best = min(best, float(lp.fun + fixed))
    return best


@pytest.mark.parametrize(
    ("kwargs", "weights"),
    [
        ({}, {"latency": 1.0}),
        ({}, {"cost": 1.0}),
        ({"two_stage": True, "n_edge": 2}, {"cost": 1.0}),
        ({"rate": 150.0, "cores": 3}, {"cost": 1.0, "latency": 0.01}),
        ({"availability": 0.99999}, {"energy": 1.0}),
    ],
    ids=["latency", "cost", "two-stage-cost", "tight-weighted", "domains-energy"],
)
def test_milp_equals_brute_force(kwargs: dict[str, Any], weights: dict[str, float]) -> None:
    doc = small_doc(**kwargs)
    plan = optimize_placement(
        scenario_from_dict(doc), objective="weighted", weights=weights, method="milp", time_limit_s=30
    )
    assert plan.status == "optimal"
    assert plan.objectives["objective"] == pytest.approx(_brute_force(doc, weights), rel=1e-5, abs=1e-7)


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(5.0, 180.0),
    cores=st.sampled_from([1, 2, 3, 4]),
    obj=st.sampled_from(["latency", "cost", "energy"]),
    two=st.booleans(),
)
@settings(max_examples=12, deadline=None, derandomize=True)
def test_heuristic_never_beats_optimal_milp(seed: int, rate: float, cores: int, obj: str, two: bool) -> None:
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=cores, two_stage=two, n_edge=4))
    a = compile_scenario(s, devices=False)
    try:
        exact = optimize_placement(s, arrays=a, objective=obj, method="milp", time_limit_s=20)
    except InfeasibleError:
        return
    heur = optimize_placement(s, arrays=a, objective=obj, method="heuristic", time_limit_s=5)
    for p in (exact, heur):  # every returned plan passes the independent checker
        assert check_plan(s, a, p) == []
        assert p.scenario.name == s.name
    if exact.status == "optimal":
        assert heur.objectives["objective"] >= exact.objectives["objective"] * (1 - 1e-6) - 1e-9
        assert exact.gap is not None and exact.gap <= 1e-5
    assert heur.bound is not None and heur.bound <= heur.objectives["objective"] + 1e-6


def _cost(doc: dict[str, Any], **kw: Any) -> float:
    plan = optimize_placement(scenario_from_dict(doc), objective="cost", method="milp", **kw)
    return float(plan.objectives["cost_per_hour"])


def test_capacity_error_says_how_much() -> None:
    # enough total cores, but one crowded access site reaches too little within a tight SLO
    doc = small_doc(rate=20.0, cores=2, slo_ms=40.0)
    doc["device_groups"][0]["arrival"]["rate_per_s"] = 40.0
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(doc), method="milp")
    assert e.value.constraint == "capacity"
    assert e.value.excess is not None and e.value.excess > 0
    assert "%" in str(e.value)


def test_capacity_tightening_changes_optimum_or_raises() -> None:
    base = _cost(small_doc(rate=120.0, cores=4))
    tighter = _cost(small_doc(rate=120.0, cores=1))
    assert tighter > base + 1e-6
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(small_doc(rate=2000.0, cores=1)), method="milp")
    assert e.value.constraint == "capacity"
    assert "exceed" in str(e.value) and "%" in str(e.value)


def test_memory_tightening_changes_optimum_or_raises() -> None:
    doc = small_doc(rate=120.0, cores=4, memory_gb=8)
    base = _cost(doc)
    tight = small_doc(rate=120.0, cores=4, memory_gb=1)  # one 1 GB replica per edge
    assert _cost(tight) > base + 1e-6
    for site in tight["sites"]:
        site["memory_gb"] = 0.5
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(tight), method="milp")
    assert e.value.constraint == "memory"
    assert "1024 MB" in str(e.value) and "%" in str(e.value)
    # memory for one replica per site but not for the replicas the load needs
    crowded = small_doc(rate=150.0, cores=4, memory_gb=1)
    crowded["sites"][-1]["memory_gb"] = 1
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(crowded), method="milp")
    assert e.value.constraint == "memory"


def test_latency_slo_tightening_changes_optimum_or_raises() -> None:
    # a loose SLO lets the aggregation site (5 ms away) serve everything; a tight one keeps it local
    loose = _cost(small_doc(slo_ms=200.0))
    tight = _cost(small_doc(slo_ms=45.0))
    assert tight != pytest.approx(loose)
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(small_doc(slo_ms=3.0)), method="milp")
    assert e.value.constraint == "latency_slo"
    assert "SLO" in str(e.value)


def test_domains_tightening_changes_optimum() -> None:
    doc = small_doc()
    one = optimize_placement(scenario_from_dict(doc), objective="cost", method="milp", min_domains=1)
    two = optimize_placement(scenario_from_dict(doc), objective="cost", method="milp", min_domains=2)
    a = compile_scenario(scenario_from_dict(doc), devices=False)
    doms = {a.site_domain[a.site_index(r.site)] for r in two.replicas}
    assert len(doms) >= 2
    assert two.objectives["cost_per_hour"] > one.objectives["cost_per_hour"]
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(scenario_from_dict(doc), method="milp", min_domains=9)
    assert e.value.constraint == "domains"


def test_budget_tightening_changes_optimum_or_raises() -> None:
    s = scenario_from_dict(small_doc())
    free = optimize_placement(s, objective="latency", method="milp")
    cheap = optimize_placement(s, objective="cost", method="milp")
    mid = 0.5 * (free.objectives["cost_per_hour"] + cheap.objectives["cost_per_hour"])
    capped = optimize_placement(s, objective="latency", method="milp", budget_per_hour=mid)
    assert capped.objectives["cost_per_hour"] <= mid + 1e-6
    assert capped.objectives["mean_latency_ms"] > free.objectives["mean_latency_ms"]
    with pytest.raises(InfeasibleError) as e:
        optimize_placement(s, method="milp", budget_per_hour=0.001)
    assert e.value.constraint == "budget"
    with pytest.raises(InfeasibleError) as e:  # above the trivial bound, below the LP bound
        optimize_placement(s, method="milp", budget_per_hour=cheap.objectives["cost_per_hour"] * 0.5)
    assert e.value.constraint == "budget"
    assert e.value.excess is not None and e.value.excess > 0


def test_lexicographic_latency_then_cost() -> None:
    s = scenario_from_dict(small_doc(rate=60.0))
    fast = optimize_placement(s, objective="latency", method="milp")
    lex = optimize_placement(s, objective="latency,cost", method="milp")
    assert lex.status == "optimal"
    assert lex.objectives["mean_latency_ms"] == pytest.approx(fast.objectives["mean_latency_ms"], rel=1e-6)
    assert lex.objectives["cost_per_hour"] <= fast.objectives["cost_per_hour"] + 1e-9
    with pytest.raises(ValueError, match="lexicographic"):
        optimize_placement(s, objective="latency,latency")


def test_plan_fields_for_the_cli() -> None:
    s = scenario_from_dict(small_doc())
    p = optimize_placement(s, objective="cost", method="auto")
    assert p.created_by == "optimize:milp"
    assert p.status == "optimal"
    assert {"mean_latency_ms", "cost_per_hour", "energy_w", "bound", "gap", "objective"} <= set(p.objectives)
    assert p.solve_seconds is not None and p.bound is not None
    with pytest.raises(ValueError, match="objective"):
        optimize_placement(s, objective="speed")
    with pytest.raises(ValueError, match="method"):
        optimize_placement(s, method="annealing")


def test_factory_example_is_optimal_and_meets_latency_slos() -> None:
    s = load(EXAMPLES / "factory-cell.yaml")
    p = optimize_placement(s, method="milp", time_limit_s=30)
    assert p.status == "optimal"
    r = analyze_scenario(s, plan=p)
    assert all(x.meets_latency_slo is not False for x in r.applications)


def test_capacitated_facility_location_matches_enumeration() -> None:
    rng = np.random.default_rng(4)
    f = rng.uniform(5, 20, 4)
    u = rng.uniform(5, 12, 4)
    d = rng.uniform(1, 4, 6)
    c = rng.uniform(0.5, 3, (6, 4))
    op, x, cost, bound, status = capacitated_facility_location(f, u, d, c)
    assert op.any() and bound <= cost + 1e-9
    assert status == "optimal"
    np.testing.assert_allclose(x.sum(axis=1), 1.0, atol=1e-7)
    best = math.inf
    for mask in itertools.product([0, 1], repeat=4):
        on = np.flatnonzero(mask)
        if not len(on) or u[on].sum() < d.sum():
            continue
        n = c.shape[0]
        a_eq = np.zeros((n, n * len(on)))
        for i in range(n):
            a_eq[i, i * len(on) : (i + 1) * len(on)] = 1
        a_ub = np.zeros((len(on), n * len(on)))
        for k in range(len(on)):
            a_ub[k, k :: len(on)] = d
        lp = linprog((c[:, on] * d[:, None]).ravel(), A_ub=a_ub, b_ub=u[on], A_eq=a_eq, b_eq=np.ones(n))
        if lp.status == 0:
            best = min(best, lp.fun + f[on].sum())
    assert cost == pytest.approx(best, rel=1e-7)
    with pytest.raises(InfeasibleError, match="capacity"):
        capacitated_facility_location(f, u * 0.01, d, c)


@pytest.mark.slow
def test_melbourne_optimized_plan_meets_slos_where_default_does_not() -> None:
    s = load(EXAMPLES / "melbourne-metro.yaml")
    a = compile_scenario(s, devices=False)
    default = analyze_scenario(s, arrays=a)
    assert any(x.meets_latency_slo is False for x in default.applications)
    plan = optimize_placement(s, arrays=a, time_limit_s=30)
    assert check_plan(s, a, plan) == []
    r = analyze_scenario(s, plan=plan, arrays=a)
    assert all(x.meets_latency_slo for x in r.applications), r.verdict
    assert all(x.meets_availability_slo is not False for x in r.applications), r.verdict
