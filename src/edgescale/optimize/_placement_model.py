"""The placement model in arrays: candidate chains, queues with SLO-derived capacity steps, coefficients.

A *chain* is one site per stage of a demand point's application; a *queue* is a (service, site) pair
that may host replicas; a queue *level* k means k replicas there and carries the largest arrival rate
that k replicas serve within the stage's queueing budget (and within ``rho_max``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.special import gammaincinv

from edgescale.analysis._paths import PathMetrics
from edgescale.analysis.availability import site_availability
from edgescale.analysis.queueing import erlang_c_many
from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_BATCH = 256
RHO_STABLE = 0.98


@dataclass(frozen=True)
class ModelOptions:
    """Knobs of the model (see :func:`edgescale.optimize.placement.optimize_placement`)."""

    rho_max: float = 0.8
    fixed_share: float = 0.5
    fixed_slack: float = 0.1
    max_candidates: int = 12
    max_chains: int = 24
    min_domains: int | None = None


@dataclass(frozen=True, eq=False)
class PlacementModel:
    """Candidate chains (CSR over demand rows) and queues (CSR over capacity levels)."""

    dem: I64  # demand point index of each demand row
    rate: F64  # requests per second of each demand row
    n_stages: I64  # stages of each demand row's application
    chain_ptr: I64  # CSR over demand rows
    chain_queue: I64  # (n_chains, max_stages) queue of each stage, -1 padded
    chain_latency: F64  # fixed latency plus mean processing (ms)
    chain_fixed: F64  # fixed latency (network, transmission, access) (ms)
    q_service: I64
    q_site: I64
    q_service_s: F64  # mean service time (s)
    q_level_ptr: I64  # CSR: levels k = 1..kmax of queue q at q_level_ptr[q] .. q_level_ptr[q+1]
    level_cap: F64  # largest arrival rate (1/s) that k replicas serve within budget
    min_domains: I64  # per service
    total_rate: float


def allowed_sites(a: SystemArrays) -> NDArray[np.bool_]:
    """(n_services, n_sites): tier allowed, one replica's cores and memory fit, accelerator present."""
    tier_bit = (1 << a.site_tier.astype(np.int64)).astype(np.uint8)
    ok = (a.service_tier_mask[:, None] & tier_bit[None, :]) > 0
    ok &= a.site_cpu_cores[None, :] >= a.service_cpu_cores[:, None] - 1e-9
    ok &= a.site_memory_gb[None, :] * 1024.0 >= a.service_memory_mb[:, None] - 1e-9
    ok &= ~a.service_accelerator[:, None] | (a.site_accelerators[None, :] > 0)
    return ok


def service_time_s(a: SystemArrays, svc: I64, site: I64) -> F64:
    """Mean service time (s) of one request of ``svc`` at ``site`` (analyze's server model)."""
    speed = a.site_cpu_speed[site] * np.minimum(1.0, a.service_cpu_cores[svc])
    return np.asarray(a.service_work_ms[svc] / 1000.0 / speed, dtype=np.float64)


def servers_per_replica(a: SystemArrays, svc: I64) -> I64:
    """FCFS servers one replica provides (analyze: ``max(1, floor(cpu_cores))``)."""
    return np.maximum(1, np.floor(a.service_cpu_cores[svc])).astype(np.int64)


def response_quantile(lam: F64, servers: I64, s: F64, scv: F64, p: F64) -> F64:
    """p-quantile (s) of wait plus service as analyze models it: a gamma matched to mean and variance."""
    rho = lam * s / servers
    out = np.full(len(lam), np.inf)
    ok = rho < 1.0
    c, la, sv, cv = servers[ok], lam[ok], s[ok], scv[ok]
    C = erlang_c_many(c, la * sv)
    theta = c / sv - la
    wm = C / theta * (1.0 + cv) / 2.0
    wv = np.where(C > 0, 2.0 * wm * wm / np.maximum(C, 1e-300), 0.0) - wm * wm
    mean = wm + sv
    var = np.maximum(wv + cv * sv * sv, 1e-30)
    out[ok] = gammaincinv(mean * mean / var, p[ok]) * var / mean
    return out


def level_caps(lam_hi: F64, servers: I64, s: F64, scv: F64, p: F64, budget_s: F64, rho_max: float) -> F64:
    """Largest arrival rate per queue level (bisection).

    Within the quantile budget where there is one (and below ``RHO_STABLE``); at most ``rho_max``
    utilization where there is none.
    """
    has = np.isfinite(budget_s)
    hi = np.where(has, RHO_STABLE, rho_max) * servers / s
    hi = np.minimum(hi, lam_hi)
    lo = np.zeros(len(hi))
    if not has.any():
        return hi
    fits_hi = response_quantile(hi, servers, s, scv, p) <= budget_s
    out = np.where(~has | fits_hi, hi, 0.0)
    todo = np.flatnonzero(has & ~fits_hi)
    if len(todo):
        lo_t, hi_t = lo[todo], hi[todo]
        for _ in range(40):
            mid = 0.5 * (lo_t + hi_t)
            ok = response_quantile(mid, servers[todo], s[todo], scv[todo], p[todo]) <= budget_s[todo]
            lo_t = np.where(ok, mid, lo_t)
            hi_t = np.where(ok, hi_t, mid)
        zero_ok = response_quantile(np.zeros(len(todo)), servers[todo], s[todo], scv[todo], p[todo])
        out[todo] = np.where(zero_ok <= budget_s[todo], lo_t, 0.0)
    return out


def _nearest_allowed(
    pm: PathMetrics, tiers: NDArray[np.int8], sources: I64, allowed: NDArray[np.bool_], limit: float, k: int
) -> dict[int, tuple[I64, F64, F64]]:
    """For each source site, the k nearest allowed sites within ``limit`` ms plus the 2 nearest of each
    tier, with the latency and ms-per-kB of the paths to them.

    Searches grow from a 2 ms radius (x4 per round) until every source has its sites or the limit is hit.
    """
    out: dict[int, tuple[I64, F64, F64]] = {}
    cand = np.flatnonzero(allowed)
    tier = tiers[cand]
    tiers_here = np.unique(tier)
    todo = np.asarray(sources, np.int64)
    lim = min(limit, 2.0)
    while len(todo):
        again: list[I64] = []
        for b in range(0, len(todo), _BATCH):
            src = todo[b : b + _BATCH]
            full, pred = dijkstra(pm.graph, directed=False, indices=src, limit=lim, return_predecessors=True)
            dist = full[:, cand]
            fin = np.isfinite(dist)
            enough = fin.sum(axis=1) >= k
            for t in tiers_here:
                enough &= fin[:, tier == t].sum(axis=1) >= min(2, int((tier == t).sum()))
            if lim < limit:
                again.append(src[~enough])
            rows = np.flatnonzero(enough | (lim >= limit))
            chosen = []
            for row in rows:
                d = dist[row]
                keep = np.flatnonzero(fin[row])
                picks = [_smallest(keep, d, k)]
                for t in np.unique(tier[keep]):
                    picks.append(_smallest(keep[tier[keep] == t], d, 2))
                sel = np.unique(np.concatenate(picks))
                chosen.append(cand[sel[np.lexsort((cand[sel], d[sel]))]].astype(np.int64))
            if not len(rows):
                continue
            sizes = np.array([len(c) for c in chosen], np.int64)
            r_idx = np.repeat(rows, sizes)
            tgt = np.concatenate(chosen)
            tx = _walk_tx(pm, pred, r_idx, src[r_idx], tgt)
            lat = full[r_idx, tgt]
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            for n, row in enumerate(rows):
                sl = slice(int(bounds[n]), int(bounds[n + 1]))
                out[int(src[row])] = (chosen[n], lat[sl], tx[sl])
        todo = np.concatenate(again) if again else np.zeros(0, np.int64)
        lim = min(limit, lim * 4.0)
    return out


def _walk_tx(pm: PathMetrics, pred: NDArray[np.int32], row: I64, origin: I64, target: I64) -> F64:
    """Sum of ms-per-kB over the links of each path, walking the predecessor matrix back to the origin."""
    cur = target.copy()
    acc = np.zeros(len(target))
    live = cur != origin
    while live.any():
        idx = np.flatnonzero(live)
        prev = pred[row[idx], cur[idx]].astype(np.int64)
        acc[idx] += pm.edge_values(prev, cur[idx])[0]
        cur[idx] = prev
        live[idx] = cur[idx] != origin[idx]
    return acc


def _smallest(idx: I64, d: F64, k: int) -> I64:
    if len(idx) <= k:
        return idx
    return idx[np.argpartition(d[idx], k - 1)[:k]]


def _pairs(pm: PathMetrics, origin: I64, target: I64, limit: float) -> tuple[F64, F64]:
    """Latency and ms-per-kB of min-latency paths (inf beyond ``limit`` ms), like ``PathMetrics.pairs``."""
    m = len(origin)
    lat = np.zeros(m)
    tx = np.zeros(m)
    todo = np.flatnonzero(origin != target)
    if not len(todo):
        return lat, tx
    o, t = origin[todo], target[todo]
    uo, ut = np.unique(o), np.unique(t)
    if len(ut) < len(uo):  # the graph is undirected: search from the smaller side
        o, t, uo = t, o, ut
    lim = limit if math.isfinite(limit) else np.inf
    dist, pred = dijkstra(pm.graph, directed=False, indices=uo, limit=lim, return_predecessors=True)
    row = np.searchsorted(uo, o)
    d = dist[row, t]
    reach = np.isfinite(d)
    acc = np.zeros(len(todo))
    acc[reach] = _walk_tx(pm, pred, row[reach], o[reach], t[reach])
    lat[todo] = np.where(reach, d, np.inf)
    tx[todo] = acc
    return lat, tx


def _pair_metrics(pm: PathMetrics, o: I64, t: I64, limit: float = np.inf) -> tuple[F64, F64]:
    """Latency and ms-per-kB of min-latency paths for many pairs, in batches of origins."""
    lat = np.zeros(len(o))
    tx = np.zeros(len(o))
    order = np.argsort(o, kind="stable")
    _, start = np.unique(o[order], return_index=True)
    bounds = [int(x) for x in start[::_BATCH]] + [len(o)]
    for b0, b1 in itertools.pairwise(bounds):
        idx = order[b0:b1]
        lat[idx], tx[idx] = _pairs(pm, o[idx], t[idx], limit)
    return lat, tx


def _best_per_row(rows: I64, score: F64, k: int) -> I64:
    """Sorted indices of the k lowest-score entries of each row."""
    order = np.lexsort((score, rows))
    rank = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
    return np.sort(order[rank < k])


def _app_chains(
    a: SystemArrays,
    pm: PathMetrics,
    app: int,
    dem: I64,
    allowed: NDArray[np.bool_],
    budget: float,
    opt: ModelOptions,
) -> tuple[I64, I64, F64, F64]:
    """Candidate chains of one application: (demand row, sites per stage, fixed ms, processing ms)."""
    lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
    access = a.demand_site[dem].astype(np.int64)
    bw = a.demand_access_bandwidth_mbps[dem]
    kb0 = a.stage_request_kb[lo] + a.app_response_kb[app]
    acc = 2.0 * a.demand_access_latency_ms[dem] + kb0 * 8.0 / bw
    rows = np.arange(len(dem), dtype=np.int64)
    sites = np.zeros((len(dem), 0), np.int64)
    fixed = acc.copy()
    proc = np.zeros(len(dem))
    legs = np.zeros(len(dem))
    partial = max(2, math.isqrt(opt.max_chains) + 1)
    for st in range(lo, hi):
        svc = int(a.stage_service[st])
        p0 = a.stage_parent_ptr[st]
        origin = access[rows] if p0 == a.stage_parent_ptr[st + 1] else sites[:, int(a.stage_parents[p0]) - lo]
        near = _nearest_allowed(pm, a.site_tier, np.unique(origin), allowed[svc], budget, opt.max_candidates)
        parts = [near[int(x)] for x in origin]
        counts = np.array([len(p[0]) for p in parts], np.int64)
        nxt = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        la = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
        tx = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        rows = np.repeat(rows, counts)
        sites = np.column_stack([np.repeat(sites, counts, axis=0), nxt.astype(np.int64)])
        legs = np.repeat(legs, counts) + la
        fixed = np.repeat(fixed, counts) + la + a.stage_request_kb[st] * tx
        svc_arr = np.full(len(rows), svc, np.int64)
        proc = np.repeat(proc, counts) + service_time_s(a, svc_arr, sites[:, -1]) * 1e3
        keep = _best_per_row(rows, fixed + proc, partial if st < hi - 1 else len(rows) + 1)
        keep = keep[fixed[keep] <= budget + 1e-9]
        rows, sites, fixed, proc, legs = rows[keep], sites[keep], fixed[keep], proc[keep], legs[keep]
    # the response path is no longer than the legs out (triangle inequality): search that far only
    reach = float(legs.max()) * (1 + 1e-9) + 1e-9 if len(legs) else 0.0
    la, tx = _pair_metrics(pm, sites[:, -1], access[rows], min(budget, reach))
    fixed = fixed + la + a.app_response_kb[app] * tx
    keep = _best_per_row(rows, fixed + proc, opt.max_chains)
    keep = keep[fixed[keep] <= budget + 1e-9]
    return rows[keep], sites[keep], fixed[keep], proc[keep]


def _zero_load_quantile(a: SystemArrays, svc: int, p: float) -> float:
    """p-quantile (s) of one request's service time at a reference core (analyze's gamma model)."""
    t = float(a.service_work_ms[svc]) / 1000.0 / min(1.0, float(a.service_cpu_cores[svc]))
    var = max(float(a.service_work_scv[svc]) * t * t, 1e-30)
    return float(gammaincinv(t * t / var, p) * var / t)


def _queue_budgets(a: SystemArrays, fixed_budget: F64, apps: list[int]) -> tuple[F64, F64]:
    """Per service the queueing budget (s) and the percentile it is held at.

    An application's budget left after its fixed delays, ``slo - fixed_budget``, is split over its
    stages in proportion to each stage's zero-load response quantile; a service in several
    applications gets the least of its shares.
    """
    q_budget = np.full(len(a.service_ids), np.inf)
    q_pct = np.full(len(a.service_ids), 0.5)
    for app in apps:
        slo = float(a.app_slo_latency_ms[app])
        if not math.isfinite(slo):
            continue
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        pct = float(a.app_slo_percentile[app]) / 100.0 if math.isfinite(a.app_slo_percentile[app]) else 0.5
        q0 = np.array([_zero_load_quantile(a, int(a.stage_service[st]), pct) for st in range(lo, hi)])
        share = (slo - float(fixed_budget[app])) / 1000.0 * q0 / q0.sum()
        for st in range(lo, hi):
            svc = int(a.stage_service[st])
            q_budget[svc] = min(q_budget[svc], float(share[st - lo]))
            q_pct[svc] = max(q_pct[svc], pct)
    return q_budget, q_pct


def derived_min_domains(s: Scenario, a: SystemArrays, allowed: NDArray[np.bool_]) -> I64:
    """Failure domains each service needs: 2 when no single domain meets an application's availability SLO.

    The per-stage target is the application's availability target to the power ``1 / n_stages``; a
    domain meets it when the domain's availability times the chance that some allowed site in it is
    up reaches the target.
    """
    site_av, dom_av = site_availability(s, a)
    out = np.ones(len(a.service_ids), np.int64)
    for app in range(len(a.app_ids)):
        target = float(a.app_slo_availability[app])
        if not math.isfinite(target):
            continue
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        per_stage = target ** (1.0 / (hi - lo))
        for st in range(lo, hi):
            svc = int(a.stage_service[st])
            hosts = np.flatnonzero(allowed[svc])
            doms = np.unique(a.site_domain[hosts])
            best = max(
                (dom_av[d] * (1.0 - np.prod(1.0 - site_av[hosts[a.site_domain[hosts] == d]])) for d in doms),
                default=0.0,
            )
            if best < per_stage and len(doms) >= 2:
                out[svc] = 2
    return out


def build_model(s: Scenario, a: SystemArrays, opt: ModelOptions) -> PlacementModel:
    """Candidate chains, queues and their capacity levels for a scenario."""
    allowed = allowed_sites(a)
    pm = PathMetrics(a)
    app_of = a.group_app[a.demand_group]
    dem_all = np.flatnonzero(app_of >= 0).astype(np.int64)
    apps = sorted({int(x) for x in app_of[dem_all]})
    fixed_budget = np.full(len(a.app_ids), np.inf)
    max_st = int(np.diff(a.app_stage_ptr).max()) if len(a.app_ids) else 1
    dem_parts, row_parts, site_parts, fix_parts, proc_parts = [], [], [], [], []
    base = 0
    for app in apps:
        dem = dem_all[app_of[dem_all] == app]
        slo = float(a.app_slo_latency_ms[app])
        limit = opt.fixed_share * slo if math.isfinite(slo) else np.inf
        rows, sites, fixed, proc = _app_chains(a, pm, app, dem, allowed, limit, opt)
        if math.isfinite(slo) and len(rows):  # the nearest chain of the worst-placed point, plus slack
            best = np.full(len(dem), np.inf)
            np.minimum.at(best, rows, fixed)
            fixed_budget[app] = min(limit, float(best.max()) + opt.fixed_slack * slo)
            keep = fixed <= fixed_budget[app] + 1e-9
            rows, sites, fixed, proc = rows[keep], sites[keep], fixed[keep], proc[keep]
        pad = np.full((len(rows), max_st), -1, np.int64)
        pad[:, : sites.shape[1]] = sites
        dem_parts.append(dem)
        row_parts.append(rows + base)
        site_parts.append(pad)
        fix_parts.append(fixed)
        proc_parts.append(proc)
        base += len(dem)
    dem = np.concatenate(dem_parts) if dem_parts else np.zeros(0, np.int64)
    rows = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)
    sites = np.concatenate(site_parts) if site_parts else np.zeros((0, max_st), np.int64)
    fixed = np.concatenate(fix_parts) if fix_parts else np.zeros(0)
    proc = np.concatenate(proc_parts) if proc_parts else np.zeros(0)
    app_d = app_of[dem]
    n_stages = (a.app_stage_ptr[app_d + 1] - a.app_stage_ptr[app_d]).astype(np.int64)
    stage_svc = np.full((len(rows), max_st), -1, np.int64)
    for c in range(max_st):
        st = a.app_stage_ptr[app_d[rows]] + c
        has = c < n_stages[rows]
        stage_svc[has, c] = a.stage_service[st[has]]
    q_budget, q_pct = _queue_budgets(a, fixed_budget, apps)
    min_dom = derived_min_domains(s, a, allowed) if opt.min_domains is None else None
    if min_dom is None:
        min_dom = np.full(len(a.service_ids), int(opt.min_domains or 1), np.int64)
    # queues: every (service, site) used by a chain, plus all allowed sites of services that need more
    n_s = a.n_sites
    keys = (stage_svc * n_s + sites)[sites >= 0]
    used = np.zeros(len(a.service_ids), bool)
    used[np.unique(keys // n_s)] = True
    for svc in range(len(a.service_ids)):
        if not used[svc] or min_dom[svc] > 1 or a.service_min_replicas[svc] > 1:
            keys = np.concatenate([keys, svc * n_s + np.flatnonzero(allowed[svc])])
    qkey = np.unique(keys)
    q_service, q_site = qkey // n_s, qkey % n_s
    chain_queue = np.where(sites >= 0, np.searchsorted(qkey, stage_svc * n_s + sites), -1)
    rate = a.demand_rate_per_s[dem]
    potential = np.zeros(len(qkey))
    for c in range(max_st):
        on = chain_queue[:, c] >= 0
        potential += np.bincount(chain_queue[on, c], weights=rate[rows[on]], minlength=len(qkey))
    # each demand row counts once per queue even when several of its chains pass it
    potential = np.minimum(potential, _row_potential(rows, chain_queue, rate, len(qkey)))
    ptr, cap = _levels(a, opt, q_service, q_site, potential, q_budget, q_pct)
    chain_ptr = np.searchsorted(rows, np.arange(len(dem) + 1)).astype(np.int64)
    return PlacementModel(
        dem=dem,
        rate=rate,
        n_stages=n_stages,
        chain_ptr=chain_ptr,
        chain_queue=chain_queue.astype(np.int64),
        chain_latency=fixed + proc,
        chain_fixed=fixed,
        q_service=q_service.astype(np.int64),
        q_site=q_site.astype(np.int64),
        q_service_s=service_time_s(a, q_service, q_site),
        q_level_ptr=ptr,
        level_cap=cap,
        min_domains=min_dom,
        total_rate=float(rate.sum()),
    )


def _row_potential(rows: I64, chain_queue: I64, rate: F64, n_q: int) -> F64:
    pairs = np.unique(np.column_stack([np.repeat(rows, chain_queue.shape[1]), chain_queue.ravel()]), axis=0)
    pairs = pairs[pairs[:, 1] >= 0]
    return np.bincount(pairs[:, 1], weights=rate[pairs[:, 0]], minlength=n_q).astype(np.float64)


def _levels(
    a: SystemArrays, opt: ModelOptions, svc: I64, site: I64, potential: F64, q_budget: F64, q_pct: F64
) -> tuple[I64, F64]:
    """Capacity levels k = 1..kmax per queue, and the rate each level serves within budget."""
    t = service_time_s(a, svc, site)
    m = servers_per_replica(a, svc)
    fit_cores = np.floor(a.site_cpu_cores[site] / a.service_cpu_cores[svc] + 1e-9)
    useful = np.ceil(potential * t / m / min(opt.rho_max, 0.5)) + 1
    mx = a.service_max_replicas[svc]
    kmax = np.minimum(fit_cores, useful)  # memory is left to its own constraint
    kmax = np.where(mx > 0, np.minimum(kmax, mx), kmax)
    kmax = np.maximum(kmax, np.minimum(a.service_min_replicas[svc], fit_cores))
    kmax = np.maximum(kmax, 1).astype(np.int64)
    ptr = np.zeros(len(svc) + 1, np.int64)
    np.cumsum(kmax, out=ptr[1:])
    q = np.repeat(np.arange(len(svc)), kmax)
    k = np.arange(int(ptr[-1])) - ptr[q] + 1
    cap = level_caps(
        potential[q] + 1e-9,
        k * m[q],
        t[q],
        a.service_work_scv[svc[q]],
        q_pct[svc[q]],
        q_budget[svc[q]],
        opt.rho_max,
    )
    return ptr, cap


@dataclass(frozen=True, eq=False)
class Objective:
    """Objective coefficients: per chain, per queue level, per site (only sites with queues matter)."""

    chain: F64
    level: F64
    site: F64
    latency_chain: F64  # rate-weighted mean latency contribution (ms)
    cost_level: F64  # $/h
    cost_site: F64
    energy_chain: F64  # W
    energy_site: F64
    structural: bool  # cost or energy weighs: closing queues and sites pays


def objective(a: SystemArrays, m: PlacementModel, weights: dict[str, float]) -> Objective:
    """Weighted objective; a tiny cost term breaks ties when cost has no weight."""
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    rate = m.rate[rows]
    lat = rate * m.chain_latency / max(m.total_rate, 1e-300)
    energy = np.zeros(len(rows))
    for c in range(m.chain_queue.shape[1]):
        q = m.chain_queue[:, c]
        on = q >= 0
        j = m.q_site[q[on]]
        busy = rate[on] * m.q_service_s[q[on]] * np.minimum(1.0, a.service_cpu_cores[m.q_service[q[on]]])
        energy[on] += busy / a.site_cpu_cores[j] * (a.site_peak_w[j] - a.site_idle_w[j])
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    k = np.arange(len(lq)) - m.q_level_ptr[lq] + 1
    cost_level = k * a.service_cpu_cores[m.q_service[lq]] * a.site_cost_per_core_hour[m.q_site[lq]]
    cost_site = a.site_cost_fixed_per_hour.copy()
    energy_site = a.site_idle_w.copy()
    wl, wc, we = (float(weights.get(x, 0.0)) for x in ("latency", "cost", "energy"))
    tie = 1e-6 if wc == 0 else 0.0
    return Objective(
        chain=wl * lat + we * energy,
        level=(wc + tie) * cost_level,
        site=(wc + tie) * cost_site + we * energy_site,
        latency_chain=lat,
        cost_level=cost_level,
        cost_site=cost_site,
        energy_chain=energy,
        energy_site=energy_site,
        structural=wc > 0 or we > 0,
    )


def evaluate(m: PlacementModel, obj: Objective, z: F64, kq: I64) -> dict[str, float]:
    """Objective values of a solution: chain shares ``z`` and replicas per queue ``kq``."""
    on = np.flatnonzero(kq > 0)
    lvl = m.q_level_ptr[on] + kq[on] - 1
    sites = np.unique(m.q_site[on])
    return {
        "objective": float(obj.chain @ z + obj.level[lvl].sum() + obj.site[sites].sum()),
        "mean_latency_ms": float(obj.latency_chain @ z),
        "cost_per_hour": float(obj.cost_level[lvl].sum() + obj.cost_site[sites].sum()),
        "energy_w": float(obj.energy_chain @ z + obj.energy_site[sites].sum()),
    }


def queue_load(m: PlacementModel, z: F64) -> F64:
    """Arrival rate (1/s) at each queue under chain shares ``z``."""
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    load = np.zeros(len(m.q_service))
    for c in range(m.chain_queue.shape[1]):
        q = m.chain_queue[:, c]
        on = q >= 0
        load += np.bincount(q[on], weights=m.rate[rows[on]] * z[on], minlength=len(load))
    return load
