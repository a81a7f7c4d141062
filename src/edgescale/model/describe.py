"""A summary of a compiled system: counts, capacity, offered load and rough utilization."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from edgescale.errors import Issue
from edgescale.model.arrays import SystemArrays
from edgescale.model.default_plan import default_replicas, stage_sites
from edgescale.model.schema import TIERS, Scenario

__all__ = ["describe", "site_load_cores"]

UTILIZATION_WARNING = 0.95


def site_load_cores(arrays: SystemArrays, sites: np.ndarray) -> np.ndarray:
    """Offered load (busy cores) at each site when demand point d runs stage k at ``sites[d, k]``."""
    a = arrays
    load = np.zeros(a.n_sites)
    for app in range(len(a.app_ids)):
        dem = np.flatnonzero(a.group_app[a.demand_group] == app)
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        for st in range(lo, hi):
            where = sites[dem, st - lo]
            ok = where >= 0
            work_s = a.service_work_ms[a.stage_service[st]] / 1000.0
            np.add.at(load, where[ok], a.demand_rate_per_s[dem[ok]] * work_s / a.site_cpu_speed[where[ok]])
    return load


def describe(scenario: Scenario, arrays: SystemArrays) -> dict[str, Any]:
    """Counts per tier, devices, links, services, applications, capacity, offered load, utilization.

    Utilization is *rough*: the default plan's routing, offered work over the site's cores, no
    queueing. ``edgescale analyze`` gives the queueing answer.
    """
    a = arrays
    tiers = Counter(TIERS[int(t)] for t in a.site_tier)
    cores_by_tier = {
        t: float(a.site_cpu_cores[a.site_tier == i].sum()) for i, t in enumerate(TIERS) if tiers[t]
    }
    rep = default_replicas(a)
    sites, warnings = stage_sites(a, rep)
    load = site_load_cores(a, sites)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(a.site_cpu_cores > 0, load / a.site_cpu_cores, np.where(load > 0, np.inf, 0.0))
    serving = a.site_cpu_cores > 0
    total_cap = float(a.site_cpu_cores.sum())
    offered = float(load.sum())
    hot = int(np.argmax(util)) if a.n_sites else -1
    issues: list[Issue] = list(warnings) + list(a.warnings)
    over = np.flatnonzero(util > UTILIZATION_WARNING)
    if len(over):
        worst = over[np.argsort(-util[over])][:5]
        issues.append(
            Issue(
                "sites",
                f"{len(over)} site(s) above {UTILIZATION_WARNING:.0%} utilization under the default plan",
                {a.site_ids[i]: round(float(util[i]), 3) for i in worst},
                "add capacity or give a plan (edgescale optimize)",
                severity="warning",
            )
        )
    return {
        "name": scenario.name,
        "sites": a.n_sites,
        "sites_by_tier": dict(sorted(tiers.items(), key=lambda kv: TIERS.index(kv[0]))),
        "regions": len(a.region_ids),
        "failure_domains": len(a.domain_ids),
        "devices": a.n_devices,
        "device_groups": len(a.group_ids),
        "demand_points": len(a.demand_group),
        "links": a.n_links,
        "services": len(a.service_ids),
        "applications": len(a.app_ids),
        "capacity_cores": total_cap,
        "capacity_cores_by_tier": cores_by_tier,
        "offered_load_rate_per_s": float(a.demand_rate_per_s.sum()),
        "offered_load_cores": offered,
        "utilization": {
            "overall": offered / total_cap if total_cap > 0 else None,
            "mean_serving_site": float(util[serving].mean()) if serving.any() else None,
            "max": float(util[hot]) if hot >= 0 else None,
            "max_site": a.site_ids[hot] if hot >= 0 else None,
        },
        "arrays_mb": round(a.nbytes() / 1e6, 3),
        "warnings": [i.to_dict() for i in issues],
    }
