"""Tests for edgescale.optimize.gap: reader, checker, solvers, bounds and infeasibility."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.errors import InfeasibleError, ScenarioError
from edgescale.optimize._gap_solve import RawSolve
from edgescale.optimize.gap import (
    GapInstance,
    _result,
    check_gap_assignment,
    gap_bound,
    read_gap_file,
    solve_gap,
    solve_gap_file,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "orlib-gap"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"OR-Library GAP data not found at {DATA}")

OPTIMA = {
    "gap1": [336, 327, 339, 341, 326],
    "gap12": [1451, 1449, 1433, 1447, 1446],
    "gapa": [1698, 3235, 1360, 2623, 1158, 2339],
    "gapc": [1931, 3456, 1402, 2806, 1243, 2391],
}


def _cases(name: str, fast: set[int]) -> list[object]:
    return [
        pytest.param(name, k, marks=[] if k in fast else [pytest.mark.slow], id=f"{name}-{k}")
        for k in range(1, len(OPTIMA[name]) + 1)
    ]


def tiny(sense: str = "min") -> GapInstance:
    return GapInstance("tiny", [[1, 5, 3], [4, 2, 3]], [[2, 2, 2], [2, 2, 2]], [4, 2], sense)  # type: ignore[arg-type]


def write(tmp_path: Path, text: str, name: str = "inst.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "1\n2 3\n1 5 3\n4 2 3\n2 2 2\n2 2 2\n4 2\n"


# --------------------------------------------------------------------------- reader


def test_read_small_file(tmp_path: Path) -> None:
    (inst,) = read_gap_file(write(tmp_path, GOOD))
    assert inst.name == "inst-1"
    assert (inst.m, inst.n, inst.sense) == (2, 3, "min")
    assert inst.costs.tolist() == [[1, 5, 3], [4, 2, 3]]
    assert inst.capacities.tolist() == [4, 2]
    assert not inst.costs.flags.writeable


@pytest.mark.parametrize(
    ("filename", "sense"),
    [
        ("gap3.txt", "max"),
        ("gap12.txt", "max"),
        ("gapb.txt", "min"),
        ("gapd.txt", "min"),
        ("mine.txt", "min"),
    ],
)
def test_default_sense_follows_orlib_names(tmp_path: Path, filename: str, sense: str) -> None:
    assert read_gap_file(write(tmp_path, GOOD, filename))[0].sense == sense


def test_sense_can_be_overridden(tmp_path: Path) -> None:
    assert read_gap_file(write(tmp_path, GOOD, "gap1.txt"), sense="min")[0].sense == "min"


BAD_FILES = [
    ("x\n", r"instance count at line 1, column 1: must be a positive integer \(got 'x'\)"),
    ("1\n2 3\n1 5 3\n4 2 3\n2 2 2\n2 2 2\n", r"instance 1: needs 14 numbers .*\(got 12\)"),
    (
        "1\n2 3\n1 5 3\n4 2 abc\n2 2 2\n2 2 2\n4 2\n",
        r"costs\[1\]\[2\] at line 4, column 5: must be a finite number",
    ),
    ("1\n2 3\n1 5 3\n4 2 3\n2 -2 2\n2 2 2\n4 2\n", r"weights\[0\]\[1\] at line 5, column 3: must be >= 0"),
    ("1\n2 3\n1 5 3\n4 2 3\n2 2 2\n2 2 2\n4 -1\n", r"capacities\[1\] at line 7, column 3: must be >= 0"),
    (GOOD + "9\n", r"line 8, column 1: unexpected data after the last instance"),
    ("1\n0 3\n", r"instance 1 agents \(m\) at line 2, column 1: must be a positive integer \(got 0\)"),
    ("", r"instance count: missing"),
]


@pytest.mark.parametrize(("text", "match"), BAD_FILES, ids=[m[:28] for _, m in BAD_FILES])
def test_malformed_files_raise_with_position(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        read_gap_file(write(tmp_path, text))


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = "1\n2 3\n1 x 3\n4 2 3\n2 -2 2\n2 2 2\n4 -1\n"
    with pytest.raises(ScenarioError) as err:
        read_gap_file(write(tmp_path, text))
    assert len(err.value.issues) == 3
    assert str(err.value).startswith("3 problems in ")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the file"):
        read_gap_file(tmp_path / "nope.txt")


@needs_data
def test_reads_orlib_files() -> None:
    gap1 = read_gap_file(DATA / "gap1.txt")
    gapd = read_gap_file(DATA / "gapd.txt")
    assert [(i.m, i.n, i.sense) for i in gap1] == [(5, 15, "max")] * 5
    assert [(i.m, i.n) for i in gapd] == [(5, 100), (5, 200), (10, 100), (10, 200), (20, 100), (20, 200)]
    assert gapd[5].name == "gapd-6" and gapd[5].sense == "min"


# --------------------------------------------------------------------------- instance


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [[1, 1]]}, "weights: must have the shape of costs"),
        ({"capacities": [1, 2, 3]}, "capacities: must hold one value per agent"),
        ({"capacities": [1, -2]}, "capacities: must be >= 0"),
        ({"weights": [[1, 1, 1], [1, -1, 1]]}, "weights: must be >= 0"),
        ({"costs": [[1, math.nan, 1], [1, 1, 1]]}, "costs: must be finite"),
        ({"sense": "maximise"}, "sense: must be 'min' or 'max'"),
    ],
)
def test_instance_rejects_bad_values(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "name": "bad",
        "costs": [[1, 1, 1], [1, 1, 1]],
        "weights": [[1, 1, 1], [1, 1, 1]],
        "capacities": [3, 3],
    }
    args.update(kwargs)
    with pytest.raises(ScenarioError, match=match):
        GapInstance(**args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- checker


def test_checker_accepts_a_feasible_plan() -> None:
    assert check_gap_assignment(tiny(), [0, 1, 0]) == []


@pytest.mark.parametrize(
    ("assignment", "match"),
    [
        ([0, 0, 0], r"agent 0: load must be <= capacity 4 \(got 6, over by 2\)"),
        ([0, 1, -1], r"job 2: must be assigned to an agent in 0..1 \(got -1\)"),
        ([0, 1, 2], r"job 2: must be assigned to an agent in 0..1 \(got 2\)"),
        ([0, 1], r"assignment: must give one agent for each of the 3 jobs"),
        ([0, 1, 0.5], r"job 2: must be assigned"),
    ],
    ids=["over-capacity", "unassigned", "out-of-range", "wrong-length", "not-integer"],
)
def test_checker_rejects_corrupted_plans(assignment: list[float], match: str) -> None:
    problems = check_gap_assignment(tiny(), assignment)
    assert problems
    assert any(re.search(match, p) for p in problems), problems


# --------------------------------------------------------------------------- solving


@pytest.mark.parametrize("method", ["auto", "milp", "heuristic"])
def test_tiny_instance_all_methods(method: str) -> None:
    res = solve_gap(tiny(), method=method, time_limit_s=10)  # type: ignore[arg-type]
    assert res.assignment.tolist() == [0, 1, 0]
    assert (res.objective, res.bound, res.gap, res.status) == (6.0, 6.0, 0.0, "optimal")
    assert res.method == method


def test_max_sense_reverses_bound() -> None:
    res = solve_gap(tiny("max"), time_limit_s=10)
    assert res.assignment.tolist() == [1, 0, 0]  # profit 4 + 5 + 3
    assert res.objective == 12.0
    assert res.bound >= res.objective
    assert res.status == "optimal"


def test_result_to_dict_is_json() -> None:
    data = solve_gap(tiny(), time_limit_s=10).to_dict()
    assert json.loads(json.dumps(data))["objective"] == 6
    assert data["status"] == "optimal" and data["assignment"] == [0, 1, 0]


def test_result_without_plan_reports_time_limit() -> None:
    raw = RawSolve(None, math.inf, 5.0, False, {"lp_bound": 4.5})
    res = _result(tiny(), raw, 1.0, "heuristic", 1.0)
    assert res.status == "time_limit" and math.isnan(res.objective)
    assert res.assignment.tolist() == [-1, -1, -1]
    assert res.to_dict()["objective"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"method": "exact"}, "method"), ({"time_limit_s": 0}, "time_limit_s")]
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        solve_gap(tiny(), **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- infeasibility


def test_job_that_fits_no_agent() -> None:
    inst = GapInstance("x", [[1, 1, 1], [1, 1, 1]], [[1, 9, 1], [1, 7, 1]], [5, 4])
    with pytest.raises(InfeasibleError, match="job 1: fits no agent") as err:
        solve_gap(inst, time_limit_s=5)
    assert err.value.constraint == "job 1"
    assert err.value.excess == 3.0  # agent 0 is over by 9 - 5 = 4, agent 1 by 7 - 4 = 3


def test_total_capacity_short() -> None:
    inst = GapInstance("x", [[1, 1, 1], [1, 1, 1]], [[3, 3, 3], [3, 3, 4]], [4, 4])
    with pytest.raises(InfeasibleError, match="total capacity") as err:
        solve_gap(inst, time_limit_s=5)
    assert err.value.constraint == "total capacity"
    assert err.value.excess == 1.0


@pytest.mark.parametrize("method", ["auto", "milp", "heuristic"])
def test_packing_infeasible(method: str) -> None:
    # Each agent holds one job of weight 3 (two would need 6 > 5): three jobs cannot fit.
    inst = GapInstance("x", [[1, 1, 1], [1, 1, 1]], [[3, 3, 3], [3, 3, 3]], [5, 5])
    with pytest.raises(InfeasibleError, match="agent capacities: no assignment of all 3 jobs fits") as err:
        solve_gap(inst, method=method, time_limit_s=5)  # type: ignore[arg-type]
    assert err.value.constraint == "agent capacities"
    assert err.value.excess is not None and err.value.excess >= 1


# --------------------------------------------------------------------------- properties


@st.composite
def instances(draw: st.DrawFn, max_m: int = 3, max_n: int = 6) -> GapInstance:
    m = draw(st.integers(1, max_m))
    n = draw(st.integers(1, max_n))
    cost = st.integers(0, 30)
    weight = st.integers(1, 10)
    costs = [[draw(cost) for _ in range(n)] for _ in range(m)]
    weights = [[draw(weight) for _ in range(n)] for _ in range(m)]
    slack = draw(st.floats(0.6, 1.6))
    caps = [max(1, int(slack * sum(row) / m)) for row in weights]
    return GapInstance("h", costs, weights, caps, draw(st.sampled_from(["min", "max"])))


def brute_force(inst: GapInstance) -> float | None:
    values = [
        inst.objective(asg)
        for asg in itertools.product(range(inst.m), repeat=inst.n)
        if not check_gap_assignment(inst, asg)
    ]
    if not values:
        return None
    return min(values) if inst.sense == "min" else max(values)


def better(a: float, b: float, sense: str) -> bool:
    """True when ``a`` is strictly better than ``b``."""
    return a < b - 1e-9 if sense == "min" else a > b + 1e-9


@given(inst=instances())
@settings(max_examples=40, deadline=None, derandomize=True)
def test_exact_matches_brute_force_and_heuristic_never_beats_it(inst: GapInstance) -> None:
    best = brute_force(inst)
    if best is None:
        with pytest.raises(InfeasibleError):
            solve_gap(inst, method="milp", time_limit_s=5)
        return
    exact = solve_gap(inst, method="milp", time_limit_s=5)
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    for method in ("heuristic", "auto"):
        res = solve_gap(inst, method=method, time_limit_s=5)  # type: ignore[arg-type]
        assert not better(res.objective, exact.objective, inst.sense)
        if res.status == "optimal":
            assert res.objective == pytest.approx(best)


@given(inst=instances(max_m=6, max_n=25))
@settings(max_examples=25, deadline=None, derandomize=True)
def test_every_plan_is_feasible_and_bounded(inst: GapInstance) -> None:
    for method in ("heuristic", "auto"):
        try:
            res = solve_gap(inst, method=method, time_limit_s=5)  # type: ignore[arg-type]
        except InfeasibleError:
            return
        assert check_gap_assignment(inst, res.assignment) == []
        assert inst.objective(res.assignment) == pytest.approx(res.objective)
        bound = gap_bound(inst, time_limit_s=5)
        if inst.sense == "min":
            assert max(res.bound, bound) <= res.objective + 1e-9
        else:
            assert min(res.bound, bound) >= res.objective - 1e-9
        assert res.gap >= 0


# --------------------------------------------------------------------------- OR-Library


def solve_orlib(name: str, k: int, method: str = "auto", time_limit_s: float = 60) -> float:
    inst = read_gap_file(DATA / f"{name}.txt")[k - 1]
    res = solve_gap(inst, method=method, time_limit_s=time_limit_s)  # type: ignore[arg-type]
    assert res.status == "optimal", res.stats
    assert check_gap_assignment(inst, res.assignment) == []
    return res.objective


@needs_data
@pytest.mark.parametrize(
    ("name", "k"),
    _cases("gap1", {1, 2, 3, 4, 5})
    + _cases("gap12", {1, 2})
    + _cases("gapa", {1, 3})
    + _cases("gapc", set()),
)
def test_orlib_optima(name: str, k: int) -> None:
    assert solve_orlib(name, k) == OPTIMA[name][k - 1]


@needs_data
@pytest.mark.slow
def test_gapc3_proven_optimal_within_10_seconds() -> None:
    inst = read_gap_file(DATA / "gapc.txt")[2]
    solve_gap(inst, time_limit_s=1)  # compile the kernels first
    res = solve_gap(inst, time_limit_s=60)
    assert (res.objective, res.status) == (1402, "optimal")
    assert res.solve_seconds <= 10


@needs_data
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_milp_optimum_is_never_beaten_on_gap1(k: int) -> None:
    inst = read_gap_file(DATA / "gap1.txt")[k - 1]
    exact = solve_gap(inst, method="milp", time_limit_s=30)
    assert exact.status == "optimal"
    heur = solve_gap(inst, method="heuristic", time_limit_s=5)
    assert heur.objective <= exact.objective  # maximisation
    assert heur.bound >= exact.objective


@needs_data
def test_solve_gap_file_selects_instances() -> None:
    results = solve_gap_file(DATA / "gap1.txt", instance=[2, 3], time_limit_s=30)
    assert [r.instance for r in results] == ["gap1-2", "gap1-3"]
    assert [r.objective for r in results] == [327, 339]
    with pytest.raises(ScenarioError, match=r"instance: must be between 1 and 5 \(got 6\)"):
        solve_gap_file(DATA / "gap1.txt", instance=6)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_gapd_within_half_a_percent_of_best_known(k: int) -> None:
    """Issue 4's target (within 0.5 % in <= 60 s), asserted in a quarter of the time.

    Measured 2026-11-27 under load 2.5: all six are within 0.26 % after 8 s and within 0.27 % after 20 s
    (`benchmarks/optimize_gap.py --instances gapd:1-6 --time-limit 8`); the benchmark keeps the 60-s figures.
    """
    best_known = [6353, 12742, 6347, 12430, 6185, 12235][k - 1]
    inst = read_gap_file(DATA / "gapd.txt")[k - 1]
    res = solve_gap(inst, time_limit_s=15)
    assert check_gap_assignment(inst, res.assignment) == []
    assert res.objective <= best_known * 1.005
    assert res.bound <= best_known


@needs_data
@pytest.mark.parametrize(("name", "k"), [("gap12", 3), ("gapd", 6)])
def test_bound_never_exceeds_the_optimum(name: str, k: int) -> None:
    inst = read_gap_file(DATA / f"{name}.txt")[k - 1]
    best = {"gap12": 1433, "gapd": 12235}[name]
    bound = gap_bound(inst, time_limit_s=20)
    assert (bound >= best) if inst.sense == "max" else (bound <= best)
    assert abs(bound - best) / best < 0.005  # the Lagrangian/column-generation bound is tight here


def test_reproducible_with_same_seed() -> None:
    rng = np.random.default_rng(3)
    inst = GapInstance("r", rng.integers(1, 50, (4, 30)), rng.integers(1, 20, (4, 30)), [60, 60, 60, 60])
    first = solve_gap(inst, method="heuristic", time_limit_s=10, seed=1)
    again = solve_gap(inst, method="heuristic", time_limit_s=10, seed=1)
    assert first.objective == again.objective
