"""Timeouts and retries from the scenario: an M/M/1 whose clients give up after T fail with P(W > T)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario


def _mm1(app: dict[str, Any]) -> dict[str, Any]:
    """One edge core, exponential 10 ms of work, 50 req/s, no link delay: M/M/1 with mu - lambda = 50/s."""
    return {
        "schema_version": 1,
        "name": "mm1",
        "sites": [{"id": "e1", "tier": "edge", "cpu_cores": 1, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "s", "work_ms": 10}],
        "applications": [{"id": "a", "stages": [{"service": "s", "request_kb": 0}], "response_kb": 0, **app}],
        "device_groups": [
            {
                "id": "d",
                "count": 50,
                "application": "a",
                "placement": {"around": {"sites": ["e1"]}},
                "arrival": {"process": "poisson", "rate_per_s": 1},
                "access": {"assign": "home", "latency_ms": 0},
            }
        ],
    }


def test_timeouts_fail_with_the_mm1_sojourn_tail() -> None:
    """Timed-out attempts are not cancelled, so the queue stays M/M/1: P(fail) = P(W > T) = exp(-50 T)
    (Kleinrock Vol. 1, eq. 3.27); T = 40 ms gives exp(-2)."""
    s = scenario_from_dict(_mm1({"timeout_ms": 40}))
    r = simulate_scenario(s, duration_s=400, warmup_s=10, replications=4, seed=1).to_dict()
    app = r["applications"][0]
    share = app["failed"] / app["arrivals"]
    n = app["arrivals"]
    assert share == pytest.approx(math.exp(-2.0), abs=4 * math.sqrt(0.135 * 0.865 / n * 20))  # correlated
    assert app["timeouts"] == app["failed"]  # no retries
    assert app["latency_ms"]["p999"] <= 40.0 * 1.02  # nobody waits longer than the timeout
    assert app["requests"] + app["failed"] + app["drops"] + app["unfinished"] == app["arrivals"]


def test_retries_resend_and_fail_only_after_the_last() -> None:
    s = scenario_from_dict(_mm1({"timeout_ms": 20, "max_retries": 2}))
    r = simulate_scenario(s, duration_s=200, warmup_s=10, seed=2).to_dict()
    app = r["applications"][0]
    # every timeout of a first or second attempt is retried; third attempts that time out fail
    assert app["timeouts"] == app["retries"] + app["failed"]
    assert app["retries"] > app["failed"] > 0
    assert app["requests"] + app["failed"] + app["drops"] + app["unfinished"] == app["arrivals"]


def test_device_radio_energy_is_idle_plus_airtime_per_request() -> None:
    doc = _mm1({})
    doc["applications"][0]["stages"][0]["request_kb"] = 100  # 100 kB up at 20 Mbps: 40 ms at 1 W
    doc["applications"][0]["response_kb"] = 50  # 50 kB down at 50 Mbps: 8 ms at 0.5 W
    doc["device_groups"][0]["device"] = {"radio": {"tx_w": 1.0, "rx_w": 0.5, "idle_w": 0.05,
                                                   "uplink_mbps": 20, "downlink_mbps": 50}}  # fmt: skip
    r = simulate_scenario(scenario_from_dict(doc), duration_s=100, warmup_s=0, seed=3).to_dict()
    done = r["applications"][0]["requests"]
    expected = 50 * 0.05 * 100 + done * (1.0 * 0.04 + 0.5 * 0.008)
    assert r["device_energy_j"]["total"] == pytest.approx(expected)
    assert r["device_energy_j"]["by_group"] == {"d": pytest.approx(expected)}
