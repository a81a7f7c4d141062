"""Compile a scenario and a plan into the kernel's arrays: stations, sources and routes.

- One **station** per (service, site) with replicas: ``replicas * max(1, floor(cpu_cores))`` FIFO
  servers at ``site.cpu_speed * min(1, cpu_cores)`` (the same queues ``analyze`` models).
- One **source** per demand point (device group x access site) and route combination. Devices of a
  Poisson group that does not move are merged into one Poisson source per demand point, which is
  exact (superposition); routes split by the plan's fractions are independent thinnings, also exact.
  Groups with MMPP or token-bucket arrivals keep one source per device (each device has its own phase
  or bucket: merging would not be exact); diurnal groups are merged and their rate is set by the
  control plane at every epoch (piecewise-constant Poisson). A trace group's request times are split
  at random among its demand points' sources (a thinning that replays the trace exactly, no Poisson).
- A **route** is the application's stages in topological order (a DAG runs its stages one after the
  other, as ``analyze`` assumes). Before each stage the request crosses a pure delay: the access link
  and the minimum-latency path from the access site for the entry stage, the path from its first parent's
  site for the others (the previous stage's in a chain; as the default plan and ``analyze`` route them), each
  with store-and-forward transmission of the message. After the last
  stage the response returns over the path to the access site and the access link.
- **Link queueing** (links with ``queueing: fifo``): two FIFO stations per such link (one per direction),
  appended after the service stations; a hop crossing such links queues for its transmission at its bottleneck
  link and crosses the rest of its path as a pure delay (see :mod:`edgescale.sim.links`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import ARRIVAL_KINDS, SystemArrays
from edgescale.model.plan import PlanArrays
from edgescale.model.schema import Scenario
from edgescale.sim.kernel import KernelModel, make_model
from edgescale.sim.links import LinkQueues, hop_paths, link_queues

if TYPE_CHECKING:
    from edgescale.sim.caching import CachePlan
    from edgescale.sim.offloading import Offloading

__all__ = ["World", "build_world"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MAX_SOURCES = 5_000_000
DIST_CODE = {"exponential": 0, "deterministic": 1, "general": 2}
KIND_CODE = {"poisson": 0, "diurnal": 0, "mmpp": 2, "token_bucket": 3, "trace": 4}


def _split_traces(
    scenario: Scenario, shares: dict[int, list[tuple[int, float]]], n_sources: int
) -> tuple[I64, F64, F64]:
    """Each trace group's request times split among its sources at random, in proportion to their shares.

    Each time goes to one source (a random thinning, seeded by the scenario's seed), so the sources together
    replay the trace exactly. A looping trace repeats with period ``span + mean gap``.
    """
    from edgescale.model.traces import read_trace

    per_source: dict[int, F64] = {}
    period = np.zeros(n_sources)
    for g, pairs in shares.items():
        group = scenario.device_groups[g]
        arr = group.arrival
        assert arr is not None
        assert arr.process == "trace"
        times = read_trace(scenario.base_dir / arr.file, f"device_groups[{group.id}].arrival.file")
        src = np.array([s for s, _ in pairs], np.int64)
        w = np.array([x for _, x in pairs], np.float64)
        rng = np.random.default_rng([scenario.seed, g])
        owner = rng.choice(len(src), size=len(times), p=w / w.sum())
        span = float(times[-1] - times[0])
        gap = span / (len(times) - 1) if len(times) > 1 else 1.0
        for k, c in enumerate(src.tolist()):
            per_source[c] = times[owner == k]
            period[c] = span + gap if arr.loop else 0.0
    lens = np.array([per_source[c].size if c in per_source else 0 for c in range(n_sources)], np.int64)
    ptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    flat = np.concatenate([per_source[c] for c in sorted(per_source)]) if per_source else np.zeros(0)
    return ptr, flat.astype(np.float64), period


@dataclass
class World:
    """The kernel model plus what the control plane and the results need to map back to the system."""

    model: KernelModel
    station_service: I64
    station_site: I64
    source_demand: I64
    source_group: I64
    source_base_rate_per_s: F64
    diurnal_groups: dict[int, tuple[F64, float]] = field(default_factory=dict)
    merged: bool = True
    notes: list[str] = field(default_factory=list)
    stage_site: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    stage_service: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    stage_kb: F64 = field(default_factory=lambda: np.zeros(0))
    stage_parent: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # first parent's place in its route
    source_response_kb: F64 = field(default_factory=lambda: np.zeros(0))
    station_index: dict[tuple[int, int], int] = field(default_factory=dict)
    replicas: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    caches: CachePlan | None = None
    offloading: Offloading | None = None
    link_queues: LinkQueues | None = None

    @property
    def n_stations(self) -> int:
        """Service stations: the model's first stations (link stations, if any, come after them)."""
        return len(self.station_service)


def _stations(
    a: SystemArrays, pa: PlanArrays
) -> tuple[I64, I64, NDArray[np.int32], F64, dict[tuple[int, int], int]]:
    svc, site = np.nonzero(pa.replicas > 0)
    cores = a.service_cpu_cores[svc]
    servers = (pa.replicas[svc, site] * np.maximum(1, np.floor(cores))).astype(np.int32)
    speed = a.site_cpu_speed[site] * np.minimum(1.0, cores)
    index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(svc, site, strict=True))}
    return svc.astype(np.int64), site.astype(np.int64), servers, speed, index


def _combinations(pa: PlanArrays, entries: I64, services: list[int]) -> list[tuple[list[int], float]]:
    """Every way to route one request through its stages, with its probability.

    *entries* are the route entries of one demand point.
    """
    combos: list[tuple[list[int], float]] = [([], 1.0)]
    for svc in services:
        ent = entries[pa.route_service[entries] == svc]
        if not len(ent):
            return []
        combos = [
            ([*sites, int(pa.route_site[e])], p * float(pa.route_fraction[e]))
            for sites, p in combos
            for e in ent
        ]
    return combos


def build_world(scenario: Scenario, a: SystemArrays, pa: PlanArrays) -> World:
    """Compile *scenario* under a plan into a :class:`World` (see the module docstring)."""
    issues: list[Issue] = []
    notes: list[str] = []
    svc_of, site_of, servers, speed, sindex = _stations(a, pa)
    queues = link_queues(scenario, a, len(svc_of))
    groups = scenario.device_groups
    n_app = len(a.app_ids)
    # per application: services of its stages in topological order, message sizes
    app_services = [
        [int(a.stage_service[st]) for st in range(int(a.app_stage_ptr[k]), int(a.app_stage_ptr[k + 1]))]
        for k in range(n_app)
    ]
    app_kb = [a.stage_request_kb[int(a.app_stage_ptr[k]) : int(a.app_stage_ptr[k + 1])] for k in range(n_app)]
    app_parent = [stage_first_parent(a, k) for k in range(n_app)]
    src_rate: list[float] = []
    src_kind: list[int] = []
    src_mmpp: list[tuple[float, float, float]] = []
    src_demand: list[int] = []
    src_group: list[int] = []
    src_app: list[int] = []
    src_return: list[float] = []
    route_ptr = [0]
    st_station: list[int] = []
    st_delay: list[float] = []
    st_work: list[float] = []
    st_dist: list[int] = []
    st_scv: list[float] = []
    st_site: list[int] = []
    st_svc: list[int] = []
    st_kb: list[float] = []
    st_parent: list[int] = []
    st_link: list[int] = []
    st_link_work: list[float] = []
    src_resp_kb: list[float] = []
    diurnal: dict[int, tuple[F64, float]] = {}
    trace_share: dict[int, list[tuple[int, float]]] = {}  # group -> (source, devices x route share)
    # all (origin, target) pairs first, so path metrics are computed in one batch
    plans: list[tuple[int, list[int], float]] = []
    by_demand = np.argsort(pa.route_demand, kind="stable")  # route entries grouped by demand point, once
    bounds = np.searchsorted(pa.route_demand[by_demand], np.arange(len(a.demand_group) + 1))
    for d in range(len(a.demand_group)):
        g = int(a.demand_group[d])
        app = int(a.group_app[g])
        if app < 0:
            continue
        entries = by_demand[bounds[d] : bounds[d + 1]]
        for sites, p in _combinations(pa, entries, app_services[app]):
            plans.append((d, sites, p))
    origins: list[int] = []
    targets: list[int] = []
    for d, sites, _ in plans:  # each stage from its first parent's site (the access site for an entry stage)
        access = int(a.demand_site[d])
        parent = app_parent[int(a.group_app[int(a.demand_group[d])])]
        origins += [access if q < 0 else sites[q] for q in parent.tolist()] + [sites[-1] if sites else access]
        targets += [*sites, access]
    o_arr, t_arr = np.array(origins, dtype=np.int64), np.array(targets, dtype=np.int64)
    n = o_arr.size  # while every hop stays at its site, no path
    lat, tx, q_st, q_tx = np.zeros(n), np.zeros(n), np.full(n, -1, np.int64), np.zeros(n)
    if np.any(o_arr != t_arr):  # NOTE: only then build the link graph (and import scipy.sparse)
        from edgescale.analysis._paths import PathMetrics

        # a request's queued transmission (q_tx) is its link station's work, not a delay; responses do not queue
        lat, tx, q_st, q_tx = hop_paths(queues, PathMetrics(a), o_arr, t_arr)
    pos = 0
    for d, sites, p in plans:
        g = int(a.demand_group[d])
        app = int(a.group_app[g])
        group = groups[g]
        kind = ARRIVAL_KINDS[int(a.group_arrival[g])]
        access_ms = float(a.demand_access_latency_ms[d])
        bw = float(a.demand_access_bandwidth_mbps[d])
        kbs = app_kb[app]
        resp_kb = float(a.app_response_kb[app])
        n_hops = len(sites) + 1
        hop_lat = lat[pos : pos + n_hops]
        hop_tx = tx[pos : pos + n_hops]
        hop_qst, hop_qtx = q_st[pos : pos + n_hops], q_tx[pos : pos + n_hops]
        pos += n_hops
        if not np.all(np.isfinite(hop_lat)):
            issues.append(
                Issue(
                    f"device_groups[{group.id}]",
                    "a route crosses no path (disconnected sites)",
                    a.site_ids[a.demand_site[d]],
                )
            )
            continue
        delays: list[float] = []
        stations: list[int] = []
        for k, site in enumerate(sites):
            ms = hop_lat[k] + kbs[k] * (hop_tx[k] - hop_qtx[k])
            if k == 0:
                ms += access_ms + kbs[0] * 8.0 / bw
            delays.append(ms / 1000.0)
            station = sindex.get((app_services[app][k], site))
            if station is None:
                issues.append(
                    Issue(
                        "plan",
                        f"route to '{a.site_ids[site]}' where no replica of '{a.service_ids[app_services[app][k]]}' runs",
                        a.site_ids[site],
                    )
                )
                station = 0
            stations.append(station)
        back_ms = hop_lat[-1] + resp_kb * hop_tx[-1] + access_ms + resp_kb * 8.0 / bw
        link_st = hop_qst[:-1].tolist()
        link_work = [float(kbs[k]) * float(hop_qtx[k]) / 1000.0 for k in range(len(sites))]
        works = [float(a.service_work_ms[s]) / 1000.0 for s in app_services[app]]
        dists = [DIST_CODE[scenario.services[s].work_distribution] for s in app_services[app]]
        scvs = [float(a.service_work_scv[s]) for s in app_services[app]]
        devices = int(a.demand_devices[d])
        per_device = float(a.group_rate_per_s[g])
        if kind == "mmpp":
            arr = group.arrival
            assert arr is not None
            assert arr.process == "mmpp"
            if len(arr.rates_per_s) != 2:
                issues.append(
                    Issue(
                        f"device_groups[{group.id}].arrival.rates_per_s",
                        "the simulator runs two-phase MMPP",
                        list(arr.rates_per_s),
                    )
                )
                continue
            copies = devices
            rate0, rate1 = arr.rates_per_s[0] * p, arr.rates_per_s[1] * p
            sw01, sw10 = 1.0 / arr.mean_sojourn_s[0], 1.0 / arr.mean_sojourn_s[1]
        elif kind == "token_bucket":
            arr = group.arrival
            assert arr is not None
            assert arr.process == "token_bucket"
            copies = devices  # one bucket per device: their superposition is not one bucket's output
            rate0, rate1, sw01, sw10 = arr.rate_per_s * p, arr.burst * p, 0.0, 0.0
            if rate1 < 1.0:
                issues.append(
                    Issue(
                        f"device_groups[{group.id}].arrival.burst",
                        "times the route's share must be >= 1 request for the simulator's bucket",
                        arr.burst,
                        f"this demand point's route takes a share {p:.3g} of the requests",
                    )
                )
                continue
        else:
            copies = 1
            rate0 = devices * per_device * p
            rate1 = sw01 = sw10 = 0.0
            if kind == "trace":
                trace_share.setdefault(g, []).append((len(src_rate), devices * p))
            if kind == "diurnal":
                arr = group.arrival
                assert arr is not None
                assert arr.process == "diurnal"
                prof = np.asarray(arr.profile, dtype=np.float64)
                diurnal[g] = (prof / prof.mean(), float(arr.period_s))
        if len(src_rate) + copies > MAX_SOURCES:
            raise ScenarioError(
                [
                    Issue(
                        f"device_groups[{group.id}]",
                        f"more than {MAX_SOURCES:,} sources",
                        copies,
                        "use Poisson arrivals (merged per site) for large groups",
                    )
                ]
            )
        for _ in range(copies):
            src_rate.append(rate0)
            src_kind.append(KIND_CODE.get(kind, 0))
            src_mmpp.append((rate1, sw01, sw10))
            src_demand.append(d)
            src_group.append(g)
            src_app.append(app)
            src_return.append(back_ms / 1000.0)
            src_resp_kb.append(resp_kb)
            st_site.extend(sites)
            st_svc.extend(app_services[app])
            st_kb.extend(float(x) for x in kbs)
            st_parent.extend(app_parent[app].tolist())
            start = len(st_delay)
            st_station.extend(stations)
            st_delay.extend(delays)
            st_work.extend(works)
            st_dist.extend(dists)
            st_scv.extend(scvs)
            st_link.extend(link_st)
            st_link_work.extend(link_work)
            route_ptr.append(start + len(delays))
    if issues:
        raise ScenarioError(issues, scenario.source)
    mmpp = np.array(src_mmpp, dtype=np.float64).reshape(-1, 3)
    apps = scenario.applications
    app_timeout = np.array([x.timeout_ms / 1000.0 if x.timeout_ms is not None else math.inf for x in apps])
    app_retries = np.array([x.max_retries for x in apps], dtype=np.int32)
    src_app_arr = np.array(src_app, dtype=np.int32)
    trace_ptr, trace_t, trace_period = _split_traces(scenario, trace_share, len(src_rate))
    kinds = np.array(src_kind, dtype=np.int8)
    links: dict[str, Any] = {}
    if queues is not None:  # one server at speed 1 per link direction: the work is the transmission time
        ones = np.ones(queues.n_stations)
        servers = np.concatenate((servers, ones)).astype(np.int32)
        speed = np.concatenate((speed, ones))
        links = {
            "stage_link_station": np.array(st_link, np.int32),
            "stage_link_work_s": np.array(st_link_work),
        }
    model = make_model(
        servers=servers,
        speed=speed,
        rate_per_s=np.array(src_rate),
        arrival_kind=kinds,
        mmpp_rate1_per_s=np.where(kinds == 2, mmpp[:, 0], 0.0),
        token_depth=np.where(kinds == 3, mmpp[:, 0], 1.0),
        trace_period_s=trace_period,
        trace_ptr=trace_ptr,
        trace_t=trace_t,
        mmpp_switch01_per_s=mmpp[:, 1],
        mmpp_switch10_per_s=mmpp[:, 2],
        route_ptr=np.array(route_ptr, dtype=np.int64),
        stage_station=np.array(st_station, dtype=np.int32),
        stage_delay_s=np.array(st_delay),
        stage_work_mean_s=np.array(st_work),
        stage_work_dist=np.array(st_dist, dtype=np.int8),
        stage_work_scv=np.array(st_scv),
        return_delay_s=np.array(src_return),
        app_of_source=src_app_arr,
        timeout_s=app_timeout[src_app_arr] if len(src_app_arr) else np.zeros(0),
        max_retries=app_retries[src_app_arr] if len(src_app_arr) else np.zeros(0, np.int32),
        **links,
    )
    return World(
        model=model,
        station_service=svc_of,
        station_site=site_of,
        source_demand=np.array(src_demand, dtype=np.int64),
        source_group=np.array(src_group, dtype=np.int64),
        source_base_rate_per_s=np.array(src_rate),
        diurnal_groups=diurnal,
        merged=not any(k in (2, 3) for k in src_kind),
        notes=notes,
        stage_site=np.array(st_site, dtype=np.int64),
        stage_service=np.array(st_svc, dtype=np.int64),
        stage_kb=np.array(st_kb, dtype=np.float64),
        stage_parent=np.array(st_parent, dtype=np.int64),
        source_response_kb=np.array(src_resp_kb, dtype=np.float64),
        station_index=sindex,
        replicas=np.asarray(pa.replicas, np.int64),
        link_queues=queues,
    )


def stage_first_parent(a: SystemArrays, app: int) -> I64:
    """Per stage of application *app* (topological order): the place of its first parent, -1 for an entry stage.

    A request reaches a stage from its first parent's site, as the default plan and analyze route it; the stages
    run one after another (a DAG's parallel branches are summed).
    """
    lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
    ptr = a.stage_parent_ptr[lo : hi + 1]
    has = ptr[1:] > ptr[:-1]
    out: I64 = np.full(hi - lo, -1, np.int64)
    out[has] = a.stage_parents[ptr[:-1][has]].astype(np.int64) - lo
    return out


def route_stages(route_ptr: I64, sources: I64) -> I64:
    """Absolute indices of the stages of *sources*' routes, in route order, sources after one another."""
    lens = (route_ptr[sources + 1] - route_ptr[sources]).astype(np.int64)
    ramp = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    out: I64 = (np.repeat(route_ptr[sources], lens) + ramp).astype(np.int64)
    return out


class PathPairs(Protocol):
    """What route delays need of paths: :meth:`~edgescale.analysis._paths.PathMetrics.pairs` (and, with link
    queueing, :meth:`~edgescale.analysis._paths.PathMetrics.bottlenecks`)."""

    def pairs(self, origin: I64, target: I64) -> tuple[F64, F64, F64]:
        """Latency (ms), transmission ms per kB and log-availability per (origin, target) pair."""
        ...

    def bottlenecks(
        self, origin: I64, target: I64, queue_of_link: I64, queue_tx_ms_per_kb: F64
    ) -> tuple[F64, F64, F64, I64, F64]:
        """:meth:`pairs` and each path's bottleneck queueing link direction and its ms per kB."""
        ...


def route_delays(
    world: World, a: SystemArrays, paths: PathPairs, sources: I64, stage_site: I64
) -> tuple[F64, F64, NDArray[np.int32], F64]:
    """Link delays (s) of the stages of *sources* and their return delays, were their stages at *stage_site*.

    *stage_site* is indexed by absolute stage (as ``world.stage_site``); the formula is the one
    :func:`build_world` uses: the access link and the minimum-latency path before the first stage, the path
    from the first parent's site before the others (store-and-forward transmission of each message), the
    path back to the access site and the access link after the last. With link queueing, a stage whose path
    crosses queueing links queues at its bottleneck's station for that link's transmission (left out of
    its delay).

    Returns
    -------
    (stage_delay_s, return_delay_s, stage_link_station, stage_link_work_s)
        One delay per stage of *sources* (in route order, sources after one another) and one per source;
        per stage, its link station (-1: none) and the transmission time there.
    """
    rp = world.model.route_ptr
    lens = (rp[sources + 1] - rp[sources]).astype(np.int64)
    stages = route_stages(rp, sources)
    d = world.source_demand[sources]
    access = a.demand_site[d].astype(np.int64)
    first = np.repeat(np.cumsum(lens) - lens, lens) == np.arange(lens.sum())
    parent = world.stage_parent[stages]
    from_site = stage_site[np.repeat(rp[sources], lens) + np.maximum(parent, 0)]
    prev = np.where(parent < 0, np.repeat(access, lens), from_site)
    sites = stage_site[stages]
    prev, sites = prev.astype(np.int64), sites.astype(np.int64)
    lat, tx, link_st, q_tx = hop_paths(world.link_queues, paths, prev, sites)
    kb = world.stage_kb[stages]
    acc_ms = np.repeat(a.demand_access_latency_ms[d], lens)
    acc_bw = np.repeat(a.demand_access_bandwidth_mbps[d], lens)
    ms = lat + kb * (tx - q_tx) + np.where(first, acc_ms + kb * 8.0 / acc_bw, 0.0)
    last_site = np.where(lens > 0, stage_site[np.maximum(rp[sources + 1] - 1, 0)], access)
    blat, btx, _ = paths.pairs(last_site.astype(np.int64), access)
    rkb = world.source_response_kb[sources]
    back = (
        blat
        + rkb * btx
        + np.where(
            lens > 0, a.demand_access_latency_ms[d] + rkb * 8.0 / a.demand_access_bandwidth_mbps[d], 0.0
        )
    )
    # a source without stages keeps its own return delay (e.g. a device-executed twin: its compute time)
    back = np.where(lens > 0, back / 1000.0, world.model.return_delay_s[sources])
    return ms / 1000.0, back, link_st.astype(np.int32), kb * q_tx / 1000.0


def diurnal_factor(profile: F64, period_s: float, t: float) -> float:
    """Rate multiplier of a diurnal profile at time *t* (slot of the period, piecewise constant)."""
    slot = math.floor((t % period_s) / period_s * len(profile)) % len(profile)
    return float(profile[slot])
