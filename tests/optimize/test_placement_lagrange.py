"""The Lagrangian bound of large placement models: valid (never above a proven optimum) and its start."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize import placement
from edgescale.optimize._placement_lagrange import lagrangian_bound, lagrangian_start
from edgescale.optimize._placement_milp import solve
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective
from edgescale.optimize.check import check_plan

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


def _solved_case(seed: int, rate: float, cores: int, obj: str, two: bool) -> tuple[Any, Any, Any, Any] | None:
    """A small random instance and its proven MILP optimum (None when HiGHS does not prove one)."""
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=cores, two_stage=two, n_edge=4))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {obj: 1.0})
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    return (m, a, o, exact) if exact.status == "optimal" else None


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(10.0, 160.0),
    cores=st.sampled_from([2, 3, 4]),
    obj=st.sampled_from(["cost", "energy", "latency"]),
    two=st.booleans(),
)
@settings(max_examples=15, deadline=None, derandomize=True)
def test_bound_never_exceeds_the_milp_optimum_and_start_is_no_better(
    seed: int, rate: float, cores: int, obj: str, two: bool
) -> None:
    case = _solved_case(seed, rate, cores, obj, two)
    if case is None:
        return
    m, a, o, exact = case
    r = lagrangian_bound(m, a, o, upper=exact.objective, time_limit_s=2)
    assert r.bound <= exact.objective * (1 + 1e-6) + 1e-9
    assert math.isfinite(r.bound)
    lp = solve(m, a, o, integer=False, time_limit_s=20, budget_per_hour=None, link=False)
    assert r.bound >= 0.3 * lp.bound  # it climbs: a bound of some use, not -inf or 0
    sol = lagrangian_start(m, a, o, r.kq, time_limit_s=2)
    if sol is not None:  # feasible solutions cost at least the optimum
        assert evaluate(m, o, *sol)["objective"] >= exact.objective * (1 - 1e-6) - 1e-9


def test_bound_matches_the_lp_on_a_facility_location_instance() -> None:
    # one stage, capacity far from binding: relaxing assignment gives the strong LP bound
    s = scenario_from_dict(small_doc(seed=1, rate=40.0, cores=4))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"cost": 1.0})
    lp = solve(m, a, o, integer=False, time_limit_s=20, budget_per_hour=None, link=True)
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    r = lagrangian_bound(m, a, o, upper=math.inf, time_limit_s=3)
    assert lp.bound - 1e-6 <= exact.objective
    assert r.bound == pytest.approx(lp.bound, rel=1e-3)


def test_large_model_path_uses_the_lagrangian_and_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # pretend the model is too large for linking rows and the MILP: the heuristic path with the Lagrangian
    monkeypatch.setattr(placement, "LINK_MAX_CHAINS", 0)
    s = scenario_from_dict(small_doc(seed=3, rate=90.0, cores=3, n_edge=4))
    a = compile_scenario(s, devices=False)
    plan = placement.optimize_placement(s, arrays=a, objective="cost", method="heuristic", time_limit_s=10)
    assert any("Lagrangian" in n for n in plan.notes)
    assert check_plan(s, a, plan) == []
    exact = placement.optimize_placement(s, arrays=a, objective="cost", method="milp", time_limit_s=20)
    assert exact.status == "optimal"
    assert plan.bound is not None and plan.bound <= exact.objectives["objective"] * (1 + 1e-6)
    assert plan.objectives["objective"] >= exact.objectives["objective"] * (1 - 1e-6)


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(10.0, 160.0),
    cores=st.sampled_from([2, 3, 4]),
    obj=st.sampled_from(["cost", "energy"]),
    two=st.booleans(),
)
@settings(max_examples=10, deadline=None, derandomize=True)
def test_bound_from_lp_duals_stays_below_the_optimum_and_reaches_the_weak_lp(
    seed: int, rate: float, cores: int, obj: str, two: bool
) -> None:
    case = _solved_case(seed, rate, cores, obj, two)
    if case is None:
        return
    m, a, o, exact = case
    lp = solve(m, a, o, integer=False, time_limit_s=20, budget_per_hour=None, link=False)
    assert lp.duals is not None and set(lp.duals) >= {"demand", "load", "cores", "memory"}
    r = lagrangian_bound(m, a, o, upper=math.inf, time_limit_s=2, lp_duals=lp.duals)
    assert r.bound <= exact.objective * (1 + 1e-6) + 1e-9
    if not two:  # one stage: the LP's duals are a point of the Lagrangian dual, which is no weaker
        assert r.bound >= lp.bound * (1 - 1e-6) - 1e-9
