"""Scenario generators: they write small files that describe groups, never a million rows.

- :func:`hierarchical`: devices, edge, aggregation and cloud sites spread over seeded regions of a
  country-sized area; links by tier with latencies from distance.
- :func:`metro`: a metropolitan system on real base-station positions (e.g. the EUA Melbourne
  sites), with aggregation sites, a distant cloud, two failure domains and a load sized to a target
  utilization.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgescale.model._csv import read_positions
from edgescale.model._layout import KM_PER_DEG_LAT

__all__ = ["hierarchical", "metro", "relative_to_dir"]

# A country-sized box (roughly central Europe), degrees.
BOX_LAT = (44.0, 54.0)
BOX_LON = (2.0, 20.0)


def _regions(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """*n* region centres in the box, spread by best-candidate sampling (Mitchell)."""
    lat0, lat1 = BOX_LAT
    lon0, lon1 = BOX_LON
    km_x = (lon1 - lon0) * KM_PER_DEG_LAT * math.cos(math.radians((lat0 + lat1) / 2))
    km_y = (lat1 - lat0) * KM_PER_DEG_LAT
    pts: list[tuple[float, float]] = []
    for _ in range(n):
        cand = rng.random((20, 2))
        if pts:
            p = np.array(pts)
            d = (((cand[:, None, :] - p[None, :, :]) * [km_y, km_x]) ** 2).sum(-1).min(1)
            pts.append(tuple(cand[int(np.argmax(d))]))
        else:
            pts.append(tuple(cand[0]))
    radius = max(20.0, 0.5 * math.sqrt(km_x * km_y / max(n, 1)))
    return [
        {
            "id": f"r{k + 1}",
            "center": {
                "lat": round(float(lat0 + y * (lat1 - lat0)), 4),
                "lon": round(float(lon0 + x * (lon1 - lon0)), 4),
            },
            "radius_km": round(float(radius), 1),
        }
        for k, (y, x) in enumerate(pts)
    ]


def hierarchical(
    *,
    devices: int,
    edge_sites: int,
    aggregation_sites: int,
    clouds: int,
    seed: int = 0,
    regions: int | None = None,
    rate_per_s: float = 0.1,
    target_utilization: float = 0.5,
    name: str | None = None,
) -> dict[str, Any]:
    """A hierarchical device → edge → aggregation → cloud system as a scenario document.

    Parameters
    ----------
    devices, edge_sites, aggregation_sites, clouds : int
        Counts per tier (``clouds`` may be 0).
    seed : int
        Seed of the layout (stored in the file: the same file always compiles to the same system).
    regions : int, optional
        Number of regions (failure domains); default ``min(max(aggregation_sites, 1), 16)``.
    rate_per_s : float
        Poisson request rate per device.
    target_utilization : float
        Edge cores are sized so that the edge tier runs at about this utilization.

    Examples
    --------
    >>> doc = hierarchical(devices=1000, edge_sites=10, aggregation_sites=2, clouds=1, seed=1)
    >>> [g["count"] for g in doc["site_groups"]]
    [1, 2, 10]
    """
    if min(devices, edge_sites) < 1 or aggregation_sites < 0 or clouds < 0:
        raise ValueError("devices and edge_sites must be >= 1; aggregation_sites and clouds >= 0")
    rng = np.random.default_rng(seed)
    n_regions = regions or min(max(aggregation_sites, 1), 16)
    region_list = _regions(n_regions, rng)
    work_ms = {"ingest": 2.0, "analytics": 20.0, "archive": 50.0}
    per_edge_load = devices / edge_sites * rate_per_s * (work_ms["ingest"] + work_ms["analytics"]) / 1000.0
    edge_cores = max(2, math.ceil(per_edge_load / target_utilization))
    site_groups: list[dict[str, Any]] = []
    if clouds:
        site_groups.append(
            {
                "id": "cloud",
                "tier": "cloud",
                "count": clouds,
                "cpu_cores": 2048,
                "cpu_speed": 1.5,
                "memory_gb": 8192,
                "power": {"idle_w": 20000, "peak_w": 60000},
                "cost": {"per_core_hour": 0.05},
            }
        )
    if aggregation_sites:
        site_groups.append(
            {
                "id": "agg",
                "tier": "aggregation",
                "count": aggregation_sites,
                "cpu_cores": 128,
                "cpu_speed": 1.2,
                "memory_gb": 512,
                "power": {"idle_w": 800, "peak_w": 2500},
                "cost": {"fixed_per_hour": 3.0, "per_core_hour": 0.03},
            }
        )
    site_groups.append(
        {
            "id": "edge",
            "tier": "edge",
            "count": edge_sites,
            "cpu_cores": edge_cores,
            "memory_gb": 4 * edge_cores,
            "power": {"idle_w": 60, "peak_w": 60 + 25 * edge_cores},
            "cost": {"fixed_per_hour": 0.4, "per_core_hour": 0.02},
        }
    )
    link_rules: list[dict[str, Any]] = []
    upper = "aggregation" if aggregation_sites else ("cloud" if clouds else None)
    if upper:
        link_rules.append(
            {
                "from_tier": "edge",
                "to_tier": upper,
                "nearest": 2,
                "base_latency_ms": 0.5,
                "bandwidth_mbps": 10000,
            }
        )
    if aggregation_sites > 1:
        link_rules.append(
            {"from_tier": "aggregation", "to_tier": "aggregation", "nearest": 2, "bandwidth_mbps": 100000}
        )
    if aggregation_sites and clouds:
        link_rules.append(
            {
                "from_tier": "aggregation",
                "to_tier": "cloud",
                "nearest": min(2, clouds),
                "bandwidth_mbps": 100000,
            }
        )
    if clouds > 1:
        link_rules.append(
            {"from_tier": "cloud", "to_tier": "cloud", "kind": "mesh", "bandwidth_mbps": 400000}
        )
    services = [
        {
            "id": "ingest",
            "work_ms": work_ms["ingest"],
            "work_distribution": "deterministic",
            "memory_mb": 256,
            "image_mb": 120,
            "tiers": ["edge"],
        },
        {
            "id": "analytics",
            "work_ms": work_ms["analytics"],
            "memory_mb": 1024,
            "image_mb": 600,
            "tiers": ["edge", "aggregation"],
        },
    ]
    apps: list[dict[str, Any]] = [
        {
            "id": "telemetry",
            "stages": [{"service": "ingest", "request_kb": 4}, {"service": "analytics", "request_kb": 2}],
            "response_kb": 0.5,
            "slo": {"latency_ms": 100, "percentile": 95, "availability": 0.999},
        }
    ]
    if clouds:
        services.append(
            {
                "id": "archive",
                "work_ms": work_ms["archive"],
                "memory_mb": 4096,
                "image_mb": 900,
                "stateful": True,
                "state_mb": 2048,
                "tiers": ["cloud"],
            }
        )
        apps.append(
            {
                "id": "backup",
                "stages": [{"service": "archive", "request_kb": 64}],
                "slo": {"latency_ms": 1000, "percentile": 95},
            }
        )
    backups = max(1, devices // 1000) if clouds and devices > 1 else 0
    groups: list[dict[str, Any]] = [
        {
            "id": "sensors",
            "count": int(devices - backups),
            "application": "telemetry",
            "placement": {"around": {"tier": "edge", "radius_km": 5.0}},
            "arrival": {"process": "poisson", "rate_per_s": rate_per_s},
            "access": {"tier": "edge", "base_latency_ms": 2.0, "bandwidth_mbps": 50},
        }
    ]
    if backups:
        groups.append(
            {
                "id": "gateways",
                "count": backups,
                "application": "backup",
                "placement": {"around": {"tier": "edge", "radius_km": 5.0, "spread": "random"}},
                "arrival": {"process": "poisson", "rate_per_s": 0.01},
            }
        )
    return {
        "schema_version": 1,
        "name": name or f"hierarchical-{devices}",
        "description": (
            f"Generated: {devices} devices, {edge_sites} edge, {aggregation_sites} aggregation, "
            f"{clouds} cloud sites over {n_regions} regions (seed {seed})."
        ),
        "seed": int(seed),
        "regions": region_list,
        "site_groups": site_groups,
        "link_rules": link_rules,
        "services": services,
        "applications": apps,
        "device_groups": groups,
        "failures": {
            "classes": [
                {"tier": "edge", "mtbf_h": 4380, "mttr_h": 6},
                {"tier": "aggregation", "mtbf_h": 8760, "mttr_h": 2},
            ]
            + ([{"tier": "cloud", "mtbf_h": 43800, "mttr_h": 1}] if clouds else []),
            "correlated": [{"region": region_list[0]["id"], "mtbf_h": 87600, "mttr_h": 4}],
        },
        "metadata": {
            "generator": "hierarchical",
            "parameters": {
                "devices": devices,
                "edge_sites": edge_sites,
                "aggregation_sites": aggregation_sites,
                "clouds": clouds,
                "seed": seed,
                "regions": n_regions,
                "rate_per_s": rate_per_s,
                "target_utilization": target_utilization,
            },
        },
    }


def relative_to_dir(path: str | Path, out: Path) -> str:
    """*path* written relative to folder *out* (POSIX separators)."""
    return Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix()


def metro(
    *,
    sites_csv: str | Path,
    users_csv: str | Path,
    out_dir: str | Path = ".",
    id_column: str | None = "SITE_ID",
    target_utilization: float = 0.72,
    edge_cores: int = 4,
    aggregation_sites: int = 2,
    seed: int = 0,
    name: str = "metro",
) -> dict[str, Any]:
    """A metro system on real base-station positions, sized to a target edge utilization.

    Base stations become edge sites (``edge-<SITE_ID>``); users become one device group at their CSV
    positions; the area is split into a north and a south region (the two failure domains), each
    with aggregation sites; a cloud sits 700 km away. Paths in the document are relative to
    *out_dir* (where the scenario file will be written).
    """
    out = Path(out_dir)
    s_lat, s_lon = read_positions(Path(sites_csv), "sites_csv")
    u_lat, _ = read_positions(Path(users_csv), "users_csv")
    n_sites, n_users = len(s_lat), len(u_lat)
    mid = float(np.median(s_lat))
    c_lon = float(np.mean(s_lon))
    span_km = max(1.0, float(np.ptp(s_lat)) * KM_PER_DEG_LAT)
    regions = [
        {
            "id": "north",
            "center": {"lat": round((mid + float(s_lat.max())) / 2, 5), "lon": round(c_lon, 5)},
            "radius_km": round(span_km / 2 + 0.5, 2),
        },
        {
            "id": "south",
            "center": {"lat": round((mid + float(s_lat.min())) / 2, 5), "lon": round(c_lon, 5)},
            "radius_km": round(span_km / 2 + 0.5, 2),
        },
    ]
    services = [
        {
            "id": "ar-render",
            "work_ms": 8.0,
            "memory_mb": 1024,
            "image_mb": 800,
            "tiers": ["edge", "aggregation"],
        },
        {
            "id": "video-analytics",
            "work_ms": 25.0,
            "memory_mb": 2048,
            "image_mb": 1500,
            "tiers": ["edge", "aggregation"],
        },
        {
            "id": "maps",
            "work_ms": 5.0,
            "work_distribution": "general",
            "work_scv": 2.0,
            "memory_mb": 512,
            "image_mb": 300,
            "tiers": ["edge", "aggregation", "cloud"],
        },
    ]
    # load so that offered work / total capacity (all tiers, at their speeds) is target_utilization
    mix = {"ar": 0.5, "video": 0.3, "maps": 0.2}
    work = {"ar": 8.0, "video": 25.0, "maps": 5.0}
    per_request_work_s = sum(mix[k] * work[k] for k in mix) / 1000.0
    agg_cores, cloud_cores = 32, 64
    capacity = n_sites * edge_cores + aggregation_sites * agg_cores * 1.2 + cloud_cores * 1.5
    total_rate = target_utilization * capacity / per_request_work_s
    apps = [
        {
            "id": "ar",
            "stages": [{"service": "ar-render", "request_kb": 30}],
            "response_kb": 20,
            "slo": {"latency_ms": 50, "percentile": 95, "availability": 0.999},
        },
        {
            "id": "video",
            "stages": [{"service": "video-analytics", "request_kb": 200}],
            "response_kb": 2,
            "slo": {"latency_ms": 150, "percentile": 95, "availability": 0.999},
        },
        {
            "id": "nav",
            "stages": [{"service": "maps", "request_kb": 2}],
            "response_kb": 40,
            "slo": {"latency_ms": 200, "percentile": 99},
        },
    ]
    groups = []
    for app_id, key in (("ar", "ar"), ("video", "video"), ("nav", "maps")):
        groups.append(
            {
                "id": f"users-{app_id}",
                "count": n_users,
                "application": app_id,
                "placement": {"csv": relative_to_dir(users_csv, out)},
                "arrival": {"process": "poisson", "rate_per_s": round(total_rate * mix[key] / n_users, 6)},
                "access": {
                    "tier": "edge",
                    "base_latency_ms": 1.0,
                    "bandwidth_mbps": 500,
                    "medium": "wireless",
                },
            }
        )
    return {
        "schema_version": 1,
        "name": name,
        "description": (
            f"Metro edge on {n_sites} real base stations with {n_users} users (three applications), "
            f"sized to ~{target_utilization:.0%} utilization of the total capacity."
        ),
        "seed": seed,
        "regions": regions,
        "site_groups": [
            {
                "id": "edge",
                "tier": "edge",
                "csv": relative_to_dir(sites_csv, out),
                "id_column": id_column,
                "cpu_cores": edge_cores,
                "memory_gb": 16,
                "power": {"idle_w": 50, "peak_w": 150},
                "cost": {"fixed_per_hour": 0.3, "per_core_hour": 0.02},
            },
            {
                "id": "agg",
                "tier": "aggregation",
                "count": aggregation_sites,
                "regions": ["north", "south"],
                "cpu_cores": agg_cores,
                "cpu_speed": 1.2,
                "memory_gb": 128,
                "power": {"idle_w": 400, "peak_w": 1200},
                "cost": {"fixed_per_hour": 2.5, "per_core_hour": 0.03},
            },
        ],
        "sites": [
            {
                "id": "cloud",
                "tier": "cloud",
                "cpu_cores": cloud_cores,
                "cpu_speed": 1.5,
                "memory_gb": 256,
                "location": {"lat": -33.8688, "lon": 151.2093},
                "failure_domain": "cloud",
                "cost": {"per_core_hour": 0.05},
                "power": {"idle_w": 2000, "peak_w": 6000},
            },
        ],
        "link_rules": [
            {
                "from_tier": "edge",
                "to_tier": "edge",
                "nearest": 2,
                "base_latency_ms": 0.2,
                "bandwidth_mbps": 10000,
            },
            {
                "from_tier": "edge",
                "to_tier": "aggregation",
                "nearest": 1,
                "base_latency_ms": 0.5,
                "bandwidth_mbps": 10000,
            },
            {"from_tier": "aggregation", "to_tier": "aggregation", "kind": "mesh", "bandwidth_mbps": 100000},
            {
                "from_tier": "aggregation",
                "to_tier": "cloud",
                "nearest": 1,
                "base_latency_ms": 1.0,
                "bandwidth_mbps": 100000,
            },
        ],
        "services": services,
        "applications": apps,
        "device_groups": groups,
        "failures": {
            "classes": [
                {"tier": "edge", "mtbf_h": 4380, "mttr_h": 2},
                {"tier": "aggregation", "mtbf_h": 8760, "mttr_h": 2},
            ],
            "correlated": [
                {"region": "north", "mtbf_h": 26280, "mttr_h": 3},
                {"region": "south", "mtbf_h": 26280, "mttr_h": 3},
            ],
        },
        "metadata": {
            "generator": "metro",
            "data": "EUA dataset (Lai et al., ICSOC 2018), MIT licence; site data from the ACMA register",
        },
    }
