"""Analytic cache models: Zipf popularity and hit ratios.

Pure functions on numpy only (no scipy), so the twin can import them at start-up:

- :func:`zipf_popularity` and :func:`generalized_harmonic` — the Zipf(alpha) request distribution [BCFPS99]_;
- :func:`zipf_hit_ratio` — the hit ratio of a cache that holds the ``C`` most popular items (the best static
  cache under the independent reference model);
- :func:`che_hit_ratio` — Che's approximation of an LRU cache's hit ratio [CTW02]_.

References
----------
.. [BCFPS99] L. Breslau, P. Cao, L. Fan, G. Phillips, S. Shenker, "Web caching and Zipf-like distributions:
   evidence and implications", INFOCOM 1999.
.. [CTW02] H. Che, Y. Tung, Z. Wang, "Hierarchical web caching systems: modeling, design and experimental
   results", IEEE JSAC 20(7), 2002.
.. [FRR12] C. Fricker, P. Robert, J. Roberts, "A versatile and accurate approximation for LRU cache
   performance", ITC 24, 2012.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import ModelAssumptionError

__all__ = ["che_hit_ratio", "generalized_harmonic", "zipf_hit_ratio", "zipf_popularity"]

F64 = NDArray[np.float64]


def generalized_harmonic(n: int, alpha: float) -> float:
    """``H_{n,alpha} = sum_{k=1..n} k**-alpha``.

    Examples
    --------
    >>> generalized_harmonic(3, 1.0)   # 1 + 1/2 + 1/3
    1.8333333333333333
    """
    if n < 0:
        raise ModelAssumptionError(f"generalized_harmonic: n must be >= 0 (got {n})")
    return float(np.sum(np.arange(1, n + 1, dtype=np.float64) ** -float(alpha)))


def zipf_popularity(n_items: int, alpha: float) -> F64:
    """Request probability of items ranked 1..N under Zipf(alpha): ``k**-alpha / H_{N,alpha}``.

    Examples
    --------
    >>> zipf_popularity(3, 1.0).round(4).tolist()
    [0.5455, 0.2727, 0.1818]
    """
    if n_items < 1 or not alpha >= 0:
        raise ModelAssumptionError(
            f"zipf_popularity: need n_items >= 1 and alpha >= 0 (got {n_items}, {alpha})"
        )
    w = np.arange(1, int(n_items) + 1, dtype=np.float64) ** -float(alpha)
    return np.asarray(w / w.sum())


def zipf_hit_ratio(capacity_items: int, n_items: int, alpha: float) -> float:
    """Hit ratio of a cache holding the ``C`` most popular of ``N`` Zipf(alpha) items: ``H_{C,a} / H_{N,a}``.

    References
    ----------
    .. [1] [BCFPS99]_ (in the module docstring).

    Examples
    --------
    >>> round(zipf_hit_ratio(10, 1000, 0.8), 4)
    0.2305
    >>> zipf_hit_ratio(5, 10, 0.0)   # uniform popularity
    0.5
    """
    if int(n_items) < 1 or not alpha >= 0 or int(capacity_items) < 0:
        raise ModelAssumptionError(
            f"zipf_hit_ratio: need capacity_items >= 0, n_items >= 1 and alpha >= 0 "
            f"(got {capacity_items}, {n_items}, {alpha})"
        )
    c = min(int(capacity_items), int(n_items))
    return generalized_harmonic(c, alpha) / generalized_harmonic(int(n_items), alpha)


def che_hit_ratio(popularity: ArrayLike, capacity_items: int) -> float:
    """Che's approximation of an LRU cache's hit ratio under the independent reference model.

    The characteristic time ``T`` solves ``sum_n (1 - exp(-p_n T)) = C``; the hit ratio is
    ``sum_n p_n (1 - exp(-p_n T))`` ([CTW02]_; accurate for Zipf popularity, [FRR12]_).

    Parameters
    ----------
    popularity : array_like of float
        Request probabilities (normalised here).
    capacity_items : int
        Cache size in items.

    Examples
    --------
    >>> round(che_hit_ratio(zipf_popularity(1000, 0.8), 100), 3)  # the best static set of 100 holds 0.53
    0.378
    """
    p = np.asarray(popularity, dtype=np.float64)
    p = p[p > 0] / p.sum()
    c = int(capacity_items)
    if c <= 0:
        return 0.0
    if c >= p.size:
        return 1.0
    lo, hi = 0.0, 1.0
    while np.sum(-np.expm1(-p * hi)) < c:
        hi *= 2.0
    for _ in range(200):  # bisection to machine precision on a monotone function
        mid = 0.5 * (lo + hi)
        if np.sum(-np.expm1(-p * mid)) < c:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    t = 0.5 * (lo + hi)
    return float(np.sum(p * -np.expm1(-p * t)))
