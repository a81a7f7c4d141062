"""GAP as a HiGHS model, built column-wise: LP relaxation, MILP with a MIP start, minimum overflow.

Column ``i * n + j`` is x_ij; rows ``0..n-1`` assign each job once, rows ``n..n+m-1`` bound the
load of each agent. Every column has exactly two nonzeros, so the model is built from arrays.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

try:
    import highspy
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("the GAP solver needs HiGHS: pip install 'edgescale[optimize]'") from e

__all__ = ["LpOutcome", "MilpOutcome", "min_overflow", "quiet_highs", "solve_lp", "solve_milp"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MilpStatus = Literal["optimal", "infeasible", "time_limit", "unknown"]


class _QuietHighs(highspy.Highs):
    """A HiGHS instance that prints nothing, not even the banner."""

    def enableCallbacks(self) -> None:  # noqa: N802 - HiGHS's name
        # The banner is printed when callbacks are first set; silence output before that.
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()  # type: ignore[no-untyped-call]


def quiet_highs(seed: int = 0) -> Any:
    """A silent HiGHS instance with the given random seed."""
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("random_seed", int(seed))
    return h


def _model(c: FloatArray, a: FloatArray, b: FloatArray, *, integer: bool, overflow: bool = False) -> Any:
    """HighsLp of the GAP; with ``overflow`` the capacities are elastic and the overflow is minimised."""
    m, n = c.shape
    nx = m * n
    ns = m if overflow else 0
    lp = highspy.HighsLp()
    lp.num_col_ = nx + ns
    lp.num_row_ = n + m
    cost = np.zeros(nx) if overflow else np.ascontiguousarray(c, dtype=np.float64).ravel()
    lp.col_cost_ = np.concatenate([cost, np.ones(ns)])
    lp.col_lower_ = np.zeros(nx + ns)
    upper = np.where(overflow | (a <= b[:, None]), 1.0, 0.0).ravel()
    lp.col_upper_ = np.concatenate([upper, np.full(ns, highspy.kHighsInf)])
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), b.astype(np.float64)])
    index = np.empty(2 * nx + ns, dtype=np.int32)
    value = np.empty(2 * nx + ns)
    index[0 : 2 * nx : 2] = np.tile(np.arange(n, dtype=np.int32), m)
    index[1 : 2 * nx : 2] = n + np.repeat(np.arange(m, dtype=np.int32), n)
    index[2 * nx :] = n + np.arange(ns, dtype=np.int32)
    value[0 : 2 * nx : 2] = 1.0
    value[1 : 2 * nx : 2] = a.ravel()
    value[2 * nx :] = -1.0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([np.arange(0, 2 * nx + 1, 2), 2 * nx + 1 + np.arange(ns)]).astype(
        np.int32
    )
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * nx + [highspy.HighsVarType.kContinuous] * ns
    return lp


@dataclass(frozen=True)
class LpOutcome:
    """LP relaxation: value (``inf`` if infeasible), job duals ``u`` (n,), agent duals ``v`` (m,)."""

    feasible: bool
    value: float
    u: FloatArray
    v: FloatArray


@dataclass(frozen=True)
class MilpOutcome:
    """MILP result; ``assignment`` is ``None`` when HiGHS found no integer solution."""

    status: MilpStatus
    objective: float
    bound: float
    assignment: IntArray | None
    seconds: float


def solve_lp(c: FloatArray, a: FloatArray, b: FloatArray, *, time_limit: float) -> LpOutcome:
    """Solve the LP relaxation and return its value and row duals."""
    h = quiet_highs()
    h.passModel(_model(c, a, b, integer=False))
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.run()
    m, n = c.shape
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return LpOutcome(False, math.inf, np.zeros(n), np.zeros(m))
    if status != highspy.HighsModelStatus.kOptimal:
        return LpOutcome(True, -math.inf, np.zeros(n), np.zeros(m))
    duals = np.asarray(h.getSolution().row_dual, dtype=np.float64)
    return LpOutcome(True, float(h.getInfo().objective_function_value), duals[:n], duals[n:])


def _decode(x: FloatArray, m: int, n: int) -> IntArray | None:
    grid = np.asarray(x[: m * n], dtype=np.float64).reshape(m, n)
    asg: IntArray = grid.argmax(axis=0).astype(np.int64)
    if np.any(grid[asg, np.arange(n)] < 0.5):
        return None
    return asg


def solve_milp(
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    *,
    time_limit: float,
    start: IntArray | None = None,
    integral_costs: bool = False,
    seed: int = 0,
) -> MilpOutcome:
    """Solve the GAP exactly with HiGHS within ``time_limit`` seconds, from an optional MIP start."""
    t0 = time.perf_counter()
    m, n = c.shape
    h = quiet_highs(seed)
    h.passModel(_model(c, a, b, integer=True))
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1.0 - 1e-6 if integral_costs else 1e-9)
    h.setOptionValue("presolve", "off")  # faster on this model (OR-Library gapc: up to 5x)
    if start is not None:
        h.setOptionValue("mip_heuristic_effort", 0.0)  # the heuristics already did that work
        x0 = np.zeros(m * n)
        x0[start * n + np.arange(n)] = 1.0
        h.setSolution(m * n, np.arange(m * n, dtype=np.int32), x0)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    if status == highspy.HighsModelStatus.kInfeasible:
        return MilpOutcome("infeasible", math.inf, math.inf, None, seconds)
    asg = None
    if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        asg = _decode(np.asarray(h.getSolution().col_value), m, n)
    objective = float(c[asg, np.arange(n)].sum()) if asg is not None else math.inf
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = -math.inf
    kind: MilpStatus = "unknown"
    if status == highspy.HighsModelStatus.kOptimal and asg is not None:
        kind = "optimal"
    elif status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        kind = "time_limit"
    return MilpOutcome(kind, objective, bound, asg, seconds)


def min_overflow(a: FloatArray, b: FloatArray, *, time_limit: float, integer: bool) -> float:
    """Smallest total capacity overflow over all assignments (LP or MILP; a proven lower bound)."""
    h = quiet_highs()
    c = np.zeros_like(a)
    h.passModel(_model(c, a, b, integer=integer, overflow=True))
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.run()
    info = h.getInfo()
    if integer:
        value = float(info.mip_dual_bound)
    elif h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        value = float(info.objective_function_value)
    else:
        value = 0.0
    return max(value, 0.0) if math.isfinite(value) else 0.0
