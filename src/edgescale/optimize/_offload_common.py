"""Shared by offloading, caching and energy: argument checks and a small HiGHS MILP wrapper."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from edgescale.errors import ModelAssumptionError

__all__ = [
    "MAX_MILP_COLUMNS",
    "MilpResult",
    "as_array",
    "as_int_array",
    "check_milp_size",
    "gap_of",
    "solve_milp",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Status = Literal["optimal", "feasible", "time_limit", "infeasible", "heuristic", "equilibrium"]


def as_array(
    where: str,
    name: str,
    value: ArrayLike,
    shape: tuple[int, ...],
    *,
    lo: float | None = None,
    lo_open: bool = False,
    allow_inf: bool = False,
) -> F64:
    """*value* broadcast to *shape* as float64, checked finite (or +inf if allowed) and ``>= lo``/``> lo``."""
    try:
        a = np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()
    except (ValueError, TypeError) as e:
        got = np.shape(value) if not isinstance(value, str) else value
        raise ModelAssumptionError(f"{where}: {name} must broadcast to shape {shape} (got {got})") from e
    bad = np.isnan(a) | (np.isinf(a) & ~(allow_inf & (a > 0)))
    if lo is not None:
        bad |= (a <= lo) if lo_open else (a < lo)
    if bad.any():
        k = int(np.flatnonzero(bad.ravel())[0])
        rule = "finite" + (" or +inf" if allow_inf else "")
        if lo is not None:
            rule += f" and {'>' if lo_open else '>='} {lo:g}"
        raise ModelAssumptionError(f"{where}: {name}[{k}] must be {rule} (got {a.ravel()[k]!r})")
    return a


def as_int_array(where: str, name: str, value: ArrayLike, shape: tuple[int, ...], *, lo: int = 0) -> I64:
    """*value* as int64 of *shape*, every entry ``>= lo``."""
    a = as_array(where, name, value, shape, lo=lo)
    if (a != np.round(a)).any():
        k = int(np.flatnonzero((a != np.round(a)).ravel())[0])
        raise ModelAssumptionError(f"{where}: {name}[{k}] must be an integer (got {a.ravel()[k]!r})")
    return a.astype(np.int64)


#: Largest exact model (columns) the offloading and caching MILPs build: beyond it memory runs out
#: (about 100 bytes per column with its rows and nonzeros) and HiGHS could not even presolve in the time
#: limit, so they refuse up front.
MAX_MILP_COLUMNS = 2_000_000


def check_milp_size(where: str, n_cols: int, hint: str, *, limit: int = MAX_MILP_COLUMNS) -> None:
    """Raise :class:`ModelAssumptionError` when a MILP of *n_cols* columns is over *limit*."""
    if n_cols > limit:
        raise ModelAssumptionError(
            f"{where}: the exact model would have {n_cols:,} columns (limit {limit:,}); {hint}"
        )


def gap_of(objective: float, bound: float) -> float:
    """Relative gap ``(objective - bound) / max(|objective|, 1e-12)``, 0 when equal, inf when unknown."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    return max(objective - bound, 0.0) / max(abs(objective), 1e-12)


@dataclass(frozen=True)
class MilpResult:
    """Outcome of :func:`solve_milp`: ``x`` is ``None`` when HiGHS found no feasible point."""

    status: Literal["optimal", "time_limit", "infeasible", "unknown"]
    objective: float
    bound: float
    x: F64 | None
    seconds: float


def solve_milp(
    c: F64,
    a: sparse.spmatrix | sparse.sparray,
    row_lo: F64,
    row_hi: F64,
    col_lo: F64,
    col_hi: F64,
    integer: NDArray[np.bool_],
    *,
    time_limit_s: float,
    rel_gap: float = 1e-9,
    start: F64 | None = None,
    maximize: bool = False,
) -> MilpResult:
    """Solve ``min/max c x`` s.t. ``row_lo <= A x <= row_hi``, bounds, integrality, with HiGHS."""
    import highspy

    from edgescale.optimize._gap_milp import quiet_highs

    t0 = time.perf_counter()
    csc = sparse.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_ = len(c)
    lp.num_row_ = int(csc.shape[0])
    lp.col_cost_ = np.asarray(c, np.float64)
    lp.col_lower_ = np.asarray(col_lo, np.float64)
    lp.col_upper_ = np.asarray(col_hi, np.float64)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isneginf(row_lo), -inf, row_lo).astype(np.float64)
    lp.row_upper_ = np.where(np.isposinf(row_hi), inf, row_hi).astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer
    ]
    if maximize:
        lp.sense_ = highspy.ObjSense.kMaximize
    h: Any = quiet_highs()
    h.passModel(lp)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    if start is not None:
        n = len(c)
        h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(start, np.float64))
    h.run()
    return _outcome(h, highspy, len(c), maximize, time.perf_counter() - t0)


def _outcome(h: Any, highspy: Any, n: int, maximize: bool, seconds: float) -> MilpResult:
    status = h.getModelStatus()
    info = h.getInfo()
    worst = -math.inf if maximize else math.inf
    if status == highspy.HighsModelStatus.kInfeasible:
        return MilpResult("infeasible", worst, worst, None, seconds)
    x = None
    objective = worst
    if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        x = np.asarray(h.getSolution().col_value, np.float64)[:n]
        objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = math.inf if maximize else -math.inf
    if status == highspy.HighsModelStatus.kOptimal and x is not None:
        return MilpResult("optimal", objective, bound, x, seconds)
    if status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        return MilpResult("time_limit", objective, bound, x, seconds)
    return MilpResult("unknown", objective, bound, x, seconds)
