"""The MILP with incremental level columns ("at least k replicas") against the one-hot levels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csc_matrix

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize._placement_milp import (
    _to_incremental_values,
    build_lp,
    full_vector,
    incremental_lp,
    solve,
)
from edgescale.optimize._placement_model import ModelOptions, build_model, evaluate, objective

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


@given(
    seed=st.integers(0, 10_000),
    rate=st.floats(10.0, 170.0),
    cores=st.sampled_from([1, 2, 3, 4]),
    obj=st.sampled_from(["cost", "energy", "latency"]),
    two=st.booleans(),
    link=st.booleans(),
)
@settings(max_examples=15, deadline=None, derandomize=True)
def test_incremental_and_one_hot_milps_have_the_same_optimum(
    seed: int, rate: float, cores: int, obj: str, two: bool, link: bool
) -> None:
    s = scenario_from_dict(small_doc(seed=seed, rate=rate, cores=cores, two_stage=two, n_edge=4))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {obj: 1.0})
    kw = {"integer": True, "time_limit_s": 20.0, "budget_per_hour": None, "link": link}
    old = solve(m, a, o, incremental=False, **kw)
    new = solve(m, a, o, incremental=True, **kw)
    assert new.status == old.status
    if old.status != "optimal":
        return
    assert new.objective == pytest.approx(old.objective, rel=2e-6, abs=1e-9)  # both within mip_rel_gap 1e-6
    assert new.z is not None and new.kq is not None
    # the solution mapped back to replicas per queue has the objective HiGHS reports
    assert evaluate(m, o, new.z, new.kq)["objective"] == pytest.approx(new.objective, rel=1e-6, abs=1e-9)


def test_incremental_map_round_trips_and_keeps_every_row_value() -> None:
    s = scenario_from_dict(small_doc(two_stage=True, n_edge=4, rate=90.0, cores=4))
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    o = objective(a, m, {"cost": 1.0})
    lp = build_lp(m, a, o, integer=True, budget_per_hour=None, link=True)
    inc, t = incremental_lp(m, lp)
    rng = np.random.default_rng(3)
    kq = np.array([rng.integers(0, k + 1) for k in np.diff(m.q_level_ptr)])
    z = rng.uniform(0, 1, len(m.chain_latency))
    x = full_vector(m, a, z, kq)
    y = _to_incremental_values(m, x)
    np.testing.assert_allclose(t @ y, x)  # x = T y
    n_c = len(m.chain_latency)
    k_of = y[n_c : n_c + len(m.level_cap)]
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    np.testing.assert_allclose(np.bincount(lq, weights=k_of, minlength=len(kq)), kq)  # sum of "at least k"

    def rows(model: Any, v: np.ndarray) -> np.ndarray:
        mat = model.a_matrix_
        vals = (np.asarray(mat.value_), np.asarray(mat.index_), np.asarray(mat.start_))
        return np.asarray(csc_matrix(vals, shape=(model.num_row_, model.num_col_)) @ v)

    r_old, r_new = rows(lp, x), rows(inc, y)
    np.testing.assert_allclose(r_new[: len(r_old)], r_old, atol=1e-9)  # same rows, same activities
    assert (r_new[len(r_old) :] <= 1e-12).all()  # ordering rows hold
    assert np.asarray(inc.col_cost_) @ y == pytest.approx(np.asarray(lp.col_cost_) @ x)
