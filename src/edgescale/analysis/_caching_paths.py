"""Content caches in ``analyze``: per cache site the expected hit ratio, per route stage who gets there.

The same model as the twin's (``edgescale.sim.caching`` builds its caches from :func:`cache_config`; analysis
does not import the twin). A scenario caches when it has a ``content`` catalogue, sites with ``cache_gb > 0``
and applications with ``content_share > 0``; a site holds ``floor(1000 cache_gb / item_size_mb)`` items. Under
the independent reference model (Zipf popularity) a cache's hit ratio ``h`` is Che's approximation for
``lru`` [CTW02]_ and the summed popularity of the items it holds for ``static`` (the plan's ``cache`` entry
for the site, else the policy's ``items``, else its most popular items).

A content request looks the cache up when it leaves the first stage of its route placed at a caching site;
a hit returns from there. With the stage's sites chosen independently (as ``analyze`` routes them), the
probability that a request of demand point ``d`` is a hit at stage ``s`` is
``share * P(no caching site before s) * sum_site f_s(site) [site caches] h(site)``, and the share of ``d``'s
requests that reach stage ``s`` is one minus the hits before ``s`` (thinning: under IRM the misses of a
Poisson stream are a Poisson stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis.caching import che_hit_ratio, zipf_popularity
from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import SystemArrays
from edgescale.model.plan import Plan
from edgescale.model.schema import Scenario

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CacheConfig", "CacheSites", "StageHits", "cache_config", "cache_sites", "stage_hits"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class CacheSites:
    """The caching sites of a scenario and their expected hit ratios."""

    policy: str
    catalogue_items: int
    site: I64  # the caching sites
    capacity_items: I64
    hit_ratio: F64  # per caching site
    site_hit_ratio: F64  # per site of the scenario: h, or -1 when the site does not cache
    app_share: F64  # per application: content_share

    def to_dict(self, a: SystemArrays) -> dict[str, Any]:
        """The ``caches`` entry of analyze's results."""
        return {
            "policy": self.policy,
            "catalogue_items": self.catalogue_items,
            "reference": "che" if self.policy == "lru" else "exact",
            "sites": [{"site": a.site_ids[int(s)], "capacity_items": int(c), "expected_hit_ratio": float(h)}
                      for s, c, h in zip(self.site, self.capacity_items, self.hit_ratio, strict=True)],
        }  # fmt: skip


@dataclass(frozen=True)
class CacheConfig:
    """What a scenario and plan say of its caches: the one reading the twin and ``analyze`` share."""

    policy: str  # lru or static
    popularity: F64  # Zipf request probability of each catalogue item (numbered by popularity)
    site: I64  # the caching sites
    capacity_items: I64  # per caching site
    static_items: list[I64]  # per caching site, with the static policy (empty for lru)
    app_share: F64  # per application: content_share


def cache_config(scenario: Scenario, a: SystemArrays, plan: Plan | None) -> CacheConfig | None:
    """The scenario's caches (see the module docstring), or None when it does not cache.

    Raises
    ------
    ScenarioError
        If the caching policy is neither ``lru`` nor ``static``, or static items are out of the catalogue.
    """
    content = scenario.content
    share = np.array([app.content_share for app in scenario.applications], dtype=np.float64)
    sites = np.flatnonzero(a.site_cache_gb > 0).astype(np.int64)
    if content is None or not sites.size or not np.any(share > 0):
        return None
    choice = scenario.policies.caching
    name = choice.name if choice is not None else "lru"
    if name not in ("lru", "static"):
        raise ScenarioError([Issue("policies.caching.name", "caches are modelled as 'lru' or 'static'", name,
                                   "use lru or static")])  # fmt: skip
    cap = np.floor(1000.0 * a.site_cache_gb[sites] / content.item_size_mb + 1e-9).astype(np.int64)
    static: list[I64] = []
    if name == "static":
        by_site = {e.site: np.asarray(e.items, np.int64) for e in (plan.cache if plan is not None else ())}
        given = choice.params.get("items") if choice is not None else None
        top = np.arange(content.items, dtype=np.int64)  # items are numbered by popularity
        for k, s in enumerate(sites.tolist()):
            items = by_site.get(a.site_ids[s])
            if items is None:
                items = np.asarray(given, np.int64) if given is not None else top[: int(cap[k])]
            if items.size and (items.min() < 0 or items.max() >= content.items):
                raise ScenarioError([Issue(f"cache items of site '{a.site_ids[s]}'",
                                           f"must be catalogue items in [0, {content.items})", int(items.max()),
                                           "number items from 0, the most popular")])  # fmt: skip
            static.append(items)
    return CacheConfig(name, zipf_popularity(content.items, content.zipf_alpha), sites, cap, static, share)


def cache_sites(scenario: Scenario, a: SystemArrays, plan: Plan | None) -> CacheSites | None:
    """The scenario's caches with their expected hit ratios, or None when it does not cache.

    Raises
    ------
    ScenarioError
        As :func:`cache_config`.
    """
    cfg = cache_config(scenario, a, plan)
    if cfg is None:
        return None
    p = cfg.popularity
    if cfg.policy == "lru":
        sizes, inverse = np.unique(cfg.capacity_items, return_inverse=True)  # once per distinct size
        h = np.array([che_hit_ratio(p, int(c)) for c in sizes])[inverse.reshape(-1)]
    else:
        h = np.array([float(p[np.unique(items)].sum()) for items in cfg.static_items], dtype=np.float64)
    per_site = np.full(a.n_sites, -1.0)
    per_site[cfg.site] = h
    return CacheSites(cfg.policy, int(p.size), cfg.site, cfg.capacity_items, h, per_site, cfg.app_share)


@dataclass(frozen=True)
class StageHits:
    """Per stage of one application (in route order): per demand point, the share of its requests that reach
    the stage (``reach``); per hop, the probability that a request takes the hop and is a hit there (``hit``)."""

    reach: list[F64]
    hit: list[F64]


def stage_hits(cs: CacheSites, share: float, n_d: int, hops: Sequence[tuple[I64, I64, F64]]) -> StageHits:
    """*hops*: per stage in route order, ``(target site, demand point, weight)`` of its hops.

    ``hit[k][j]`` is the probability that a request of hop *j*'s demand point takes hop *j* and is a hit at
    its site (a sum over the hops of one demand point gives the stage's hit probability); ``reach[k][d]``
    is the share of demand point *d*'s requests that get to stage *k* (misses and non-content requests).
    """
    reach = np.ones(n_d)
    no_lookup = np.ones(n_d)  # P(no caching site on the stages so far)
    out_reach: list[F64] = []
    out_hit: list[F64] = []
    for target, d, w in hops:
        h = cs.site_hit_ratio[target]
        caching = h >= 0
        out_reach.append(reach)
        hit = np.where(caching, share * no_lookup[d] * w * np.maximum(h, 0.0), 0.0)
        out_hit.append(hit)
        reach = reach - np.bincount(d, weights=hit, minlength=n_d)
        no_lookup = no_lookup * (1.0 - np.bincount(d, weights=np.where(caching, w, 0.0), minlength=n_d))
    return StageHits(out_reach, out_hit)
