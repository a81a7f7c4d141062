"""``WaterFilling``: least-loaded placement in a few vectorised steps per service instead of one per replica.

Greedy least-loaded placement (:class:`~edgescale.policies.LeastLoadedPlacement`) gives each replica to
the allowed site of lowest load ``site_load + reserved / cores`` that still has room, ties to the lower
index. On a site the load before its *r*-th new replica is ``b_j + (r - 1) c / cores_j``; these
thresholds increase along each site, so the greedy choice of *k* replicas is exactly the *k* smallest
(threshold, site index) pairs. ``WaterFilling`` finds the *k*-th smallest threshold by bisection on the
water level and counts replicas per site in O(sites) per step: 100,000 replicas on 10,000 sites take
milliseconds instead of a minute. The result equals the greedy one whenever the thresholds are computed
exactly (e.g. cores and per-replica cores that are binary fractions, as in the tests); otherwise ties
that floating point puts a hair apart may go to another of the tied sites.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edgescale.policies._placing import EPS_CORES
from edgescale.policies.base import ClusterView, Demand, Placement
from edgescale.policies.placement import LeastLoadedPlacement

__all__ = ["WaterFilling"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _counts(level: float, base: F64, step: F64, room: I64) -> I64:
    """Replicas per site whose threshold ``base + r * step`` (r = 0, 1, ...) is <= *level*."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.floor((level - base) / step) + 1
    n = np.where(level >= base, n, 0)
    out: I64 = np.minimum(np.maximum(n, 0), room).astype(np.int64)
    return out


def fill(k: int, base: F64, step: F64, room: I64) -> I64:
    """The *k* smallest thresholds ``base_j + r step_j`` (``r < room_j``), ties to the lower index.

    Examples
    --------
    >>> fill(4, np.array([0.5, 0.0, 0.1]), np.array([0.5, 0.5, 0.5]), np.array([9, 9, 9]))
    array([1, 2, 1])
    """
    total = int(room.sum())
    if k <= 0 or total == 0:
        return np.zeros(len(base), np.int64)
    if k >= total:
        return room.copy()
    ok = room > 0
    lo = float(base[ok].min()) - 1.0
    hi = float((base + (room - 1) * step)[ok].max())
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if int(_counts(mid, base, step, room).sum()) >= k:
            hi = mid
        else:
            lo = mid
    n = _counts(lo, base, step, room)  # strictly below the k-th threshold
    tied = np.flatnonzero(_counts(hi, base, step, room) > n)  # thresholds in (lo, hi]: the k-th ones
    n[tied[: k - int(n.sum())]] += 1
    return n


class WaterFilling(LeastLoadedPlacement):
    """Least-loaded placement, computed by water-filling (see the module docstring).

    Parameters
    ----------
    headroom : float
        Share of each site's cores kept free, in [0, 1).
    tier_mask : array_like of int, shape (n_services,), optional
        Tier bit masks overriding ``view.service_tier_mask``.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView, Demand
    >>> v = ArrayClusterView(site_tier=[1, 1, 1], site_cpu_cores=[2, 2, 2], site_load=[0.5, 0.0, 0.1],
    ...                      n_services=1)
    >>> p = WaterFilling().place(v, Demand(replicas=[4]))
    >>> p.replicas, p.unplaced
    (array([[1, 2, 1]]), array([0]))
    """

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        want, ok, svc, cores, cap = self._inputs(view, demand)
        load = np.asarray(view.site_load, np.float64)
        used = np.zeros(view.n_sites)
        rep = np.zeros((view.n_services, view.n_sites), np.int64)
        unplaced = np.zeros(view.n_services, np.int64)
        safe = np.maximum(cores, EPS_CORES)
        for s in np.argsort(-svc, kind="stable"):
            c, k = float(svc[s]), int(want[s])
            score = load + used / safe
            if c <= 0:  # free replicas: the greedy rule puts every one on the least-loaded allowed site
                if ok[s].any():
                    rep[s, int(np.argmin(np.where(ok[s], score, np.inf)))] = k
                else:
                    unplaced[s] = k
                continue
            room = np.where(ok[s], np.floor((cap - used + EPS_CORES) / c), 0).astype(np.int64)
            n = fill(k, score, c / safe, np.maximum(room, 0))
            rep[s] = n
            used += n * c
            unplaced[s] = k - int(n.sum())
        return Placement(replicas=rep, unplaced=unplaced)
