"""The centralised offloading MILP.

Columns: ``x[i, j]`` (device i at option j, binary, row-major), then per edge site k the binaries
``y[k, t]`` (exactly t tasks at k, t = 0..T_k) and the continuous ``z[k, t]`` (t = 1..T_k), where
``z[k, t] >= M_k / F_k - BIG_k (1 - y[k, t])`` and ``M_k = sum_i m_i x[i, k]``. The congestion
cost of site k, ``M_k g_k(n_k)``, is then ``sum_t g_k(t) F_k z[k, t]`` (``z`` is kept in cost units,
``M_k / F_k``); exact, as the objective pushes ``z`` down.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from edgescale.optimize._offload_common import MilpResult, solve_milp
from edgescale.optimize._offload_model import OffloadProblem

__all__ = ["solve_offload_milp"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class _Rows:
    """Sparse rows collected as triplets."""

    def __init__(self) -> None:
        self.r: list[NDArray[np.int64]] = []
        self.c: list[NDArray[np.int64]] = []
        self.v: list[F64] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, cols: NDArray[np.int64], vals: F64, lo: float, hi: float) -> None:
        self.r.append(np.full(len(cols), len(self.lo), np.int64))
        self.c.append(np.asarray(cols, np.int64))
        self.v.append(np.asarray(vals, np.float64))
        self.lo.append(lo)
        self.hi.append(hi)

    def matrix(self, n_cols: int) -> sparse.csc_matrix:
        return sparse.csc_matrix(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(len(self.lo), n_cols),
        )


def solve_offload_milp(
    p: OffloadProblem, *, time_limit_s: float, start: I64 | None
) -> tuple[MilpResult, I64 | None]:
    """Solve the offloading MILP; returns HiGHS's outcome and the decoded choice (or ``None``)."""
    n, n_opt, k = p.n_devices, p.cloud + 1, p.n_edges
    allowed = p.allowed
    m = p.congestion_weight
    top = [int(min(p.edge_slots[e], allowed[:, e + 1].sum())) for e in range(k)]
    n_x = n * n_opt
    y0 = np.concatenate([[0], np.cumsum([t + 1 for t in top])]).astype(np.int64) + n_x
    z0 = np.concatenate([[0], np.cumsum(top)]).astype(np.int64) + int(y0[-1])
    n_cols = int(z0[-1])
    c = np.zeros(n_cols)
    c[:n_x] = np.where(allowed, p.fixed_cost, 0.0).ravel()
    integer = np.zeros(n_cols, bool)
    integer[: int(y0[-1])] = True
    col_hi = np.full(n_cols, 1.0)
    col_hi[:n_x] = allowed.ravel().astype(np.float64)
    col_hi[int(z0[0]) :] = np.inf
    rows = _Rows()
    xi = np.arange(n_x, dtype=np.int64).reshape(n, n_opt)
    for i in range(n):
        rows.add(xi[i], np.ones(n_opt), 1.0, 1.0)
    for e in range(k):
        t = np.arange(top[e] + 1)
        ys = y0[e] + t
        zs = z0[e] + np.arange(top[e])
        c[zs] = _g(p, e, t[1:]) * p.edge_hz[e]  # z_kt = M_k / F_k, so the cost is g_k(t) F_k z_kt
        me = m / p.edge_hz[e]  # z in cost units: M_k / F_k (well scaled)
        big = float(np.sort(me[allowed[:, e + 1]])[::-1][: top[e]].sum())
        rows.add(ys, np.ones(len(ys)), 1.0, 1.0)
        rows.add(np.concatenate([xi[:, e + 1], ys]), np.concatenate([np.ones(n), -t.astype(float)]), 0.0, 0.0)
        for tt in range(1, top[e] + 1):
            cols = np.concatenate([[zs[tt - 1]], xi[:, e + 1], [ys[tt]]])
            vals = np.concatenate([[1.0], -me, [-big]])
            rows.add(cols, vals, -big, math.inf)
        _deadline_rows(rows, p, e, ys, t, xi[:, e + 1], top[e])
    x_start = None if start is None else _start_vector(p, start, top, n_cols, y0, z0)
    res = solve_milp(
        c,
        rows.matrix(n_cols),
        np.array(rows.lo),
        np.array(rows.hi),
        np.zeros(n_cols),
        col_hi,
        integer,
        time_limit_s=time_limit_s,
        start=x_start,
    )
    if res.x is None:
        return res, None
    choice = res.x[:n_x].reshape(n, n_opt).argmax(axis=1).astype(np.int64)
    return res, choice


def _deadline_rows(rows: _Rows, p: OffloadProblem, e: int, ys: I64, t: I64, x_col: I64, top: int) -> None:
    """``n_e <= N_ie`` when device i runs at edge e, N_ie the most tasks that keep its deadline."""
    base = p.alone_latency_ms[:, e + 1] - p.exec_ms_alone[:, e]
    # most tasks at e that keep device i's deadline: g_e is nondecreasing, so count the t that do
    exec_ms = 1e3 * p.cycles[:, None] * _g(p, e, t[1:])[None, :]
    most = ((base[:, None] + exec_ms) <= p.deadline_ms[:, None] * (1 + 1e-12)).sum(axis=1)
    for i in np.flatnonzero(p.allowed[:, e + 1] & (most < top)):
        cap = float(max(most[i], 0.0))
        rows.add(
            np.concatenate([ys, [x_col[i]]]), np.concatenate([t.astype(float), [top - cap]]), -math.inf, top
        )


def _g(p: OffloadProblem, e: int, t: NDArray[np.int64]) -> F64:
    """``g_e(t)``, seconds per cycle of one task at edge e with t tasks there."""
    return np.asarray(np.maximum(1.0 / p.edge_core_hz[e], t.astype(np.float64) / p.edge_hz[e]))


def _start_vector(p: OffloadProblem, choice: I64, top: list[int], n_cols: int, y0: I64, z0: I64) -> F64:
    """The MILP point of a choice of options (HiGHS ignores it if infeasible)."""
    n, n_opt = p.n_devices, p.cloud + 1
    x = np.zeros(n_cols)
    x[np.arange(n) * n_opt + choice] = 1.0
    counts = p.counts(choice)
    m = p.congestion_weight
    for e in range(p.n_edges):
        t = int(min(counts[e], top[e]))
        x[y0[e] + t] = 1.0
        if t >= 1:
            x[z0[e] + t - 1] = float(m[choice == e + 1].sum() / p.edge_hz[e])
    return x
