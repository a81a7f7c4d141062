"""``LeastLoaded``: send each request to the usable site with the shortest queue per replica."""

from __future__ import annotations

import numpy as np

from edgescale.policies.base import F64, I64, ClusterView, LoadBalancer, per_replica_load, usable

__all__ = ["LeastLoaded"]


class LeastLoaded(LoadBalancer):
    """Send each request to the usable candidate with the fewest requests per replica.

    Load is ``queue_len / replicas`` of the service at the site (see
    :attr:`~edgescale.policies.ClusterView.queue_len`). Ties go to the lower site index. With load
    information that is only refreshed every epoch, every request of the epoch goes to the same
    site (the herd effect of stale load information, Mitzenmacher 2000); :class:`PowerOfTwoChoices`
    avoids it.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 1, 1], replicas=[[1, 2, 1]], queue_len=[[3, 4, 1]])
    >>> LeastLoaded().choose(v, 0, origin_site=0, candidates=[0, 1, 2])
    2
    """

    def __init__(self) -> None:
        pass

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        pos = np.flatnonzero(usable(view, service, candidates))
        if len(pos) == 0:
            return -1
        c = candidates[pos]
        return int(c[np.lexsort((c, per_replica_load(view, service, c)))[0]])

    def _weights(self, view: ClusterView, service: int, origin_sites: I64, candidates: I64) -> F64:
        out = np.zeros((len(origin_sites), len(candidates)))
        best = self._choose(view, service, -1, candidates, np.random.default_rng(0))
        if best >= 0:
            out[:, int(np.flatnonzero(candidates == best)[0])] = 1.0
        return out
