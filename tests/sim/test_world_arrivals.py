"""Arrival processes from the scenario: token buckets (network-calculus bound), traces, no merging where inexact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgescale.analysis.netcalc import horizontal_deviation, rate_latency, token_bucket
from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario


def _one_site(arrival: dict[str, Any], count: int, work: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "name": "one",
        "sites": [{"id": "e1", "tier": "edge", "cpu_cores": 1, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "s", **work}],
        "applications": [{"id": "a", "stages": [{"service": "s", "request_kb": 0}], "response_kb": 0}],
        "device_groups": [
            {
                "id": "d",
                "count": count,
                "application": "a",
                "placement": {"around": {"sites": ["e1"]}},
                "arrival": arrival,
                "access": {"assign": "home", "latency_ms": 2},
            }
        ],
        **kw,
    }


def test_token_bucket_devices_stay_within_the_network_calculus_bound() -> None:
    """4 devices policed by (3/s, 4) buckets into one core with constant 50 ms work: the aggregate is
    4 x (3, 4) = (12/s, 16), the core rate-latency (20/s, 50 ms); every latency is at most 2 ms + bound + 2 ms."""
    doc = _one_site({"process": "token_bucket", "rate_per_s": 3, "burst": 4}, 4,
                    {"work_ms": 50, "work_distribution": "deterministic"})  # fmt: skip
    r = simulate_scenario(
        scenario_from_dict(doc), duration_s=3000, warmup_s=0, replications=2, seed=1
    ).to_dict()
    bound_s = float(horizontal_deviation(token_bucket(12, 16), rate_latency(20, 0.05)))
    lat = r["applications"][0]["latency_ms"]
    assert lat["max"] <= 2.0 + 1000.0 * bound_s + 2.0 + 1e-6
    assert lat["max"] > 2.0 + 4 * 50.0  # one device's burst of 4 does queue
    assert r["merged_poisson_sources"] is False
    assert r["sources"] == 4  # one bucket per device: merging would not be exact


def test_trace_is_replayed_not_poisson(tmp_path: Path) -> None:
    """Requests exactly every 100 ms into a 60 ms deterministic server never queue (a Poisson stream at the
    same mean rate would: M/D/1 at rho 0.6 waits 45 ms on average)."""
    n = 600
    (tmp_path / "t.csv").write_text("t_s\n" + "\n".join(f"{0.1 * k + 0.05:.3f}" for k in range(n)) + "\n")
    doc = _one_site({"process": "trace", "file": "t.csv", "loop": False}, 3,
                    {"work_ms": 60, "work_distribution": "deterministic"})  # fmt: skip
    s = scenario_from_dict(doc, base_dir=tmp_path)
    r = simulate_scenario(s, duration_s=100, warmup_s=0, seed=1).to_dict()
    app = r["applications"][0]
    assert app["arrivals"] == app["requests"] == n
    assert app["latency_ms"]["max"] == pytest.approx(2 + 60 + 2)
    assert app["latency_ms"]["min"] == pytest.approx(2 + 60 + 2)
    looped = simulate_scenario(
        scenario_from_dict({**doc, "device_groups": [{**doc["device_groups"][0], "arrival": {
            "process": "trace", "file": "t.csv", "loop": True}}]}, base_dir=tmp_path),
        duration_s=150, warmup_s=0, seed=1,
    ).to_dict()  # fmt: skip
    assert looped["applications"][0]["arrivals"] == 1500  # 60 s of trace, played 2.5 times
    assert np.isclose(looped["applications"][0]["latency_ms"]["max"], 64.0)
