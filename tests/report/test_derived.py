"""Per-site and per-link quantities the report draws, against analyze and against brute force."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from edgescale.analysis.scenario import analyze_scenario
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import load, scenario_from_dict
from edgescale.model.plan import Plan, plan_to_arrays
from edgescale.report._results import sim_quantile_ms
from edgescale.report.derived import cost_per_hour_by_site, link_load_mbps, power_w_by_site, site_utilization

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _system(scenario: Any) -> tuple[SystemArrays, Plan]:
    a = compile_scenario(scenario, devices=False)
    plan, _ = default_plan(scenario, a)
    return a, plan


@pytest.fixture(params=["factory-cell", "melbourne-metro", "tiny"])
def system(request: pytest.FixtureRequest, tiny_doc: dict[str, Any]) -> tuple[Any, SystemArrays, Plan]:
    if request.param == "tiny":
        s = scenario_from_dict(tiny_doc, source="tiny", base_dir=EXAMPLES)
    else:
        s = load(EXAMPLES / f"{request.param}.yaml")
    a, plan = _system(s)
    return s, a, plan


def test_site_utilization_equals_analyze(system: tuple[Any, SystemArrays, Plan]) -> None:
    s, a, plan = system
    util = site_utilization(a, plan_to_arrays(plan, a))
    sites = analyze_scenario(s, plan=plan, arrays=a).to_dict()["sites"]
    assert sites["utilization"]  # the busiest sites analyze lists
    for name, u in sites["utilization"].items():
        assert util[a.site_index(name)] == pytest.approx(u, rel=1e-12)
    assert util.max() == pytest.approx(sites["max_utilization"], rel=1e-12)


def _brute_force_link_load(a: SystemArrays, plan: Plan) -> dict[frozenset[str], float]:
    """Mbit/s per link from the plan's routes, leg by leg, on networkx's minimum-latency paths."""
    g = nx.Graph()
    for u, v, lat in zip(a.link_src.tolist(), a.link_dst.tolist(), a.link_latency_ms.tolist(), strict=True):
        g.add_edge(a.site_ids[u], a.site_ids[v], weight=max(lat, 1e-12))
    rate = {
        (a.group_ids[g_], a.site_ids[s_]): r
        for g_, s_, r in zip(a.demand_group.tolist(), a.demand_site.tolist(), a.demand_rate_per_s.tolist(), strict=True)
    }
    shares: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for r in plan.routes:
        shares[(r.group, r.access_site, r.service)].append((r.site, r.fraction))
    load: dict[frozenset[str], float] = defaultdict(float)

    def add(src: str, dst: str, mbps: float) -> None:
        if src != dst:
            path = nx.dijkstra_path(g, src, dst)
            for u, v in itertools.pairwise(path):
                load[frozenset((u, v))] += mbps

    for (group, access), r in rate.items():
        app = int(a.group_app[a.group_ids.index(group)])
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        where: dict[int, list[tuple[str, float]]] = {}  # stage -> [(site, share of the requests)]
        for st in range(lo, hi):
            svc = a.service_ids[int(a.stage_service[st])]
            p0, p1 = int(a.stage_parent_ptr[st]), int(a.stage_parent_ptr[st + 1])
            origins = [(access, 1.0)] if p0 == p1 else where[int(a.stage_parents[p0])]
            where[st] = []
            for site, f in shares[(group, access, svc)]:
                for o, fo in origins:
                    add(o, site, r * fo * f * float(a.stage_request_kb[st]) * 8e-3)
                where[st].append((site, f))
        for site, f in where[hi - 1]:
            add(site, access, r * f * float(a.app_response_kb[app]) * 8e-3)
    return load


def test_link_load_equals_brute_force(system: tuple[Any, SystemArrays, Plan]) -> None:
    _, a, plan = system
    got = link_load_mbps(a, plan_to_arrays(plan, a))
    want = _brute_force_link_load(a, plan)
    by_link = {frozenset((a.site_ids[u], a.site_ids[v])): k for k, (u, v) in enumerate(zip(a.link_src, a.link_dst, strict=True))}
    expected = np.zeros(a.n_links)
    for key, mbps in want.items():
        expected[by_link[key]] += mbps
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_link_load_on_a_forced_remote_route(tiny_doc: dict[str, Any]) -> None:
    """Route every request to the cloud: each access link carries its demand's request and response."""
    s = scenario_from_dict(tiny_doc, source="tiny", base_dir=EXAMPLES)
    a, plan = _system(s)
    routes = [r.model_copy(update={"site": "cloud-1"}) if r.service == "api" else r for r in plan.routes]
    replicas = (*plan.replicas, *([] if any(r.site == "cloud-1" and r.service == "api" for r in plan.replicas)
                                  else [plan.replicas[0].model_copy(update={"site": "cloud-1", "service": "api"})]))
    forced = plan.model_copy(update={"routes": tuple(routes), "replicas": replicas})
    got = link_load_mbps(a, plan_to_arrays(forced, a))
    want = _brute_force_link_load(a, forced)
    assert sum(want.values()) > 0
    by_link = {frozenset((a.site_ids[u], a.site_ids[v])): k for k, (u, v) in enumerate(zip(a.link_src, a.link_dst, strict=True))}
    for key, mbps in want.items():
        assert got[by_link[key]] == pytest.approx(mbps, rel=1e-9)


def test_cost_and_power_by_hand(system: tuple[Any, SystemArrays, Plan]) -> None:
    _, a, plan = system
    pa = plan_to_arrays(plan, a)
    cost = cost_per_hour_by_site(a, pa)
    want: dict[str, float] = defaultdict(float)
    for r in plan.replicas:
        j, svc = a.site_index(r.site), a.service_ids.index(r.service)
        want[r.site] += r.count * a.service_cpu_cores[svc] * a.site_cost_per_core_hour[j]
    for site in {r.site for r in plan.replicas}:
        want[site] += a.site_cost_fixed_per_hour[a.site_index(site)]
    assert cost.sum() == pytest.approx(sum(want.values()), rel=1e-12)
    for site, c in want.items():
        assert cost[a.site_index(site)] == pytest.approx(c, rel=1e-12)
    u = np.linspace(-0.5, 2.0, a.n_sites)
    p = power_w_by_site(a, u)
    assert np.all(p >= a.site_idle_w - 1e-9) and np.all(p <= a.site_peak_w + 1e-9)
    mid = (u >= 0) & (u <= 1)
    np.testing.assert_allclose(p[mid], a.site_idle_w[mid] + (a.site_peak_w - a.site_idle_w)[mid] * u[mid])


def test_sim_quantile_reads_reported_then_interpolates() -> None:
    app = {
        "latency_ms": {"p95": 40.0, "p99": None},
        "cdf": {"q": [0.01, 0.5, 0.99], "latency_ms": [1.0, 10.0, 60.0]},
    }
    assert sim_quantile_ms(app, 95) == 40.0  # the reported quantile, not the CDF's
    assert sim_quantile_ms(app, 99) == 60.0  # not reported: the CDF
    assert sim_quantile_ms(app, 75) == pytest.approx(10.0 + 50.0 * (0.25 / 0.49))
    assert sim_quantile_ms(app, 99.9) is None  # beyond the CDF points
