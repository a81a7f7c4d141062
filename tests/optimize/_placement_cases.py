"""Small placement scenarios shared by the placement and checker tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def small_doc(
    *,
    n_edge: int = 3,
    cores: float = 2,
    memory_gb: float = 8,
    rate: float = 20.0,
    count: int = 10,
    slo_ms: float = 120.0,
    availability: float | None = None,
    seed: int = 0,
    two_stage: bool = False,
) -> dict[str, Any]:
    """Edges in a line (2 ms apart) behind one aggregation site (5 ms), each with its own devices."""
    rng = np.random.default_rng(seed)
    sites: list[dict[str, Any]] = [
        {
            "id": f"e{i}",
            "tier": "edge",
            "cpu_cores": cores,
            "memory_gb": memory_gb,
            "failure_domain": f"d{i % 2}",
            "cost": {"fixed_per_hour": float(rng.uniform(0.2, 1.0)), "per_core_hour": 0.02},
            "power": {"idle_w": 40, "peak_w": 100},
        }
        for i in range(n_edge)
    ]
    sites.append(
        {
            "id": "agg",
            "tier": "aggregation",
            "cpu_cores": 8,
            "memory_gb": 32,
            "failure_domain": "d-agg",
            "cost": {"fixed_per_hour": 2.0, "per_core_hour": 0.03},
            "power": {"idle_w": 300, "peak_w": 900},
        }
    )
    links = [{"src": f"e{i}", "dst": f"e{i + 1}", "latency_ms": 2.0} for i in range(n_edge - 1)]
    links += [{"src": f"e{i}", "dst": "agg", "latency_ms": 5.0} for i in range(n_edge)]
    services = [{"id": "svc", "work_ms": 10.0, "memory_mb": 1024, "tiers": ["edge", "aggregation"]}]
    stages = [{"service": "svc", "request_kb": 1}]
    if two_stage:
        services.append({"id": "post", "work_ms": 5.0, "memory_mb": 512, "tiers": ["edge", "aggregation"]})
        stages.append({"service": "post", "request_kb": 1})
    slo: dict[str, Any] = {"latency_ms": slo_ms, "percentile": 95}
    if availability is not None:
        slo["availability"] = availability
    groups = [
        {
            "id": f"g{i}",
            "count": count,
            "application": "app",
            "placement": {"around": {"sites": [f"e{i}"], "radius_km": 0.1}},
            "arrival": {"process": "poisson", "rate_per_s": float(rate * rng.uniform(0.5, 1.5)) / count},
            "access": {"tier": "edge", "latency_ms": 1.0, "assign": "home"},
        }
        for i in range(n_edge)
    ]
    return {
        "schema_version": 1,
        "name": "small-placement",
        "seed": seed,
        "sites": sites,
        "links": links,
        "services": services,
        "applications": [{"id": "app", "stages": stages, "response_kb": 1, "slo": slo}],
        "device_groups": groups,
        "failures": {"classes": [{"tier": "edge", "mtbf_h": 1000, "mttr_h": 10}]},
    }
