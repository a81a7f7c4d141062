"""Per application: latency CDF against the SLO (analytic and simulated), decomposition as stacked bars."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from edgescale.model.schema import TIERS
from edgescale.report._fig import TIER_COLOURS, figure, ms, note, td, to_div
from edgescale.report._results import sim_apps, sim_quantile_ms

__all__ = ["MAX_APPS", "latency_section"]

MAX_APPS = 12  # applications drawn one by one (the busiest by rate); the table lists all
ANALYTIC_PARTS = ("access", "propagation", "transmission", "queueing", "processing")
SIM_PARTS = ("link", "wait", "service")
PART_COLOURS = {
    "access": "#9ecae1", "propagation": "#4292c6", "transmission": "#084594", "queueing": "#fd8d3c",
    "processing": "#31a354", "link": "#6baed6", "wait": "#fdae6b", "service": "#74c476", "link_queueing": "#e6550d",
}


def _analytic_points(x: dict[str, Any]) -> list[tuple[float, float]]:
    pts = [(x.get(f"p{p}_ms"), p / 100.0) for p in (50, 95, 99)]
    if x.get("slo_percentile") is not None:
        pts.append((x.get("latency_at_slo_percentile_ms"), float(x["slo_percentile"]) / 100.0))
    return sorted({(float(v), q) for v, q in pts if v is not None}, key=lambda t: t[1])


def _cdf_figure(k: int, x: dict[str, Any], s: dict[str, Any] | None) -> str:
    name = x["application"]
    fig = figure(height=360, title=f"{name}: latency distribution", legend={"orientation": "h", "y": -0.25})
    pts = _analytic_points(x)
    acdf = x.get("cdf")  # the analytic distribution, when the analysis gives it
    if acdf and acdf.get("q"):
        fig.add_trace(
            go.Scatter(
                x=acdf["latency_ms"], y=acdf["q"], mode="lines", name="analytic CDF", line={"color": "#1f77b4"},
            )
        )
    if pts:
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name="analytic quantiles",
                line={"color": "#1f77b4", "dash": "dot"}, marker={"size": 8},
            )
        )
    cdf = (s or {}).get("cdf")
    if cdf:
        fig.add_trace(
            go.Scatter(
                x=cdf["latency_ms"], y=cdf["q"], mode="lines", name="simulated (pooled replications)",
                line={"color": "#d62728"},
            )
        )
        lat = s["latency_ms"] if s else {}
        qs = [(q, lat.get(q), lat.get(f"{q}_ci99_half_width")) for q in ("p50", "p95", "p99")]
        qs = [t for t in qs if t[1] is not None]
        fig.add_trace(
            go.Scatter(
                x=[t[1] for t in qs], y=[int(t[0][1:]) / 100.0 for t in qs], mode="markers",
                name="simulated quantiles (99 % CI)", marker={"color": "#d62728", "size": 8, "symbol": "diamond"},
                error_x={"type": "data", "array": [t[2] or 0.0 for t in qs], "visible": True},
            )
        )
    if not pts and not cdf:
        return note(f"{name}: no latency distribution: the analysis found it unbounded (a queue at or above 100 % "
                    "utilization) and no simulation was given.")
    slo, pct = x.get("slo_latency_ms"), x.get("slo_percentile")
    if slo is not None and pct is not None:
        fig.add_trace(
            go.Scatter(
                x=[slo, slo, slo], y=[0.0, float(pct) / 100.0, 1.0], mode="lines+markers",
                name=f"SLO: p{pct:g} ≤ {slo:g} ms", line={"color": "black", "dash": "dash", "width": 1.5},
                marker={"size": [0, 10, 0], "symbol": "x"},
            )
        )
    # the range follows the distributions and the target, not the (wide, with few replications) CIs
    xs = [p[0] for p in pts] + (list(cdf["latency_ms"]) if cdf else []) + ([float(slo)] if slo is not None else [])
    xs = [v for v in xs if v is not None]
    fig.update_layout(
        xaxis_title="latency (ms)", yaxis_title="P(latency ≤ x)", yaxis_range=[0, 1.02],
        xaxis_range=[0.0, 1.08 * max(xs)],
    )
    return to_div(fig, f"latency-cdf-{k}")


def _decomposition(apps: list[dict[str, Any]], sims: dict[str, dict[str, Any]]) -> str:
    fig = figure(height=420, barmode="stack", title="Where the latency goes (mean ms per request)")
    names = [x["application"] for x in apps]
    queued = any("link_queueing" in x["decomposition_ms"] for x in apps)  # only with queueing links
    for part in ANALYTIC_PARTS + (("link_queueing",) if queued else ()):
        fig.add_trace(
            go.Bar(
                x=[names, ["analytic"] * len(names)], y=[x["decomposition_ms"].get(part) for x in apps],
                name=f"{part} (analytic)", marker_color=PART_COLOURS[part],
            )
        )
    with_sim = [x for x in apps if x["application"] in sims]
    if with_sim:
        sn = [x["application"] for x in with_sim]
        for part in SIM_PARTS:
            fig.add_trace(
                go.Bar(
                    x=[sn, ["simulated"] * len(sn)], y=[sims[n]["decomposition_ms"].get(part) for n in sn],
                    name=f"{part} (simulated)", marker_color=PART_COLOURS[part], marker_pattern_shape="/",
                )
            )
    fig.update_layout(yaxis_title="ms")
    return to_div(fig, "latency-decomposition")


def _by_tier(apps: list[dict[str, Any]]) -> str:
    fig = figure(height=360, barmode="stack", title="Queueing and processing by tier (analytic, mean ms)")
    names = [x["application"] for x in apps]
    for t in TIERS:
        vals = [(x.get("by_tier_ms") or {}).get(t) for x in apps]
        if any(v is not None for v in vals):
            fig.add_trace(go.Bar(x=names, y=vals, name=t, marker_color=TIER_COLOURS[t]))
    if not fig.data:
        return ""
    fig.update_layout(yaxis_title="ms")
    return to_div(fig, "latency-tiers")


def _table(apps: list[dict[str, Any]], sims: dict[str, dict[str, Any]]) -> str:
    def ci(lat: dict[str, Any], q: str) -> str:
        v, hw = lat.get(q), lat.get(f"{q}_ci99_half_width")
        return "–" if v is None else (f"{v:,.2f} ± {hw:,.2f}" if hw is not None else f"{v:,.2f}")

    rows = []
    for x in apps:
        s = sims.get(x["application"])
        slo = f"p{x['slo_percentile']:g} ≤ {x['slo_latency_ms']:g}" if x.get("slo_latency_ms") is not None else "–"
        lat = s["latency_ms"] if s else {}
        at_slo = sim_quantile_ms(s, float(x["slo_percentile"])) if s and x.get("slo_percentile") else None
        cells = [
            x["application"], slo, ms(x.get("mean_ms")), ms(x.get("p95_ms")), ms(x.get("p99_ms")),
            ms(x.get("latency_at_slo_percentile_ms")), ci(lat, "mean"), ci(lat, "p95"), ci(lat, "p99"),
            "–" if at_slo is None else f"{at_slo:,.2f}", f"{s['requests']:,}" if s else "–",
        ]
        rows.append("<tr>" + "".join(td(c) for c in cells) + "</tr>")
    head = (
        "<tr><th rowspan=2>application</th><th rowspan=2>SLO (ms)</th><th colspan=4>analytic (ms)</th>"
        "<th colspan=5>simulated (ms, ± 99 % CI)</th></tr><tr><th>mean</th><th>p95</th><th>p99</th>"
        "<th>at SLO pct</th><th>mean</th><th>p95</th><th>p99</th><th>at SLO pct</th><th>requests</th></tr>"
    )
    return f'<table class="data" id="latency-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def latency_section(analysis: dict[str, Any], sim: dict[str, Any] | None) -> str:
    """HTML of the latency section."""
    apps = list(analysis.get("applications", []))
    if not apps:
        return note("No application has devices sending requests: there is no latency to show.")
    sims = sim_apps(sim)
    drawn = sorted(apps, key=lambda x: -float(x.get("rate_per_s") or 0.0))[:MAX_APPS]
    drawn = [x for x in apps if x in drawn]
    parts = [_table(apps, sims)]
    if len(drawn) < len(apps):
        parts.append(note(f"Figures for the {len(drawn)} busiest of {len(apps)} applications (by request rate)."))
    parts.append('<div class="grid">')
    parts += [_cdf_figure(k, x, sims.get(x["application"])) for k, x in enumerate(drawn)]
    parts.append("</div>")
    parts.append(_decomposition(drawn, sims))
    parts.append(_by_tier(drawn))
    return "".join(parts)
