"""Re-placement on failure: replicas of down sites move to the nearest up site that may run them."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.policies._placing import EPS_CORES, allowed_sites, as_counts, check_tier_mask
from edgescale.policies.base import ClusterView, Demand, Placement, PlacementPolicy

__all__ = ["NearestFailover", "fail_over"]


def fail_over(view: ClusterView, replicas: ArrayLike, *, tier_mask: ArrayLike | None = None) -> Placement:
    """Move the replicas of down sites to the nearest up sites of an allowed tier with free cores.

    Replicas are moved service by service, then down site by down site, in index order. Each goes to
    the site closest to its down site (by path latency; ties to the lower site index) among the up
    sites of a tier the service allows that still have ``service_cpu_cores`` free after the replicas
    already there. Replicas no such site can take are counted in ``unplaced``. The result depends only
    on the view and *replicas*: the same failure gives the same re-placement.

    Parameters
    ----------
    view : ClusterView
        Reads ``site_up``, ``site_tier``, cores, latencies and ``service_tier_mask``.
    replicas : array_like of int, shape (n_services, n_sites)
        The placement before re-placement.
    tier_mask : array_like of int, shape (n_services,), optional
        Tier bit masks overriding ``view.service_tier_mask``.

    Returns
    -------
    Placement

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(
    ...     site_tier=[1, 1, 1, 3], site_up=[False, True, True, True], site_cpu_cores=[4, 4, 4, 64],
    ...     latency_ms=[[0, 2, 2, 9], [2, 0, 3, 9], [2, 3, 0, 9], [9, 9, 9, 0]], n_services=1,
    ... )
    >>> fail_over(v, [[2, 0, 0, 0]]).replicas
    array([[0, 2, 0, 0]])
    """
    rep = as_counts(view, replicas, "replicas")
    ok = allowed_sites(view, check_tier_mask(tier_mask))
    cores = np.asarray(view.service_cpu_cores, np.float64)
    free = np.asarray(view.site_cpu_cores, np.float64) - (rep * cores[:, None]).sum(axis=0)
    unplaced = np.zeros(view.n_services, np.int64)
    down = ~np.asarray(view.site_up, bool)
    for s, j in zip(*np.nonzero(rep * down[None, :]), strict=True):
        count = int(rep[s, j])
        rep[s, j] = 0
        free[j] += count * cores[s]
        unplaced[s] += _move(view, int(s), int(j), count, np.flatnonzero(ok[s]), rep, free, cores[s])
    return Placement(replicas=rep, unplaced=unplaced)


def _move(
    view: ClusterView,
    s: int,
    src: int,
    count: int,
    targets: NDArray[np.int64],
    rep: NDArray[np.int64],
    free: NDArray[np.float64],
    need: float,
) -> int:
    """Place *count* replicas of *s* from *src* on the nearest *targets*; return how many found no room."""
    if len(targets) == 0:
        return count
    lat = view.latencies([src], targets)[0]
    for t in targets[np.lexsort((targets, lat))]:
        room = int((free[t] + EPS_CORES) // need) if need > 0 else count
        k = min(count, max(room, 0))
        rep[s, t] += k
        free[t] -= k * need
        count -= k
        if count == 0:
            break
    return count


class NearestFailover(PlacementPolicy):
    """Keep a placement but move the replicas of down sites to the nearest allowed up sites.

    Parameters
    ----------
    base : PlacementPolicy, optional
        Placement to start from; default: the replicas running now (``view.replicas``).
    tier_mask : array_like of int, shape (n_services,), optional
        Tier bit masks overriding ``view.service_tier_mask``.

    See Also
    --------
    fail_over : the re-placement rule.
    """

    def __init__(self, *, base: PlacementPolicy | None = None, tier_mask: ArrayLike | None = None) -> None:
        self.base = base
        self.tier_mask = check_tier_mask(tier_mask)

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        start = self.base.place(view, demand) if self.base is not None else Placement(view.replicas)
        out = fail_over(view, start.replicas, tier_mask=self.tier_mask)
        return Placement(replicas=out.replicas, unplaced=_unplaced(out) + _unplaced(start))


def _unplaced(p: Placement) -> NDArray[np.int64]:
    return np.zeros(p.replicas.shape[0], np.int64) if p.unplaced is None else p.unplaced
