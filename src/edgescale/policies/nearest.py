"""``Nearest``: send each request to the closest usable site."""

from __future__ import annotations

import numpy as np

from edgescale.policies.base import F64, I64, ClusterView, LoadBalancer, usable

__all__ = ["Nearest"]


class Nearest(LoadBalancer):
    """Send each request to the usable candidate with the lowest latency from its origin.

    Usable: up, running a replica of the service, and reachable (finite latency). Ties go to the
    lower site index, so the choice is deterministic.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(
    ...     site_tier=[1, 1, 1], replicas=[[1, 1, 1]],
    ...     latency_ms=[[0, 5, 5], [5, 0, 9], [5, 9, 0]],
    ... )
    >>> Nearest().choose(v, 0, origin_site=0, candidates=[2, 1])
    1
    """

    ORDER_FREE = True

    def __init__(self) -> None:
        pass

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        return int(self._choose_many(view, service, np.array([origin_site], np.int64), candidates, rng)[0])

    def _choose_many(
        self, view: ClusterView, service: int, origin_sites: I64, candidates: I64, rng: np.random.Generator
    ) -> I64:
        # what _weights gives, without sorting the candidates or filling rows: the usable sites once, then
        # each origin's latencies to them (one origin at a time: the view searches paths from the origin)
        out = np.full(len(origin_sites), -1, np.int64)
        sites = candidates[usable(view, service, candidates)]
        if not sites.size:
            return out
        for k, origin in enumerate(origin_sites.tolist()):
            lat = view.latencies(np.array([origin], np.int64), sites)[0]
            best = lat.min()
            if np.isfinite(best):
                out[k] = sites[lat == best].min()
        return out

    def _weights(self, view: ClusterView, service: int, origin_sites: I64, candidates: I64) -> F64:
        out = np.zeros((len(origin_sites), len(candidates)))
        pos = np.flatnonzero(usable(view, service, candidates))
        if len(pos) == 0:
            return out
        pos = pos[np.argsort(candidates[pos], kind="stable")]  # argmin then prefers the lower index
        lat = view.latencies(origin_sites, candidates[pos])
        best = lat.argmin(axis=1)
        reach = np.isfinite(lat[np.arange(len(origin_sites)), best])
        out[np.flatnonzero(reach), pos[best[reach]]] = 1.0
        return out
