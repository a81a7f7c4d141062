"""End-to-end analysis of a scenario under a plan: latency, utilization, availability, SLO verdicts.

Model (assumptions, stated so results can be checked):

- Each (service, site) pair with replicas is one queue: ``servers = replicas * max(1, floor(cpu_cores))``
  FCFS servers, each serving at ``site.cpu_speed * min(1, cpu_cores)`` reference cores. Arrivals are
  the Poisson superposition of the demand routed there (exact for Poisson groups; the mean rate is
  used for other processes). Exponential work gives M/M/c (Erlang C); other work distributions use
  the Allen–Cunneen correction of the mean wait, with a conditionally exponential wait.
- A request crosses: the access link (both ways, with transmission at the access bandwidth), the
  minimum-latency path from the access site to the first stage's site, from each stage's site to the
  next (from its first predecessor; DAG stages are summed, which overestimates parallel branches),
  and from the last stage back to the access site with the response. Transmission is store-and-
  forward: message size over each link's bandwidth.
- Queueing links (``links[].queueing: fifo``), as in the twin (:mod:`edgescale.analysis._link_queues`):
  each request hop (not the response) whose path crosses such links queues at its bottleneck, one FIFO
  server per link direction whose service is the message's transmission there, ``request_kb * 8 /
  bandwidth_mbps`` ms (that transmission stays in the fixed delay: the twin moves it into the queue, the
  sum is the same). A direction is an M/G/1 queue fed by the Poisson superposition of the plan's flows
  whose hop it is the bottleneck of; each flow's messages have one size, so the service time is a mixture
  of constants (M/D/1 for one size). Its wait's mean is Pollaczek-Khinchine's, ``lambda E[S^2] / (2 (1 -
  rho))``, its second moment Takacs' ``2 E[W]^2 + lambda E[S^3] / (3 (1 - rho))``; both join the hop's
  random part (as ``link_queueing`` in the decomposition). A direction at ``rho >= 1`` is reported like an
  unstable station (``link a-b (a -> b)``), with a warning naming the link. Approximations: the input to a
  station is taken as Poisson (a link queue before a service station smooths its arrivals, so the service
  wait is slightly overestimated), and the single-bottleneck reduction (exact for one flow of equal
  messages, Friedman 1965) leaves out the faster queueing links of a path. For one M/D/1 link the gamma
  fit below gives the wait's p95 within 5.5 % of the exact percentile for 0.3 <= rho <= 0.9 (below, it
  underestimates it, by at most 0.25 D, about 40 % of the wait's p95, near rho = 0.1).
- Per demand point (group x access site), the end-to-end latency is its fixed delays plus a gamma
  distribution matched to the mean and variance of the queueing and service times (exact for one
  M/M/1 stage); the application's distribution is the rate-weighted mixture over its demand points.
- Content caches (a ``content`` catalogue, sites with ``cache_gb``, applications with ``content_share``; as the
  twin, :mod:`edgescale.analysis._caching_paths`): per caching site the hit ratio ``h`` under the independent
  reference model, Che's approximation for ``lru`` and the summed popularity of its items for ``static`` (the
  ``caches`` entry of the results: the twin's ``expected_hit_ratio``). A content request looks the cache up when
  it leaves the first stage placed at a caching site; a hit returns from there (path and access link). Per
  demand point the latency is then a mixture: with probability ``content_share * h`` (per stage and caching
  site, the sites of earlier stages taken as independent) the route up to and including that stage plus the
  response from its site, otherwise the full route. The arrival rates of the later stages (queues and
  queueing links) are thinned to the misses and the other requests: the misses of a Poisson stream under IRM
  are a Poisson stream. Approximations: an LRU cache's misses are not exactly a Poisson stream (a hit depends
  on the recent requests), and Che's ``h`` itself is approximate (well under 1 % for Zipf catalogues of a
  thousand items, Fricker, Robert and Roberts 2012). Exact for the hit ratio of a static cache.
- Capacity plan (:mod:`edgescale.analysis._capacity_plan`): per queue, the fewest M/M/c servers that meet an
  even share over the stages of what the SLO leaves the stations after the fixed delays and link queueing waits.
- Availability: a stage is up when some site hosting its service is up (failover to any replica
  host); sites fail independently by their failure classes, and together by region or failure
  domain; the access site and the links of the access path must be up.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammainc

from edgescale.analysis._caching_paths import CacheSites, StageHits, cache_sites, stage_hits
from edgescale.analysis._capacity_plan import RouteDelays, capacity_plan
from edgescale.analysis._capacity_plan import _min_servers_vec as _min_servers_vec  # tests invert M/M/c here
from edgescale.analysis._link_queues import (
    DirectionLoads,
    QueueingLinks,
    busiest,
    direction_waits,
    queueing_links,
)
from edgescale.analysis._paths import PathMetrics
from edgescale.analysis.availability import service_availability, site_availability
from edgescale.analysis.queueing import erlang_c_many
from edgescale.errors import Issue
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_sha256
from edgescale.model.plan import Plan, PlanArrays, check_plan_matches, plan_sha256, plan_to_arrays
from edgescale.model.schema import TIERS, Scenario

__all__ = ["AnalysisResult", "AppAnalysis", "analyze_scenario"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class QueueTable:
    """Per (service, site) queue: load, servers and the moments of its wait and service times (s)."""

    service: I64
    site: I64
    rate_per_s: F64
    servers: I64
    service_s: F64
    service_var_s2: F64
    utilization: F64
    prob_wait: F64
    wait_mean_s: F64
    wait_var_s2: F64
    stable: NDArray[np.bool_]


@dataclass
class AppAnalysis:
    """One application's results (times in ms)."""

    application: str
    rate_per_s: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    slo_percentile: float | None
    slo_latency_ms: float | None
    latency_at_slo_percentile_ms: float | None
    latency_margin_ms: float | None
    meets_latency_slo: bool | None
    availability: float
    slo_availability: float | None
    meets_availability_slo: bool | None
    decomposition_ms: dict[str, float]
    by_tier_ms: dict[str, float]
    unstable_stations: list[str] = field(default_factory=list)
    cdf: dict[str, list[float]] | None = None
    """``{"q": [0.01 ... 0.99], "latency_ms": [...]}``: the approximate distribution (as in simulation results);
    ``None`` when a station is unstable."""


@dataclass
class AnalysisResult:
    """Everything ``edgescale analyze`` reports; :meth:`to_dict` is the results-file form."""

    scenario: str
    scenario_sha256: str
    plan: str
    plan_sha256: str
    applications: list[AppAnalysis]
    sites: dict[str, Any]
    bottlenecks: list[dict[str, Any]]
    capacity_plan: list[dict[str, Any]]
    warnings: list[Issue]
    verdict: str
    forecasts: list[dict[str, Any]] = field(default_factory=list)
    caches: dict[str, Any] | None = None
    """``None`` unless the scenario caches (see :mod:`edgescale.analysis._caching_paths`): ``policy``,
    ``catalogue_items``, ``reference`` (``che`` | ``exact``), ``sites[]`` {``site``, ``capacity_items``,
    ``expected_hit_ratio``}: the numbers ``simulate`` reports as ``expected_hit_ratio``."""
    links: list[dict[str, Any]] | None = None
    """``None`` unless a link has ``queueing: fifo``; then per link direction (the :data:`~edgescale.analysis._link_queues.TOP_LINKS` busiest, in
    the scenario's order): ``link``, ``from``, ``to``, ``utilization``, ``visits_per_s``, ``mean_wait_ms``,
    ``mean_sojourn_ms`` (wait plus transmission; ``None`` without visits), ``stable``."""

    def to_frames(self) -> dict[str, Any]:
        """The tables as pandas DataFrames: ``applications``, ``bottlenecks``, ``capacity_plan``, ``links``.

        Needs pandas (``pip install 'edgescale[data]'``).
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ImportError("to_frames needs pandas: pip install 'edgescale[data]'") from e
        d = self.to_dict()
        apps = pd.json_normalize(d["applications"])
        return {
            "applications": apps,
            "bottlenecks": pd.DataFrame(d["bottlenecks"]),
            "capacity_plan": pd.DataFrame(d["capacity_plan"]),
            "links": pd.DataFrame(d["links"] or []),
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = [w.to_dict() for w in self.warnings]
        clean: dict[str, Any] = _finite(d)
        return clean


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _queues(
    a: SystemArrays, pa: PlanArrays, entry_scale: F64 | None = None
) -> tuple[QueueTable, dict[tuple[int, int], int]]:
    """The queue table; *entry_scale* thins each route entry's rate (the requests a cache answers before it)."""
    rate = np.zeros((len(a.service_ids), a.n_sites))
    flow = a.demand_rate_per_s[pa.route_demand] * pa.route_fraction
    if entry_scale is not None:
        flow = flow * entry_scale
    np.add.at(rate, (pa.route_service, pa.route_site), flow)
    svc, site = np.nonzero((pa.replicas > 0) & (rate > 0))
    lam = rate[svc, site]
    cores = a.service_cpu_cores[svc]
    servers = (pa.replicas[svc, site] * np.maximum(1, np.floor(cores))).astype(np.int64)
    speed = a.site_cpu_speed[site] * np.minimum(1.0, cores)
    s = a.service_work_ms[svc] / 1000.0 / speed
    scv = a.service_work_scv[svc]
    util = lam * s / servers
    stable = util < 1.0
    pw = np.ones(len(svc))
    wm = np.full(len(svc), np.inf)
    wv = np.full(len(svc), np.inf)
    ok = np.flatnonzero(stable)
    C = erlang_c_many(servers[ok], lam[ok] * s[ok])
    theta = servers[ok] / s[ok] - lam[ok]
    mean = C / theta * (1.0 + scv[ok]) / 2.0  # Allen–Cunneen factor (c_a^2 = 1): 1 for M/M/c
    pw[ok] = C
    wm[ok] = mean
    with np.errstate(divide="ignore", invalid="ignore"):
        wv[ok] = np.where(C > 0, 2.0 * mean * mean / C, 0.0) - mean * mean
    table = QueueTable(svc, site, lam, servers, s, scv * s * s, util, pw, wm, wv, stable)
    index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(svc, site, strict=True))}
    return table, index


def _join(left: I64, right: I64) -> tuple[I64, I64]:
    """All index pairs (i, j) with left[i] == right[j]."""
    order = np.argsort(right, kind="stable")
    rs = right[order]
    lo = np.searchsorted(rs, left, "left")
    hi = np.searchsorted(rs, left, "right")
    counts = hi - lo
    li = np.repeat(np.arange(len(left)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return li, order[np.repeat(lo, counts) + offs]


def _gamma_mixture(weight: F64, shift: F64, mean: F64, var: F64) -> tuple[F64, NDArray[np.bool_], F64, F64]:
    """Normalised weights, which components are gammas (not point masses), their shapes and scales."""
    w = weight / weight.sum()
    rnd = np.maximum(mean - shift, 0.0)
    pos = (var > 1e-18) & (rnd > 0)
    shape = np.where(pos, rnd**2 / np.where(pos, var, 1.0), 1.0)
    scale = np.where(pos, var / np.where(rnd > 0, rnd, 1.0), 1.0)
    return w, pos, shape, scale


def _mixture_quantile(p: float, weight: F64, shift: F64, mean: F64, var: F64) -> float:
    """Quantile of a weighted mixture of shifted gammas (point masses where the variance is 0)."""
    if not len(weight) or not np.all(np.isfinite(mean)):
        return math.inf
    w, pos, shape, scale = _gamma_mixture(weight, shift, mean, var)

    def cdf(t: float) -> float:
        g = gammainc(shape, np.maximum(t - shift, 0.0) / scale)
        return float(np.sum(w * np.where(pos, g, (t >= mean).astype(float))))

    lo = float(shift.min())
    hi = float((mean + 12.0 * np.sqrt(np.maximum(var, 0.0))).max()) + 1e-9
    while cdf(hi) < p:
        hi *= 2.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-9 * max(1.0, hi):
            break
    return hi


CDF_Q = np.round(np.arange(1, 100) / 100.0, 2)
"""Probabilities at which the latency distribution is reported (the same grid as simulation results)."""


def _mixture_cdf(q: F64, weight: F64, shift: F64, mean: F64, var: F64, n_grid: int = 400) -> F64:
    """Quantiles at probabilities *q* of the mixture in :func:`_mixture_quantile`, all at once.

    The mixture's CDF is evaluated on a grid between the smallest shift and the largest requested quantile,
    then inverted by linear interpolation; the end points are exact.
    """
    if not len(weight) or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(var)):
        return np.full(len(q), math.inf)
    w, pos, shape, scale = _gamma_mixture(weight, shift, mean, var)
    lo = float(shift.min())
    hi = _mixture_quantile(float(q.max()), weight, shift, mean, var)
    t = np.linspace(lo, hi, n_grid)
    x = np.maximum(t[:, None] - shift[None, :], 0.0) / scale[None, :]
    g = np.where(pos[None, :], gammainc(shape[None, :], x), (t[:, None] >= mean[None, :]).astype(float))
    cdf = np.maximum.accumulate(g @ w)
    # invert: the first grid point whose CDF reaches q, interpolated within its cell
    k = np.clip(np.searchsorted(cdf, q, side="left"), 1, n_grid - 1)
    c0, c1 = cdf[k - 1], cdf[k]
    frac = np.where(c1 > c0, (q - c0) / np.where(c1 > c0, c1 - c0, 1.0), 1.0)
    out: F64 = t[k - 1] + np.clip(frac, 0.0, 1.0) * (t[k] - t[k - 1])
    out[-1] = hi
    return out


def _merge_components(weight: F64, shift: F64, mean: F64, var: F64, max_components: int = 256) -> tuple[F64, ...]:
    """Merge mixture components whose parameters agree within about 0.5 % (for plotting-grade CDFs)."""
    if len(weight) <= max_components:
        return weight, shift, mean, var
    key = np.column_stack([np.round(np.log1p(np.maximum(x, 0.0)) * 200.0) for x in (shift, mean, var)])
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    w: F64 = np.bincount(inv, weights=weight).astype(np.float64)
    safe = np.where(w > 0, w, 1.0)
    merged = [np.bincount(inv, weights=weight * x).astype(np.float64) / safe for x in (shift, mean, var)]
    return w, merged[0], merged[1], merged[2]


def _cdf_dict(weight: F64, shift: F64, mean: F64, var: F64) -> dict[str, list[float]] | None:
    if not len(weight) or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(var)):
        return None
    weight, shift, mean, var = _merge_components(weight, shift, mean, var)
    lat = _mixture_cdf(CDF_Q, weight, shift, mean, var)
    if not np.all(np.isfinite(lat)):
        return None
    return {"q": CDF_Q.tolist(), "latency_ms": lat.tolist()}


def _stage_entries(pa: PlanArrays, dem: I64, service: int) -> I64:
    return np.flatnonzero((pa.route_service == service) & np.isin(pa.route_demand, dem))


@dataclass
class _Hop:
    """The request hops into one stage of an application: one per (demand point, parent site, site) combination."""

    stage: int
    target: I64  # the stage's site
    demand: I64  # the demand point
    weight: F64  # the share of the demand point's requests taking this hop
    lat_ms: F64  # the path's propagation (inf: no path)
    tx_ms_per_kb: F64  # the path's transmission (all its links)
    direction: I64  # the link direction it queues at (-1: none)
    link_work_s: F64  # the transmission there (the queue's service time)


def _app_hops(
    app: int, a: SystemArrays, pa: PlanArrays, paths: PathMetrics, links: QueueingLinks | None
) -> tuple[I64, list[_Hop], I64]:
    """An application's demand points, its request hops (stage by stage) and its last stage's route entries."""
    dem = np.flatnonzero(a.group_app[a.demand_group] == app).astype(np.int64)
    lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
    ent_by_stage: dict[int, I64] = {}
    hops: list[_Hop] = []
    for st in range(lo, hi):
        ent = _stage_entries(pa, dem, int(a.stage_service[st]))
        ent_by_stage[st] = ent
        p0, p1 = a.stage_parent_ptr[st], a.stage_parent_ptr[st + 1]
        if p0 == p1:  # entry stage: from the access site
            origin = a.demand_site[pa.route_demand[ent]].astype(np.int64)
            f_parent = np.ones(len(ent))
            ej = np.arange(len(ent))
        else:
            parent = ent_by_stage[int(a.stage_parents[p0])]
            pi, ej = _join(pa.route_demand[parent], pa.route_demand[ent])
            origin = pa.route_site[parent][pi].astype(np.int64)
            f_parent = pa.route_fraction[parent][pi]
        target = pa.route_site[ent][ej].astype(np.int64)
        kb = float(a.stage_request_kb[st])
        if links is None:
            lat, tx, _ = paths.pairs(origin, target)
            direction, work_s = np.full(len(target), -1, np.int64), np.zeros(len(target))
        else:  # as the twin: the bottleneck queueing link's transmission is its queue's service time
            lat, tx, direction, q_tx = links.hop_queues(paths, origin, target)
            work_s = kb * q_tx / 1000.0
        d, w = pa.route_demand[ent][ej], f_parent * pa.route_fraction[ent][ej]
        hops.append(_Hop(st, target, d, w, lat, tx, direction, work_s))
    return dem, hops, ent_by_stage[hi - 1]


def _link_waits(
    a: SystemArrays, links: QueueingLinks, hops: list[_Hop], reach: list[F64 | float]
) -> tuple[DirectionLoads, F64, F64, F64]:
    """Loads, utilization, mean wait (ms) and wait variance (ms^2) of every link direction under all the hops.

    *reach*, per hop, thins its rate to the requests that get there (those a cache did not answer before).
    """
    loads = DirectionLoads.zeros(links.n_directions)
    for h, r in zip(hops, reach, strict=True):
        loads.add(h.direction, a.demand_rate_per_s[h.demand] * h.weight * r, h.link_work_s)
    rho, wait_s, var_s2 = direction_waits(loads)
    return loads, rho, wait_s * 1000.0, var_s2 * 1e6


@dataclass(frozen=True)
class _LinkState:
    """What an application's analysis needs of the link directions."""

    wait_ms: F64
    var_ms2: F64
    names: list[tuple[str, str, str]]


def _sum_by(d: I64, w: F64, n_d: int) -> F64:
    """Per demand point, the sum of *w* over the entries of *d*."""
    out: F64 = np.bincount(d, weights=w, minlength=n_d).astype(np.float64, copy=False)
    return out


@dataclass
class _Terms:
    """What a stage's hops add to each demand point's latency: moments, fixed delays, decomposition, tiers (ms)."""

    mean: F64
    var: F64
    fixed: F64
    parts: dict[str, F64]
    by_tier: dict[str, F64]
    link_var: F64  # the variance of the link queueing wait (its mean is parts["link_queueing"]; 0 without)


def _hop_terms(
    h: _Hop,
    w: F64,
    a: SystemArrays,
    q: QueueTable,
    qindex: dict[tuple[int, int], int],
    link_state: _LinkState | None,
    n_d: int,
    unstable: set[str] | None,
) -> _Terms:
    """The terms of the hops *h* into one stage, weighted by *w* (per hop: the share of its demand point)."""
    st = h.stage
    svc = int(a.stage_service[st])
    target, d, lat, tx = h.target, h.demand, h.lat_ms, h.tx_ms_per_kb
    kb = a.stage_request_kb[st]
    qk = np.array([qindex.get((svc, int(t)), -1) for t in target], dtype=np.int64)
    missing = qk < 0
    qk = np.where(missing, 0, qk)
    wait_m = np.where(missing, np.inf, q.wait_mean_s[qk] * 1000.0)
    serv_m = np.where(missing, np.inf, q.service_s[qk] * 1000.0)
    rnd_var = np.where(missing, np.inf, (q.wait_var_s2[qk] + q.service_var_s2[qk]) * 1e6)
    fix = lat + kb * tx
    if unstable is not None:
        for k in np.flatnonzero(~q.stable[qk] & ~missing):
            unstable.add(f"{a.service_ids[svc]}@{a.site_ids[int(target[k])]}")
    x_mean = fix + wait_m + serv_m
    parts: dict[str, F64] = {}
    link_var = np.zeros(n_d)
    if link_state is not None:  # the wait for the bottleneck link (its transmission is in fix already)
        on = h.direction >= 0
        dirs = np.maximum(h.direction, 0)
        link_m = np.where(on, link_state.wait_ms[dirs], 0.0)
        rnd_var = rnd_var + np.where(on, link_state.var_ms2[dirs], 0.0)
        x_mean = x_mean + link_m
        if unstable is not None:
            for k in np.unique(h.direction[on & ~np.isfinite(link_m)]).tolist():
                name, src, dst = link_state.names[k]
                unstable.add(f"link {name} ({src} -> {dst})")
        parts["link_queueing"] = _sum_by(d, w * link_m, n_d)
        link_v = np.where(on, link_state.var_ms2[dirs], 0.0)
        with np.errstate(invalid="ignore"):  # the wait's variance over the hops of each demand point
            l2 = _sum_by(d, w * (link_v + link_m**2), n_d) - parts["link_queueing"] ** 2
        link_var = np.where(np.isfinite(parts["link_queueing"]), np.maximum(l2, 0.0), np.inf)
    with np.errstate(invalid="ignore"):
        e1 = _sum_by(d, w * x_mean, n_d)
        e2 = _sum_by(d, w * (rnd_var + x_mean**2), n_d)
        spread = np.where(np.isfinite(e1), np.maximum(e2 - e1**2, 0.0), np.inf)
    parts["propagation"] = _sum_by(d, w * lat, n_d)
    parts["transmission"] = _sum_by(d, w * kb * tx, n_d)
    parts["queueing"] = _sum_by(d, w * wait_m, n_d)
    parts["processing"] = _sum_by(d, w * serv_m, n_d)
    by_tier: dict[str, F64] = {}
    tier_of = a.site_tier[target]
    for ti, t in enumerate(TIERS):
        sel = tier_of == ti
        if sel.any():
            by_tier[t] = _sum_by(d[sel], (w * (wait_m + serv_m))[sel], n_d)
    return _Terms(e1, spread, _sum_by(d, w * fix, n_d), parts, by_tier, link_var)


@dataclass
class _Component:
    """One component of a demand point's latency mixture: its probability, moments, fixed delays and parts."""

    weight: F64
    mean: F64
    var: F64
    fixed: F64
    parts: dict[str, F64]
    by_tier: dict[str, F64]


def _hit_component(
    h: _Hop,
    hit: F64,
    a: SystemArrays,
    q: QueueTable,
    qindex: dict[tuple[int, int], int],
    paths: PathMetrics,
    link_state: _LinkState | None,
    n_d: int,
    resp_kb: float,
    before: _Component,
) -> _Component:
    """The requests answered by the caches at the stage of hops *h*: the route before it (*before*), this
    stage at the caching sites (weighted by *hit*, the hop's hit probabilities), then the response from there
    back to the access site (the access link is in *before*)."""
    d = h.demand
    norm = _sum_by(d, hit, n_d)
    wn = hit / np.where(norm[d] > 0, norm[d], 1.0)
    t = _hop_terms(h, wn, a, q, qindex, link_state, n_d, None)
    lat, tx, _ = paths.pairs(h.target, a.demand_site[d].astype(np.int64))
    back = _sum_by(d, wn * (lat + resp_kb * tx), n_d)
    parts = {k: v + t.parts.get(k, 0.0) for k, v in before.parts.items()}
    parts["propagation"] = parts["propagation"] + _sum_by(d, wn * lat, n_d)
    parts["transmission"] = parts["transmission"] + _sum_by(d, wn * resp_kb * tx, n_d)
    by_tier = {k: v + t.by_tier.get(k, 0.0) for k, v in before.by_tier.items()}
    return _Component(norm, before.mean + t.mean + back, before.var + t.var, before.fixed + t.fixed + back,
                      parts, by_tier)  # fmt: skip


def _mixed(comps: list[_Component], values: list[F64]) -> F64:
    """Per demand point, the mean of *values* (one array per component) under the components' weights."""
    out = np.zeros(len(comps[0].weight))
    for c, x in zip(comps, values, strict=True):
        out = out + np.where(c.weight > 0, c.weight * x, 0.0)
    return out


def _analyze_app(
    app: int,
    a: SystemArrays,
    pa: PlanArrays,
    q: QueueTable,
    qindex: dict[tuple[int, int], int],
    paths: PathMetrics,
    site_av: F64,
    dom_av: F64,
    svc_av: F64,
    hops_of_app: tuple[I64, list[_Hop], I64],
    link_state: _LinkState | None,
    hits: StageHits | None = None,
) -> tuple[AppAnalysis, RouteDelays]:
    dem, hops, last = hops_of_app
    n_d = len(a.demand_group)
    lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
    mean = np.zeros(n_d)
    var = np.zeros(n_d)
    fixed = np.zeros(n_d)
    link_var = np.zeros(n_d)
    keys: tuple[str, ...] = ("access", "propagation", "transmission", "queueing", "processing")
    if link_state is not None:
        keys += ("link_queueing",)
    parts = {k: np.zeros(n_d) for k in keys}
    by_tier = {t: np.zeros(n_d) for t in TIERS}
    unstable: set[str] = set()
    # access link: both ways, transmission of the first request and of the response at the access bandwidth
    bw = a.demand_access_bandwidth_mbps
    first_kb = a.stage_request_kb[lo]
    resp_kb = a.app_response_kb[app]
    access = 2.0 * a.demand_access_latency_ms + (first_kb + resp_kb) * 8.0 / bw
    parts["access"][dem] = access[dem]
    fixed[dem] = access[dem]
    mean[dem] = access[dem]
    hit_comps: list[_Component] = []
    for k_hop, h in enumerate(hops):
        # a hit here: the route so far, this stage at its caching sites, then back from there
        if hits is not None and np.any(hits.hit[k_hop] > 0):
            hit_comps.append(_hit_component(
                h, hits.hit[k_hop], a, q, qindex, paths, link_state, n_d, resp_kb,
                _Component(np.zeros(n_d), mean, var, fixed, parts, by_tier)))  # fmt: skip
        t = _hop_terms(h, h.weight, a, q, qindex, link_state, n_d, unstable)
        mean += t.mean
        var += t.var
        fixed += t.fixed
        link_var += t.link_var
        for k_part, v_part in t.parts.items():
            parts[k_part] += v_part
        for tier, v_tier in t.by_tier.items():
            by_tier[tier] += v_tier
    # the response from the last stage back to the access site (a pure delay: responses never queue)
    origin = pa.route_site[last].astype(np.int64)
    target = a.demand_site[pa.route_demand[last]].astype(np.int64)
    lat, tx, logav = paths.pairs(origin, target)
    d = pa.route_demand[last]
    w = pa.route_fraction[last]
    back = lat + resp_kb * tx
    mean += np.bincount(d, weights=w * back, minlength=n_d)
    fixed += np.bincount(d, weights=w * back, minlength=n_d)
    parts["propagation"] += np.bincount(d, weights=w * lat, minlength=n_d)
    parts["transmission"] += np.bincount(d, weights=w * resp_kb * tx, minlength=n_d)
    path_av = np.bincount(d, weights=w * np.exp(logav), minlength=n_d)
    # availability per demand point
    acc = a.demand_site[dem]
    stage_av = float(np.prod([svc_av[int(a.stage_service[st])] for st in range(lo, hi)]))
    av_d = site_av[acc] * dom_av[a.site_domain[acc]] * path_av[dem] * stage_av
    rate = a.demand_rate_per_s[dem]
    total = float(rate.sum())
    wts = rate / total if total > 0 else np.full(len(dem), 1.0 / max(len(dem), 1))
    m, v, f = mean[dem], var[dem], fixed[dem]
    route = RouteDelays(f) if link_state is None else RouteDelays(f, parts["link_queueing"][dem], link_var[dem])
    mix = (wts, f, m, v)
    app_mean = m
    if hit_comps:  # per demand point: the misses (and other requests) on the full route, the hits per stage
        p_miss = 1.0 - np.sum([c.weight for c in hit_comps], axis=0)
        miss = _Component(p_miss, mean, var, fixed, parts, by_tier)
        comps = [miss, *hit_comps]
        cw = np.concatenate([wts * c.weight[dem] for c in comps])
        on = cw > 0
        cat = [np.concatenate([getattr(c, k)[dem] for c in comps]) for k in ("fixed", "mean", "var")]
        mix = (cw[on], cat[0][on], cat[1][on], cat[2][on])
        app_mean = _mixed(comps, [c.mean for c in comps])[dem]
        parts = {k: _mixed(comps, [c.parts[k] for c in comps]) for k in parts}
        by_tier = {k: _mixed(comps, [c.by_tier[k] for c in comps]) for k in by_tier}
    slo_p = float(a.app_slo_percentile[app])
    slo_l = float(a.app_slo_latency_ms[app])
    quant = {p: _mixture_quantile(p / 100.0, *mix) for p in (50.0, 95.0, 99.0)}
    at_slo = _mixture_quantile(slo_p / 100.0, *mix) if math.isfinite(slo_p) else None
    meets_l = None if not math.isfinite(slo_l) or at_slo is None else bool(at_slo <= slo_l)
    availability = float(np.sum(wts * av_d))
    slo_a = float(a.app_slo_availability[app])
    result = AppAnalysis(
        application=a.app_ids[app],
        rate_per_s=total,
        mean_ms=float(np.sum(wts * app_mean)),
        p50_ms=quant[50.0],
        p95_ms=quant[95.0],
        p99_ms=quant[99.0],
        slo_percentile=slo_p if math.isfinite(slo_p) else None,
        slo_latency_ms=slo_l if math.isfinite(slo_l) else None,
        latency_at_slo_percentile_ms=at_slo,
        latency_margin_ms=(slo_l - at_slo) if meets_l is not None and at_slo is not None else None,
        meets_latency_slo=meets_l,
        availability=availability,
        slo_availability=slo_a if math.isfinite(slo_a) else None,
        meets_availability_slo=bool(availability >= slo_a) if math.isfinite(slo_a) else None,
        decomposition_ms={k: float(np.sum(wts * v_[dem])) for k, v_ in parts.items()},
        by_tier_ms={t: float(np.sum(wts * v_[dem])) for t, v_ in by_tier.items() if np.any(v_[dem])},
        unstable_stations=sorted(unstable),
        cdf=_cdf_dict(*mix),
    )
    return result, route


def analyze_scenario(
    scenario: Scenario, *, plan: Plan | None = None, arrays: SystemArrays | None = None
) -> AnalysisResult:
    """Analyse a scenario under a plan (the default plan when none is given).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    plan : Plan, optional
        A plan made for this scenario; rejected when made for another one.
    arrays : SystemArrays, optional
        The compiled scenario, if already at hand.

    Returns
    -------
    AnalysisResult
        Per application latency (mean, p50/p95/p99, at the SLO percentile) and its decomposition,
        availability and SLO verdicts; per-site utilization and the bottlenecks; a capacity plan.
    """
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    warnings: list[Issue] = []
    if plan is None:
        plan, warnings = default_plan(scenario, a)
    else:
        check_plan_matches(plan, scenario, source="plan")
    pa = plan_to_arrays(plan, a, source="plan")
    paths = PathMetrics(a)
    site_av, dom_av = site_availability(scenario, a)
    svc_av = service_availability(a, pa.replicas, site_av, dom_av)
    apps: list[AppAnalysis] = []
    app_index: list[int] = []
    routes: list[RouteDelays] = []
    qlinks = queueing_links(scenario, a)
    hops = {
        app: _app_hops(app, a, pa, paths, qlinks)
        for app in range(len(a.app_ids))
        if np.any(a.group_app[a.demand_group] == app)
    }
    caches = cache_sites(scenario, a, plan)
    hits = _app_hits(caches, a, pa, hops) if caches is not None else {}
    q, qindex = _queues(a, pa, _entry_scale(a, pa, hops, hits) if hits else None)
    link_state: _LinkState | None = None
    links_out: list[dict[str, Any]] | None = None
    if qlinks is not None:
        every = [(app, h) for app, x in hops.items() for h in x[1]]
        reach = [hits[app].reach[h.stage - int(a.app_stage_ptr[app])][h.demand] if app in hits else 1.0
                 for app, h in every]  # fmt: skip
        loads, rho, wait_ms, var_ms2 = _link_waits(a, qlinks, [h for _, h in every], reach)
        link_state = _LinkState(wait_ms, var_ms2, qlinks.direction_names(a))
        links_out = _link_rows(link_state, loads, rho)
        warnings += _link_warnings(scenario, link_state, rho)
    for app, hops_of_app in hops.items():
        res, route = _analyze_app(
            app, a, pa, q, qindex, paths, site_av, dom_av, svc_av, hops_of_app, link_state, hits.get(app)
        )
        routes.append(route)
        apps.append(res)
        app_index.append(app)
    busy = np.zeros(a.n_sites)
    np.add.at(busy, q.site, q.rate_per_s * q.service_s * np.minimum(1.0, a.service_cpu_cores[q.service]))
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(a.site_cpu_cores > 0, busy / a.site_cpu_cores, 0.0)
    order = np.argsort(-q.utilization, kind="stable")[:10]
    bottlenecks = [
        {
            "service": a.service_ids[int(q.service[k])],
            "site": a.site_ids[int(q.site[k])],
            "utilization": float(q.utilization[k]),
            "servers": int(q.servers[k]),
            "rate_per_s": float(q.rate_per_s[k]),
            "stable": bool(q.stable[k]),
        }
        for k in order
    ]
    used = np.flatnonzero(busy > 0)
    sites = {
        "utilization": {a.site_ids[i]: float(util[i]) for i in used[np.argsort(-util[used])][:50]},
        "max_utilization": float(util.max()) if a.n_sites else 0.0,
        "mean_utilization_used": float(util[used].mean()) if len(used) else 0.0,
        "sites_used": len(used),
        "busy_cores_by_tier": {t: float(busy[a.site_tier == i].sum()) for i, t in enumerate(TIERS)},
    }
    cap = capacity_plan(a, q, apps, routes, app_index)
    forecasts = _trace_forecasts(scenario, warnings)
    return AnalysisResult(
        scenario=scenario.name,
        scenario_sha256=scenario_sha256(scenario),
        plan=plan.created_by,
        plan_sha256=plan_sha256(plan),
        applications=apps,
        sites=sites,
        bottlenecks=bottlenecks,
        capacity_plan=cap,
        warnings=warnings,
        verdict=_verdict(apps, bottlenecks, links_out),
        forecasts=forecasts,
        links=links_out,
        caches=caches.to_dict(a) if caches is not None else None,
    )


def _app_hits(
    cs: CacheSites, a: SystemArrays, pa: PlanArrays, hops: dict[int, tuple[I64, list[_Hop], I64]]
) -> dict[int, StageHits]:
    """Per caching application (``content_share > 0``), who reaches each stage and the hits there."""
    n_d = len(a.demand_group)
    return {app: stage_hits(cs, float(cs.app_share[app]), n_d, [(h.target, h.demand, h.weight) for h in x[1]])
            for app, x in hops.items() if cs.app_share[app] > 0}  # fmt: skip


def _entry_scale(
    a: SystemArrays, pa: PlanArrays, hops: dict[int, tuple[I64, list[_Hop], I64]], hits: dict[int, StageHits]
) -> F64:
    """Per route entry, the share of its demand point's requests that get to it (the rest hit a cache before)."""
    scale = np.ones(len(pa.route_demand))
    for app, sh in hits.items():
        dem = hops[app][0]
        lo = int(a.app_stage_ptr[app])
        for k in range(len(sh.reach) - 1, -1, -1):  # backwards: a service on two stages keeps its first
            ent = _stage_entries(pa, dem, int(a.stage_service[lo + k]))
            scale[ent] = sh.reach[k][pa.route_demand[ent]]
    return scale


def _link_rows(state: _LinkState, loads: DirectionLoads, rho: F64) -> list[dict[str, Any]]:
    """Per link direction (the :data:`~edgescale.analysis._link_queues.TOP_LINKS` busiest, in the scenario's order), the M/G/1 figures."""
    rows: list[dict[str, Any]] = []
    for k, (name, src, dst) in enumerate(state.names):
        lam = float(loads.rate_per_s[k])
        visits = lam > 0
        service_ms = 1000.0 * float(loads.work_s1[k]) / lam if visits else 0.0
        rows.append({"link": name, "from": src, "to": dst, "utilization": float(rho[k]), "visits_per_s": lam,
                     "mean_wait_ms": float(state.wait_ms[k]) if visits else None,
                     "mean_sojourn_ms": float(state.wait_ms[k]) + service_ms if visits else None,
                     "stable": bool(rho[k] < 1.0)})  # fmt: skip
    return [rows[i] for i in busiest(rho)]


def _link_warnings(scenario: Scenario, state: _LinkState, rho: F64) -> list[Issue]:
    """A warning per overloaded link direction (utilization >= 1), naming the link as the scenario lists it."""
    out: list[Issue] = []
    for k in np.flatnonzero(rho >= 1.0).tolist():
        _, src, dst = state.names[k]
        ends = {src, dst}
        i = next(j for j, x in enumerate(scenario.links) if {x.src, x.dst} == ends)
        out.append(
            Issue(
                f"links[{i}]",
                f"overloaded in the direction {src} -> {dst}: the requests routed over it need more than its "
                "bandwidth (utilization >= 1); latencies through it are null",
                round(float(rho[k]), 4),
                "raise bandwidth_mbps, send less data (request_kb), or route less traffic over it",
                severity="warning",
            )
        )
    return out


def _trace_forecasts(scenario: Scenario, warnings: list[Issue]) -> list[dict[str, Any]]:
    """Holt–Winters forecast of each trace-driven group's rate over one trace span (needs statsmodels)."""
    out: list[dict[str, Any]] = []
    groups = [g for g in scenario.device_groups if g.arrival is not None and g.arrival.process == "trace"]
    if not groups:
        return out
    try:
        import statsmodels  # noqa: F401  (forecast_rate imports it on first use)
    except ImportError:
        warnings.append(
            Issue(
                "device_groups",
                f"no forecast of the trace-driven groups ({', '.join(g.id for g in groups)}): it needs statsmodels",
                None,
                "pip install 'edgescale[forecast]'",
                severity="warning",
                has_value=False,
            )
        )
        return out
    from edgescale.analysis.forecast import forecast_rate
    from edgescale.model.traces import read_trace

    for g in groups:
        times = read_trace(scenario.base_dir / g.arrival.file, f"device_groups[{g.id}].arrival.file")  # type: ignore[union-attr]
        span = float(times[-1] - times[0]) if len(times) > 1 else 0.0
        bin_s = max(span / 48.0, 1e-3)
        try:
            f = forecast_rate(times, bin_s=bin_s, horizon_s=span)
        except Exception as e:  # a forecast failure is a warning, not a failed analysis
            warnings.append(
                Issue(
                    f"device_groups[{g.id}]", f"no forecast: {e}", None, has_value=False, severity="warning"
                )
            )
            continue
        out.append(
            {
                "group": g.id,
                "method": f.method,
                "bin_s": bin_s,
                "history_mean_rate_per_s": float(f.history_rate_per_s.mean()),
                "forecast_mean_rate_per_s": float(f.forecast_rate_per_s.mean()),
                "forecast_peak_rate_per_s": f.peak_rate_per_s,
            }
        )
    return out


def _verdict(
    apps: list[AppAnalysis], bottlenecks: list[dict[str, Any]], links: list[dict[str, Any]] | None = None
) -> str:
    with_slo = [x for x in apps if x.meets_latency_slo is not None or x.meets_availability_slo is not None]
    ok = [x for x in with_slo if x.meets_latency_slo is not False and x.meets_availability_slo is not False]
    parts = [f"{len(ok)} of {len(with_slo)} applications meet their SLOs"]
    if bottlenecks:
        b = bottlenecks[0]
        parts.append(f"bottleneck: {b['service']} at {b['site']} ({b['utilization']:.0%} utilization)")
    for lk in links or []:
        if not lk["stable"]:
            parts.append(f"link {lk['link']} overloaded from {lk['from']} to {lk['to']} ({lk['utilization']:.0%})")
    top = max(links or [], key=lambda lk: lk["utilization"], default=None)
    if top is not None and top["stable"] and top["utilization"] > (bottlenecks[0]["utilization"] if bottlenecks else 0):
        parts.append(f"busiest link: {top['link']} from {top['from']} to {top['to']} ({top['utilization']:.0%})")
    for x in with_slo:
        if x.meets_availability_slo is False and x.slo_availability is not None:
            parts.append(
                f"availability of {x.application} {x.availability:.4%} against a {x.slo_availability:.4%} target"
            )
        if x.meets_latency_slo is False and x.latency_at_slo_percentile_ms is not None:
            parts.append(
                f"p{x.slo_percentile:g} latency of {x.application} {x.latency_at_slo_percentile_ms:.1f} ms "
                f"against {x.slo_latency_ms:g} ms"
            )
    return "; ".join(parts)
