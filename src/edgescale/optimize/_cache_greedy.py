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
    keys = np.empty(n_sites * n_items)
    ids = np.empty(n_sites * n_items, np.int64)
    m = 0
    for t in range(n_sites):
        for n in range(n_items):
            if size[n] <= cap[t] and not placed[t, n]:
                g = _gain(rate, cur, rev_ptr, rev_site, rev_lat, t, n)
                if g > 0.0:
                    keys[m] = g / size[n] if density else g
                    ids[m] = t * n_items + n
                    m += 1
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(keys, ids, m, i)
    left = cap.copy()
    smallest = size.min() if n_items > 0 else np.inf
    open_sites = 0  # caches that can still take the smallest item: stop when none can
    for t in range(n_sites):
        if left[t] >= smallest * (1.0 - 1e-12):
            open_sites += 1
    total = 0.0
    evals = 0
    while m > 0 and open_sites > 0:
        e = ids[0]
        t = e // n_items
        n = e - t * n_items
        if size[n] > left[t] * (1.0 + 1e-12):
            m = _pop(keys, ids, m)
            continue
        g = _gain(rate, cur, rev_ptr, rev_site, rev_lat, t, n)
        evals += 1
        if g <= 0.0:
            m = _pop(keys, ids, m)
            continue
        key = g / size[n] if density else g
        nxt = -np.inf
        if m > 1:
            nxt = keys[1]
        if m > 2 and keys[2] > nxt:
            nxt = keys[2]
        if key >= nxt:  # gains only shrink (submodular): no other element can beat it
            placed[t, n] = True
            was_open = left[t] >= smallest * (1.0 - 1e-12)
            left[t] -= size[n]
            if was_open and left[t] < smallest * (1.0 - 1e-12):
                open_sites -= 1
            total += g
            for j in range(rev_ptr[t], rev_ptr[t + 1]):
                s = rev_site[j]
                if rev_lat[j] < cur[s, n]:
                    cur[s, n] = rev_lat[j]
            m = _pop(keys, ids, m)
        else:
            keys[0] = key
            _sift_down(keys, ids, m, 0)
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
