"""Content caching in the twin: which sites cache, what each route stage looks up, and the analytic references.

A scenario caches when it has a ``content`` catalogue, sites with ``cache_gb > 0`` and applications with
``content_share > 0``. Each caching site holds ``floor(1000 * cache_gb / item_size_mb)`` items of the
catalogue (as ``optimize.caching`` counts them), under the policy ``policies.caching`` (``lru``, the
default, or ``static``). Requests follow the independent reference model: a request of an application is
for catalogue content with probability ``content_share``, and then for item ``n`` (0 the most popular)
with the Zipf probability ``p_n ~ 1 / (n + 1) ** zipf_alpha``, independently of everything else.

On its route a request looks the cache up when it leaves the station of the first stage placed at a caching
site. A hit is served there: the rest of the route is skipped and the response goes back to the device
from that site (path and access link, with the application's ``response_kb``). A miss, and every
non-content request, goes on to the next stages (the origin) as planned. The lookup itself costs the
stage's service, hit or miss. An LRU cache starts empty (a warm-up fills it) and admits every requested item;
a static cache holds the plan's ``cache`` entry for its site when the plan has one, else the ``items`` given
as the policy's parameter, else its most popular items, and never changes. Routes that the control plane
moves (failures, detours) look up the cache of the site they move to.

References
----------
- H. Che, Y. Tung, Z. Wang, "Hierarchical Web caching systems: modeling, design and experimental results",
  IEEE JSAC 20(7), 2002: the characteristic-time approximation of LRU, :func:`che_hit_ratio`.
- C. Fricker, P. Robert, J. Roberts, "A versatile and accurate approximation for LRU cache performance",
  ITC 24, 2012: why it is accurate for Zipf popularity and large catalogues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._caching_paths import cache_config
from edgescale.analysis.caching import che_hit_ratio, zipf_popularity
from edgescale.model.arrays import SystemArrays
from edgescale.model.plan import Plan
from edgescale.model.schema import Scenario
from edgescale.sim._kernel_state import CacheSpec
from edgescale.sim.world import route_stages

if TYPE_CHECKING:
    from edgescale.sim.world import PathPairs, World

__all__ = ["CachePlan", "attach_caches", "cache_columns", "che_hit_ratio", "hit_summary", "plan_caches",
           "zipf_popularity"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class CachePlan:
    """The caches of a world: the kernel's :class:`CacheSpec`, the cache of each site and each app's share."""

    spec: CacheSpec
    policy: str
    site_cache: I64  # per site: its cache index, -1 when it does not cache
    cache_site: I64  # per cache: its site
    app_share: F64  # per application: content_share

    def expected_hit_ratio(self) -> F64:
        """Per cache, the hit ratio under IRM: Che's approximation (LRU) or exact (static)."""
        if self.policy == "static":
            return self.spec.exact_static_hit_ratio()
        caps, inverse = np.unique(self.spec.capacity_items, return_inverse=True)  # once per distinct size
        che = np.array([che_hit_ratio(self.spec.popularity, int(c)) for c in caps])
        out: F64 = che[inverse.reshape(-1)]
        return out


def plan_caches(scenario: Scenario, a: SystemArrays, plan: Plan | None) -> CachePlan | None:
    """The scenario's caches (see the module docstring), or None when it does not cache.

    Raises
    ------
    ScenarioError
        If the caching policy is neither ``lru`` nor ``static``, or static items are out of the catalogue.
    """
    cfg = cache_config(scenario, a, plan)
    if cfg is None:
        return None
    n = int(cfg.site.size)
    spec = CacheSpec(cfg.popularity, kind=[cfg.policy] * n, capacity_items=cfg.capacity_items,
                     static_items=cfg.static_items)  # fmt: skip
    site_cache = np.full(a.n_sites, -1, np.int64)
    site_cache[cfg.site] = np.arange(n)
    return CachePlan(spec, cfg.policy, site_cache, cfg.site, cfg.app_share)


def cache_columns(
    world: World, a: SystemArrays, paths: PathPairs, sources: I64, stage_site: I64
) -> tuple[I64, F64, F64]:
    """``stage_cache``, ``stage_content_share`` and ``stage_hit_return_s`` of the stages of *sources*.

    *stage_site* is indexed by absolute stage (as ``world.stage_site``). Per source, the first stage at a
    caching site looks its cache up (if the application asks for content); a hit returns from that site over
    the path to the access site and the access link. Returned in route order, sources after one another.
    """
    cp = world.caches
    rp = world.model.route_ptr
    lens = (rp[sources + 1] - rp[sources]).astype(np.int64)
    stages = route_stages(rp, sources)
    n = int(lens.sum())
    if cp is None or n == 0:
        return np.full(n, -1, np.int64), np.zeros(n), np.zeros(n)
    sites = stage_site[stages]
    cache = cp.site_cache[sites]
    owner = np.repeat(np.arange(sources.size), lens)
    app = world.model.app_of_source[sources][owner]
    share = cp.app_share[app]
    cache = np.where(share > 0, cache, -1)
    # keep only the first caching stage of each route
    has = cache >= 0
    first_pos = np.full(sources.size, n, np.int64)
    np.minimum.at(first_pos, owner[has], np.flatnonzero(has))
    keep = has & (np.arange(n) == first_pos[owner])
    cache = np.where(keep, cache, -1)
    hit_return = np.zeros(n)
    idx = np.flatnonzero(keep)
    if idx.size:
        d = world.source_demand[sources[owner[idx]]]
        access = a.demand_site[d].astype(np.int64)
        blat, btx, _ = paths.pairs(sites[idx].astype(np.int64), access)
        rkb = world.source_response_kb[sources[owner[idx]]]
        ms = blat + rkb * btx + a.demand_access_latency_ms[d] + rkb * 8.0 / a.demand_access_bandwidth_mbps[d]
        hit_return[idx] = ms / 1000.0
    return cache, np.where(keep, share, 0.0), hit_return


def attach_caches(world: World, a: SystemArrays, scenario: Scenario, plan: Plan | None) -> None:
    """Plan the scenario's caches into *world* (``world.caches``) and fill its model's stage cache columns."""
    world.caches = plan_caches(scenario, a, plan)
    if world.caches is None:
        return
    from edgescale.analysis._paths import PathMetrics

    m = world.model
    c, share, ret = cache_columns(world, a, PathMetrics(a), np.arange(m.n_sources, dtype=np.int64),
                                  world.stage_site)  # fmt: skip
    m.stage_cache[:], m.stage_content_share[:], m.stage_hit_return_s[:] = c, share, ret


def hit_summary(cp: CachePlan, a: SystemArrays, requests: I64, hits: I64) -> dict[str, Any]:
    """The ``caching`` section of the results: per caching site and overall, with the IRM reference."""
    expected = cp.expected_hit_ratio()
    rows = []
    for c, s in enumerate(cp.cache_site.tolist()):
        req, hit = int(requests[c]), int(hits[c])
        rows.append({"site": a.site_ids[s], "capacity_items": int(cp.spec.capacity_items[c]),
                     "requests": req, "hits": hit, "hit_ratio": hit / req if req else None,
                     "expected_hit_ratio": float(expected[c])})  # fmt: skip
    total, total_hits = int(np.sum(requests)), int(np.sum(hits))
    return {
        "policy": cp.policy,
        "catalogue_items": int(cp.spec.popularity.size),
        "requests": total,
        "hits": total_hits,
        "hit_ratio": total_hits / total if total else None,
        "sites": rows,
        "reference": "che" if cp.policy == "lru" else "exact",
    }
