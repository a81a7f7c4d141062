"""Autoscaling in the twin: the scenario's autoscaler at epochs, cold starts of image_mb * 8 / image_pull_mbps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import plan_to_arrays
from edgescale.sim.runner import simulate_scenario


def _stepped(**policy: Any) -> dict[str, Any]:
    """One 16-core edge site; 100 ms of work per request; load 20/s for 300 s, then 80/s (diurnal slots)."""
    return {
        "schema_version": 1,
        "name": "step",
        "sites": [{"id": "e1", "tier": "edge", "cpu_cores": 16, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "s", "work_ms": 100, "image_mb": 250, "max_replicas": 16}],
        "applications": [{"id": "a", "stages": [{"service": "s", "request_kb": 0}], "response_kb": 0}],
        "device_groups": [
            {
                "id": "d",
                "count": 100,
                "application": "a",
                "placement": {"around": {"sites": ["e1"]}},
                "arrival": {"process": "diurnal", "rate_per_s": 0.5, "profile": [0.4, 1.6], "period_s": 600},
                "access": {"assign": "home", "latency_ms": 0},
            }
        ],
        "policies": {"autoscaling": {"name": "target-utilization", "params": policy}},
        "simulation": {"epoch_s": 10, "image_pull_mbps": 100},
    }


def test_scale_up_after_a_load_step_with_a_cold_start() -> None:
    params = {"target_utilization": 0.5, "scale_up_at": 0.7, "scale_down_at": 0.2, "cooldown_s": 0}
    s = scenario_from_dict(_stepped(**params))
    r = simulate_scenario(s, duration_s=600, warmup_s=0, seed=1).to_dict()
    ev = r["events"]
    scales = [e for e in ev if e["action"] == "scale"]
    ready = [e for e in ev if e["action"] == "replica_ready"]
    assert scales and ready
    first_up = next(e for e in scales if e["to"] > e["from"] and e["t_s"] >= 300)
    # a cold start is the image pull: 250 MB * 8 / 100 Mbps = 20 s after the decision, exactly
    first_ready = next(e for e in ready if e["t_s"] >= first_up["t_s"])
    assert first_ready["t_s"] == pytest.approx(first_up["t_s"] + 20.0)
    rows = r["epochs"]["rows"]
    reps = {row["t_s"]: row["replicas"][0] for row in rows}
    late = [v for t, v in reps.items() if t >= 450]
    # 80 req/s x 0.1 s = 8 busy servers; at 50 % utilization that is 16 replicas (capped at 16)
    assert min(late) >= 12
    early = [v for t, v in reps.items() if 150 <= t < 300]
    assert max(early) <= 6  # 2 busy servers at 20 req/s: 4 replicas at 50 %
    util = np.array(r["utilization"]["by_tier"]["edge"])
    t = np.array(r["utilization"]["t_s"])
    assert util[(t > 500) & (t <= 600)].mean() == pytest.approx(8 / 16, abs=0.1)


def test_cost_counts_reserved_core_hours() -> None:
    """Without autoscaling the plan's replicas reserve their cores for the whole window."""
    doc = _stepped()
    del doc["policies"]
    doc["sites"][0]["cost"] = {"fixed_per_hour": 2.0, "per_core_hour": 0.5}
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    replicas = int(plan_to_arrays(plan, a).replicas.sum())  # one core each
    r = simulate_scenario(s, plan=plan, duration_s=1800, warmup_s=0, seed=1).to_dict()
    cost = r["cost"]
    assert cost["core_hours"] == pytest.approx(replicas * 0.5)
    assert cost["fixed"] == pytest.approx(1.0)  # 2 per hour for half an hour
    assert cost["cores"] == pytest.approx(0.5 * cost["core_hours"])
    assert cost["total"] == pytest.approx(cost["fixed"] + cost["cores"])
