"""Build a :class:`CacheProblem` from a scenario's content catalog, cache sizes and demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._paths import PathMetrics
from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import TIER_INDEX, SystemArrays
from edgescale.model.schema import Scenario

if TYPE_CHECKING:
    from edgescale.optimize.caching import CacheProblem

__all__ = ["ScenarioCache", "cache_problem_from_scenario"]

I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ScenarioCache:
    """A caching problem made from a scenario: ``sites[i]`` is the site index of problem row i."""

    problem: CacheProblem
    sites: I64
    items_modelled: int
    content_rate_per_s: float


def cache_problem_from_scenario(
    scenario: Scenario, arrays: SystemArrays, *, max_items: int = 10_000, spread: float = 0.0, seed: int = 0
) -> ScenarioCache:
    """Caches at the sites with ``cache_gb``; content requests at the access sites; origin in the cloud.

    Parameters
    ----------
    max_items : int
        Model the ``max_items`` most popular items (item ``k`` is the k-th most popular; the rest are
        never cached and always come from the origin).
    spread : float
        Regional taste (see :func:`regional_popularity`); 0 ranks items alike everywhere.

    Notes
    -----
    Site s requests item n at ``sum_d rate_d * content_share(app_d) * p_n`` over the demand points d
    that access s, with ``p_n`` the Zipf(``zipf_alpha``) popularity over the whole catalog. A cache of
    ``cache_gb`` holds ``floor(1000 cache_gb / item_size_mb)`` items. Latencies are one-way
    minimum-latency paths from the access site (the device's access link, the same whichever copy
    serves, is left out); the origin is the nearest cloud site. Requests for the items beyond
    ``max_items`` go to the origin (``uncached_rate_per_s``): the hit ratios and the mean latency
    count them.
    """
    from edgescale.optimize.caching import CacheProblem, regional_popularity, zipf_popularity

    a = arrays
    cat = scenario.content
    issues = []
    if cat is None:
        issues.append(
            Issue("content", "caching needs a content catalog", None, "add content: {items, item_size_mb}")
        )
        raise ScenarioError(issues, scenario.source)
    share = np.array([app.content_share for app in scenario.applications] + [0.0])
    rate = a.demand_rate_per_s * share[a.group_app[a.demand_group]]
    access_rate = np.bincount(a.demand_site, weights=rate, minlength=a.n_sites)
    caches = np.flatnonzero(a.site_cache_gb > 0)
    clouds = np.flatnonzero(a.site_tier == TIER_INDEX["cloud"])
    if access_rate.sum() <= 0:
        issues.append(
            Issue(
                "applications[].content_share",
                "no content requests: every share is 0",
                0.0,
                "set content_share of the applications that fetch content",
            )
        )
    if len(caches) == 0:
        issues.append(Issue("sites[].cache_gb", "no site has a cache", 0.0, "set cache_gb on edge sites"))
    if len(clouds) == 0:
        issues.append(
            Issue("sites", "caching needs a cloud site as the content origin", None, has_value=False)
        )
    if issues:
        raise ScenarioError(issues, scenario.source)
    sites = np.union1d(np.flatnonzero(access_rate > 0), caches).astype(np.int64)
    s = len(sites)
    paths = PathMetrics(a)
    lat = paths.pairs(np.repeat(sites, s), np.tile(sites, s))[0].reshape(s, s)
    origin = np.stack([paths.pairs(sites, np.full(s, c))[0] for c in clouds], axis=1).min(axis=1)
    m = min(int(max_items), cat.items)
    pop = zipf_popularity(cat.items, cat.zipf_alpha)[:m]
    if spread > 0:
        pop = regional_popularity(s, m, cat.zipf_alpha, spread=spread, seed=seed) * pop.sum()
    rates = access_rate[sites][:, None] * np.broadcast_to(pop, (s, m))
    capacity = np.floor(1e3 * a.site_cache_gb[sites] / cat.item_size_mb + 1e-9)
    # requests for the items beyond max_items: from the origin, counted in the hit ratios and latency
    uncached = access_rate[sites] * max(1.0 - float(pop.sum()), 0.0)
    problem = CacheProblem.build(
        rate_per_s=rates, capacity=capacity, latency_ms=lat, origin_ms=origin, uncached_rate_per_s=uncached
    )
    return ScenarioCache(problem, sites, m, float(access_rate.sum()))
