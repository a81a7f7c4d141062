"""The map of sites: positions (lat/lon, or a graph layout), tier, utilization; links by load.

Large systems stay light: when there are more than :data:`MAX_SITE_MARKERS` sites, a tier with more
than :data:`MAX_TIER_MARKERS` sites is drawn as grid cells (one marker per occupied cell, sized by
its number of sites and coloured by its busiest site), and only the :data:`MAX_LINKS` busiest links
are drawn. Devices are never drawn one by one: their count is in each access site's hover text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import TIERS
from edgescale.report._fig import TIER_COLOURS, TIER_SYMBOLS, UTIL_SCALE, figure, note, to_div

__all__ = ["MAX_LINKS", "MAX_SITE_MARKERS", "MAX_TIER_MARKERS", "map_section", "site_positions"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MAX_SITE_MARKERS = 2000
MAX_TIER_MARKERS = 500
MAX_LINKS = 1500
GRID_CELLS = 36  # per side of the bounding box, for aggregated tiers
SPRING_MAX_SITES = 400
FAR_FACTOR = 4.0  # zoom to the sites below the cloud tier when the clouds spread the map this much wider
MIN_VIEW_DEG = 0.005
LINK_CLASSES = (  # (label, lower bound of link utilization, colour, width)
    ("idle", -1.0, "#c7c7c7", 0.6),
    ("< 50 %", 0.0, "#6baed6", 1.4),
    ("50–80 %", 0.5, "#fd8d3c", 2.4),
    ("≥ 80 %", 0.8, "#d62728", 3.6),
)


@dataclass(frozen=True)
class _Markers:
    x: F64
    y: F64
    size: F64
    colour: F64
    text: list[str]


def site_positions(a: SystemArrays) -> tuple[F64, F64, bool]:
    """(x, y, geographic): lon/lat when every site has a location, else a seeded graph layout."""
    lat, lon = a.site_lat, a.site_lon
    if a.n_sites and np.all(np.isfinite(lat) & np.isfinite(lon)):
        return lon.astype(np.float64), lat.astype(np.float64), True
    if 0 < a.n_sites <= SPRING_MAX_SITES:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(a.n_sites))
        g.add_edges_from(zip(a.link_src.tolist(), a.link_dst.tolist(), strict=True))
        pos = nx.spring_layout(g, seed=0)
        xy = np.array([pos[i] for i in range(a.n_sites)], dtype=np.float64)
        return xy[:, 0], xy[:, 1], False
    # many sites without locations: one row per tier, sites spread along it
    x = np.zeros(a.n_sites)
    for t in range(len(TIERS)):
        idx = np.flatnonzero(a.site_tier == t)
        x[idx] = (np.arange(len(idx)) + 0.5) / max(len(idx), 1)
    return x, -a.site_tier.astype(np.float64), False


def _site_text(a: SystemArrays, idx: I64, util: F64, devices: F64) -> list[str]:
    return [
        f"{a.site_ids[i]} ({TIERS[a.site_tier[i]]})<br>utilization {util[i]:.1%} of "
        f"{a.site_cpu_cores[i]:g} cores<br>devices {int(devices[i]):,}"
        for i in idx.tolist()
    ]


def _one_by_one(a: SystemArrays, idx: I64, x: F64, y: F64, util: F64, devices: F64) -> _Markers:
    size = np.full(len(idx), 11.0 if a.n_sites <= 200 else 7.0)
    return _Markers(x[idx], y[idx], size, util[idx], _site_text(a, idx, util, devices))


def _gridded(a: SystemArrays, idx: I64, x: F64, y: F64, util: F64, devices: F64) -> _Markers:
    """One marker per occupied grid cell: mean position, count, busiest site."""
    x0, x1 = float(x.min()), float(x.max())
    y0, y1 = float(y.min()), float(y.max())
    cx = np.minimum(((x[idx] - x0) / max(x1 - x0, 1e-12) * GRID_CELLS).astype(np.int64), GRID_CELLS - 1)
    cy = np.minimum(((y[idx] - y0) / max(y1 - y0, 1e-12) * GRID_CELLS).astype(np.int64), GRID_CELLS - 1)
    cells, inv = np.unique(cx * GRID_CELLS + cy, return_inverse=True)
    count = np.bincount(inv).astype(np.float64)
    mx = np.bincount(inv, weights=x[idx]) / count
    my = np.bincount(inv, weights=y[idx]) / count
    mean_u = np.bincount(inv, weights=util[idx]) / count
    dev = np.bincount(inv, weights=devices[idx])
    order = np.lexsort((-util[idx], inv))  # by cell, busiest first
    first = np.searchsorted(inv[order], np.arange(len(cells)))
    top = idx[order[first]]
    tier = TIERS[int(a.site_tier[idx[0]])]
    text = [
        f"{int(n):,} {tier} sites<br>utilization mean {m:.1%}, max {util[t]:.1%} ({a.site_ids[t]})"
        f"<br>devices {int(d):,}"
        for n, m, t, d in zip(count.tolist(), mean_u.tolist(), top.tolist(), dev.tolist(), strict=True)
    ]
    size = 4.0 + 10.0 * np.sqrt(count / count.max())
    return _Markers(mx, my, size, util[top], text)


def _link_traces(
    fig: go.Figure, a: SystemArrays, x: F64, y: F64, load_mbps: F64
) -> tuple[int, int]:
    """Draw links (the busiest when there are many), one trace per load class; (drawn, total)."""
    n = a.n_links
    if not n:
        return 0, 0
    sel = np.arange(n) if n <= MAX_LINKS else np.argsort(-load_mbps, kind="stable")[:MAX_LINKS]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(a.link_bandwidth_mbps > 0, load_mbps / a.link_bandwidth_mbps, 0.0)
    u = np.where(load_mbps > 0, u, -1.0)
    bounds = [c[1] for c in LINK_CLASSES]
    cls = np.searchsorted(bounds, u[sel], side="right") - 1
    for k, (label, _, colour, width) in enumerate(LINK_CLASSES):
        li = sel[cls == k]
        if not len(li):
            continue
        s, d = a.link_src[li], a.link_dst[li]
        xs = np.column_stack([x[s], x[d], np.full(len(li), np.nan)]).ravel()
        ys = np.column_stack([y[s], y[d], np.full(len(li), np.nan)]).ravel()
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line={"color": colour, "width": width},
                name=f"links {label}", legendgroup="links", hoverinfo="skip", connectgaps=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=(x[s] + x[d]) / 2, y=(y[s] + y[d]) / 2, mode="markers",
                marker={"size": 6, "color": colour, "opacity": 0.0}, showlegend=False, legendgroup="links",
                hovertext=[
                    f"{a.site_ids[i]} – {a.site_ids[j]}<br>{m:,.2f} Mbit/s of {b:,.0f} ({max(v, 0):.1%})"
                    for i, j, m, b, v in zip(
                        s.tolist(), d.tolist(), load_mbps[li].tolist(),
                        a.link_bandwidth_mbps[li].tolist(), u[li].tolist(), strict=True,
                    )
                ],
                hoverinfo="text", name=f"links {label} (hover)",
            )
        )
    return len(sel), n


def _initial_view(a: SystemArrays, x: F64, y: F64) -> tuple[list[float], list[float], int] | None:
    """Axis ranges around the sites below the cloud tier when far-away clouds would shrink them to a dot."""
    near = a.site_tier != TIERS.index("cloud")
    if near.all() or not near.any():
        return None
    def span(v: F64) -> float:
        return float(v.max() - v.min())
    if max(span(x), span(y)) < FAR_FACTOR * max(span(x[near]), span(y[near]), 1e-9):
        return None
    pad_x = max(0.08 * span(x[near]), MIN_VIEW_DEG)
    pad_y = max(0.08 * span(y[near]), MIN_VIEW_DEG)
    xr = [float(x[near].min()) - pad_x, float(x[near].max()) + pad_x]
    yr = [float(y[near].min()) - pad_y, float(y[near].max()) + pad_y]
    outside = int(np.sum(~near & ((x < xr[0]) | (x > xr[1]) | (y < yr[0]) | (y > yr[1]))))
    return xr, yr, outside


def map_section(a: SystemArrays, util: F64, load_mbps: F64) -> str:
    """HTML of the map section: the figure and a note on what is drawn."""
    x, y, geographic = site_positions(a)
    devices = np.bincount(a.demand_site, weights=a.demand_devices, minlength=a.n_sites).astype(np.float64)
    fig = figure(height=620, legend={"orientation": "h", "y": -0.08})
    drawn_links, total_links = _link_traces(fig, a, x, y, load_mbps)
    cmax = max(1.0, float(util.max(initial=0.0)))
    parts: list[str] = []
    for t, tier in enumerate(TIERS):
        idx = np.flatnonzero(a.site_tier == t).astype(np.int64)
        if not len(idx):
            continue
        grid = a.n_sites > MAX_SITE_MARKERS and len(idx) > MAX_TIER_MARKERS
        m = (_gridded if grid else _one_by_one)(a, idx, x, y, util, devices)
        parts.append(
            f"{len(idx):,} {tier} sites in {len(m.x):,} grid cells" if grid else f"{len(idx):,} {tier}"
        )
        fig.add_trace(
            go.Scatter(
                x=m.x, y=m.y, mode="markers", name=f"{tier} ({len(idx):,})", hovertext=m.text,
                hoverinfo="text",
                marker={
                    "symbol": TIER_SYMBOLS[tier], "size": m.size, "color": m.colour, "coloraxis": "coloraxis",
                    "line": {"color": TIER_COLOURS[tier], "width": 2 if not grid else 1},
                },
            )
        )
    fig.update_layout(
        coloraxis={"colorscale": UTIL_SCALE, "cmin": 0.0, "cmax": cmax, "colorbar": {"title": "utilization"}},
        xaxis_title="longitude" if geographic else "", yaxis_title="latitude" if geographic else "",
    )
    far = ""
    if geographic:
        lat0 = float(np.nanmean(y)) if len(y) else 0.0
        fig.update_yaxes(scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(lat0)), 0.05))
        view = _initial_view(a, x, y)
        if view is not None:
            fig.update_xaxes(range=view[0])
            fig.update_yaxes(range=view[1])
            far = f" {view[2]} cloud site(s) lie outside the first view: the autoscale button shows all."
    else:
        fig.update_xaxes(showticklabels=False)
        fig.update_yaxes(showticklabels=False)
    where = "positions are latitude/longitude" if geographic else "locations unknown: a graph layout"
    links = (
        f"all {total_links:,} links" if drawn_links == total_links else f"the {drawn_links:,} busiest of {total_links:,} links"
    )
    text = (
        f"Sites: {', '.join(parts)}; {where}. Marker colour: utilization (busy cores / cores, analytic); "
        f"symbol and outline: tier. Lines: {links}, by offered load over bandwidth.{far}"
    )
    return note(text) + to_div(fig, "map-figure")
