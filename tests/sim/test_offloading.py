"""Offloading in the twin: the policy decides at epochs; device runs cost compute time and energy, offloaded
ones the network and radio energy; results report the split (hand-computed cases)."""

from __future__ import annotations

from typing import Any

import pytest

from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario


def _cell(policy: dict[str, Any], input_kb: float = 10.0) -> dict[str, Any]:
    """100 devices at 0.5 req/s on one edge site (4 cores, speed 1) running a 10 ms service; devices have a
    0.25-speed core drawing 2 W and the default radio (tx 1 W, rx 0.5 W, idle 0.05 W, 20/50 Mbit/s)."""
    return {
        "schema_version": 1,
        "name": "cell",
        "sites": [{"id": "e", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "s", "work_ms": 10, "work_distribution": "deterministic"}],
        "applications": [
            {"id": "a", "stages": [{"service": "s", "request_kb": input_kb}], "response_kb": 10}
        ],
        "device_groups": [
            {
                "id": "d",
                "count": 100,
                "application": "a",
                "placement": {"around": {"sites": ["e"]}},
                "arrival": {"process": "poisson", "rate_per_s": 0.5},
                "access": {"assign": "home", "latency_ms": 1},
                "device": {"cpu_speed": 0.25, "power": {"idle_w": 0.1, "peak_w": 2.0}, "radio": {}},
            }
        ],
        "policies": {"offloading": policy},
    }


def test_fixed_device_runs_everything_locally_at_the_devices_speed() -> None:
    """Every request runs on its device: 10 ms / 0.25 = 40 ms exactly, 2 W x 40 ms = 0.08 J each; the site
    stays idle and the radios only idle (100 x 0.05 W x 200 s = 1000 J)."""
    doc = _cell({"name": "fixed", "params": {"target": "device"}})
    r = simulate_scenario(scenario_from_dict(doc), duration_s=200, warmup_s=20, seed=1).to_dict()
    app = r["applications"][0]
    assert app["latency_ms"]["mean"] == pytest.approx(40.0, rel=1e-9)
    assert app["latency_ms"]["p95"] == pytest.approx(40.0, rel=0.02)  # histogram resolution
    off = r["offloading"]["applications"][0]
    assert off["device_requests"] == app["requests"] and off["network_requests"] == 0
    assert app["requests"] == pytest.approx(50 * 200, rel=0.05)
    energy = r["device_energy_j"]
    assert energy["compute_j"]["total"] == pytest.approx(app["requests"] * 0.08, rel=1e-9)
    assert energy["by_group"]["d"] == pytest.approx(1000.0, rel=1e-9)
    assert energy["total"] == pytest.approx(1000.0 + app["requests"] * 0.08, rel=1e-9)
    assert r["utilization"]["mean_by_site_max"] == 0.0
    assert r["offloading"]["last_decisions"] == {"device": 1, "edge": 0, "cloud": 0}


def test_threshold_policy_offloads_small_inputs_and_keeps_big_ones() -> None:
    """Estimates by hand (policies.offloading.estimate_offloading): device 40 ms and 0.08 J. Edge with 10 kB
    up: 4 ms on air at 1 W, 2 x 1 ms of access, 10 ms of service at the site's load (/ (1 - load)), 1.6 ms
    down at 0.5 W, waiting at 0.05 W: about 0.0055 J, so it offloads. In the twin those requests take 2 x 1 ms
    of access and 10 ms of deterministic service (4 servers at 12.5 % load: almost no wait), and each costs
    4 ms x 1 W + 1.6 ms x 0.5 W = 0.0048 J of radio energy on top of 100 x 0.05 W x 100 s of idling. With
    1000 kB up the upload alone costs 400 ms at 1 W = 0.4 J > 0.08 J: it runs on the device."""
    small = simulate_scenario(scenario_from_dict(_cell({"name": "threshold"})), duration_s=100, warmup_s=10,
                              seed=2).to_dict()  # fmt: skip
    s_app, s_off = small["applications"][0], small["offloading"]["applications"][0]
    assert s_off["device_requests"] == 0 and s_off["network_requests"] == s_app["requests"] > 0
    assert small["device_energy_j"]["compute_j"]["total"] == 0.0
    assert small["device_energy_j"]["by_group"]["d"] == pytest.approx(500.0 + s_app["requests"] * 0.0048)
    assert s_app["latency_ms"]["mean"] == pytest.approx(12.0, abs=0.05)
    assert small["offloading"]["last_decisions"] == {"device": 0, "edge": 1, "cloud": 0}
    big = simulate_scenario(scenario_from_dict(_cell({"name": "threshold"}, input_kb=1000.0)), duration_s=100,
                            warmup_s=10, seed=2).to_dict()  # fmt: skip
    b_app, b_off = big["applications"][0], big["offloading"]["applications"][0]
    assert b_off["device_requests"] == b_app["requests"] > 0 and b_off["device_share"] == 1.0
    assert b_app["latency_ms"]["mean"] == pytest.approx(40.0, rel=1e-9)


def test_no_offloading_section_without_a_policy() -> None:
    doc = _cell({"name": "fixed"})
    del doc["policies"]
    r = simulate_scenario(scenario_from_dict(doc), duration_s=20, warmup_s=0, seed=1).to_dict()
    assert r["offloading"] is None and "compute_j" not in r["device_energy_j"]


def test_decisions_follow_the_cluster_view_on_failures() -> None:
    """The edge site fails at 40.5 s; the detector (5 s timeout, heartbeats every second) suspects it at 45 s
    and the threshold policy, seeing no edge site up and no cloud, runs the tasks on the devices from then
    (the fastest option left: 40 ms). Requests sent to the dead site in between are lost. The site is back
    at 70.5 s, trusted at its heartbeat at 71 s, and the tasks go back to the edge (12 ms)."""
    doc = _cell({"name": "threshold"})
    doc["events"] = [{"at_s": 40.5, "action": "fail", "sites": ["e"], "duration_s": 30}]
    r = simulate_scenario(scenario_from_dict(doc), duration_s=100, warmup_s=0, epoch_s=10, seed=3).to_dict()
    rows = r["epochs"]["rows"]
    lat = {row["t_s"]: row["mean_latency_ms"][0] for row in rows}
    drops = {row["t_s"]: row["drops"][0] for row in rows}
    assert all(v == pytest.approx(12.0, abs=0.1) for t, v in lat.items() if t <= 40.0)
    assert all(v == pytest.approx(40.0, rel=1e-6) for t, v in lat.items() if 45.0 < t <= 71.0)
    assert all(v == pytest.approx(12.0, abs=0.1) for t, v in lat.items() if t > 72.0)
    lost = sum(v for t, v in drops.items() if 40.5 < t <= 45.0)
    assert abs(lost - 50 * 4.5) < 4.5 * (50 * 4.5) ** 0.5 + 5  # Poisson count of 4.5 s at 50/s
    assert sum(v for t, v in drops.items() if t > 45.0) == 0
    off = r["offloading"]["applications"][0]
    assert off["device_requests"] == pytest.approx(50 * 26, rel=0.1)  # 45 s to 71 s on the devices


def test_traces_name_the_application_of_device_runs() -> None:
    doc = _cell({"name": "fixed", "params": {"target": "device"}})
    r = simulate_scenario(scenario_from_dict(doc), duration_s=20, warmup_s=0, seed=1, trace_every=10)
    assert r.samples is not None
    assert set(r.samples["application"].tolist()) == {"a"} and r.samples["on_device"].all()
    assert r.samples["latency_ms"] == pytest.approx(40.0)
