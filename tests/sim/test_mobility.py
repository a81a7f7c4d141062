"""Mobility: devices move between access sites (trace replay, random waypoint); stateful services migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario


def _pair(mobility: dict[str, Any], count: int = 10) -> dict[str, Any]:
    """Edge sites e1 and e2 about 2.2 km apart (1 ms, 100 Mbps link); a stateful service (10 MB of state) on
    both; devices placed around both sites, each served where it attaches."""
    return {
        "schema_version": 1,
        "name": "pair",
        "sites": [
            {"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0}},
            {"id": "e2", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0.02, "lon": 0}},
        ],
        "links": [{"src": "e1", "dst": "e2", "latency_ms": 1, "bandwidth_mbps": 100}],
        "services": [{"id": "s", "work_ms": 20, "stateful": True, "state_mb": 10, "min_replicas": 2}],
        "applications": [{"id": "a", "stages": [{"service": "s", "request_kb": 0}], "response_kb": 0}],
        "device_groups": [
            {
                "id": "d",
                "count": count,
                "application": "a",
                "placement": {"around": {"tier": "edge", "radius_km": 0.2}},
                "arrival": {"process": "poisson", "rate_per_s": 5},
                "access": {"latency_ms": 1},
                "mobility": mobility,
            }
        ],
    }


def test_trace_mobility_moves_devices_and_migrates_their_state(tmp_path: Path) -> None:
    """At 50 s every device walks to e2 (trace); the five attached to e1 hand over and their state moves:
    each migration costs 1 ms + 10 MB x 8 / 100 Mbps = 0.8202 s."""
    rows = ["t_s,device,lat,lon"] + [f"50,{k},0.02,0" for k in range(10)]
    (tmp_path / "moves.csv").write_text("\n".join(rows) + "\n")
    doc = _pair({"model": "trace", "trace": "moves.csv"})
    s = scenario_from_dict(doc, base_dir=tmp_path)
    r = simulate_scenario(s, duration_s=100, warmup_s=0, epoch_s=10, seed=1).to_dict()
    mob = r["mobility"]
    assert mob["handovers"] == 5 and mob["migrations"] == 5
    assert mob["migrated_mb"] == pytest.approx(50.0)
    assert mob["mean_migration_s"] == pytest.approx(0.001 + 10 * 1024 * 8 / 100 / 1000)
    t = np.array(r["utilization"]["t_s"])
    e1 = np.array(r["utilization"]["top_sites"]["e1"])
    e2 = np.array(r["utilization"]["top_sites"]["e2"])
    # 25 req/s x 20 ms = 0.5 busy cores on each site's 4 cores, then 1 core on e2 alone
    assert e1[t <= 50].mean() == pytest.approx(0.125, rel=0.15)
    assert e1[t > 50].max() == 0.0
    assert e2[t > 50].mean() == pytest.approx(0.25, rel=0.1)
    app = r["applications"][0]
    assert app["throughput_per_s"] == pytest.approx(50.0, rel=0.05)  # no request lost in the move


def test_random_waypoint_keeps_the_load_and_hands_over() -> None:
    doc = _pair({"model": "random_waypoint", "speed_mps": [20, 30], "pause_s": 5}, count=200)
    doc["device_groups"][0]["arrival"]["rate_per_s"] = 0.5  # 100 req/s: 2 busy cores of 8
    r = simulate_scenario(scenario_from_dict(doc), duration_s=600, warmup_s=0, epoch_s=10, seed=2).to_dict()
    mob = r["mobility"]
    assert mob["handovers"] > 100  # 2.2 km at 25 m/s: a crossing every ~100 s per device
    assert mob["migrations"] == mob["handovers"]  # each site serves its own attached devices
    app = r["applications"][0]
    assert app["throughput_per_s"] == pytest.approx(100.0, rel=0.03)  # moving devices keep sending
    again = simulate_scenario(
        scenario_from_dict(doc), duration_s=600, warmup_s=0, epoch_s=10, seed=2
    ).to_dict()
    assert again["mobility"] == mob
