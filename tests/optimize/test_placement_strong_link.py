"""The placement MILP's linking rows ``rate * z[c] <= sum_k min(rate, cap[q, k]) * u[q, k]`` against brute force.

Brute force: every vector of replicas per queue, each routed optimally by an LP (``route_lp``); the least
objective over them is the model's true optimum. A linking row that cut off an optimal solution would make
the MILP's "optimal" value exceed it.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import highspy
import numpy as np
import pytest

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize._placement_milp import _QuietHighs, route_lp, solve
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


def _brute_force(m, a, o) -> float:  # type: ignore[no-untyped-def]
    best = np.inf
    kmax = np.diff(m.q_level_ptr)
    for kq in itertools.product(*[range(int(k) + 1) for k in kmax]):
        kv = np.asarray(kq, np.int64)
        z = route_lp(m, a, o, kv, time_limit_s=10.0)
        if z is not None:
            best = min(best, evaluate(m, o, z, kv)["objective"])
    return float(best)


# rates from 60 to 160 per second: one replica (about 70 per second within the SLO) carries less than
# most demand points, so the rows differ from ``z[c] <= sum_k u[q, k]``
@pytest.mark.parametrize(
    ("seed", "rate", "obj"),
    [
        (1, 60.0, "latency"),
        (2, 110.0, "latency"),
        (3, 160.0, "latency"),
        (4, 110.0, "cost"),
        (5, 140.0, "energy"),
    ],
)
def test_milp_with_linking_rows_reaches_the_brute_force_optimum(seed: int, rate: float, obj: str) -> None:
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=2, n_edge=3))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {obj: 1.0})
    assert int(np.prod(np.diff(m.q_level_ptr) + 1)) <= 2000  # small enough to enumerate
    truth = _brute_force(m, a, o)
    assert np.isfinite(truth)
    kw = {"integer": True, "time_limit_s": 20.0, "budget_per_hour": None}
    linked = solve(m, a, o, link=True, **kw)
    plain = solve(m, a, o, link=False, **kw)
    assert linked.status == plain.status == "optimal"
    assert linked.objective == pytest.approx(truth, rel=2e-6, abs=1e-9)
    assert plain.objective == pytest.approx(truth, rel=2e-6, abs=1e-9)
    # the LP relaxations: both bound the optimum, and the linking rows do not weaken the bound
    lp_linked = solve(m, a, o, integer=False, time_limit_s=20.0, budget_per_hour=None, link=True)
    lp_plain = solve(m, a, o, integer=False, time_limit_s=20.0, budget_per_hour=None, link=False)
    # (to within HiGHS's dual feasibility tolerance 1e-7: the tie-breaking cost terms are 2e-8 per core)
    assert lp_plain.objective <= lp_linked.objective + 1e-7
    assert lp_linked.objective <= truth + 1e-7


def test_highs_runs_on_one_thread_after_another_run_started_more() -> None:
    # HiGHS's scheduler is global: a default run starts it with every core, after which ``threads=1``
    # is refused unless the scheduler is reset (which _QuietHighs does)
    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.run()
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    assert h.getOptionValue("threads")[1] == 1
    assert h.run() == highspy.HighsStatus.kOk
    s = scenario_from_dict(small_doc(seed=1, rate=60.0, cores=2, n_edge=3))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    res = solve(
        m,
        a,
        objective(a, m, {"latency": 1.0}),
        integer=True,
        time_limit_s=20.0,
        budget_per_hour=None,
        link=True,
    )
    assert res.status == "optimal"


@pytest.mark.parametrize(("seed", "rate", "two"), [(1, 60.0, False), (3, 160.0, False), (2, 90.0, True)])
def test_milp_over_full_sites_has_the_least_latency(seed: int, rate: float, two: bool) -> None:
    from edgescale.optimize.placement import _fill_cores

    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=2, n_edge=3, two_stage=two))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"latency": 1.0})
    lo = _fill_cores(a, m, {"latency": 1.0}, None)
    assert lo is not None
    # every edge site (2 cores, 1-core replicas, 8 GB) is filled; the aggregation site (8 cores) as far
    # as its queues' levels reach
    edges = [a.site_ids.index(f"e{i}") for i in range(3)]
    assert lo[edges] == pytest.approx([2.0, 2.0, 2.0], abs=1e-6)
    kw = {"integer": True, "time_limit_s": 20.0, "budget_per_hour": None, "link": False}
    free = solve(m, a, o, **kw)
    full = solve(m, a, o, min_cores=lo, **kw)
    assert free.status == full.status == "optimal"
    assert full.z is not None and full.kq is not None and free.z is not None and free.kq is not None
    cores = np.bincount(m.q_site, weights=full.kq * a.service_cpu_cores[m.q_service], minlength=a.n_sites)
    assert (cores >= np.where(np.isfinite(lo), lo, 0.0)).all()
    lat_full = evaluate(m, o, full.z, full.kq)["mean_latency_ms"]
    lat_free = evaluate(m, o, free.z, free.kq)["mean_latency_ms"]
    assert lat_full == pytest.approx(lat_free, rel=1e-5)
    # the restricted bound less the most the tie-breaking terms can add bounds the true optimum
    top = m.q_level_ptr[1:] - 1
    slack = float(o.level[top].sum() + o.site[np.unique(m.q_site)].sum())
    assert full.bound - slack <= free.objective * (1 + 1e-6)


def test_latency_plan_through_full_sites_is_the_proven_optimum() -> None:
    from edgescale.optimize.placement import optimize_placement

    s = scenario_from_dict(small_doc(seed=3, rate=160.0, cores=2, n_edge=3))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"latency": 1.0})
    truth = _brute_force(m, a, o)
    plan = optimize_placement(s, arrays=a, objective="latency", method="milp", time_limit_s=30)
    assert any("sites full" in n for n in plan.notes)
    assert plan.status == "optimal"
    assert plan.objectives["objective"] == pytest.approx(truth, rel=2e-6)
    assert plan.bound is not None and plan.bound <= truth * (1 + 1e-6)


def test_full_sites_only_for_latency_without_budget_or_replica_maximum() -> None:
    from edgescale.optimize.placement import _fill_cores

    doc = small_doc(seed=1, rate=60.0, cores=2, n_edge=3)
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    assert _fill_cores(a, m, {"cost": 1.0}, None) is None
    assert _fill_cores(a, m, {"latency": 1.0, "energy": 0.5}, None) is None
    assert _fill_cores(a, m, {"latency": 1.0}, 10.0) is None
    doc["services"][0]["max_replicas"] = 3
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    assert _fill_cores(a, build_model(s, a, ModelOptions()), {"latency": 1.0}, None) is None
