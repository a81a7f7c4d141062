"""Scenario analysis against closed forms: M/M/1 (S1), M/M/c (Erlang C), M/D/1 (Pollaczek–Khinchine),
tandem paths, availability with failover, unstable stations, capacity-plan inversion."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.analysis.queueing import mmc_response_time_percentile
from edgescale.analysis.scenario import _min_servers_vec, _mixture_quantile, analyze_scenario
from edgescale.errors import ScenarioError
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict


def one_site(
    cores: float = 1, work_ms: float = 80, dist: str = "exponential", rate: float = 0.1
) -> dict[str, Any]:
    """S1 in miniature: 100 devices at one edge site, 5 ms access each way."""
    return {
        "schema_version": 1,
        "name": "one-site",
        "sites": [{"id": "e1", "tier": "edge", "cpu_cores": cores, "location": {"lat": 0, "lon": 0}}],
        "services": [{"id": "svc", "work_ms": work_ms, "work_distribution": dist}],
        "applications": [
            {
                "id": "app",
                "stages": [{"service": "svc", "request_kb": 1}],
                "response_kb": 1,
                "slo": {"latency_ms": 1500, "percentile": 95, "availability": 0.99},
            }
        ],
        "device_groups": [
            {
                "id": "d",
                "count": 100,
                "application": "app",
                "placement": {"around": {"sites": ["e1"], "radius_km": 0.1}},
                "arrival": {"process": "poisson", "rate_per_s": rate},
                "access": {"tier": "edge", "latency_ms": 5.0},
            }
        ],
    }


def test_mm1_matches_closed_form() -> None:
    # lambda = 100 x 0.1 = 10/s, mu = 12.5/s: W = 1/(mu - lambda) = 0.4 s; response is exponential,
    # so p95 = ln(20)/(mu - lambda) exactly (Kleinrock Vol. 1, eq. 3.27); plus 2 x 5 ms access.
    r = analyze_scenario(scenario_from_dict(one_site()))
    app = r.applications[0]
    assert app.mean_ms == pytest.approx(10.0 + 400.0, rel=1e-9)
    assert app.p95_ms == pytest.approx(10.0 + 1000.0 * math.log(20.0) / 2.5, rel=1e-6)
    assert app.p50_ms == pytest.approx(10.0 + 1000.0 * math.log(2.0) / 2.5, rel=1e-6)
    assert app.decomposition_ms["queueing"] == pytest.approx(400.0 - 80.0, rel=1e-9)
    assert app.decomposition_ms["access"] == pytest.approx(10.0)
    assert app.meets_latency_slo is True


def _erlang_c_factorial(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("cores", "rate"), [(2, 0.15), (4, 0.4), (8, 0.9)])
def test_mmc_mean_matches_erlang_c(cores: int, rate: float) -> None:
    r = analyze_scenario(scenario_from_dict(one_site(cores=cores, rate=rate)))
    lam, mu = 100 * rate, 12.5
    wait = _erlang_c_factorial(cores, lam / mu) / (cores * mu - lam)
    assert r.applications[0].mean_ms == pytest.approx(10.0 + 1000.0 * (wait + 1.0 / mu), rel=1e-9)


def test_md1_mean_is_pollaczek_khinchine() -> None:
    r = analyze_scenario(scenario_from_dict(one_site(dist="deterministic")))
    lam, s = 10.0, 0.08
    rho = lam * s
    wait = rho * s / (2.0 * (1.0 - rho))  # P-K for M/D/1
    assert r.applications[0].mean_ms == pytest.approx(10.0 + 1000.0 * (wait + s), rel=1e-9)


def test_tandem_adds_links_and_stages() -> None:
    doc = one_site(rate=0.05)
    doc["sites"].append({"id": "c1", "tier": "cloud", "cpu_cores": 1, "location": {"lat": 0, "lon": 1}})
    doc["links"] = [{"src": "e1", "dst": "c1", "latency_ms": 7.0, "bandwidth_mbps": 8.0}]
    doc["services"] = [
        {"id": "front", "work_ms": 20, "tiers": ["edge"]},
        {"id": "back", "work_ms": 40, "tiers": ["cloud"]},
    ]
    doc["applications"][0]["stages"] = [
        {"service": "front", "request_kb": 1},
        {"service": "back", "request_kb": 2},
    ]
    doc["applications"][0]["response_kb"] = 3
    r = analyze_scenario(scenario_from_dict(doc))
    app = r.applications[0]
    lam = 5.0
    w1 = 1.0 / (50.0 - lam)
    w2 = 1.0 / (25.0 - lam)
    # 8 Mbps = 1 kB per ms: 2 kB forward, 3 kB back over the e1-c1 link
    expected = 10.0 + 7.0 + 2.0 + 1000.0 * w1 + 1000.0 * w2 + 7.0 + 3.0
    assert app.mean_ms == pytest.approx(expected, rel=1e-9)
    assert app.decomposition_ms["propagation"] == pytest.approx(14.0)
    assert app.decomposition_ms["transmission"] == pytest.approx(5.0)
    assert set(app.by_tier_ms) == {"edge", "cloud"}


def test_availability_with_failover_across_domains() -> None:
    doc = one_site(rate=0.01)
    doc["sites"][0]["failure_domain"] = "a"
    doc["sites"].append(
        {
            "id": "e2",
            "tier": "edge",
            "cpu_cores": 1,
            "location": {"lat": 0, "lon": 0.01},
            "failure_domain": "b",
        }
    )
    doc["links"] = [{"src": "e1", "dst": "e2", "latency_ms": 1.0}]
    doc["failures"] = {
        "classes": [{"tier": "edge", "mtbf_h": 99, "mttr_h": 1}],
        "correlated": [{"failure_domain": "a", "mtbf_h": 999, "mttr_h": 1}],
    }
    r = analyze_scenario(scenario_from_dict(doc))
    a_site, a_dom = 0.99, 0.999
    stage = 1.0 - (1.0 - a_dom * a_site) * (1.0 - a_site)  # hosts e1 (domain a) and e2 (domain b)
    access_e1 = a_site * a_dom
    assert r.applications[0].availability == pytest.approx(access_e1 * stage, rel=1e-12)


def test_unstable_station_is_reported_not_raised() -> None:
    r = analyze_scenario(scenario_from_dict(one_site(rate=0.2)))  # lambda = 20 > mu = 12.5
    app = r.applications[0]
    assert app.unstable_stations == ["svc@e1"]
    assert app.meets_latency_slo is False
    d = r.to_dict()
    assert d["applications"][0]["mean_ms"] is None
    assert d["bottlenecks"][0]["utilization"] == pytest.approx(1.6)
    assert "0 of 1 applications meet" in r.verdict


def test_plan_for_another_scenario_rejected() -> None:
    s1 = scenario_from_dict(one_site())
    plan, _ = default_plan(s1, compile_scenario(s1))
    s2 = scenario_from_dict(one_site(rate=0.05))
    with pytest.raises(ScenarioError, match="another scenario"):
        analyze_scenario(s2, plan=plan)


def test_mixture_quantile_of_one_exponential_is_exact() -> None:
    q = _mixture_quantile(0.9, np.array([1.0]), np.array([3.0]), np.array([5.0]), np.array([4.0]))
    assert q == pytest.approx(3.0 + 2.0 * math.log(10.0), rel=1e-8)


@given(
    lam=st.floats(0.1, 50.0),
    mu=st.floats(0.5, 20.0),
    p=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
    slack=st.floats(1.05, 20.0),
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_min_servers_matches_brute_force(lam: float, mu: float, p: float, slack: float) -> None:
    budget = slack * -math.log(1.0 - p) / mu
    got = int(_min_servers_vec(np.array([lam]), np.array([mu]), p, np.array([budget]))[0])
    c = math.floor(lam / mu) + 1
    while mmc_response_time_percentile(lam, mu, c, p) > budget * (1 + 1e-9):
        c += 1
    assert got in (c, c - 1, c + 1)  # equal up to bisection tolerance at the boundary
    assert mmc_response_time_percentile(lam, mu, got, p) <= budget * (1 + 1e-6)


def test_public_api_and_frames() -> None:
    import edgescale

    r = edgescale.analyze(scenario_from_dict(one_site()))
    frames = r.to_frames()
    assert frames["applications"].loc[0, "application"] == "app"
    assert frames["applications"].loc[0, "mean_ms"] == pytest.approx(410.0)
    assert list(frames["bottlenecks"]["site"]) == ["e1"]


def test_holt_winters_follows_a_seasonal_trace() -> None:
    from edgescale.analysis.forecast import forecast_rate

    rng = np.random.default_rng(7)
    period_s, bins = 3600.0, 24
    # Poisson requests with a sinusoidal rate, 4 periods of history
    grid = np.arange(0.0, 4 * period_s, 1.0)
    rate = 20.0 + 10.0 * np.sin(2 * np.pi * grid / period_s)
    times = np.sort(np.concatenate([g + rng.random(n) for g, n in zip(grid, rng.poisson(rate), strict=True)]))
    f = forecast_rate(times, bin_s=period_s / bins, horizon_s=period_s, season_bins=bins)
    centers = (np.arange(bins) + 0.5) * period_s / bins
    truth = 20.0 + 10.0 * np.sin(2 * np.pi * centers / period_s)
    assert "season" in f.method
    assert np.max(np.abs(f.forecast_rate_per_s - truth)) < 2.0  # ~ 1.5 req/s bin noise at 150 s bins


def test_analysis_forecasts_trace_groups() -> None:
    from pathlib import Path

    from edgescale.model.io import load

    s = load(Path(__file__).resolve().parents[2] / "examples" / "factory-cell.yaml")
    r = analyze_scenario(s)
    (fc,) = r.forecasts
    assert fc["group"] == "mes-gateway"
    assert fc["history_mean_rate_per_s"] == pytest.approx(1714 / 600, rel=0.05)


def test_cdf_of_mm1_is_the_exponential_one() -> None:
    # S1 in miniature: the response is 10 ms + Exp(mu - lambda = 2.5/s), so q -> 10 - 400 ln(1 - q) ms.
    app = analyze_scenario(scenario_from_dict(one_site())).applications[0]
    assert app.cdf is not None
    q = np.array(app.cdf["q"])
    lat = np.array(app.cdf["latency_ms"])
    assert q[0] == pytest.approx(0.01) and q[-1] == pytest.approx(0.99) and len(q) == 99
    np.testing.assert_allclose(lat, 10.0 - 400.0 * np.log1p(-q), rtol=2e-3)
    assert lat[94] == pytest.approx(app.p95_ms, rel=2e-3)


@given(
    n=st.integers(1, 600),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None, derandomize=True)
def test_mixture_cdf_agrees_with_the_exact_quantiles(n: int, seed: int) -> None:
    from edgescale.analysis.scenario import CDF_Q, _cdf_dict

    rng = np.random.default_rng(seed)
    w = rng.uniform(0.1, 1.0, n)
    shift = rng.uniform(1.0, 20.0, n)
    mean = shift + rng.uniform(0.0, 50.0, n)
    var = rng.uniform(0.0, 1.0, n) * (mean - shift) ** 2
    cdf = _cdf_dict(w, shift, mean, var)
    assert cdf is not None
    lat = np.array(cdf["latency_ms"])
    assert np.all(np.diff(lat) >= -1e-12)  # a quantile function never decreases
    for k in (0, 49, 94, 98):
        exact = _mixture_quantile(float(CDF_Q[k]), w, shift, mean, var)
        # components are merged within ~0.5 % above 256 of them; the grid adds at most one cell
        span = float(lat[-1] - shift.min())
        assert abs(lat[k] - exact) <= 0.01 * exact + span / 399.0 + 1e-9
