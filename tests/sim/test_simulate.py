"""The twin end to end: validated against analysis, deterministic per seed, events applied, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from edgescale.analysis.scenario import analyze_scenario
from edgescale.cli.app import app
from edgescale.model.io import load, scenario_from_dict
from edgescale.model.schema import Failures
from edgescale.sim.runner import simulate_scenario

REPO = Path(__file__).resolve().parents[2]
S1 = REPO / "benchmarks" / "scenarios" / "s1.yaml"


def test_s1_mean_and_p95_within_ci_of_mm1() -> None:
    # 100 cells x M/M/1 at rho = 0.8 plus 2 x 5 ms: mean 0.41 s, p95 = 0.01 + ln(20)/2.5 s (Kleinrock Vol. 1, 3.27)
    s = load(S1, overrides=["site_groups[cell].count=20", "device_groups[devices].count=2000"])
    r = simulate_scenario(s, duration_s=400, warmup_s=20, replications=8, seed=3).to_dict()
    lat = r["applications"][0]["latency_ms"]
    assert abs(lat["mean"] - 410.0) <= lat["mean_ci99_half_width"]
    p95 = 10.0 + 1000.0 * math.log(20.0) / 2.5
    assert abs(lat["p95"] - p95) <= max(lat["p95_ci99_half_width"], 0.02 * p95)  # histogram resolution 2 %
    assert r["requests"] > 0
    edge = r["tiers"]["edge"]
    assert edge["mean_sojourn_ms"] == pytest.approx(400.0, rel=0.05)  # M/M/1 sojourn 1 / (12.5 - 10) s
    assert edge["mean_wait_ms"] == pytest.approx(320.0, rel=0.06)  # minus the 80 ms of service
    assert edge["visits_per_s"] == pytest.approx(20 * 10.0, rel=0.02)
    # Little's law on every run: exact as an identity of the window, L = lambda W up to boundary effects
    assert r["littles_law"]["identity_max_rel_error"] < 1e-9
    assert r["littles_law"]["mean_max_rel_error"] < 0.05


def _example_within_5_percent(
    name: str, overrides: list[str] | None = None, duration_s: float = 600, replications: int = 4
) -> None:
    s = load(REPO / "examples" / f"{name}.yaml", overrides=overrides or [])
    # analyze models the system without failures: compare on that system (scheduled outages reroute traffic)
    s = s.model_copy(update={"events": (), "failures": Failures()})
    an = analyze_scenario(s).to_dict()
    sim = simulate_scenario(
        s, duration_s=duration_s, warmup_s=60, replications=replications, seed=1
    ).to_dict()
    assert sim["utilization"]["mean_by_site_max"] <= 0.7  # the comparison is claimed at rho <= 0.7
    for a, b in zip(an["applications"], sim["applications"], strict=True):
        assert a["application"] == b["application"]
        assert b["latency_ms"]["mean"] == pytest.approx(a["mean_ms"], rel=0.05), a["application"]
        assert b["latency_ms"]["p95"] == pytest.approx(a["p95_ms"], rel=0.05), a["application"]


@pytest.mark.slow
def test_national_fleet_analysis_matches_simulation() -> None:
    _example_within_5_percent("national-fleet", duration_s=120, replications=2)


def test_factory_analysis_matches_simulation() -> None:
    _example_within_5_percent("factory-cell")


def test_metro_analysis_matches_simulation_at_low_load() -> None:
    low = [
        "device_groups[users-ar].arrival.rate_per_s=0.2",
        "device_groups[users-video].arrival.rate_per_s=0.05",
        "device_groups[users-nav].arrival.rate_per_s=0.1",
    ]
    _example_within_5_percent("melbourne-metro", low)


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    s = load(S1, overrides=["site_groups[cell].count=5", "device_groups[devices].count=500"])
    a = simulate_scenario(s, duration_s=50, warmup_s=5, replications=2, seed=9).to_dict()
    b = simulate_scenario(s, duration_s=50, warmup_s=5, replications=2, seed=9).to_dict()
    c = simulate_scenario(s, duration_s=50, warmup_s=5, replications=2, seed=10).to_dict()
    assert a["applications"] == b["applications"]
    assert a["requests"] == b["requests"]
    assert a["applications"][0]["latency_ms"]["mean"] != c["applications"][0]["latency_ms"]["mean"]


def _two_sites(event: dict[str, Any] | None) -> dict[str, Any]:
    doc = {
        "schema_version": 1,
        "name": "two",
        "sites": [{"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "s", "work_ms": 10}],
        "applications": [{"id": "a", "stages": [{"service": "s"}]}],
        "device_groups": [
            {
                "id": "d",
                "count": 10,
                "application": "a",
                "placement": {"around": {"sites": ["e1"]}},
                "arrival": {"process": "poisson", "rate_per_s": 10},
            }
        ],
    }
    if event:
        doc["events"] = [event]
    return doc


def test_scheduled_failure_drops_requests_for_its_duration() -> None:
    quiet = simulate_scenario(
        scenario_from_dict(_two_sites(None)), duration_s=100, warmup_s=0, seed=1
    ).to_dict()
    assert quiet["applications"][0]["drops"] == 0
    ev = {"at_s": 40, "action": "fail", "sites": ["e1"], "duration_s": 20}
    r = simulate_scenario(scenario_from_dict(_two_sites(ev)), duration_s=100, warmup_s=0, seed=1).to_dict()
    drops = r["applications"][0]["drops"]
    # 100 req/s for 20 s are lost (Poisson count: 2000 +- 4.5 sigma), plus those in service at the crash
    assert abs(drops - 2000) < 4.5 * math.sqrt(2000) + 10
    assert [e["action"] for e in r["events"] if e["action"] in ("fail", "recover")] == ["fail", "recover"]
    # the detector (heartbeat timeout 5 s) suspects the only site, but there is nowhere else to go
    assert [e["t_s"] for e in r["events"] if e["action"] == "suspect"] == [45.0]


def test_diurnal_profile_changes_utilization_over_time() -> None:
    doc = _two_sites(None)
    doc["device_groups"][0]["arrival"] = {
        "process": "diurnal",
        "rate_per_s": 10,
        "profile": [0.2, 1.8],
        "period_s": 200,
    }
    r = simulate_scenario(scenario_from_dict(doc), duration_s=400, warmup_s=0, epoch_s=10, seed=2).to_dict()
    series = np.array(r["utilization"]["by_tier"]["edge"])
    low, high = series[:10].mean(), series[10:20].mean()  # first half of the period at 0.2x, second at 1.8x
    assert high / low == pytest.approx(9.0, rel=0.3)


def test_cli_simulate_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(REPO / "examples" / "factory-cell.yaml"),
            "--duration",
            "2m",
            "--warmup",
            "10s",
            "--replications",
            "2",
            "-o",
            str(out),
            "--report",
            str(tmp_path / "report.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for key in ("requests", "applications", "utilization", "energy_j", "events", "wall_seconds"):
        assert key in data
    # the report of the same run carries the simulation's numbers
    page = (tmp_path / "report.html").read_text()
    assert 'data-simulation="true"' in page
    assert f'data-requests="{data["requests"]}"' in page
    lat = data["applications"][0]["latency_ms"]
    assert {"mean", "p50", "p95", "p99"} <= set(lat)
    bad = CliRunner().invoke(
        app, ["simulate", str(REPO / "examples" / "factory-cell.yaml"), "--duration", "soon"]
    )
    assert bad.exit_code == 2


def _small_s1() -> Any:
    return load(S1, overrides=["site_groups[cell].count=10", "device_groups[devices].count=1000"])


@pytest.mark.slow
def test_process_replications_equal_serial_ones() -> None:
    s = _small_s1()
    serial = simulate_scenario(s, duration_s=60, replications=3, seed=5).to_dict()
    procs = simulate_scenario(
        s, duration_s=60, replications=3, seed=5, executor="processes", workers=2
    ).to_dict()
    assert procs["applications"] == serial["applications"]


@pytest.mark.slow
def test_ray_replications_equal_local_ones() -> None:
    pytest.importorskip("ray", reason="ray is in the 'distributed' extra")
    s = _small_s1()
    local = simulate_scenario(s, duration_s=60, replications=3, seed=5).to_dict()
    on_ray = simulate_scenario(s, duration_s=60, replications=3, seed=5, executor="ray").to_dict()
    assert on_ray["applications"] == local["applications"]
    assert on_ray["requests"] == local["requests"]
