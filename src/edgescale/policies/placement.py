"""Built-in placement policies: fixed from a plan, everywhere allowed, least-loaded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.policies._checks import ParamError, frozen, number
from edgescale.policies._placing import EPS_CORES, allowed_sites, as_counts, check_tier_mask, check_tiers
from edgescale.policies.base import ClusterView, Demand, Placement, PlacementPolicy
from edgescale.policies.failover import fail_over

__all__ = ["EverywhereAllowed", "FromPlan", "LeastLoadedPlacement"]


class FromPlan(PlacementPolicy):
    """Run the replicas a plan says, moving those of down sites to the nearest allowed up site.

    Parameters
    ----------
    replicas : array_like of int, shape (n_services, n_sites)
        The plan's replicas; an engine fills it from the plan.
    failover : bool
        Re-place the replicas of down sites with :func:`fail_over` (default True).

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 3], n_services=1)
    >>> FromPlan(replicas=[[1, 2]]).place(v).replicas
    array([[1, 2]])
    """

    ENGINE_PARAMS = frozenset({"replicas"})

    def __init__(self, *, replicas: ArrayLike, failover: bool = True) -> None:
        rep = np.array(replicas, ndmin=2)
        if rep.ndim != 2 or not np.issubdtype(rep.dtype, np.integer) or (rep < 0).any():
            raise ParamError("replicas", "must be an (n_services, n_sites) array of integers >= 0", replicas)
        if not isinstance(failover, bool):
            raise ParamError("failover", "must be true or false", failover)
        self.replicas = frozen(rep.astype(np.int64))
        self.failover = failover

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        rep = as_counts(view, self.replicas, "the plan's replicas")
        return fail_over(view, rep) if self.failover else Placement(rep)


class EverywhereAllowed(PlacementPolicy):
    """Run every service on every up site of a tier it allows that has the cores for one replica.

    As the default plan does (:func:`edgescale.model.default_plan.default_replicas`), a site's cores
    are split evenly among the services allowed there:
    ``replicas = max(1, floor(cores / (n_services_here * service_cpu_cores)))``. Demand is ignored.

    Parameters
    ----------
    tier_mask : array_like of int, shape (n_services,), optional
        Tier bit masks (``1 << tier``) per service; default ``view.service_tier_mask``.
    tiers : list of str, optional
        Further restrict to these tiers (the scenario's ``tiers`` placement policy).

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 1, 3], site_cpu_cores=[4, 4, 64], n_services=2,
    ...                      site_up=[True, False, True])
    >>> EverywhereAllowed(tiers=["edge"]).place(v).replicas
    array([[2, 0, 0],
           [2, 0, 0]])
    """

    def __init__(self, *, tier_mask: ArrayLike | None = None, tiers: Sequence[str] | None = None) -> None:
        self.tier_mask = check_tier_mask(tier_mask)
        self.tiers = check_tiers(tiers)

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        svc = np.asarray(view.service_cpu_cores, np.float64)
        site = np.asarray(view.site_cpu_cores, np.float64)
        ok = allowed_sites(view, self.tier_mask, self.tiers) & (site[None, :] + EPS_CORES >= svc[:, None])
        n_here = np.maximum(ok.sum(axis=0), 1)
        share = site[None, :] / (n_here[None, :] * svc[:, None])
        return Placement(np.where(ok, np.maximum(1, np.floor(share + EPS_CORES)), 0).astype(np.int64))


class LeastLoadedPlacement(PlacementPolicy):
    """Place the wanted replicas one at a time on the least-loaded allowed up site with free cores.

    Services are placed in decreasing order of cores per replica (ties by index), which packs
    better. A site's load is ``site_load`` (taken as background utilization) plus the cores this
    placement has reserved there over its cores; the least loaded site with room for one more
    replica (within ``(1 - headroom)`` of its cores) gets it, ties to the lower site index.
    Replicas no site can take are counted in ``unplaced``.

    Parameters
    ----------
    headroom : float
        Share of each site's cores kept free, in [0, 1).
    tier_mask : array_like of int, shape (n_services,), optional
        Tier bit masks overriding ``view.service_tier_mask``.

    Notes
    -----
    The replicas wanted come from ``demand.replicas``; without them, the replica counts running now
    (summed over sites) are kept.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView, Demand
    >>> v = ArrayClusterView(site_tier=[1, 1, 1], site_cpu_cores=[2, 2, 2], site_load=[0.5, 0.0, 0.1],
    ...                      n_services=1)
    >>> p = LeastLoadedPlacement().place(v, Demand(replicas=[4]))
    >>> p.replicas, p.unplaced
    (array([[1, 2, 1]]), array([0]))
    """

    def __init__(self, *, headroom: float = 0.0, tier_mask: ArrayLike | None = None) -> None:
        self.headroom = number("headroom", headroom, lo=0.0)
        if self.headroom >= 1.0:
            raise ParamError("headroom", "must be < 1", headroom)
        self.tier_mask = check_tier_mask(tier_mask)

    def _inputs(
        self, view: ClusterView, demand: Demand | None
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Replicas wanted per service, allowed sites, cores per replica, cores per site, usable cores."""
        want = demand.replicas if demand is not None and demand.replicas is not None else None
        want = np.asarray(view.replicas).sum(axis=1) if want is None else np.asarray(want, np.int64)
        if want.shape != (view.n_services,):
            raise ValueError(f"demand.replicas has shape {want.shape}; expected ({view.n_services},)")
        ok = allowed_sites(view, self.tier_mask)
        svc = np.asarray(view.service_cpu_cores, np.float64)
        cores = np.asarray(view.site_cpu_cores, np.float64)
        return want, ok, svc, cores, cores * (1.0 - self.headroom)

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        want, ok, svc, cores, cap = self._inputs(view, demand)
        used = np.zeros(view.n_sites)
        rep = np.zeros((view.n_services, view.n_sites), np.int64)
        unplaced = np.zeros(view.n_services, np.int64)
        for s in np.argsort(-svc, kind="stable"):
            for k in range(int(want[s])):
                fits = ok[s] & (cap - used + EPS_CORES >= svc[s])
                if not fits.any():
                    unplaced[s] = int(want[s]) - k
                    break
                score = np.asarray(view.site_load, np.float64) + used / np.maximum(cores, EPS_CORES)
                j = int(np.argmin(np.where(fits, score, np.inf)))
                rep[s, j] += 1
                used[j] += svc[s]
        return Placement(replicas=rep, unplaced=unplaced)
