"""The exact cooperative-caching MILP (facility-location form) for HiGHS."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from edgescale.optimize._offload_common import MilpResult, check_milp_size, solve_milp

if TYPE_CHECKING:
    from edgescale.optimize.caching import CacheProblem

__all__ = ["check_cache_milp_size", "solve_cache_milp"]

F64 = NDArray[np.float64]


def check_cache_milp_size(p: CacheProblem) -> None:
    """Raise :class:`~edgescale.errors.ModelAssumptionError` when the MILP would be too large to build.

    It has ``S N`` columns ``x`` and one ``y`` per useful (site, cache) pair and item.
    """
    check_milp_size(
        "cache_optimal",
        p.n_sites * p.n_items + len(p.rev_site) * p.n_items,
        "use cache_greedy (edgescale cache --method greedy), or fewer items (--max-items)",
    )


def solve_cache_milp(
    p: CacheProblem, *, time_limit_s: float, start: NDArray[np.bool_] | None
) -> tuple[MilpResult, NDArray[np.bool_] | None]:
    """Maximise the latency saved; columns ``x[t, n]`` (row-major) then one ``y`` per useful (s, n, t)."""
    s_n, n_n = p.n_sites, p.n_items
    n_x = s_n * n_n
    check_cache_milp_size(p)
    # useful (site s, cache t, latency) pairs, from the reverse lists
    cache_t = np.repeat(np.arange(s_n), np.diff(p.rev_ptr))
    pair_s, pair_lat = p.rev_site, p.rev_lat
    n_pair = len(pair_s)
    # y[(pair k, item n)] at column n_x + k * N + n
    k_idx = np.repeat(np.arange(n_pair), n_n)
    n_idx = np.tile(np.arange(n_n), n_pair)
    gain = p.rate_per_s[pair_s[k_idx], n_idx] * (p.origin_ms[pair_s[k_idx]] - pair_lat[k_idx])
    n_y = n_pair * n_n
    n_cols = n_x + n_y
    c = np.concatenate([np.zeros(n_x), gain])
    y_col = n_x + np.arange(n_y)
    # y <= x[t, n]
    r1 = np.arange(n_y)
    rows_r = [r1, r1]
    rows_c = [y_col, cache_t[k_idx] * n_n + n_idx]
    rows_v = [np.ones(n_y), -np.ones(n_y)]
    lo = [np.full(n_y, -math.inf)]
    hi = [np.zeros(n_y)]
    # sum over pairs of s of y[s, n, .] <= 1
    r2 = n_y + pair_s[k_idx] * n_n + n_idx
    rows_r.append(r2)
    rows_c.append(y_col)
    rows_v.append(np.ones(n_y))
    lo.append(np.full(s_n * n_n, -math.inf))
    hi.append(np.ones(s_n * n_n))
    # capacity
    r3 = n_y + s_n * n_n + np.repeat(np.arange(s_n), n_n)
    rows_r.append(r3)
    rows_c.append(np.arange(n_x))
    rows_v.append(np.tile(p.item_size, s_n))
    lo.append(np.full(s_n, -math.inf))
    hi.append(p.capacity.astype(np.float64))
    n_rows = n_y + s_n * n_n + s_n
    a = sparse.csc_matrix(
        (np.concatenate(rows_v), (np.concatenate(rows_r), np.concatenate(rows_c))), shape=(n_rows, n_cols)
    )
    integer = np.zeros(n_cols, bool)
    integer[:n_x] = True
    x_start = None
    if start is not None:
        x_start = np.zeros(n_cols)
        x_start[:n_x] = start.ravel()
        cur = p.served_latency(start)
        best = cur[pair_s[k_idx], n_idx]
        # serve each (s, n) from one cache attaining the current latency
        use = (pair_lat[k_idx] <= best) & (x_start[cache_t[k_idx] * n_n + n_idx] > 0.5)
        taken = np.zeros(s_n * n_n, bool)
        for j in np.flatnonzero(use):
            key = pair_s[k_idx[j]] * n_n + n_idx[j]
            if not taken[key]:
                taken[key] = True
                x_start[n_x + j] = 1.0
    res = solve_milp(
        c,
        a,
        np.concatenate(lo),
        np.concatenate(hi),
        np.zeros(n_cols),
        np.ones(n_cols),
        integer,
        time_limit_s=time_limit_s,
        start=x_start,
        maximize=True,
    )
    if res.x is None:
        return res, None
    return res, res.x[:n_x].reshape(s_n, n_n) > 0.5
