"""The cutting-plane bound of large placement models: valid (never above a proven optimum), at least the
weak LP, and at convergence the LP with every candidate linking row."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csc_matrix, vstack

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize import placement
from edgescale.optimize._placement_cuts import candidates, cut_bound, lp_levels, lp_start
from edgescale.optimize._placement_milp import INF, build_lp, run_lp, solve
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective
from edgescale.optimize.check import check_plan

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


def _case(seed: int, rate: float, slo_ms: float, two: bool, obj: str = "cost") -> tuple[Any, Any, Any]:
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=4, two_stage=two, n_edge=6, slo_ms=slo_ms))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    return m, a, objective(a, m, {obj: 1.0})


def _lp_with_all_candidates(m: Any, a: Any, o: Any) -> float:
    """The weak LP plus every candidate row at once (what the loop converges to)."""
    lp = build_lp(m, a, o, integer=False, budget_per_hour=None, link=False)
    n_row, n_col = int(lp.num_row_), int(lp.num_col_)
    base = csc_matrix(
        (np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_), np.asarray(lp.a_matrix_.start_)),
        shape=(n_row, n_col),
    )
    cand = candidates(m, a).mat
    mat = vstack([base, cand]).tocsc()
    lp.num_row_ = mat.shape[0]
    lp.row_lower_ = np.r_[np.asarray(lp.row_lower_), np.full(cand.shape[0], -INF)]
    lp.row_upper_ = np.r_[np.asarray(lp.row_upper_), np.zeros(cand.shape[0])]
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    h = run_lp(lp, time_limit_s=20)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("two", [False, True])
def test_converged_bound_lies_between_the_lps_and_the_milp_optimum(two: bool) -> None:
    # seed 0, 40 req/s, 60 ms SLO: weak LP 0.658 / 0.745, LP with build_lp's linking rows 1.347 / 1.157,
    # MILP 1.366 / 1.952 (one stage / two stages): the aggregated rows beat the per-chain ones on two stages
    m, a, o = _case(0, 40.0, 60.0, two)
    weak = solve(m, a, o, integer=False, time_limit_s=20, budget_per_hour=None, link=False)
    linked = solve(m, a, o, integer=False, time_limit_s=20, budget_per_hour=None, link=True)
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    assert exact.status == "optimal"
    r = cut_bound(m, a, o, time_limit_s=20, batch=3)
    assert r.converged and r.rounds >= 2
    assert r.weak == pytest.approx(weak.bound, rel=1e-9)
    assert r.bound >= linked.bound - 1e-7 > weak.bound + 0.3
    assert r.bound <= exact.objective * (1 + 1e-7)
    assert r.bound == pytest.approx(_lp_with_all_candidates(m, a, o), abs=1e-6)
    if two:  # strictly tighter than the per-chain linking rows
        assert r.bound > linked.bound + 0.3
    assert [b for _, b in r.history] == sorted(b for _, b in r.history)


def test_candidate_rows_hold_at_the_milp_optimum() -> None:
    # every candidate row is valid: the optimal integer point satisfies all of them
    m, a, o = _case(1, 40.0, 60.0, True)
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    assert exact.z is not None and exact.kq is not None
    from edgescale.optimize._placement_milp import full_vector

    x = full_vector(m, a, exact.z, exact.kq)
    cand = candidates(m, a)
    # one row per distinct (demand row, queue) and per (demand row, site) served by two queues there
    pairs: set[tuple[int, int]] = set()
    site_qs: dict[tuple[int, int], set[int]] = {}
    for r in range(len(m.dem)):
        for c in range(int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])):
            for q in m.chain_queue[c][m.chain_queue[c] >= 0]:
                pairs.add((r, int(q)))
                site_qs.setdefault((r, int(m.q_site[q])), set()).add(int(q))
    n_b = sum(len(v) >= 2 for v in site_qs.values())
    assert n_b > 0
    assert (cand.mat.shape[0], int(cand.kind.sum())) == (len(pairs) + n_b, n_b)
    assert float((cand.mat @ x).max()) <= 1e-7


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(5.0, 80.0),
    slo=st.sampled_from([60.0, 80.0, 120.0]),
    obj=st.sampled_from(["cost", "energy"]),
    two=st.booleans(),
    rounds=st.integers(1, 4),
)
@settings(max_examples=12, deadline=None, derandomize=True)
def test_bound_never_exceeds_the_proven_optimum(
    seed: int, rate: float, slo: float, obj: str, two: bool, rounds: int
) -> None:
    m, a, o = _case(seed, rate, slo, two, obj)
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    if exact.status != "optimal":
        return
    r = cut_bound(m, a, o, time_limit_s=10, batch=2, max_rounds=rounds)
    assert r.weak - 1e-9 <= r.bound <= exact.objective * (1 + 1e-6) + 1e-9


def test_lp_levels_carry_the_lp_load() -> None:
    m, a, o = _case(0, 40.0, 60.0, True)
    r = cut_bound(m, a, o, time_limit_s=20)
    assert r.x is not None
    svcs = np.unique(m.q_service)
    kq = lp_levels(m, a, r.x, svcs)
    z = r.x[: len(m.chain_latency)]
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    load = np.zeros(len(m.q_service))
    for s in range(m.chain_queue.shape[1]):
        on = m.chain_queue[:, s] >= 0
        np.add.at(load, m.chain_queue[on, s], m.rate[rows[on]] * z[on])
    on = np.flatnonzero(kq > 0)
    assert len(on) > 0
    assert np.all(m.level_cap[m.q_level_ptr[on] + kq[on] - 1] >= load[on] - 1e-6)
    opened = r.x[len(m.chain_latency) + len(m.level_cap) :][m.q_site]
    off = kq == 0
    assert np.all(
        (load[off] <= 1e-9) | (opened[off] < 0.01)
    )  # unplaced: no LP load, or a site it barely opens
    assert not lp_levels(m, a, r.x, np.zeros(0, np.int64)).any()


def test_large_model_path_reports_the_cut_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # pretend the model is too large for linking rows: the cut bound joins the plan's bound
    monkeypatch.setattr(placement, "LINK_MAX_CHAINS", 0)
    s = scenario_from_dict(small_doc(seed=0, rate=40.0, cores=4, two_stage=True, n_edge=6, slo_ms=60.0))
    a = compile_scenario(s, devices=False)
    plan = placement.optimize_placement(s, arrays=a, objective="cost", method="heuristic", time_limit_s=10)
    assert any(n.startswith("cutting planes: LP bound 0.744803 -> ") for n in plan.notes)
    assert any(n.endswith("start from the LP's loads and shares: found") for n in plan.notes)
    assert check_plan(s, a, plan) == []
    exact = placement.optimize_placement(s, arrays=a, objective="cost", method="milp", time_limit_s=20)
    assert exact.status == "optimal"
    assert plan.bound is not None and 1.5 < plan.bound <= exact.objectives["objective"] * (1 + 1e-6)


@pytest.mark.parametrize(("seed", "two"), [(0, False), (0, True), (1, True)])
def test_lp_start_is_feasible_and_no_better_than_the_optimum(seed: int, two: bool) -> None:
    m, a, o = _case(seed, 40.0, 60.0, two)
    exact = solve(m, a, o, integer=True, time_limit_s=20, budget_per_hour=None, link=True)
    r = cut_bound(m, a, o, time_limit_s=20)
    assert r.x is not None and exact.status == "optimal"
    sol = lp_start(m, a, o, r.x, time_limit_s=2)
    assert sol is not None
    z, kq = sol
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    assert np.allclose(np.bincount(rows, weights=z, minlength=len(m.dem)), 1.0)  # every row routed
    load = np.zeros(len(m.q_service))
    for s in range(m.chain_queue.shape[1]):
        on = m.chain_queue[:, s] >= 0
        np.add.at(load, m.chain_queue[on, s], m.rate[rows[on]] * z[on])
    cap = np.where(kq > 0, m.level_cap[m.q_level_ptr[:-1] + np.maximum(kq, 1) - 1], 0.0)
    assert np.all(load <= cap + 1e-6)
    value = evaluate(m, o, z, kq)["objective"]
    assert exact.objective * (1 - 1e-6) <= value <= 1.5 * exact.objective
