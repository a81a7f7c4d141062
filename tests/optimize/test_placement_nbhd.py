"""Neighbourhood search of the placement MILP: it only improves feasible plans, and with every site free it
is the MILP itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize._placement_milp import route_lp, solve
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective
from edgescale.optimize._placement_nbhd import applies, co_reach, hubs, improve
from edgescale.optimize.check import check_plan
from edgescale.optimize.placement import _to_plan, optimize_placement

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


def _case(seed: int, rate: float, n_edge: int = 5):  # type: ignore[no-untyped-def]
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=2, n_edge=n_edge))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    return s, a, m, objective(a, m, {"latency": 1.0})


def _poor_start(a, m, o):  # type: ignore[no-untyped-def]
    """A feasible plan found without regard to latency: HiGHS's first solution of the cost-only model."""
    res = solve(
        m,
        a,
        objective(a, m, {}),
        integer=True,
        time_limit_s=10.0,
        budget_per_hour=None,
        link=False,
        first_solution=True,
    )
    assert res.kq is not None
    z = route_lp(m, a, o, res.kq, time_limit_s=10.0)
    assert z is not None
    return z, res.kq


@pytest.mark.parametrize(("seed", "rate"), [(1, 60.0), (3, 120.0), (4, 90.0)])
def test_search_never_worsens_and_never_beats_the_optimum(seed: int, rate: float) -> None:
    s, a, m, o = _case(seed, rate)
    best = solve(m, a, o, integer=True, time_limit_s=20.0, budget_per_hour=None, link=True)
    assert best.status == "optimal"
    z0, kq0 = _poor_start(a, m, o)
    v0 = evaluate(m, o, z0, kq0)["objective"]
    z, kq, steps, better = improve(
        m,
        a,
        o,
        z0,
        kq0,
        time_limit_s=3.0,
        budget_per_hour=None,
        link=True,
        n_sites=2,
        sub_limit_s=1.0,
        hub_share=1.1,
    )
    v = evaluate(m, o, z, kq)["objective"]
    assert steps >= 1
    assert best.objective * (1 - 1e-6) <= v <= v0
    assert (better > 0) == (v < v0)
    plan = _to_plan(
        s, a, m, z, kq, evaluate(m, o, z, kq), bound=best.bound, status="time_limit", seconds=0.0,
        created_by="optimize:milp", notes=(),
    )  # fmt: skip
    assert check_plan(s, a, plan, min_domains={"svc": int(m.min_domains[0])}) == []


def test_search_with_every_site_free_reaches_the_milp_optimum() -> None:
    _, a, m, o = _case(3, 120.0)
    best = solve(m, a, o, integer=True, time_limit_s=20.0, budget_per_hour=None, link=True)
    z0, kq0 = _poor_start(a, m, o)
    assert evaluate(m, o, z0, kq0)["objective"] > best.objective * (1 + 1e-3)  # a start worth improving
    z, kq, _, better = improve(
        m,
        a,
        o,
        z0,
        kq0,
        time_limit_s=5.0,
        budget_per_hour=None,
        link=True,
        n_sites=a.n_sites,
        sub_limit_s=5.0,
    )
    assert better >= 1
    assert evaluate(m, o, z, kq)["objective"] == pytest.approx(best.objective, rel=1e-6)


def test_co_reach_counts_shared_demand_rows() -> None:
    _, a, m, _ = _case(1, 60.0)
    near = co_reach(m, a.n_sites)
    assert np.array_equal(near, near.T)
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    for j in range(a.n_sites):  # the diagonal: demand rows with a chain to the site
        assert near[j, j] == len(np.unique(rows[m.q_site[m.chain_queue[:, 0]] == j]))
    agg = a.site_ids.index("agg")
    e0, e4 = a.site_ids.index("e0"), a.site_ids.index("e4")
    assert near[agg, e0] == near[e0, e0]  # every row that reaches e0 also reaches the aggregation site
    assert near[e0, e4] < near[e0, e0]


def test_hubs_are_sites_most_rows_of_an_application_reach() -> None:
    doc = small_doc(seed=1, rate=60.0, cores=2, n_edge=8)  # the ends of the line reach half the edges
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    near = co_reach(m, a.n_sites)
    reach = np.diag(near) / len(m.dem)
    assert reach[a.site_ids.index("agg")] == 1.0
    assert reach[a.site_ids.index("e0")] == 0.5
    assert reach.max(initial=0.0, where=np.arange(a.n_sites) != a.site_ids.index("agg")) < 0.9
    assert hubs(m, a).tolist() == [a.site_ids.index("agg")]
    assert hubs(m, a, share=0.0).tolist() == np.unique(m.q_site).tolist()


def test_small_models_skip_the_search() -> None:
    s, a, m, _ = _case(1, 60.0)
    assert not applies(m)
    plan = optimize_placement(s, arrays=a, method="milp", time_limit_s=60.0)
    assert plan.status == "optimal"
    assert not any("neighbourhood" in n for n in plan.notes)
