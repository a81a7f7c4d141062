"""Quantities the report draws that the results files do not hold per site or per link.

All follow analyze's model (``edgescale.analysis.scenario``) so the pictures agree with its numbers:

- site utilization: busy cores over cores, where a request of service *s* routed to site *j* keeps
  ``work_ms / 1000 / cpu_speed[j]`` cores busy (the same formula as ``AnalysisResult.sites``);
- link load: offered traffic in Mbit/s on minimum-latency paths (request of each stage from its
  first parent's site, or from the access site, and the response from the last stage's site back to
  the access site), over the link's bandwidth;
- power (W): ``idle_w + (peak_w - idle_w) * min(utilization, 1)`` per site (the simulator's energy
  model); cost per hour: fixed cost of every site hosting a replica plus per-core cost of the
  replicas' cores (the optimizer's and plan checker's cost).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from edgescale.model.arrays import SystemArrays
from edgescale.model.plan import PlanArrays
from edgescale.model.schema import TIERS

__all__ = ["by_tier", "cost_per_hour_by_site", "link_load_mbps", "power_w_by_site", "site_utilization"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DIJKSTRA_BATCH = 256  # sources per Dijkstra call: bounds the distance matrix to 256 x n_sites


def site_utilization(a: SystemArrays, pa: PlanArrays) -> F64:
    """Busy cores / cores per site under the plan's routes (0 for sites without cores)."""
    busy = np.zeros(a.n_sites)
    svc = pa.route_service.astype(np.int64)
    site = pa.route_site.astype(np.int64)
    rate = a.demand_rate_per_s[pa.route_demand] * pa.route_fraction
    np.add.at(busy, site, rate * a.service_work_ms[svc] / 1000.0 / a.site_cpu_speed[site])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a.site_cpu_cores > 0, busy / a.site_cpu_cores, 0.0)


def power_w_by_site(a: SystemArrays, utilization: F64) -> F64:
    """Electrical power per site (W) at the given utilization (capped at 1)."""
    u = np.clip(utilization, 0.0, 1.0)
    return a.site_idle_w + (a.site_peak_w - a.site_idle_w) * u


def cost_per_hour_by_site(a: SystemArrays, pa: PlanArrays) -> F64:
    """Cost per hour of each site under the plan (0 for sites without replicas)."""
    cores: F64 = (pa.replicas * a.service_cpu_cores[:, None]).sum(axis=0)
    used = pa.replicas.sum(axis=0) > 0
    cost: F64 = np.where(used, a.site_cost_fixed_per_hour, 0.0) + cores * a.site_cost_per_core_hour
    return cost


def by_tier(a: SystemArrays, values: F64) -> dict[str, float]:
    """Sum of a per-site quantity by tier (tiers without sites left out)."""
    return {t: float(values[a.site_tier == i].sum()) for i, t in enumerate(TIERS) if np.any(a.site_tier == i)}


def _join(left: I64, right: I64) -> tuple[I64, I64]:
    """All index pairs (i, j) with ``left[i] == right[j]``."""
    order = np.argsort(right, kind="stable")
    rs = right[order]
    lo = np.searchsorted(rs, left, "left")
    hi = np.searchsorted(rs, left, "right")
    counts = hi - lo
    li = np.repeat(np.arange(len(left)), counts)
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return li, order[np.repeat(lo, counts) + offs]


def _legs(a: SystemArrays, pa: PlanArrays) -> tuple[I64, I64, F64]:
    """Every (origin site, target site, Mbit/s) leg of the requests and responses under the plan."""
    origins: list[I64] = []
    targets: list[I64] = []
    mbps: list[F64] = []
    rate_d = a.demand_rate_per_s
    for app in range(len(a.app_ids)):
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        dem = np.flatnonzero(a.group_app[a.demand_group] == app)
        if not len(dem) or hi <= lo:
            continue
        ent_of: dict[int, I64] = {}
        for st in range(lo, hi):
            ent = np.flatnonzero((pa.route_service == a.stage_service[st]) & np.isin(pa.route_demand, dem))
            ent_of[st] = ent
            p0, p1 = int(a.stage_parent_ptr[st]), int(a.stage_parent_ptr[st + 1])
            if p0 == p1:
                d = pa.route_demand[ent]
                origin = a.demand_site[d].astype(np.int64)
                share = pa.route_fraction[ent]
                target = pa.route_site[ent].astype(np.int64)
            else:
                parent = ent_of[int(a.stage_parents[p0])]
                pi, ej = _join(pa.route_demand[parent], pa.route_demand[ent])
                d = pa.route_demand[ent][ej]
                origin = pa.route_site[parent][pi].astype(np.int64)
                share = pa.route_fraction[parent][pi] * pa.route_fraction[ent][ej]
                target = pa.route_site[ent][ej].astype(np.int64)
            origins.append(origin)
            targets.append(target)
            mbps.append(rate_d[d] * share * a.stage_request_kb[st] * 8.0 / 1000.0)
        last = ent_of[hi - 1]
        origins.append(pa.route_site[last].astype(np.int64))
        targets.append(a.demand_site[pa.route_demand[last]].astype(np.int64))
        mbps.append(rate_d[pa.route_demand[last]] * pa.route_fraction[last] * a.app_response_kb[app] * 8e-3)
    if not origins:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(origins), np.concatenate(targets), np.concatenate(mbps)


def link_load_mbps(a: SystemArrays, pa: PlanArrays) -> F64:
    """Offered traffic per link (Mbit/s, both directions added) on minimum-latency paths."""
    load = np.zeros(a.n_links)
    o, t, w = _legs(a, pa)
    keep = (o != t) & (w > 0)
    o, t, w = o[keep], t[keep], w[keep]
    if not len(o) or not a.n_links:
        return load
    n = a.n_sites
    graph = csr_matrix(
        (np.maximum(a.link_latency_ms[a.graph_link], 1e-12), a.graph_indices, a.graph_indptr), shape=(n, n)
    )
    key = np.repeat(np.arange(n, dtype=np.int64), np.diff(a.graph_indptr)) * n + a.graph_indices
    order = np.argsort(key, kind="stable")
    skey, slink = key[order], a.graph_link[order]
    # merge legs with the same (origin, target): one path walk per pair
    pair, inv = np.unique(o * n + t, return_inverse=True)
    pair_mbps: F64 = np.bincount(inv, weights=w).astype(np.float64)
    o, t = pair // n, pair % n
    # Dijkstra only as far as needed: most legs are short (an edge site to its neighbours); pairs not
    # reached within the distance limit are tried again with a larger one (exact: Dijkstra settles
    # every node within the limit at its true distance)
    limit = max(4.0 * float(np.median(a.link_latency_ms)), 1e-3)
    total = float(a.link_latency_ms.sum()) + 1.0
    todo = np.ones(len(o), dtype=bool)
    while todo.any() and limit <= 2.0 * total:
        ot, tt = o, t
        if len(np.unique(t[todo])) < len(np.unique(o[todo])):  # from the side with fewer distinct sites
            ot, tt = t, o
        todo &= ~_walk(graph, skey, slink, n, ot, tt, pair_mbps, todo, limit, load)
        limit *= 2.0
    return load


def _walk(
    graph: csr_matrix, skey: I64, slink: NDArray[np.int32], n: int, o: I64, t: I64, mbps: F64,
    todo: NDArray[np.bool_], limit: float, load: F64,
) -> NDArray[np.bool_]:
    """Add the legs still to do whose path is within *limit* ms to *load*; which legs were done."""
    done = np.zeros(len(o), dtype=bool)
    src = np.unique(o[todo])
    for b in range(0, len(src), DIJKSTRA_BATCH):
        batch = src[b : b + DIJKSTRA_BATCH]
        sel = np.flatnonzero(todo & np.isin(o, batch))
        dist, pred = dijkstra(graph, directed=False, indices=batch, return_predecessors=True, limit=limit)
        row = np.searchsorted(batch, o[sel])
        reached = np.isfinite(dist[row, t[sel]])
        sel, row = sel[reached], row[reached]
        done[sel] = True
        cur = t[sel].copy()
        origin = o[sel]
        live = np.ones(len(sel), dtype=bool)  # origin != target: merged legs exclude equal pairs
        while live.any():
            idx = np.flatnonzero(live)
            prev = pred[row[idx], cur[idx]].astype(np.int64)
            pos = np.searchsorted(skey, prev * n + cur[idx])
            np.add.at(load, slink[pos], mbps[sel[idx]])
            cur[idx] = prev
            live[idx] = prev != origin[idx]

    return done
