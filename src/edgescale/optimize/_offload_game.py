"""Sequential best-response dynamics of the offloading game (numba kernel)."""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["best_response_dynamics", "improving_moves"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@numba.njit(cache=True)
def _set_join(g_join: F64, counts: I64, inv_f: F64, inv_core: F64, slots: I64, e: int) -> None:
    """Seconds per cycle a task joining edge e would get (``inf`` when e is full); option index e + 1."""
    if counts[e] >= slots[e]:
        g_join[e + 1] = np.inf
    else:
        g_join[e + 1] = max(inv_core[e], (counts[e] + 1) * inv_f[e])


@numba.njit(cache=True)
def best_response_dynamics(
    a: F64,
    m: F64,
    inv_f: F64,
    inv_core: F64,
    slots: I64,
    allowed: NDArray[np.bool_],
    choice: I64,
    order: I64,
    rel_tol: float,
    max_rounds: int,
) -> tuple[int, int, int]:
    """Let devices in *order* switch to a best response until none improves by more than ``rel_tol``.

    ``choice`` (-1 = not yet placed) is updated in place. Returns (rounds, moves, unplaced).
    """
    n, n_opt = a.shape
    k = n_opt - 2
    # NOTE: disallowed options folded into the costs and per-option join factors kept up to date, so
    # the inner loop is one multiply-add per option (benchmarks/optimize_offload_cache.py)
    cost = np.where(allowed, a, np.inf)
    counts = np.zeros(k, np.int64)
    for i in range(n):
        if 1 <= choice[i] <= k:
            counts[choice[i] - 1] += 1
    g_join = np.zeros(n_opt)
    for e in range(k):
        _set_join(g_join, counts, inv_f, inv_core, slots, e)
    moves = 0
    rounds = 0
    unplaced = 0
    for _ in range(max_rounds):
        rounds += 1
        changed = False
        unplaced = 0
        for idx in range(n):
            i = order[idx]
            cur = choice[i]
            mi = m[i]
            cur_cost = np.inf
            if cur >= 0:
                cur_cost = a[i, cur]
                if 1 <= cur <= k:
                    cur_cost += mi * max(inv_core[cur - 1], counts[cur - 1] * inv_f[cur - 1])
            best = -1
            best_cost = np.inf
            row = cost[i]
            for j in range(n_opt):
                c = row[j] + mi * g_join[j]
                if c < best_cost and j != cur:
                    best = j
                    best_cost = c
            if cur < 0 and best < 0:
                unplaced += 1
                continue
            if best >= 0 and (cur < 0 or cur_cost - best_cost > rel_tol * abs(cur_cost)):
                if 1 <= cur <= k:
                    counts[cur - 1] -= 1
                    _set_join(g_join, counts, inv_f, inv_core, slots, cur - 1)
                if 1 <= best <= k:
                    counts[best - 1] += 1
                    _set_join(g_join, counts, inv_f, inv_core, slots, best - 1)
                choice[i] = best
                moves += 1
                changed = True
        if not changed:
            break
    return rounds, moves, unplaced


def improving_moves(
    a: F64,
    m: F64,
    inv_f: F64,
    inv_core: F64,
    slots: I64,
    allowed: NDArray[np.bool_],
    choice: I64,
    rel_tol: float,
) -> int:
    """Number of devices with a unilateral move better by more than ``rel_tol`` (0 at an equilibrium)."""
    n, n_opt = a.shape
    k = n_opt - 2
    rows = np.arange(n)
    counts = np.bincount(choice[(choice >= 1) & (choice <= k)] - 1, minlength=k)
    join = a.copy()
    join[:, 1 : k + 1] += m[:, None] * np.maximum(inv_core, (counts + 1) * inv_f)[None, :]
    cur = a[rows, choice].copy()
    at_edge = (choice >= 1) & (choice <= k)
    here = choice[at_edge] - 1
    cur[at_edge] += m[at_edge] * np.maximum(inv_core[here], counts[here] * inv_f[here])
    ok = allowed.copy()
    ok[:, 1 : k + 1] &= (counts < slots)[None, :]
    ok[rows, choice] = False
    better = np.where(ok, join, np.inf).min(axis=1)
    return int(np.count_nonzero(cur - better > rel_tol * np.abs(cur)))


@numba.njit(cache=True)
def lower_hull(x: F64, y: F64) -> tuple[F64, F64]:
    """Lower convex hull (Andrew's monotone chain) of points with increasing ``x``."""
    n = len(x)
    hx = np.empty(n)
    hy = np.empty(n)
    h = 0
    for i in range(n):
        while (
            h >= 2
            and (hx[h - 1] - hx[h - 2]) * (y[i] - hy[h - 2]) - (hy[h - 1] - hy[h - 2]) * (x[i] - hx[h - 2])
            <= 0
        ):
            h -= 1
        hx[h] = x[i]
        hy[h] = y[i]
        h += 1
    return hx[:h].copy(), hy[:h].copy()
