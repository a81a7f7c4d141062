"""Consolidating start of large cost models: rounded per-service facility-location LPs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize._placement_cfl import cfl_levels, entry_services
from edgescale.optimize._placement_heuristic import close_sites, greedy, state_from
from edgescale.optimize._placement_lagrange import lagrangian_start
from edgescale.optimize._placement_milp import solve
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective, queue_load

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(10.0, 160.0),
    cores=st.sampled_from([2, 3, 4]),
    two=st.booleans(),
)
@settings(max_examples=12, deadline=None, derandomize=True)
def test_cfl_start_is_feasible_and_no_better_than_the_optimum(
    seed: int, rate: float, cores: int, two: bool
) -> None:
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=cores, two_stage=two, n_edge=4))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"cost": 1.0})
    kq0 = np.zeros(len(m.q_service), np.int64)
    entry = entry_services(m, a)
    kq = cfl_levels(m, a, o, kq0, entry, time_limit_s=5)
    kmax = np.diff(m.q_level_ptr)
    assert ((kq >= 0) & (kq <= kmax)).all()
    assert (kq[~np.isin(m.q_service, entry)] == 0).all()  # other services keep kq0
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    sol = lagrangian_start(m, a, o, kq, time_limit_s=2)
    if sol is None:
        return
    z, k = sol
    # a feasible solution: every row routed, every queue within its level's capacity
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    np.testing.assert_allclose(np.bincount(rows, weights=z, minlength=len(m.dem)), 1.0, atol=1e-6)
    cap = np.where(k > 0, m.level_cap[m.q_level_ptr[:-1] + np.maximum(k, 1) - 1], 0.0)
    assert (queue_load(m, z) <= cap + 1e-6).all()
    if exact.status == "optimal":
        assert evaluate(m, o, z, k)["objective"] >= exact.objective * (1 - 1e-6) - 1e-9


def test_close_sites_empties_a_site_when_another_can_take_its_demand() -> None:
    # demand at its nearest sites, capacity to spare: closing sites pays for cost
    s = scenario_from_dict(small_doc(seed=2, rate=15.0, cores=4, n_edge=3))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"cost": 1.0})
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    assert exact.status == "optimal"
    near = greedy(m, a, objective(a, m, {"latency": 1.0}))  # each row at its nearest sites: spread out
    sol = (near.z, near.kq)
    st_ = state_from(m, a, o, *sol)
    before = evaluate(m, o, st_.z, st_.kq)["objective"]
    open_before = int((st_.site_q > 0).sum())
    closed = close_sites(st_, deadline=1e18)
    after = evaluate(m, o, st_.z, st_.kq)
    assert closed >= 1 and int((st_.site_q > 0).sum()) < open_before  # moves may open another site
    assert after["objective"] < before - 1e-9
    assert after["objective"] >= exact.objective * (1 - 1e-6) - 1e-9
