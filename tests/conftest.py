"""Shared fixtures: repository paths, the shared data folder, small scenario documents."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED_DATA = REPO.parent / "shared" / "data"

TINY: dict[str, Any] = {
    "schema_version": 1,
    "name": "tiny",
    "seed": 3,
    "regions": [{"id": "north", "center": {"lat": 50.0, "lon": 8.0}, "radius_km": 30}],
    "sites": [
        {
            "id": "edge-1",
            "tier": "edge",
            "cpu_cores": 4,
            "location": {"lat": 50.0, "lon": 8.0},
            "region": "north",
        },
        {
            "id": "edge-2",
            "tier": "edge",
            "cpu_cores": 4,
            "location": {"lat": 50.1, "lon": 8.1},
            "region": "north",
        },
        {"id": "cloud-1", "tier": "cloud", "cpu_cores": 64, "location": {"lat": 52.5, "lon": 13.4}},
    ],
    "site_groups": [{"id": "agg", "tier": "aggregation", "count": 2, "regions": ["north"], "cpu_cores": 16}],
    "links": [
        {"src": "edge-1", "dst": "edge-2", "latency_ms": 1.0, "bandwidth_mbps": 1000},
        {"src": "edge-1", "dst": "cloud-1", "latency_ms": 10.0},
        {"src": "edge-2", "dst": "cloud-1"},
    ],
    "link_rules": [{"from_tier": "aggregation", "to_tier": "edge", "nearest": 1}],
    "services": [
        {"id": "api", "work_ms": 5, "memory_mb": 256},
        {"id": "db", "work_ms": 10, "tiers": ["cloud"]},
    ],
    "applications": [
        {
            "id": "shop",
            "stages": [{"service": "api", "request_kb": 2}, {"service": "db", "request_kb": 1}],
            "slo": {"latency_ms": 50, "percentile": 95, "availability": 0.999},
        }
    ],
    "device_groups": [
        {
            "id": "phones",
            "count": 100,
            "application": "shop",
            "placement": {"around": {"tier": "edge", "radius_km": 2}},
            "arrival": {"process": "poisson", "rate_per_s": 1.0},
        }
    ],
    "failures": {"classes": [{"tier": "edge", "mtbf_h": 1000, "mttr_h": 2}]},
}


@pytest.fixture
def tiny_doc() -> dict[str, Any]:
    """A small valid scenario document (a fresh deep copy per test)."""
    return copy.deepcopy(TINY)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data not found at {SHARED_DATA} (read-only project data; absent on this machine)"
        )
    return SHARED_DATA
