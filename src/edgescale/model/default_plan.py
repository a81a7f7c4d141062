"""The default plan, used by every engine alike when no plan is given.

- Replicas: every service runs on every site of the tiers it allows (or those named by the
  scenario's placement policy ``tiers``), that has the cores for one replica (and an accelerator if
  the service needs one). A site's cores are split evenly among the services allowed there:
  ``replicas = max(1, floor(cores / (n_services_here * service.cpu_cores)))``.
- Routes: each demand point (group x access site) sends each stage of its application to the
  nearest site (by minimum-latency path) hosting that stage's service, measured from the site of the
  stage's first predecessor (the access site for the entry stage). Ties go to the lower site index.
- Paths between sites: minimum-latency paths.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue
from edgescale.model.arrays import SystemArrays
from edgescale.model.io import scenario_sha256
from edgescale.model.plan import Plan, ReplicaEntry, RouteEntry, ScenarioRef
from edgescale.model.schema import TIERS, Scenario

__all__ = ["default_plan", "default_replicas", "nearest_hosts", "stage_sites"]

PLACEMENT_POLICIES = ("everywhere", "tiers")


def default_replicas(arrays: SystemArrays, tiers: tuple[str, ...] | None = None) -> NDArray[np.int32]:
    """Replica counts (n_services x n_sites) of the default placement."""
    a = arrays
    tier_bit = (1 << a.site_tier.astype(np.int64)).astype(np.uint8)
    allowed = (a.service_tier_mask[:, None] & tier_bit[None, :]) > 0
    if tiers is not None:
        keep = np.isin(a.site_tier, [TIERS.index(t) for t in tiers])
        allowed &= keep[None, :]
    allowed &= a.site_cpu_cores[None, :] >= a.service_cpu_cores[:, None]
    allowed &= ~a.service_accelerator[:, None] | (a.site_accelerators[None, :] > 0)
    n_here = np.maximum(allowed.sum(axis=0), 1)
    share = a.site_cpu_cores[None, :] / (n_here[None, :] * a.service_cpu_cores[:, None])
    return np.where(allowed, np.maximum(1, np.floor(share)), 0).astype(np.int32)


def nearest_hosts(
    arrays: SystemArrays, hosts: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Multi-source Dijkstra: for every site, the latency to and index of its nearest host.

    Ties (equal latency) go to the host with the lower site index. Unreachable sites get
    ``inf`` and -1.
    """
    a = arrays
    n = a.n_sites
    dist = np.full(n, np.inf)
    src = np.full(n, -1, np.int64)
    indptr, indices, lat = a.graph_indptr, a.graph_indices, a.link_latency_ms[a.graph_link]
    heap: list[tuple[float, int, int]] = [(0.0, int(h), int(h)) for h in np.sort(hosts)]
    heapq.heapify(heap)
    done = np.zeros(n, bool)
    while heap:
        d, s, v = heapq.heappop(heap)
        if done[v]:
            continue
        done[v] = True
        dist[v], src[v] = d, s
        for k in range(indptr[v], indptr[v + 1]):
            w = int(indices[k])
            if not done[w]:
                nd = d + float(lat[k])
                if nd < dist[w] or (nd == dist[w] and s < src[w]):
                    dist[w], src[w] = nd, s
                    heapq.heappush(heap, (nd, s, w))
    return dist, src


def stage_sites(arrays: SystemArrays, replicas: NDArray[np.int32]) -> tuple[NDArray[np.int64], list[Issue]]:
    """Site of each (demand point, stage of its application) under nearest-host routing.

    Returns an array (n_demand, max_stages) of site indices (-1: unreachable or no stage) and
    warnings for demand that reaches no host.
    """
    a = arrays
    n_dem = len(a.demand_group)
    max_stages = int(np.diff(a.app_stage_ptr).max()) if len(a.app_ids) else 0
    out = np.full((n_dem, max(max_stages, 1)), -1, np.int64)
    cache: dict[int, NDArray[np.int64]] = {}
    warnings: list[Issue] = []
    for svc in range(len(a.service_ids)):
        hosts = np.flatnonzero(replicas[svc] > 0)
        cache[svc] = nearest_hosts(a, hosts)[1] if len(hosts) else np.full(a.n_sites, -1, np.int64)
    for app in range(len(a.app_ids)):
        dem = np.flatnonzero(a.group_app[a.demand_group] == app)
        if not len(dem):
            continue
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        for st in range(lo, hi):
            p0, p1 = a.stage_parent_ptr[st], a.stage_parent_ptr[st + 1]
            origin = a.demand_site[dem].astype(np.int64) if p0 == p1 else out[dem, a.stage_parents[p0] - lo]
            host = cache[int(a.stage_service[st])]
            out[dem, st - lo] = np.where(origin >= 0, host[np.maximum(origin, 0)], -1)
        lost = dem[(out[dem, : hi - lo] < 0).any(axis=1)]
        for g in np.unique(a.demand_group[lost]):
            devices = int(a.demand_devices[lost][a.demand_group[lost] == g].sum())
            warnings.append(
                Issue(
                    f"device_groups[{a.group_ids[g]}]",
                    "unreachable: some devices reach no site hosting a stage of their application",
                    f"{devices} devices",
                    "check links and the services' tiers",
                    severity="warning",
                )
            )
    return out, warnings


def default_plan(scenario: Scenario, arrays: SystemArrays) -> tuple[Plan, list[Issue]]:
    """The default :class:`Plan` for a scenario (see the module docstring) and its warnings."""
    a = arrays
    tiers: tuple[str, ...] | None = None
    pol = scenario.policies.placement
    if pol is not None and pol.name == "tiers":
        tiers = tuple(pol.params.get("tiers", ()))
    rep = default_replicas(a, tiers)
    sites, warnings = stage_sites(a, rep)
    replicas = [
        ReplicaEntry(service=a.service_ids[i], site=a.site_ids[j], count=int(rep[i, j]))
        for i, j in zip(*np.nonzero(rep), strict=True)
    ]
    routes: list[RouteEntry] = []
    for d in range(len(a.demand_group)):
        app = int(a.group_app[a.demand_group[d]])
        if app < 0:
            continue
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        for st in range(lo, hi):
            site = int(sites[d, st - lo])
            if site >= 0:
                routes.append(
                    RouteEntry(
                        group=a.group_ids[a.demand_group[d]],
                        access_site=a.site_ids[a.demand_site[d]],
                        service=a.service_ids[a.stage_service[st]],
                        site=a.site_ids[site],
                        fraction=1.0,
                    )
                )
    plan = Plan(
        scenario=ScenarioRef(name=scenario.name, sha256=scenario_sha256(scenario)),
        created_by="default",
        replicas=tuple(replicas),
        routes=tuple(routes),
        status="default",
    )
    return plan, warnings
