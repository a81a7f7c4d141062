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

    def __init__(self) -> None:
        pass

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        # what _weights gives for one origin, without sorting the candidates or filling a row
        sites = candidates[usable(view, service, candidates)]
        if not sites.size:
            return -1
        lat = view.latencies(np.array([origin_site], np.int64), sites)[0]
        best = lat.min()
        return int(sites[lat == best].min()) if np.isfinite(best) else -1

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
