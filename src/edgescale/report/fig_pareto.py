"""The Pareto front of a plan, with the chosen point marked."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from edgescale.model.plan import Plan
from edgescale.report._fig import figure, note, to_div

__all__ = ["pareto_section"]

MAX_TABLE_POINTS = 50


def _table(objectives: tuple[str, ...], pts: np.ndarray, chosen: int) -> str:
    head = "<tr><th>#</th>" + "".join(f"<th>{html.escape(o)}</th>" for o in objectives) + "</tr>"
    rows = []
    for i in range(min(len(pts), MAX_TABLE_POINTS)):
        cls = ' class="chosen"' if i == chosen else ""
        cells = "".join(f"<td class=\"n\">{v:,.6g}</td>" for v in pts[i])
        rows.append(f"<tr{cls}><td>{i}{' (chosen)' if i == chosen else ''}</td>{cells}</tr>")
    more = f"<caption>first {MAX_TABLE_POINTS} of {len(pts)} points</caption>" if len(pts) > MAX_TABLE_POINTS else ""
    return f'<table class="data" id="pareto-table">{more}<thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def pareto_section(plan: Plan) -> str:
    """HTML of the Pareto section (a note when the plan has no front)."""
    p = plan.pareto
    if p is None or not p.points:
        return note(
            f"The plan ('{plan.created_by}') has no Pareto front: optimize with several objectives to get one."
        )
    obj = p.objectives
    pts = np.asarray(p.points, dtype=np.float64)
    k = p.chosen
    fig = figure(height=440, title=f"Pareto front ({len(pts)} points)")
    hover = [", ".join(f"{o} {v:,.4g}" for o, v in zip(obj, row, strict=True)) for row in pts.tolist()]
    if len(obj) == 1:
        x, y, xt, yt = pts[:, 0], np.zeros(len(pts)), obj[0], ""
    else:
        x, y, xt, yt = pts[:, 0], pts[:, 1], obj[0], obj[1]
    order = np.argsort(x, kind="stable")
    marker: dict[str, object] = {"size": 9, "color": "#1f77b4"}
    if len(obj) >= 3:
        marker = {"size": 9, "color": pts[:, 2], "colorscale": "Viridis", "colorbar": {"title": obj[2]}}
    fig.add_trace(
        go.Scatter(
            x=x[order], y=y[order], mode="lines+markers", name="non-dominated points", marker=marker,
            line={"color": "#9ecae1", "width": 1}, hovertext=[hover[i] for i in order], hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[x[k]], y=[y[k]], mode="markers", name="chosen plan",
            marker={"symbol": "star", "size": 20, "color": "#d62728", "line": {"color": "black", "width": 1}},
            hovertext=[hover[k]], hoverinfo="text",
        )
    )
    fig.update_layout(xaxis_title=xt, yaxis_title=yt)
    hv = f" Hypervolume {p.hypervolume:,.6g}." if p.hypervolume is not None else ""
    extra = f" Axes: {obj[0]} and {obj[1]}; colour: {obj[2]}." if len(obj) >= 3 else ""
    chosen = ", ".join(f"{o} {v:,.4g}" for o, v in zip(obj, pts[k].tolist(), strict=True))
    text = f"Objectives: {', '.join(obj)}. Chosen point #{k}: {chosen}.{hv}{extra}"
    return note(text) + to_div(fig, "pareto-figure") + _table(obj, pts, k)
