"""Reading the results dicts: per-application lookups, simulated quantiles, SLO verdicts."""

from __future__ import annotations

from typing import Any

import numpy as np

_NAMED = {50.0: "p50", 95.0: "p95", 99.0: "p99", 99.9: "p999"}


def sim_apps(sim: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Simulated applications by name (empty without a simulation)."""
    return {} if sim is None else {x["application"]: x for x in sim.get("applications", [])}


def sim_quantile_ms(app: dict[str, Any], percentile: float) -> float | None:
    """Simulated latency at a percentile: the reported quantile when there is one, else the CDF's."""
    lat = app.get("latency_ms") or {}
    name = _NAMED.get(round(float(percentile), 6))
    if name is not None and lat.get(name) is not None:
        return float(lat[name])
    cdf = app.get("cdf")
    if not cdf or not cdf.get("q"):
        return None
    q = np.asarray(cdf["q"], dtype=np.float64)
    v = np.asarray(cdf["latency_ms"], dtype=np.float64)
    p = percentile / 100.0
    if p < q[0] or p > q[-1]:
        return None
    return float(np.interp(p, q, v))


def sim_meets_latency(app_an: dict[str, Any], app_sim: dict[str, Any] | None) -> bool | None:
    """Whether the simulated latency at the SLO percentile is within target (None: no SLO or no data)."""
    slo, pct = app_an.get("slo_latency_ms"), app_an.get("slo_percentile")
    if app_sim is None or slo is None or pct is None:
        return None
    got = sim_quantile_ms(app_sim, float(pct))
    return None if got is None else bool(got <= float(slo))


def analytic_meets(app: dict[str, Any]) -> bool | None:
    """Analyze's verdict on an application: both SLOs that it has met (None when it has none)."""
    ok = [app.get("meets_latency_slo"), app.get("meets_availability_slo")]
    if ok == [None, None]:
        return None
    return False not in ok


def busiest_sites(analysis: dict[str, Any]) -> list[tuple[str, float]]:
    """Analytic site utilization, busiest first."""
    util = (analysis.get("sites") or {}).get("utilization") or {}
    return sorted(((str(k), float(v)) for k, v in util.items()), key=lambda kv: -kv[1])


def sim_busiest_site(sim: dict[str, Any]) -> tuple[str, float] | None:
    """The simulated site with the highest mean utilization over the measured epochs."""
    top = (sim.get("utilization") or {}).get("top_sites") or {}
    means = {k: float(np.mean(v)) for k, v in top.items() if len(v)}
    if not means:
        return None
    site = max(means, key=lambda k: means[k])
    return site, means[site]
