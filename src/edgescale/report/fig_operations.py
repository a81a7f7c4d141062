"""Utilization (per site, over time), drops and timeouts, energy and cost."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import TIERS
from edgescale.report._fig import TIER_COLOURS, UTIL_SCALE, figure, note, to_div
from edgescale.report.derived import by_tier

__all__ = ["NO_SIMULATION", "energy_cost_section", "utilization_section"]

F64 = NDArray[np.float64]

TOP_SITES_BARS = 30
NO_SIMULATION = (
    "No simulation was given: {what} need simulation results "
    "(edgescale simulate FILE -o results.json, then edgescale report FILE --sim results.json)."
)


def _analytic_bars(a: SystemArrays, util: F64) -> str:
    top = np.argsort(-util, kind="stable")[:TOP_SITES_BARS]
    top = top[util[top] > 0]
    if not len(top):
        return note("No site carries load under this plan.")
    fig = figure(height=380, title=f"Busiest {len(top)} sites (analytic utilization)", showlegend=False)
    fig.add_trace(
        go.Bar(
            x=[a.site_ids[i] for i in top], y=util[top],
            marker_color=[TIER_COLOURS[TIERS[a.site_tier[i]]] for i in top],
            hovertext=[f"{TIERS[a.site_tier[i]]}, {a.site_cpu_cores[i]:g} cores" for i in top],
        )
    )
    fig.add_hline(y=1.0, line_dash="dash", line_color="#d62728")
    fig.update_layout(yaxis_title="busy cores / cores", yaxis_tickformat=".0%")
    return to_div(fig, "utilization-analytic")


def _heatmap(sim: dict[str, Any]) -> str:
    u = sim.get("utilization") or {}
    top = u.get("top_sites") or {}
    t = u.get("t_s") or []
    if not top or not t:
        return note("The simulation measured no busy site (or no epoch ended after the warm-up).")
    names = sorted(top, key=lambda k: -float(np.mean(top[k])))
    fig = figure(height=120 + 22 * len(names), title="Utilization over time (simulated, busiest sites)")
    fig.add_trace(
        go.Heatmap(
            x=t, y=names, z=[top[n] for n in names], colorscale=UTIL_SCALE, zmin=0.0,
            zmax=max(1.0, float(np.max([np.max(v) for v in top.values()]))), colorbar={"title": "utilization"},
        )
    )
    fig.update_layout(xaxis_title="time after warm-up (s)", yaxis_autorange="reversed")
    return to_div(fig, "utilization-heatmap")


def _tier_lines(sim: dict[str, Any]) -> str:
    u = sim.get("utilization") or {}
    t = u.get("t_s") or []
    series = {k: v for k, v in (u.get("by_tier") or {}).items() if len(v)}
    if not t or not series:
        return ""
    fig = figure(height=320, title="Mean site utilization per tier (simulated)")
    for tier, v in series.items():
        fig.add_trace(go.Scatter(x=t, y=v, mode="lines", name=tier, line_color=TIER_COLOURS.get(tier)))
    fig.update_layout(xaxis_title="time after warm-up (s)", yaxis_tickformat=".0%")
    return to_div(fig, "utilization-tiers")


def _drops(sim: dict[str, Any]) -> str:
    apps = sim.get("applications") or []
    if not apps:
        return ""
    names = [x["application"] for x in apps]
    fig = figure(height=320, barmode="group", title="Drops and timeouts (simulated, all replications)")
    fig.add_trace(go.Bar(x=names, y=[x.get("drops", 0) for x in apps], name="drops", marker_color="#d62728"))
    fig.add_trace(go.Bar(x=names, y=[x.get("timeouts", 0) for x in apps], name="timeouts", marker_color="#9467bd"))
    total = sum(int(x.get("drops", 0)) + int(x.get("timeouts", 0)) for x in apps)
    fig.update_layout(yaxis_title="requests")
    lead = note("No request was dropped or timed out.") if total == 0 else ""
    return lead + to_div(fig, "drops-timeouts")


def utilization_section(a: SystemArrays, util: F64, sim: dict[str, Any] | None) -> str:
    """HTML of the utilization section (with drops and timeouts)."""
    parts = [_analytic_bars(a, util)]
    if sim is None:
        parts.append(note(NO_SIMULATION.format(what="utilization over time, drops and timeouts")))
    else:
        parts += [_heatmap(sim), _tier_lines(sim), _drops(sim)]
    return "".join(parts)


def energy_cost_section(
    a: SystemArrays, power_w: F64, cost_per_hour: F64, sim: dict[str, Any] | None, objectives: dict[str, float]
) -> str:
    """HTML of the energy and cost section."""
    p_tier = by_tier(a, power_w)
    c_tier = by_tier(a, cost_per_hour)
    fig = figure(height=360, barmode="group", title="Power by tier (W)")
    fig.add_trace(
        go.Bar(x=list(p_tier), y=list(p_tier.values()), name="analytic", marker_color=[TIER_COLOURS[t] for t in p_tier])
    )
    parts = []
    total_w = float(power_w.sum())
    text = f"Analytic power {total_w / 1000:,.2f} kW (idle plus the busy share of peak, per site)."
    if sim is not None:
        dur = float(sim.get("duration_s") or 0.0)
        e = float(sim.get("energy_j") or 0.0)
        if dur > 0:
            fig.add_trace(go.Bar(x=["all tiers"], y=[e / dur], name="simulated mean", marker_color="#444"))
            fig.add_trace(go.Bar(x=["all tiers"], y=[total_w], name="analytic total", marker_color="#bbb"))
        text += f" Simulated energy {e / 1e6:,.3f} MJ ({e / 3.6e6:,.3f} kWh) over {dur:g} s: mean {e / max(dur, 1e-12) / 1000:,.2f} kW."
    else:
        text += " " + NO_SIMULATION.format(what="measured energy figures")
    parts += [note(text), to_div(fig, "energy-figure")]
    cfig = figure(height=320, title="Cost per hour by tier (plan)", showlegend=False)
    cfig.add_trace(go.Bar(x=list(c_tier), y=list(c_tier.values()), marker_color=[TIER_COLOURS[t] for t in c_tier]))
    cfig.update_layout(yaxis_title="per hour")
    obj = ", ".join(f"{k} {v:,.4g}" for k, v in objectives.items())
    parts.append(
        note(f"Plan cost {float(cost_per_hour.sum()):,.2f} per hour (sites hosting replicas: fixed cost plus "
             f"per-core cost of the replicas' cores)." + (f" Plan objectives: {obj}." if obj else ""))
    )
    parts.append(to_div(cfig, "cost-figure"))
    return "".join(parts)
