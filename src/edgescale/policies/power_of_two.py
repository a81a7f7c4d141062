"""``PowerOfTwoChoices``: sample d candidates at random, send to the least loaded of them."""

from __future__ import annotations

import math

import numpy as np

from edgescale.policies._checks import integer
from edgescale.policies.base import F64, I64, ClusterView, LoadBalancer, per_replica_load, usable

__all__ = ["PowerOfTwoChoices"]


class PowerOfTwoChoices(LoadBalancer):
    """The power of d choices: pick *choices* distinct usable candidates uniformly, keep the least loaded.

    Load is queue length per replica, as for :class:`LeastLoaded`; ties go to the lower site index.

    Parameters
    ----------
    choices : int
        Candidates sampled per request (d >= 1; 1 is uniform random choice).

    Notes
    -----
    Placing n balls into n bins, one uniformly random bin each gives a maximum load of
    ``ln n / ln ln n (1 + o(1))``; the better of two random bins gives ``ln ln n / ln 2 + O(1)``
    (Azar, Broder, Karlin and Upfal 1999). With load information that is stale for an epoch it also
    avoids the herding of always joining the least loaded site (Mitzenmacher 2000).

    :meth:`weights` gives the exact probabilities: with k usable candidates ranked by load, the one
    at rank r (0 = least loaded) is chosen with probability ``C(k-1-r, d-1) / C(k, d)``.

    References
    ----------
    .. [1] M. Mitzenmacher, "The power of two choices in randomized load balancing", IEEE TPDS
       12(10), 2001.
    .. [2] Y. Azar, A. Broder, A. Karlin, E. Upfal, "Balanced allocations", SIAM J. Computing
       29(1), 1999.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 1, 1], replicas=[[1, 1, 1]], queue_len=[[0, 1, 2]])
    >>> PowerOfTwoChoices().weights(v, 0, origin_sites=[0], candidates=[0, 1, 2]).round(3)
    array([[0.667, 0.333, 0.   ]])
    """

    def __init__(self, *, choices: int = 2) -> None:
        self.choices = integer("choices", choices, lo=1)

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        n = len(candidates)
        if self.choices == 2 and n >= 2:  # fast path in scalars: two draws, usable almost always
            i = int(rng.integers(n))
            j = int(rng.integers(n - 1))
            j += j >= i
            a, b = int(candidates[i]), int(candidates[j])
            up, rep = view.site_up, view.replicas
            ra, rb = int(rep[service, a]), int(rep[service, b])
            if ra > 0 and rb > 0 and up[a] and up[b]:
                la = float(view.queue_len[service, a]) / ra
                lb = float(view.queue_len[service, b]) / rb
                return a if (la, a) < (lb, b) else b
        c = candidates[usable(view, service, candidates)]
        if len(c) <= self.choices:
            return _best(view, service, c) if len(c) else -1
        return _best(view, service, c[_sample(rng, len(c), self.choices)])

    def _weights(self, view: ClusterView, service: int, origin_sites: I64, candidates: I64) -> F64:
        out = np.zeros((len(origin_sites), len(candidates)))
        pos = np.flatnonzero(usable(view, service, candidates))
        k = len(pos)
        if k == 0:
            return out
        c = candidates[pos]
        ranked = pos[np.lexsort((c, per_replica_load(view, service, c)))]
        d = min(self.choices, k)
        total = math.comb(k, d)
        out[:, ranked] = np.array([math.comb(k - 1 - r, d - 1) / total for r in range(k)])
        return out


def _sample(rng: np.random.Generator, k: int, d: int) -> list[int]:
    """d distinct indices of range(k), uniformly (Floyd's algorithm: d draws, no permutation)."""
    chosen: set[int] = set()
    for j in range(k - d, k):
        t = int(rng.integers(j + 1))
        chosen.add(j if t in chosen else t)
    return sorted(chosen)


def _best(view: ClusterView, service: int, sites: I64) -> int:
    return int(sites[np.lexsort((sites, per_replica_load(view, service, sites)))[0]])
