"""``PlanWeights``: split requests by fixed weights, e.g. the balancing section of a plan."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from edgescale.policies._checks import ParamError, frozen
from edgescale.policies.base import F64, I64, ClusterView, LoadBalancer, usable

__all__ = ["PlanWeights"]


class PlanWeights(LoadBalancer):
    """Send requests to usable candidates at random, in proportion to fixed weights.

    Parameters
    ----------
    weights : array_like of float, shape (n_services, n_sites), optional
        Weight per (service, site), >= 0; an engine fills it from the plan's ``balancing``
        section. Where every usable candidate has weight 0 (or no weights are given) the split is
        even.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 1, 1], replicas=[[1, 1, 0]])
    >>> PlanWeights(weights=[[3.0, 1.0, 5.0]]).weights(v, 0, [0], [0, 1, 2])
    array([[0.75, 0.25, 0.  ]])
    """

    ENGINE_PARAMS = frozenset({"weights"})

    def __init__(self, *, weights: ArrayLike | None = None) -> None:
        w = None if weights is None else np.array(weights, np.float64, ndmin=2)
        if w is not None and (w.ndim != 2 or not np.isfinite(w).all() or (w < 0).any()):
            raise ParamError(
                "weights", "must be a finite (n_services, n_sites) array of values >= 0", weights
            )
        self.weights_table = None if w is None else frozen(w)

    def __repr__(self) -> str:
        shape = None if self.weights_table is None else self.weights_table.shape
        return f"PlanWeights(weights={'None' if shape is None else f'array(shape={shape})'})"

    def _split(self, view: ClusterView, service: int, candidates: I64) -> F64:
        ok = usable(view, service, candidates)
        w = np.zeros(len(candidates))
        if self.weights_table is not None:
            w[ok] = self.weights_table[service, candidates[ok]]
        if w.sum() <= 0.0:
            w = ok.astype(np.float64)
        total = w.sum()
        return w / total if total > 0 else w

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        p = self._split(view, service, candidates)
        return int(candidates[rng.choice(len(candidates), p=p)]) if p.any() else -1

    def _weights(self, view: ClusterView, service: int, origin_sites: I64, candidates: I64) -> F64:
        return np.tile(self._split(view, service, candidates), (len(origin_sites), 1))
