"""Sequential best-response dynamics of the offloading game (numba kernel)."""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["best_response_dynamics", "improving_moves"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@numba.njit(cache=True)
def _cost(
    a: F64, m: F64, inv_f: F64, inv_core: F64, counts: I64, i: int, j: int, k: int, joining: int
) -> float:
    """Cost of device *i* at option *j*, with ``joining`` = 1 if it is not there yet."""
    c = float(a[i, j])
    if 1 <= j <= k:
        c += m[i] * max(inv_core[j - 1], (counts[j - 1] + joining) * inv_f[j - 1])
    return c


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
    counts = np.zeros(k, np.int64)
    for i in range(n):
        if 1 <= choice[i] <= k:
            counts[choice[i] - 1] += 1
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
            cur_cost = np.inf if cur < 0 else _cost(a, m, inv_f, inv_core, counts, i, cur, k, 0)
            best = cur
            best_cost = cur_cost
            for j in range(n_opt):
                if j == cur or not allowed[i, j]:
                    continue
                if 1 <= j <= k and counts[j - 1] >= slots[j - 1]:
                    continue
                c = _cost(a, m, inv_f, inv_core, counts, i, j, k, 1)
                if c < best_cost:
                    best = j
                    best_cost = c
            if best < 0:
                unplaced += 1
                continue
            if best != cur and (cur < 0 or cur_cost - best_cost > rel_tol * abs(cur_cost)):
                if 1 <= cur <= k:
                    counts[cur - 1] -= 1
                if 1 <= best <= k:
                    counts[best - 1] += 1
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
