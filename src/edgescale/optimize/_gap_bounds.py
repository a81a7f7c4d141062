"""Lagrangian lower bound for the GAP (minimisation form) by subgradient optimisation.

Relaxing the assignment constraints with multipliers ``u`` leaves one 0-1 knapsack per agent:

    L(u) = sum_j u_j - sum_i max { sum_j (u_j - c_ij) x_j : sum_j a_ij x_j <= b_i, x binary }.

Every ``L(u)`` is a valid lower bound. The knapsacks are solved exactly by dynamic programming over
the capacity when weights and capacities are integers and the tables are small; otherwise the Dantzig
(fractional) bound replaces the knapsack optimum, which keeps ``L(u)`` a valid, weaker bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["LagrangianOutcome", "lagrangian_bound"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_DP_CELLS = 20_000_000


@njit(cache=True)
def _knapsack_dp(  # pragma: no cover - compiled
    p: FloatArray, w: IntArray, cap: int, sel: NDArray[np.bool_], dp: FloatArray, keep: NDArray[np.bool_]
) -> float:
    """Exact 0-1 knapsack (maximise) over items with positive profit; marks the chosen ones in ``sel``."""
    n = p.shape[0]
    dp[: cap + 1] = 0.0
    for j in range(n):
        sel[j] = False
        keep[j, : cap + 1] = False
        if p[j] <= 0.0 or w[j] > cap:
            continue
        wj, pj = w[j], p[j]
        for r in range(cap, wj - 1, -1):
            v = dp[r - wj] + pj
            if v > dp[r]:
                dp[r] = v
                keep[j, r] = True
    r = cap
    for j in range(n - 1, -1, -1):
        if keep[j, r]:
            sel[j] = True
            r -= w[j]
    return float(dp[cap])


@njit(cache=True)
def _knapsack_dantzig(
    p: FloatArray, w: FloatArray, cap: float, sel: NDArray[np.bool_]
) -> float:  # pragma: no cover
    """Fractional knapsack optimum: an upper bound on the 0-1 optimum; ``sel`` rounds the split item."""
    n = p.shape[0]
    ratio = np.empty(n)
    for j in range(n):
        sel[j] = False
        ratio[j] = -np.inf if p[j] <= 0.0 else (np.inf if w[j] <= 0.0 else p[j] / w[j])
    order = np.argsort(-ratio)
    room, value = cap, 0.0
    for q in range(n):
        j = order[q]
        if p[j] <= 0.0:
            break
        if w[j] <= room:
            room -= w[j]
            value += p[j]
            sel[j] = True
        else:
            value += p[j] * room / w[j]
            sel[j] = room >= 0.5 * w[j]
            break
    return float(value)


@njit(cache=True)
def _lagrangian(  # pragma: no cover - compiled
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    u: FloatArray,
    x: NDArray[np.bool_],
    exact: bool,
    a_int: IntArray,
    b_int: IntArray,
    dp: FloatArray,
    keep: NDArray[np.bool_],
) -> float:
    """L(u) and the knapsack solutions ``x`` (m, n); ``a_int``, ``b_int`` are used when ``exact``."""
    m, n = c.shape
    total = u.sum()
    p = np.empty(n)
    sel = np.empty(n, np.bool_)
    for i in range(m):
        for j in range(n):
            p[j] = u[j] - c[i, j]
        if exact:
            total -= _knapsack_dp(p, a_int[i], b_int[i], sel, dp, keep)
        else:
            total -= _knapsack_dantzig(p, a[i], b[i], sel)
        x[i, :] = sel
    return float(total)


@dataclass(frozen=True)
class LagrangianOutcome:
    """Best bound found, its multipliers, the iterations run, and a feasible assignment if one showed up."""

    bound: float
    u: FloatArray
    iterations: int
    exact_knapsacks: bool
    assignment: IntArray | None
    columns: list[tuple[int, IntArray]]


def _exact_possible(a: FloatArray, b: FloatArray) -> bool:
    if not (np.all(a == np.round(a)) and np.all(np.isfinite(b))):
        return False
    return bool(a.shape[1] * (float(np.floor(b.max())) + 1) <= MAX_DP_CELLS)


def lagrangian_bound(
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    *,
    u0: FloatArray | None,
    upper: float,
    deadline: float,
    integral_costs: bool,
    max_iter: int = 3000,
    collect_after: int = 20,
    max_columns: int = 5000,
) -> LagrangianOutcome:
    """Subgradient optimisation of L(u) with Polyak steps towards ``upper`` (the incumbent cost).

    Stops at ``deadline`` (``time.perf_counter`` seconds), after ``max_iter`` iterations, when the
    step becomes negligible, or when the bound proves ``upper`` optimal. The distinct knapsack
    solutions of the iterations after ``collect_after`` are returned as (agent, jobs) columns.
    """
    m, n = c.shape
    exact = _exact_possible(a, b)
    a_int = np.rint(a).astype(np.int64)
    b_int = np.floor(b + 1e-9).astype(np.int64) if exact else np.zeros(m, np.int64)
    cap = int(b_int.max())
    dp = np.zeros(cap + 1)
    keep = np.zeros((n, cap + 1) if exact else (1, 1), np.bool_)
    x = np.zeros((m, n), np.bool_)
    u = np.sort(c, axis=0)[min(1, m - 1)].astype(np.float64) if u0 is None else u0.astype(np.float64).copy()
    best, best_u, assignment = -math.inf, u.copy(), None
    lam, stall, it = 1.0, 0, 0
    columns: dict[tuple[int, bytes], tuple[int, IntArray]] = {}
    while it < max_iter and time.perf_counter() < deadline and lam > 1e-3:
        it += 1
        value = _lagrangian(c, a, b, u, x, exact, a_int, b_int, dp, keep)
        g = 1.0 - x.sum(axis=0)
        if exact and it > collect_after and len(columns) < max_columns:
            for i in range(m):
                jobs = np.flatnonzero(x[i]).astype(np.int64)
                columns.setdefault((i, jobs.tobytes()), (i, jobs))
        if value > best + 1e-9:
            best, best_u, stall = value, u.copy(), 0
        else:
            stall += 1
            if stall >= 15:
                lam, stall = lam / 2, 0
        if not np.any(g) and exact:
            assignment = x.argmax(axis=0).astype(np.int64)  # the knapsacks partition the jobs
            break
        if integral_costs and math.ceil(best - 1e-6) >= upper:
            break
        target = upper if math.isfinite(upper) else value + max(1.0, 0.05 * abs(value))
        u += lam * max(target - value, 1e-6) / float(g @ g) * g
    return LagrangianOutcome(best, best_u, it, exact, assignment, list(columns.values()))
