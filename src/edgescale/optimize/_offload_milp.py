"""The centralised offloading MILP, disaggregated form.

Columns: ``x[i, j]`` (device i at option j, binary, row-major); per edge site k the binaries
``y[k, t]`` (exactly t tasks at k, t = 0..T_k) and, per device i allowed at k, the continuous
``w[i, k, t]`` (device i at k while k runs t tasks, t = 1..T_k) with ``sum_t w[i, k, t] = x[i, k]``,
``w[i, k, t] <= y[k, t]`` and ``sum_i w[i, k, t] = t y[k, t]``. The congestion cost
``sum_{i at k} m_i g_k(n_k)`` is then the linear ``sum_{i, t} m_i g_k(t) w[i, k, t]``, and a deadline
fixes ``w[i, k, t] = 0`` for the t that would break it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from edgescale.optimize._offload_common import MilpResult, check_milp_size, solve_milp
from edgescale.optimize._offload_model import OffloadProblem

__all__ = ["check_offload_milp_size", "milp_columns", "solve_offload_milp"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _g(p: OffloadProblem, e: int, t: I64) -> F64:
    """``g_e(t)``, seconds per cycle of one task at edge e with t tasks there."""
    return np.asarray(np.maximum(1.0 / p.edge_core_hz[e], t.astype(np.float64) / p.edge_hz[e]))


def milp_columns(p: OffloadProblem) -> int:
    """Columns of the MILP: ``n (K + 2) + sum_k (T_k + 1 + n_k T_k)``, ``T_k = min(slots_k, n_k)``."""
    n_k = p.allowed[:, 1 : p.n_edges + 1].sum(axis=0).astype(np.int64)
    top = np.minimum(p.edge_slots, n_k)
    return int(p.n_devices * (p.cloud + 1) + (top + 1 + n_k * top).sum())


def check_offload_milp_size(p: OffloadProblem) -> None:
    """Raise :class:`~edgescale.errors.ModelAssumptionError` when the MILP would be too large to build."""
    check_milp_size(
        "offload_optimal",
        milp_columns(p),
        "use offload_best_response (edgescale offload --method best-response), or fewer devices "
        "(--max-devices)",
    )


def solve_offload_milp(
    p: OffloadProblem, *, time_limit_s: float, start: I64 | None
) -> tuple[MilpResult, I64 | None]:
    """Solve the offloading MILP; returns HiGHS's outcome and the decoded choice (or ``None``)."""
    check_offload_milp_size(p)
    n, n_opt, k = p.n_devices, p.cloud + 1, p.n_edges
    allowed = p.allowed
    m = p.congestion_weight
    n_x = n * n_opt
    cost = [np.where(allowed, p.fixed_cost, 0.0).ravel()]
    hi = [allowed.ravel().astype(np.float64)]
    integer = [np.ones(n_x, bool)]
    r: list[I64] = [np.repeat(np.arange(n), n_opt)]
    cidx: list[I64] = [np.arange(n_x)]
    v: list[F64] = [np.ones(n_x)]
    lo_rows: list[F64] = [np.ones(n)]
    hi_rows: list[F64] = [np.ones(n)]
    n_rows, n_cols = n, n_x
    y_of: list[tuple[int, int]] = []
    w_of: list[tuple[int, I64, int]] = []
    for e in range(k):
        dev = np.flatnonzero(allowed[:, e + 1]).astype(np.int64)
        top = int(min(p.edge_slots[e], len(dev)))
        t = np.arange(top + 1, dtype=np.int64)
        g = _g(p, e, t[1:])
        y = n_cols + t  # y[e, t]
        n_cols += top + 1
        w = n_cols + np.arange(len(dev) * top, dtype=np.int64).reshape(len(dev), top)  # w[i, e, t]
        n_cols += len(dev) * top
        y_of.append((int(y[0]), top))
        w_of.append((int(w[0, 0]) if w.size else n_cols, dev, top))
        cost += [np.zeros(top + 1), (m[dev, None] * g[None, :]).ravel()]
        integer += [np.ones(top + 1, bool), np.zeros(w.size, bool)]
        # deadlines: w[i, e, t] = 0 where t tasks at e break device i's deadline
        late = (
            p.alone_latency_ms[dev, e + 1, None]
            - p.exec_ms_alone[dev, e, None]
            + 1e3 * p.cycles[dev, None] * g[None, :]
        ) > p.deadline_ms[dev, None] * (1 + 1e-12)
        hi += [np.ones(top + 1), np.where(late, 0.0, 1.0).ravel()]
        # sum_t y = 1
        r.append(np.full(top + 1, n_rows))
        cidx.append(y)
        v.append(np.ones(top + 1))
        lo_rows.append(np.ones(1))
        hi_rows.append(np.ones(1))
        n_rows += 1
        if top == 0:
            continue
        # sum_t w[i, e, t] - x[i, e] = 0
        rows_i = n_rows + np.arange(len(dev))
        r += [np.repeat(rows_i, top), rows_i]
        cidx += [w.ravel(), dev * n_opt + e + 1]
        v += [np.ones(w.size), -np.ones(len(dev))]
        lo_rows.append(np.zeros(len(dev)))
        hi_rows.append(np.zeros(len(dev)))
        n_rows += len(dev)
        # w[i, e, t] - y[e, t] <= 0
        rows_w = n_rows + np.arange(w.size)
        r += [rows_w, rows_w]
        cidx += [w.ravel(), np.tile(y[1:], len(dev))]
        v += [np.ones(w.size), -np.ones(w.size)]
        lo_rows.append(np.full(w.size, -math.inf))
        hi_rows.append(np.zeros(w.size))
        n_rows += w.size
        # sum_i w[i, e, t] - t y[e, t] = 0
        rows_t = n_rows + np.arange(top)
        r += [np.tile(rows_t, len(dev)), rows_t]
        cidx += [w.ravel(), y[1:]]
        v += [np.ones(w.size), -t[1:].astype(np.float64)]
        lo_rows.append(np.zeros(top))
        hi_rows.append(np.zeros(top))
        n_rows += top
    a = sparse.csc_matrix(
        (np.concatenate(v), (np.concatenate(r), np.concatenate(cidx))), shape=(n_rows, n_cols)
    )
    x_start = None if start is None else _start_vector(p, start, n_cols, y_of, w_of)
    res = solve_milp(
        np.concatenate(cost),
        a,
        np.concatenate(lo_rows),
        np.concatenate(hi_rows),
        np.zeros(n_cols),
        np.concatenate(hi),
        np.concatenate(integer),
        time_limit_s=time_limit_s,
        start=x_start,
    )
    if res.x is None:
        return res, None
    return res, res.x[:n_x].reshape(n, n_opt).argmax(axis=1).astype(np.int64)


def _start_vector(
    p: OffloadProblem, choice: I64, n_cols: int, y_of: list[tuple[int, int]], w_of: list[tuple[int, I64, int]]
) -> F64:
    """The MILP point of a choice of options (HiGHS ignores it if infeasible)."""
    n_opt = p.cloud + 1
    x = np.zeros(n_cols)
    x[np.arange(p.n_devices) * n_opt + choice] = 1.0
    counts = p.counts(choice)
    for e, ((y0, top), (w0, dev, _)) in enumerate(zip(y_of, w_of, strict=True)):
        t = int(min(counts[e], top))
        x[y0 + t] = 1.0
        if t >= 1:
            here = np.flatnonzero(choice[dev] == e + 1)
            x[w0 + here * top + t - 1] = 1.0
    return x
