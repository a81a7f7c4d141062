"""Lazy greedy for cooperative cache placement and its data-dependent upper bound (numba kernels).

Element ``e = t * N + n`` puts item n in cache t. Its gain is the request-rate-weighted latency it
saves: ``sum_s rate[s, n] * max(0, cur[s, n] - lat(s, t))`` over the sites s that may fetch from t
(the reverse neighbour lists ``rev_*``), ``cur[s, n]`` the latency item n has at s so far.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["lazy_greedy", "online_bound", "site_gains"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@numba.njit(cache=True)
def _gain(rate: F64, cur: F64, rev_ptr: I64, rev_site: I64, rev_lat: F64, t: int, n: int) -> float:
    g = 0.0
    for j in range(rev_ptr[t], rev_ptr[t + 1]):
        s = rev_site[j]
        d = cur[s, n] - rev_lat[j]
        if d > 0.0:
            g += rate[s, n] * d
    return g


@numba.njit(cache=True)
def _sift_down(keys: F64, ids: I64, m: int, i: int) -> None:
    while True:
        left = 2 * i + 1
        if left >= m:
            return
        big = left
        if left + 1 < m and keys[left + 1] > keys[left]:
            big = left + 1
        if keys[big] <= keys[i]:
            return
        keys[i], keys[big] = keys[big], keys[i]
        ids[i], ids[big] = ids[big], ids[i]
        i = big


@numba.njit(cache=True)
def _pop(keys: F64, ids: I64, m: int) -> int:
    m -= 1
    keys[0] = keys[m]
    ids[0] = ids[m]
    _sift_down(keys, ids, m, 0)
    return m


@numba.njit(cache=True)
def _site_top(keys: F64, size_t: int, left_t: float, smallest: float) -> float:
    """Key of a site in the global heap: its best stale key, or -inf when empty or full."""
    if size_t == 0 or left_t < smallest * (1.0 - 1e-12):
        return -np.inf
    return float(keys[0])


@numba.njit(cache=True)
def _next_key(keys: F64, m: int) -> float:
    """Largest key below the root of a heap of *m* entries."""
    nxt = -np.inf
    if m > 1:
        nxt = keys[1]
    if m > 2 and keys[2] > nxt:
        nxt = keys[2]
    return nxt


@numba.njit(cache=True)
def lazy_greedy(
    rate: F64,
    size: F64,
    cap: F64,
    rev_ptr: I64,
    rev_site: I64,
    rev_lat: F64,
    cur: F64,
    placed: NDArray[np.bool_],
    density: bool,
) -> tuple[float, int]:
    """Add the element of largest gain (per unit size if ``density``) that fits, until none gains.

    ``cur`` and ``placed`` are updated in place. Returns (total gain, gain evaluations).
    """
    n_sites, n_items = rate.shape
    # NOTE: one heap per cache (contiguous, cache-friendly) under a heap of the caches' best keys;
    # the root cache's key only ever decreases, so every global update is a sift-down from the root
    keys = np.empty(n_sites * n_items)
    ids = np.empty(n_sites * n_items, np.int64)
    sizes = np.zeros(n_sites, np.int64)
    left = cap.copy()
    smallest = size.min() if n_items > 0 else np.inf
    for t in range(n_sites):
        base = t * n_items
        m = 0
        for n in range(n_items):
            if size[n] <= cap[t] and not placed[t, n]:
                g = _gain(rate, cur, rev_ptr, rev_site, rev_lat, t, n)
                if g > 0.0:
                    keys[base + m] = g / size[n] if density else g
                    ids[base + m] = n
                    m += 1
        sizes[t] = m
        k_t = keys[base : base + n_items]
        i_t = ids[base : base + n_items]
        for i in range(m // 2 - 1, -1, -1):
            _sift_down(k_t, i_t, m, i)
    gkeys = np.empty(n_sites)
    gids = np.arange(n_sites).astype(np.int64)
    for t in range(n_sites):
        gkeys[t] = _site_top(keys[t * n_items : (t + 1) * n_items], sizes[t], left[t], smallest)
    for i in range(n_sites // 2 - 1, -1, -1):
        _sift_down(gkeys, gids, n_sites, i)
    total = 0.0
    evals = 0
    while n_sites > 0 and gkeys[0] > -np.inf:
        t = gids[0]
        k_t = keys[t * n_items : (t + 1) * n_items]
        i_t = ids[t * n_items : (t + 1) * n_items]
        n = i_t[0]
        if size[n] > left[t] * (1.0 + 1e-12):
            sizes[t] = _pop(k_t, i_t, sizes[t])
        else:
            g = _gain(rate, cur, rev_ptr, rev_site, rev_lat, t, n)
            evals += 1
            key = g / size[n] if density else g
            if g <= 0.0:
                sizes[t] = _pop(k_t, i_t, sizes[t])
            elif key >= max(_next_key(k_t, sizes[t]), _next_key(gkeys, n_sites)):
                # gains only shrink (submodular): no other element can beat it
                placed[t, n] = True
                left[t] -= size[n]
                total += g
                for j in range(rev_ptr[t], rev_ptr[t + 1]):
                    s = rev_site[j]
                    if rev_lat[j] < cur[s, n]:
                        cur[s, n] = rev_lat[j]
                sizes[t] = _pop(k_t, i_t, sizes[t])
            else:
                k_t[0] = key
                _sift_down(k_t, i_t, sizes[t], 0)
        gkeys[0] = _site_top(k_t, sizes[t], left[t], smallest)
        _sift_down(gkeys, gids, n_sites, 0)
    return total, evals


@numba.njit(cache=True)
def site_gains(rate: F64, cur: F64, rev_ptr: I64, rev_site: I64, rev_lat: F64, t: int) -> F64:
    """Marginal gain of every item at cache *t* given ``cur``."""
    n_items = rate.shape[1]
    out = np.zeros(n_items)
    for j in range(rev_ptr[t], rev_ptr[t + 1]):
        s = rev_site[j]
        lat = rev_lat[j]
        for n in range(n_items):
            d = cur[s, n] - lat
            if d > 0.0:
                out[n] += rate[s, n] * d
    return out


@numba.njit(cache=True)
def online_bound(
    rate: F64, size: F64, cap: F64, rev_ptr: I64, rev_site: I64, rev_lat: F64, cur: F64
) -> float:
    """``sum_t`` of the best (fractional) knapsack of marginal gains at t: ``OPT <= f(S) +`` this.

    For any placement O, ``f(O) <= f(S u O) <= f(S) + sum_{e in O} gain_e(S)`` (submodularity), and
    O's items at cache t fit in ``cap[t]``, so their gains sum to at most the fractional knapsack.
    """
    n_sites = rate.shape[0]
    total = 0.0
    for t in range(n_sites):
        g = site_gains(rate, cur, rev_ptr, rev_site, rev_lat, t)
        order = np.argsort(-(g / size))
        room = cap[t]
        for n in order:
            if g[n] <= 0.0 or room <= 0.0:
                break
            take = min(1.0, room / size[n])
            total += take * g[n]
            room -= take * size[n]
    return total
