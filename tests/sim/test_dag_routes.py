"""A DAG application's stage is reached from its first parent's site, in the twin as in the plan and analyze."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edgescale.analysis._paths import PathMetrics
from edgescale.analysis.scenario import analyze_scenario
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import plan_to_arrays
from edgescale.sim.runner import simulate_scenario
from edgescale.sim.world import build_world, route_delays


def _fork() -> dict[str, Any]:
    """``front`` at e1 (edge), then ``left`` at m (aggregation) and ``right`` at c (cloud), both after ``front``.
    Links e1 - m 5 ms, e1 - c 7 ms, m - c 20 ms: ``right`` is 7 ms from its parent's site, but 12 ms from m (the
    previous stage in topological order)."""
    loc = [{"lat": 0, "lon": x} for x in (0, 0.5, 1)]
    sites = [{"id": "e1", "tier": "edge", "cpu_cores": 1, "location": loc[0]},
             {"id": "m", "tier": "aggregation", "cpu_cores": 1, "location": loc[1]},
             {"id": "c", "tier": "cloud", "cpu_cores": 1, "location": loc[2]}]  # fmt: skip
    links = [{"src": "e1", "dst": "m", "latency_ms": 5},
             {"src": "e1", "dst": "c", "latency_ms": 7},
             {"src": "m", "dst": "c", "latency_ms": 20}]  # fmt: skip
    services = [{"id": "front", "work_ms": 2, "tiers": ["edge"]},
                {"id": "left", "work_ms": 2, "tiers": ["aggregation"]},
                {"id": "right", "work_ms": 2, "tiers": ["cloud"]}]  # fmt: skip
    apps = [{"id": "fork", "stages": [{"service": "front", "after": []}, {"service": "left", "after": ["front"]},
                                      {"service": "right", "after": ["front"]}]}]  # fmt: skip
    groups = [{"id": "g", "count": 50, "application": "fork", "placement": {"around": {"sites": ["e1"]}},
               "arrival": {"process": "poisson", "rate_per_s": 1}, "access": {"assign": "home", "latency_ms": 1}}]
    return {"schema_version": 1, "name": "fork", "sites": sites, "links": links, "services": services,
            "applications": apps, "device_groups": groups}  # fmt: skip


def test_a_forked_stage_starts_from_its_parents_site() -> None:
    s = scenario_from_dict(_fork())
    a = compile_scenario(s, devices=False)
    w = build_world(s, a, plan_to_arrays(default_plan(s, a)[0], a))
    assert w.stage_parent.tolist() == [-1, 0, 0]
    assert [a.site_ids[x] for x in w.stage_site] == ["e1", "m", "c"]
    np.testing.assert_allclose(w.model.stage_delay_s, [0.001, 0.005, 0.007])  # access 1 ms; e1->m; e1->c
    np.testing.assert_allclose(w.model.return_delay_s, [0.008])  # c -> e1 and the access link
    src = np.arange(w.model.n_sources, dtype=np.int64)
    delay, back, _, _ = route_delays(w, a, PathMetrics(a), src, w.stage_site)
    np.testing.assert_allclose(delay, w.model.stage_delay_s)
    np.testing.assert_allclose(back, w.model.return_delay_s)


def test_analyze_and_simulate_agree_on_a_fork() -> None:
    s = scenario_from_dict(_fork())
    an = analyze_scenario(s).to_dict()["applications"][0]
    sim = simulate_scenario(s, duration_s=600, warmup_s=60, replications=4, seed=1).to_dict()
    assert sim["utilization"]["mean_by_site_max"] <= 0.7
    # 1 + 5 + 7 + 7 + 1 ms of links and three 2-ms services at rho 0.1: about 27 ms
    assert an["mean_ms"] == pytest.approx(27.0, rel=0.03)
    assert sim["applications"][0]["latency_ms"]["mean"] == pytest.approx(an["mean_ms"], rel=0.05)
    assert sim["applications"][0]["latency_ms"]["p95"] == pytest.approx(an["p95_ms"], rel=0.05)
