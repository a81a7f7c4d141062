"""Pareto fronts: ε-constraint against exhaustive enumeration, NSGA-II hypervolume, the plan's front."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import Plan
from edgescale.optimize._pareto_common import nondominated, pure_objectives
from edgescale.optimize._placement_model import ModelOptions, build_model
from edgescale.optimize.check import check_plan
from edgescale.optimize.pareto import front_hypervolume, pareto_front

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


def _uniform_power(doc: dict[str, Any]) -> dict[str, Any]:
    """Same dynamic watts per core at every site: dynamic energy no longer depends on routing."""
    for s in doc["sites"]:
        s["power"] = {"idle_w": s["power"]["idle_w"], "peak_w": s["power"]["idle_w"] + 30.0 * s["cpu_cores"]}
    return doc


def _exhaustive(doc: dict[str, Any], names: tuple[str, ...]) -> np.ndarray:
    """Every replica vector; for each, the routing LP of the one routing-dependent objective; then filter.

    Exact when at most one objective depends on routing: for fixed replicas the others are constant, so
    the routing that minimises that one dominates every other routing.
    """
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    objs = pure_objectives(a, m)
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))

    def varies(c: np.ndarray) -> bool:  # differs between the chains of some demand row
        lo, hi = np.full(len(m.dem), np.inf), np.full(len(m.dem), -np.inf)
        np.minimum.at(lo, rows, c)
        np.maximum.at(hi, rows, c)
        return bool((hi - lo > 1e-9 * max(np.abs(c).max(), 1e-12)).any())

    routed = [n for n in names if varies(objs[n].chain)]
    assert len(routed) <= 1, routed
    route_c = objs[routed[0]].chain if routed else np.zeros(len(m.chain_latency))
    n_q = len(m.q_service)
    kmax = np.diff(m.q_level_ptr)
    a_ub = np.zeros((n_q, len(rows)))
    for c in range(m.chain_queue.shape[1]):
        on = np.flatnonzero(m.chain_queue[:, c] >= 0)
        a_ub[m.chain_queue[on, c], on] += m.rate[rows[on]]
    a_eq = np.zeros((len(m.dem), len(rows)))
    a_eq[rows, np.arange(len(rows))] = 1.0
    out = []
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
        if not all(
            len(set(a.site_domain[m.q_site[(m.q_service == v) & (kq > 0)]].tolist())) >= m.min_domains[v]
            for v in range(len(a.service_ids))
        ):
            continue
        cap = np.array([m.level_cap[m.q_level_ptr[q] + kq[q] - 1] if kq[q] > 0 else 0.0 for q in range(n_q)])
        lp = linprog(route_c, A_ub=a_ub, b_ub=cap, A_eq=a_eq, b_eq=np.ones(len(m.dem)), bounds=(0, 1))
        if lp.status != 0:
            continue
        z = lp.x
        on = np.flatnonzero(kq > 0)
        lvl = m.q_level_ptr[on] + kq[on] - 1
        sites = np.unique(m.q_site[on])
        out.append(
            [float(objs[n].chain @ z + objs[n].level[lvl].sum() + objs[n].site[sites].sum()) for n in names]
        )
    pts = np.array(out)
    return pts[nondominated(pts)]


def _same_front(got: np.ndarray, want: np.ndarray) -> None:
    assert len(got) == len(want), (got, want)
    g = got[np.lexsort(got.T[::-1])]
    w = want[np.lexsort(want.T[::-1])]
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


CASES = [  # uniform dynamic power where latency and energy are both objectives (finite fronts)
    ({"seed": 0}, ("latency", "cost")),
    ({"seed": 3, "rate": 60.0}, ("latency", "cost")),
    ({"seed": 1, "rate": 90.0, "cores": 3, "agg_cost": 0.3}, ("energy", "cost")),
    ({"seed": 4, "rate": 50.0}, ("latency", "energy")),
    ({"seed": 2, "rate": 40.0, "availability": 0.99999}, ("latency", "energy", "cost")),
    ({"seed": 5, "rate": 80.0, "n_edge": 4, "cores": 2}, ("latency", "energy", "cost")),
]


@pytest.mark.parametrize(("kwargs", "names"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_epsilon_front_equals_exhaustive_and_nsga2_reaches_95_percent(
    kwargs: dict[str, Any], names: tuple[str, ...]
) -> None:
    kwargs = dict(kwargs)
    agg_cost = kwargs.pop("agg_cost", None)
    doc = small_doc(**kwargs)
    if agg_cost is not None:  # a cheap but power-hungry aggregation site: energy and cost disagree
        doc["sites"][-1]["cost"]["fixed_per_hour"] = agg_cost
    if "latency" in names and "energy" in names:
        doc = _uniform_power(doc)
    exact = _exhaustive(doc, names)
    assert len(exact) >= 2  # a real trade-off
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    eps = pareto_front(s, arrays=a, objectives=names, method="epsilon", time_limit_s=60)
    assert eps.complete and eps.method == "epsilon"
    _same_front(eps.points, exact)
    hv_exact = front_hypervolume(exact, exact.min(axis=0), exact.max(axis=0))
    assert eps.hypervolume == pytest.approx(hv_exact, rel=1e-4)
    ga = pareto_front(s, arrays=a, objectives=names, method="nsga2", time_limit_s=120, generations=15, seed=1)
    hv_ga = front_hypervolume(ga.points, exact.min(axis=0), exact.max(axis=0))
    assert hv_ga >= 0.95 * hv_exact, (hv_ga, hv_exact, ga.points, exact)
    for r in (eps, ga):  # every point's decision is feasible and has the point's objective values
        for p, plan in zip(r.points, r.plans, strict=True):
            assert check_plan(s, a, plan) == []
            got = [plan.objectives[k] for k in ("mean_latency_ms", "energy_w", "cost_per_hour")]
            want = dict(zip(names, p, strict=True))
            for k, n in enumerate(("latency", "energy", "cost")):
                if n in want:
                    assert got[k] == pytest.approx(want[n], rel=1e-6, abs=1e-9)


def test_plan_records_front_and_chosen_point() -> None:
    s = scenario_from_dict(_uniform_power(small_doc(seed=0)))
    r = pareto_front(s, objectives=("latency", "cost"), method="auto")
    plan = r.plan
    assert plan.pareto is not None
    assert plan.pareto.objectives == ("mean_latency_ms", "cost_per_hour")
    assert len(plan.pareto.points) == len(r.points) and plan.pareto.chosen == r.chosen
    assert plan.pareto.hypervolume == pytest.approx(r.hypervolume)
    assert plan.status == "optimal" and plan.created_by == "optimize:pareto-epsilon"
    chosen = r.points[r.chosen]
    assert plan.objectives["mean_latency_ms"] == pytest.approx(chosen[0])
    assert plan.objectives["cost_per_hour"] == pytest.approx(chosen[1])
    # the chosen point is the closest to the ideal after normalisation
    norm = (r.points - r.ideal) / np.where(r.nadir > r.ideal, r.nadir - r.ideal, 1.0)
    assert r.chosen == int(np.argmin(np.linalg.norm(norm, axis=1)))
    # the plan round-trips through its JSON form
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again.pareto == plan.pareto
    # the extremes of the front are the single-objective optima
    from edgescale.optimize.placement import optimize_placement

    fast = optimize_placement(s, objective="latency", method="milp")
    cheap = optimize_placement(s, objective="cost", method="milp")
    assert r.points[:, 0].min() == pytest.approx(fast.objectives["mean_latency_ms"], rel=1e-5)
    assert r.points[:, 1].min() == pytest.approx(cheap.objectives["cost_per_hour"], rel=1e-5)


def test_hypervolume_of_known_fronts() -> None:
    ideal, nadir = np.zeros(2), np.ones(2)
    assert front_hypervolume(np.array([[0.0, 0.0]]), ideal, nadir) == pytest.approx(1.21)
    # two corners: 1.1 * 0.1 + 0.1 * 1.1 - 0.1 * 0.1
    assert front_hypervolume(np.array([[0.0, 1.0], [1.0, 0.0]]), ideal, nadir) == pytest.approx(0.21)
    three = front_hypervolume(np.array([[0.5, 0.5, 0.5]]), np.zeros(3), np.ones(3))
    assert three == pytest.approx(0.6**3)
    # a dominated point adds nothing; a point past the reference adds nothing
    base = np.array([[0.0, 1.0], [1.0, 0.0]])
    more = np.vstack([base, [[1.0, 1.0], [2.0, -0.5]]])
    assert front_hypervolume(more, ideal, nadir) == pytest.approx(0.21)


def test_bad_arguments_and_infeasible_input() -> None:
    s = scenario_from_dict(small_doc())
    with pytest.raises(ValueError, match="objectives"):
        pareto_front(s, objectives=("latency",))
    with pytest.raises(ValueError, match="objectives"):
        pareto_front(s, objectives=("latency", "speed"))
    with pytest.raises(ValueError, match="method"):
        pareto_front(s, method="grid")
    with pytest.raises(InfeasibleError) as e:
        pareto_front(scenario_from_dict(small_doc(rate=2000.0, cores=1)))
    assert e.value.constraint == "capacity"
    with pytest.raises(InfeasibleError) as e:
        pareto_front(s, budget_per_hour=0.001)
    assert e.value.constraint == "budget"


def test_budget_bounds_every_point() -> None:
    doc = _uniform_power(small_doc(seed=0))
    s = scenario_from_dict(doc)
    free = pareto_front(s, objectives=("latency", "cost"), method="epsilon")
    cap = float(np.median(free.points[:, 1]))
    capped = pareto_front(s, objectives=("latency", "cost"), method="epsilon", budget_per_hour=cap)
    assert (capped.points[:, 1] <= cap + 1e-6).all()
    want = free.points[free.points[:, 1] <= cap + 1e-9]
    _same_front(capped.points, want)
    assert math.isfinite(capped.hypervolume)
