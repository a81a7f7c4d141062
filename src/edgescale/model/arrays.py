"""``SystemArrays``: the compiled, array form of a scenario that every engine consumes.

Struct-of-arrays: one numpy array per attribute, indexed by site, link, service, stage, device group,
demand point (group x access site) and — only where needed — device. Memory is O(size); a million
devices is a handful of arrays, never a million Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue
from edgescale.model._csv import read_column, read_positions
from edgescale.model._layout import nearest, points_in_disks, split_counts
from edgescale.model.geo import haversine_km
from edgescale.model.schema import TIERS, Application, Area, DeviceGroup, LinkRule, Scenario, SiteGroup
from edgescale.model.validate import stage_parents

__all__ = ["ARRIVAL_KINDS", "TIER_INDEX", "SystemArrays", "compile_scenario"]

TIER_INDEX: dict[str, int] = {t: i for i, t in enumerate(TIERS)}
ARRIVAL_KINDS: tuple[str, ...] = ("none", "poisson", "mmpp", "diurnal", "token_bucket", "trace")

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
I8 = NDArray[np.int8]
B = NDArray[np.bool_]

DEFAULT_KM_PER_MS = 200.0
DEFAULT_ROUTE_FACTOR = 1.5


@dataclass(frozen=True, eq=False)
class SystemArrays:
    """The compiled system. Arrays are read-only by convention; lengths are in the attribute docs.

    Sites (``n_sites``): ``site_ids``, ``site_tier`` (index into :data:`TIERS`), resources, power,
    cost, location (NaN when unknown), region / failure-domain / owner indices (-1 when none).
    Links (``n_links``, undirected) and their CSR adjacency ``graph_indptr``/``graph_indices``/
    ``graph_link`` (both directions). Services, application stages (CSR over applications, in
    topological order), device groups, demand points (one per group x access site), and per-device
    arrays (``device_*``) when compiled with ``devices=True``.
    """

    # sites
    site_ids: list[str]
    site_tier: I8
    site_cpu_cores: F64
    site_cpu_speed: F64
    site_memory_gb: F64
    site_storage_gb: F64
    site_accelerators: I32
    site_cache_gb: F64
    site_idle_w: F64
    site_peak_w: F64
    site_cost_fixed_per_hour: F64
    site_cost_per_core_hour: F64
    site_lat: F64
    site_lon: F64
    site_region: I32
    site_domain: I32
    site_owner: I32
    site_group: I32
    region_ids: list[str]
    domain_ids: list[str]
    owner_ids: list[str]
    # links
    link_src: I32
    link_dst: I32
    link_latency_ms: F64
    link_bandwidth_mbps: F64
    link_loss: F64
    link_availability: F64
    link_wireless: B
    link_parallel: I32
    graph_indptr: I64
    graph_indices: I32
    graph_link: I32
    # services
    service_ids: list[str]
    service_work_ms: F64
    service_work_scv: F64
    service_cpu_cores: F64
    service_memory_mb: F64
    service_storage_gb: F64
    service_image_mb: F64
    service_accelerator: B
    service_stateful: B
    service_state_mb: F64
    service_min_replicas: I32
    service_max_replicas: I32
    service_tier_mask: NDArray[np.uint8]
    # applications and stages
    app_ids: list[str]
    app_stage_ptr: I64
    app_response_kb: F64
    app_slo_latency_ms: F64
    app_slo_percentile: F64
    app_slo_availability: F64
    stage_app: I32
    stage_service: I32
    stage_request_kb: F64
    stage_parent_ptr: I64
    stage_parents: I32
    # device groups
    group_ids: list[str]
    group_count: I64
    group_app: I32
    group_rate_per_s: F64
    group_arrival: I8
    group_access_tier: I8
    group_mobile: B
    # demand points: one per (group, access site) with devices
    demand_group: I32
    demand_site: I32
    demand_devices: I64
    demand_rate_per_s: F64
    demand_access_latency_ms: F64
    demand_access_bandwidth_mbps: F64
    # devices (empty unless compiled with devices=True)
    device_group: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    device_lat: F64 = field(default_factory=lambda: np.zeros(0))
    device_lon: F64 = field(default_factory=lambda: np.zeros(0))
    device_site: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    device_access_latency_ms: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    warnings: list[Issue] = field(default_factory=list)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def n_links(self) -> int:
        return len(self.link_src)

    @property
    def n_devices(self) -> int:
        return int(self.group_count.sum())

    def site_index(self, name: str) -> int:
        """Index of the site called *name*."""
        return self.site_ids.index(name)

    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


class _Sites:
    """Builder for site arrays."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {}
        self.ids: list[str] = []

    def add(self, ids: list[str], **cols: np.ndarray) -> None:
        self.ids.extend(ids)
        for k, v in cols.items():
            self.cols.setdefault(k, []).append(np.broadcast_to(v, (len(ids),)))

    def column(self, name: str, dtype: type) -> np.ndarray:
        parts = self.cols.get(name, [])
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _site_cols(x: SiteGroup | object, n: int) -> dict[str, np.ndarray]:
    from edgescale.model.schema import _Resources

    assert isinstance(x, _Resources)
    return {
        "cpu_cores": np.full(n, x.cpu_cores),
        "cpu_speed": np.full(n, x.cpu_speed),
        "memory_gb": np.full(n, x.memory_gb),
        "storage_gb": np.full(n, x.storage_gb),
        "accelerators": np.full(n, x.accelerators),
        "cache_gb": np.full(n, x.cache_gb),
        "idle_w": np.full(n, x.power.idle_w if x.power else 0.0),
        "peak_w": np.full(n, x.power.peak_w if x.power else 0.0),
        "cost_fixed": np.full(n, x.cost.fixed_per_hour if x.cost else 0.0),
        "cost_core": np.full(n, x.cost.per_core_hour if x.cost else 0.0),
    }


def _area_disk(area: Area, s: Scenario) -> tuple[float, float, float]:
    if area.region is not None:
        r = next(r for r in s.regions if r.id == area.region)
        return r.center.lat, r.center.lon, area.radius_km or r.radius_km
    assert area.center is not None
    assert area.radius_km is not None
    return area.center.lat, area.center.lon, area.radius_km


def _group_positions(
    g: SiteGroup, s: Scenario, rng: np.random.Generator
) -> tuple[list[str], F64, F64, list[str | None]]:
    where = f"site_groups[{g.id}]"
    if g.csv is not None:
        path = s.base_dir / g.csv
        lat, lon = read_positions(path, f"{where}.csv")
        labels = (
            read_column(path, g.id_column, where) if g.id_column else [str(k + 1) for k in range(len(lat))]
        )
        return [f"{g.id}-{v}" for v in labels], lat, lon, _nearest_region(s, lat, lon)
    assert g.count is not None
    names = [f"{g.id}-{k + 1}" for k in range(g.count)]
    if g.area is not None:
        clat, clon, rad = _area_disk(g.area, s)
        n = g.count
        lat, lon = points_in_disks(np.full(n, clat), np.full(n, clon), np.full(n, rad), rng)
        regs: list[str | None] = [g.area.region] * n if g.area.region else _nearest_region(s, lat, lon)
        return names, lat, lon, regs
    regions = [r for r in s.regions if g.regions is None or r.id in g.regions]
    counts = split_counts(g.count, np.array([r.weight for r in regions]))
    which = np.repeat(np.arange(len(regions)), counts)
    rlat = np.array([r.center.lat for r in regions])[which]
    rlon = np.array([r.center.lon for r in regions])[which]
    rrad = np.array([r.radius_km for r in regions])[which]
    lat, lon = points_in_disks(rlat, rlon, rrad, rng)
    return names, lat, lon, [regions[i].id for i in which]


def _nearest_region(s: Scenario, lat: F64, lon: F64) -> list[str | None]:
    """Sites placed by position belong to the region with the nearest centre (none without regions)."""
    if not s.regions:
        return [None] * len(lat)
    rlat = np.array([r.center.lat for r in s.regions])
    rlon = np.array([r.center.lon for r in s.regions])
    _, idx = nearest(rlat, rlon, lat, lon, k=1)
    return [s.regions[int(i)].id for i in idx.ravel()]


def _index_of(values: list[str | None], table: list[str]) -> I32:
    pos = {v: i for i, v in enumerate(table)}
    return np.array([pos[v] if v is not None else -1 for v in values], dtype=np.int32)


def _compile_sites(s: Scenario, rng: np.random.Generator) -> tuple[_Sites, dict[str, Any]]:
    b = _Sites()
    lat_parts, lon_parts = [], []
    regions: list[str | None] = []
    domains: list[str | None] = []
    owners: list[str | None] = []
    groups: list[np.ndarray] = []
    tiers: list[np.ndarray] = []
    if s.sites:
        n = len(s.sites)
        ids = [x.id for x in s.sites]
        b.add(
            ids, **{k: np.array([_site_cols(x, 1)[k][0] for x in s.sites]) for k in _site_cols(s.sites[0], 1)}
        )
        lat_parts.append(np.array([x.location.lat if x.location else np.nan for x in s.sites]))
        lon_parts.append(np.array([x.location.lon if x.location else np.nan for x in s.sites]))
        regions += [x.region for x in s.sites]
        domains += [x.failure_domain or x.region or x.id for x in s.sites]
        owners += [x.owner for x in s.sites]
        groups.append(np.full(n, -1, np.int32))
        tiers.append(np.array([TIER_INDEX[x.tier] for x in s.sites], np.int8))
    for gi, g in enumerate(s.site_groups):
        names, lat, lon, reg = _group_positions(g, s, rng)
        n = len(names)
        b.add(names, **_site_cols(g, n))
        lat_parts.append(lat)
        lon_parts.append(lon)
        regions += reg
        domains += [g.failure_domain or r or f"{g.id}-{k + 1}" for k, r in enumerate(reg)]
        owners += [g.owner] * n
        groups.append(np.full(n, gi, np.int32))
        tiers.append(np.full(n, TIER_INDEX[g.tier], np.int8))
    region_ids = [r.id for r in s.regions]
    region_ids += sorted({r for r in regions if r is not None} - set(region_ids))
    domain_ids = list(dict.fromkeys(d for d in domains if d is not None))
    owner_ids = list(dict.fromkeys(o for o in owners if o is not None))
    extra = {
        "lat": np.concatenate(lat_parts) if lat_parts else np.zeros(0),
        "lon": np.concatenate(lon_parts) if lon_parts else np.zeros(0),
        "region": _index_of(regions, region_ids),
        "domain": _index_of(domains, domain_ids),
        "owner": _index_of(owners, owner_ids),
        "group": np.concatenate(groups) if groups else np.zeros(0, np.int32),
        "tier": np.concatenate(tiers) if tiers else np.zeros(0, np.int8),
        "region_ids": region_ids,
        "domain_ids": domain_ids,
        "owner_ids": owner_ids,
    }
    return b, extra


def _distance_latency(
    lat: F64, lon: F64, a: I64, b: I64, km_per_ms: float, route_factor: float, base_ms: float
) -> F64:
    d = np.asarray(haversine_km(lat[a], lon[a], lat[b], lon[b]), dtype=np.float64)
    return base_ms + d * route_factor / km_per_ms


def _rule_links(rule: LinkRule, tier: I8, lat: F64, lon: F64) -> tuple[I64, I64]:
    src = np.flatnonzero((tier == TIER_INDEX[rule.from_tier]) & ~np.isnan(lat))
    dst = np.flatnonzero((tier == TIER_INDEX[rule.to_tier]) & ~np.isnan(lat))
    if len(src) == 0 or len(dst) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if rule.kind == "mesh":
        a, b = np.triu_indices(len(src), k=1)
        return src[a], src[b]
    same = rule.from_tier == rule.to_tier
    k = min(rule.nearest + (1 if same else 0), len(dst))
    _, idx = nearest(lat[dst], lon[dst], lat[src], lon[src], k=k)
    idx = idx.reshape(len(src), -1)
    a = np.repeat(src, idx.shape[1])
    b = dst[idx.ravel()]
    keep = a != b
    return a[keep], b[keep]


def _compile_links(s: Scenario, names: list[str], tier: I8, lat: F64, lon: F64) -> dict[str, np.ndarray]:
    pos = {n: i for i, n in enumerate(names)}
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("src", "dst", "lat", "bw", "loss", "av", "wl", "par")
    }

    def put(
        a: I64, b: I64, latency: F64, bw: float | None, loss: float, av: float, wl: bool, par: int
    ) -> None:
        n = len(a)
        cols["src"].append(a)
        cols["dst"].append(b)
        cols["lat"].append(latency)
        cols["bw"].append(np.full(n, np.inf if bw is None else bw))
        cols["loss"].append(np.full(n, loss))
        cols["av"].append(np.full(n, av))
        cols["wl"].append(np.full(n, wl))
        cols["par"].append(np.full(n, par))

    for link in s.links:
        a = np.array([pos[link.src]])
        b = np.array([pos[link.dst]])
        if link.latency_ms is not None:
            latency = np.array([link.latency_ms])
        else:
            latency = _distance_latency(lat, lon, a, b, DEFAULT_KM_PER_MS, DEFAULT_ROUTE_FACTOR, 0.0)
        put(
            a,
            b,
            latency,
            link.bandwidth_mbps,
            link.loss,
            link.availability,
            link.medium == "wireless",
            link.parallel_links,
        )
    for rule in s.link_rules:
        a, b = _rule_links(rule, tier, lat, lon)
        latency = _distance_latency(lat, lon, a, b, rule.km_per_ms, rule.route_factor, rule.base_latency_ms)
        put(a, b, latency, rule.bandwidth_mbps, rule.loss, rule.availability, rule.medium == "wireless", 1)
    if not cols["src"]:
        return {
            "src": np.zeros(0, np.int32),
            "dst": np.zeros(0, np.int32),
            "lat": np.zeros(0),
            "bw": np.zeros(0),
            "loss": np.zeros(0),
            "av": np.zeros(0),
            "wl": np.zeros(0, bool),
            "par": np.zeros(0, np.int32),
        }
    out = {k: np.concatenate(v) for k, v in cols.items()}
    # keep the first link of each unordered pair (explicit links come before rule links)
    lo = np.minimum(out["src"], out["dst"]).astype(np.int64)
    hi = np.maximum(out["src"], out["dst"]).astype(np.int64)
    _, first = np.unique(lo * max(len(names), 1) + hi, return_index=True)
    first.sort()
    out = {k: v[first] for k, v in out.items()}
    out["src"] = out["src"].astype(np.int32)
    out["dst"] = out["dst"].astype(np.int32)
    out["par"] = out["par"].astype(np.int32)
    return out


def _csr(n: int, src: I32, dst: I32) -> tuple[I64, I32, I32]:
    ends = np.concatenate((src, dst))
    other = np.concatenate((dst, src))
    link = np.concatenate((np.arange(len(src)), np.arange(len(src)))).astype(np.int32)
    order = np.lexsort((other, ends))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=indptr[1:])
    return indptr, other[order].astype(np.int32), link[order]


def _topological(app: Application) -> tuple[list[int], list[list[int]]]:
    names = [st.service for st in app.stages]
    parents = [[names.index(p) for p in ps] for ps in stage_parents(app)]
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(names):
        for k in range(len(names)):
            if k not in done and all(p in done for p in parents[k]):
                order.append(k)
                done.add(k)
    return order, parents


def _compile_apps(s: Scenario, service_pos: dict[str, int]) -> dict[str, np.ndarray]:
    ptr = [0]
    stage_app: list[int] = []
    stage_service: list[int] = []
    stage_kb: list[float] = []
    parent_ptr = [0]
    parents_flat: list[int] = []
    for ai, app in enumerate(s.applications):
        order, parents = _topological(app)
        base = ptr[-1]
        new_pos = {old: base + k for k, old in enumerate(order)}
        for old in order:
            st = app.stages[old]
            stage_app.append(ai)
            stage_service.append(service_pos[st.service])
            stage_kb.append(st.request_kb)
            parents_flat.extend(new_pos[p] for p in parents[old])
            parent_ptr.append(len(parents_flat))
        ptr.append(base + len(order))
    return {
        "ptr": np.array(ptr, np.int64),
        "app": np.array(stage_app, np.int32),
        "service": np.array(stage_service, np.int32),
        "kb": np.array(stage_kb, np.float64),
        "parent_ptr": np.array(parent_ptr, np.int64),
        "parents": np.array(parents_flat, np.int32),
    }


def _mean_rate(g: DeviceGroup, base_dir: Path) -> float:
    a = g.arrival
    if a is None:
        return 0.0
    if a.process in ("poisson", "diurnal", "token_bucket"):
        return float(a.rate_per_s)
    if a.process == "mmpp":
        rates = np.array(a.rates_per_s)
        soj = np.array(a.mean_sojourn_s)
        return float((rates * soj).sum() / soj.sum())
    from edgescale.model.traces import read_trace

    times = read_trace(base_dir / a.file, f"device_groups[{g.id}].arrival.file")  # type: ignore[union-attr]
    span = float(times[-1] - times[0]) if len(times) > 1 else 1.0
    return len(times) / max(span, 1e-9) / g.count


def _place_devices(
    g: DeviceGroup, s: Scenario, pos: dict[str, int], tier: I8, lat: F64, lon: F64, rng: np.random.Generator
) -> tuple[F64, F64, I64]:
    """Positions of a group's devices and the site each was placed around (-1 if none)."""
    pl = g.placement
    n = g.count
    if pl.around is not None:
        if pl.around.sites is not None:
            targets = np.array([pos[x] for x in pl.around.sites], np.int64)
        else:
            assert pl.around.tier is not None
            targets = np.flatnonzero(tier == TIER_INDEX[pl.around.tier])
        if pl.around.spread == "even":
            home = np.repeat(targets, split_counts(n, np.ones(len(targets))))
        else:
            home = targets[rng.integers(0, len(targets), n)]
        clat, clon = lat[home], lon[home]
        missing = np.isnan(clat)
        clat = np.where(missing, 0.0, clat)
        clon = np.where(missing, 0.0, clon)
        dlat, dlon = points_in_disks(clat, clon, np.full(n, pl.around.radius_km), rng)
        return np.where(missing, np.nan, dlat), np.where(missing, np.nan, dlon), home
    if pl.area is not None:
        clat0, clon0, rad = _area_disk(pl.area, s)
        dlat, dlon = points_in_disks(np.full(n, clat0), np.full(n, clon0), np.full(n, rad), rng)
        return dlat, dlon, np.full(n, -1, np.int64)
    assert pl.csv is not None
    dlat, dlon = read_positions(s.base_dir / pl.csv, f"device_groups[{g.id}].placement.csv")
    return dlat, dlon, np.full(n, -1, np.int64)


def _assign_access(
    g: DeviceGroup, tier: I8, lat: F64, lon: F64, dlat: F64, dlon: F64, home: I64
) -> tuple[I64, F64]:
    acc = g.access
    candidates = np.flatnonzero(tier == TIER_INDEX[acc.tier])
    located = candidates[~np.isnan(lat[candidates])]
    n = len(dlat)
    if acc.assign == "home":
        site = home.copy()
        wrong = tier[site] != TIER_INDEX[acc.tier]
    else:
        site = np.full(n, -1, np.int64)
        wrong = np.ones(n, bool)
    need = wrong & ~np.isnan(dlat)
    if need.any() and len(located):
        _, idx = nearest(lat[located], lon[located], dlat[need], dlon[need], k=1)
        site[need] = located[idx.ravel()]
    left = site < 0
    if left.any():  # no coordinates to go by: spread over the tier, in index order
        site[left] = candidates[np.arange(int(left.sum())) % len(candidates)]
    if acc.latency_ms is not None:
        latency = np.full(n, acc.latency_ms)
    else:
        d = np.asarray(haversine_km(dlat, dlon, lat[site], lon[site]), dtype=np.float64)
        latency = acc.base_latency_ms + np.nan_to_num(d, nan=0.0) / acc.km_per_ms
    return site, latency


def compile_scenario(scenario: Scenario, *, devices: bool = True) -> SystemArrays:
    """Expand a scenario into :class:`SystemArrays` (deterministic for the scenario's ``seed``).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    devices : bool
        Keep per-device arrays (positions, access site). Demand points are always computed.

    Raises
    ------
    ScenarioError
        When a referenced CSV or trace cannot be read.
    """
    s = scenario
    rng = np.random.default_rng(s.seed)
    b, ex = _compile_sites(s, rng)
    names = b.ids
    n_sites = len(names)
    tier = ex["tier"]
    lat, lon = ex["lat"], ex["lon"]
    links = _compile_links(s, names, tier, lat, lon)
    indptr, indices, glink = _csr(n_sites, links["src"], links["dst"])
    service_pos = {x.id: i for i, x in enumerate(s.services)}
    stages = _compile_apps(s, service_pos)
    app_pos = {a.id: i for i, a in enumerate(s.applications)}
    pos = {n: i for i, n in enumerate(names)}

    group_parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("group", "lat", "lon", "site", "lat_ms", "bw")
    }
    rates = []
    for gi, g in enumerate(s.device_groups):
        dlat, dlon, home = _place_devices(g, s, pos, tier, lat, lon, rng)
        site, latency = _assign_access(g, tier, lat, lon, dlat, dlon, home)
        group_parts["group"].append(np.full(g.count, gi, np.int32))
        group_parts["lat"].append(dlat)
        group_parts["lon"].append(dlon)
        group_parts["site"].append(site.astype(np.int32))
        group_parts["lat_ms"].append(latency.astype(np.float32))
        group_parts["bw"].append(
            np.full(1, np.inf if g.access.bandwidth_mbps is None else g.access.bandwidth_mbps)
        )
        rates.append(_mean_rate(g, s.base_dir))
    cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in group_parts.items()}
    dev_group = cat["group"].astype(np.int32)
    dev_site = cat["site"].astype(np.int32)
    dev_lat_ms = cat["lat_ms"].astype(np.float32)
    key = dev_group.astype(np.int64) * max(n_sites, 1) + dev_site
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    d_group = (uniq // max(n_sites, 1)).astype(np.int32)
    d_site = (uniq % max(n_sites, 1)).astype(np.int32)
    lat_sum = np.bincount(inverse, weights=dev_lat_ms.astype(np.float64), minlength=len(uniq))
    group_rate = np.array(rates, dtype=np.float64)
    group_bw = cat["bw"] if len(cat["bw"]) else np.zeros(0)

    def g_attr(fn: object, dtype: type) -> np.ndarray:
        return np.array([fn(g) for g in s.device_groups], dtype=dtype)  # type: ignore[operator]

    arrays = SystemArrays(
        site_ids=names,
        site_tier=tier.astype(np.int8),
        site_cpu_cores=b.column("cpu_cores", np.float64),
        site_cpu_speed=b.column("cpu_speed", np.float64),
        site_memory_gb=b.column("memory_gb", np.float64),
        site_storage_gb=b.column("storage_gb", np.float64),
        site_accelerators=b.column("accelerators", np.int32),
        site_cache_gb=b.column("cache_gb", np.float64),
        site_idle_w=b.column("idle_w", np.float64),
        site_peak_w=b.column("peak_w", np.float64),
        site_cost_fixed_per_hour=b.column("cost_fixed", np.float64),
        site_cost_per_core_hour=b.column("cost_core", np.float64),
        site_lat=lat,
        site_lon=lon,
        site_region=ex["region"],
        site_domain=ex["domain"],
        site_owner=ex["owner"],
        site_group=ex["group"].astype(np.int32),
        region_ids=ex["region_ids"],
        domain_ids=ex["domain_ids"],
        owner_ids=ex["owner_ids"],
        link_src=links["src"],
        link_dst=links["dst"],
        link_latency_ms=links["lat"].astype(np.float64),
        link_bandwidth_mbps=links["bw"].astype(np.float64),
        link_loss=links["loss"].astype(np.float64),
        link_availability=links["av"].astype(np.float64),
        link_wireless=links["wl"].astype(bool),
        link_parallel=links["par"],
        graph_indptr=indptr,
        graph_indices=indices,
        graph_link=glink,
        service_ids=[x.id for x in s.services],
        service_work_ms=np.array([x.work_ms for x in s.services], np.float64),
        service_work_scv=np.array([_scv(x.work_distribution, x.work_scv) for x in s.services], np.float64),
        service_cpu_cores=np.array([x.cpu_cores for x in s.services], np.float64),
        service_memory_mb=np.array([x.memory_mb for x in s.services], np.float64),
        service_storage_gb=np.array([x.storage_gb for x in s.services], np.float64),
        service_image_mb=np.array([x.image_mb for x in s.services], np.float64),
        service_accelerator=np.array([x.accelerator for x in s.services], bool),
        service_stateful=np.array([x.stateful for x in s.services], bool),
        service_state_mb=np.array([x.state_mb for x in s.services], np.float64),
        service_min_replicas=np.array([x.min_replicas for x in s.services], np.int32),
        service_max_replicas=np.array([x.max_replicas or -1 for x in s.services], np.int32),
        service_tier_mask=np.array([sum(1 << TIER_INDEX[t] for t in x.tiers) for x in s.services], np.uint8),
        app_ids=[a.id for a in s.applications],
        app_stage_ptr=stages["ptr"],
        app_response_kb=np.array([a.response_kb for a in s.applications], np.float64),
        app_slo_latency_ms=np.array(
            [a.slo.latency_ms if a.slo and a.slo.latency_ms else np.nan for a in s.applications], np.float64
        ),
        app_slo_percentile=np.array(
            [a.slo.percentile if a.slo else np.nan for a in s.applications], np.float64
        ),
        app_slo_availability=np.array(
            [a.slo.availability if a.slo and a.slo.availability else np.nan for a in s.applications],
            np.float64,
        ),
        stage_app=stages["app"],
        stage_service=stages["service"],
        stage_request_kb=stages["kb"],
        stage_parent_ptr=stages["parent_ptr"],
        stage_parents=stages["parents"],
        group_ids=[g.id for g in s.device_groups],
        group_count=g_attr(lambda g: g.count, np.int64),
        group_app=np.array(
            [app_pos[g.application] if g.application else -1 for g in s.device_groups], np.int32
        ),
        group_rate_per_s=group_rate,
        group_arrival=g_attr(
            lambda g: ARRIVAL_KINDS.index(g.arrival.process if g.arrival else "none"), np.int8
        ),
        group_access_tier=g_attr(lambda g: TIER_INDEX[g.access.tier], np.int8),
        group_mobile=g_attr(lambda g: g.mobility is not None and g.mobility.model != "static", bool),
        demand_group=d_group,
        demand_site=d_site,
        demand_devices=counts.astype(np.int64),
        demand_rate_per_s=counts * group_rate[d_group] if len(d_group) else np.zeros(0),
        demand_access_latency_ms=lat_sum / np.maximum(counts, 1),
        demand_access_bandwidth_mbps=group_bw[d_group] if len(d_group) else np.zeros(0),
    )
    if devices:
        object.__setattr__(arrays, "device_group", dev_group)
        object.__setattr__(arrays, "device_lat", cat["lat"].astype(np.float64))
        object.__setattr__(arrays, "device_lon", cat["lon"].astype(np.float64))
        object.__setattr__(arrays, "device_site", dev_site)
        object.__setattr__(arrays, "device_access_latency_ms", dev_lat_ms)
    return arrays


def _scv(dist: str, scv: float | None) -> float:
    if dist == "exponential":
        return 1.0
    if dist == "deterministic":
        return 0.0
    return float(scv if scv is not None else 1.0)
