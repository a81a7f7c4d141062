"""Sensitivity: shadow prices of site capacity (by hand and by finite differences), demand sweeps."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.optimize._placement_model import ModelOptions, build_model, objective
from edgescale.optimize.sensitivity import capacity_shadow_prices, demand_sweep, relaxation

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc

RATE = 300.0  # req/s at the edge
WORK_MS = 10.0  # one core at speed 1: 10 ms per request
RHO = 0.8  # no latency SLO: each replica carries rho / s = 80 req/s


def edge_cloud(memory_gb: float = 2.5, edge_only: bool = False) -> dict[str, Any]:
    """One edge site short of memory in front of a distant cloud; an application with no latency SLO."""
    sites = [
        {"id": "e0", "tier": "edge", "cpu_cores": 8, "memory_gb": memory_gb, "cost": {"per_core_hour": 0.05}},
        {"id": "cloud", "tier": "cloud", "cpu_cores": 64, "memory_gb": 256, "cost": {"per_core_hour": 0.01}},
    ]
    tiers = ["edge"] if edge_only else ["edge", "cloud"]
    return {
        "schema_version": 1,
        "name": "edge-cloud",
        "sites": sites,
        "links": [{"src": "e0", "dst": "cloud", "latency_ms": 20.0}],
        "services": [{"id": "svc", "work_ms": WORK_MS, "cpu_cores": 1, "memory_mb": 1024, "tiers": tiers}],
        "applications": [{"id": "app", "stages": [{"service": "svc", "request_kb": 1}], "response_kb": 1}],
        "device_groups": [
            {
                "id": "g",
                "count": 10,
                "application": "app",
                "placement": {"around": {"sites": ["e0"], "radius_km": 0.1}},
                "arrival": {"process": "poisson", "rate_per_s": RATE / 10},
                "access": {"tier": "edge", "latency_ms": 1.0, "assign": "home"},
            }
        ],
    }


def test_memory_shadow_price_by_hand_and_by_finite_differences() -> None:
    s = scenario_from_dict(edge_cloud())
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions(rho_max=RHO))
    lat = {int(m.chain_queue[c, 0]): float(m.chain_latency[c]) for c in range(len(m.chain_latency))}
    e0, cloud = a.site_index("e0"), a.site_index("cloud")
    q_edge = next(q for q in lat if m.q_site[q] == e0)
    q_cloud = next(q for q in lat if m.q_site[q] == cloud)
    saved_ms = lat[q_cloud] - lat[q_edge]
    assert saved_ms == pytest.approx(40.0)  # the round trip to the cloud (same speed, no bandwidth limit)
    # by hand: the relaxation fills the edge's 2.5 GB with 2.5 replicas of 80 req/s each (200 of the
    # 300 req/s); one GB more serves 80 req/s more at the edge instead of the cloud
    per_replica = RHO / (WORK_MS / 1000.0)
    hand = -per_replica / RATE * 40.0  # -10.67 ms of mean latency per GB
    sp = capacity_shadow_prices(s, arrays=a, objective="latency", rho_max=RHO)
    assert sp.memory_gb["e0"] == pytest.approx(hand, rel=1e-4)
    assert sp.binding_memory == ("e0",)
    assert sp.cores["e0"] == pytest.approx(0.0, abs=1e-9)  # 8 cores: not binding
    assert sp.memory_gb["cloud"] == pytest.approx(0.0, abs=1e-9)
    want_value = (200.0 * lat[q_edge] + 100.0 * lat[q_cloud]) / RATE
    assert sp.relaxation_value == pytest.approx(want_value, rel=1e-5)
    # finite differences of the LP optimum agree with the dual
    obj = objective(a, m, {"latency": 1.0})
    h = 0.05
    v0 = relaxation(m, a, obj)[0]
    extra = np.zeros(a.n_sites)
    extra[e0] = h
    up = relaxation(m, a, obj, extra_memory_gb=extra)[0]
    down = relaxation(m, a, obj, extra_memory_gb=-extra)[0]
    assert (up - v0) / h == pytest.approx(sp.memory_gb["e0"], rel=1e-4)
    assert (v0 - down) / h == pytest.approx(sp.memory_gb["e0"], rel=1e-4)


def test_core_shadow_prices_match_finite_differences_on_a_tight_instance() -> None:
    doc = small_doc(rate=150.0, cores=3, memory_gb=2.5, seed=2)
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    obj = objective(a, m, {"cost": 1.0})
    sp = capacity_shadow_prices(s, arrays=a, objective="cost")
    assert sp.binding_cores or sp.binding_memory  # something binds on this instance
    h = 1e-3
    v0 = relaxation(m, a, obj)[0]
    for name, prices in (("cores", sp.cores), ("memory", sp.memory_gb)):
        for j, site in enumerate(a.site_ids):
            extra = np.zeros(a.n_sites)
            extra[j] = h
            kw = {"extra_cores": extra} if name == "cores" else {"extra_memory_gb": extra}
            down = relaxation(m, a, obj, **{k: -v for k, v in kw.items()})[0]
            # one-sided slope at a kink: the dual lies between the left and right derivatives
            right = (relaxation(m, a, obj, **kw)[0] - v0) / h
            left = (v0 - down) / h
            lo, hi = min(left, right), max(left, right)
            assert lo - 1e-6 <= prices[site] <= hi + 1e-6, (name, site, prices[site], left, right)


def test_demand_sweep_replicas_by_hand() -> None:
    # one site only, no SLO: replicas = ceil(scale * 300 / 80): base 4 (3.75), 3 at 0.8 (3.0), 5 above 1.0667
    s = scenario_from_dict(edge_cloud(memory_gb=64, edge_only=True))
    sw = demand_sweep(s, scales=(0.7, 0.8, 0.9, 1.05, 1.1, 1.3), objective="cost", rho_max=RHO, method="milp")
    got = {p.scale: sum(p.replicas.values()) for p in sw.points}
    for scale, n in got.items():
        assert n == math.ceil(scale * RATE / (RHO / (WORK_MS / 1000.0)) - 1e-9), (scale, n)
    assert sw.first_change_up == 1.1
    assert sw.first_change_down == 0.8
    p11 = next(p for p in sw.points if p.scale == 1.1)
    assert p11.changed == ("svc@e0",) and not p11.appeared and not p11.disappeared
    assert sw.to_dict()["first_change_up"] == 1.1


def test_demand_sweep_moves_replicas_to_the_cloud_when_the_edge_fills() -> None:
    s = scenario_from_dict(edge_cloud(memory_gb=4))  # the edge holds 4 replicas (320 req/s)
    sw = demand_sweep(s, percent=40, steps=4, objective="latency", rho_max=RHO, method="milp")
    base = next(p for p in sw.points if p.scale == 1.0)
    assert "svc@cloud" not in base.replicas
    assert sw.first_change_up == pytest.approx(1.1)  # 330 req/s: more than the edge's 320
    up = next(p for p in sw.points if p.scale == sw.first_change_up)
    assert "svc@cloud" in up.appeared
    with pytest.raises(ValueError, match="scales"):
        demand_sweep(s, scales=(0.0,))
    sw_inf = demand_sweep(scenario_from_dict(edge_cloud(memory_gb=4, edge_only=True)), scales=(1.2,))
    top = next(p for p in sw_inf.points if p.scale == 1.2)
    assert top.status == "infeasible" and top.error and sw_inf.first_change_up == 1.2
    with pytest.raises(InfeasibleError):
        capacity_shadow_prices(scenario_from_dict(small_doc(rate=2000.0, cores=1)))
