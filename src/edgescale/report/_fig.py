"""Shared look of the report's figures and their HTML (plotly.js itself is inlined once by the page)."""

from __future__ import annotations

import html
import re
from typing import Any

import plotly.graph_objects as go

TIER_COLOURS = {"device": "#8c8c8c", "edge": "#1f77b4", "aggregation": "#ff7f0e", "cloud": "#2ca02c"}
TIER_SYMBOLS = {"device": "triangle-up", "edge": "circle", "aggregation": "square", "cloud": "diamond"}
UTIL_SCALE = "YlOrRd"
CONFIG = {"displaylogo": False, "responsive": True}

# a small template: plotly's default one adds ~6 kB to every figure
TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#222"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "#f6f7f9",
        "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"],
        "xaxis": {"gridcolor": "white", "zerolinecolor": "#ddd", "automargin": True},
        "yaxis": {"gridcolor": "white", "zerolinecolor": "#ddd", "automargin": True},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
    }
)


def figure(height: int = 420, **layout: Any) -> go.Figure:
    """An empty figure with the report's look."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, height=height, **layout)
    return fig


def to_div(fig: go.Figure, div_id: str) -> str:
    """The figure as a ``<div>`` and the script that draws it (plotly.js must already be on the page)."""
    text: str = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG, default_height="auto"
    )
    return f'<div class="figure">{text}</div>'


_NUMBER = re.compile(r"^[-−–+]?[\d.,]+( ?(%|± [\d.,]+))?$|^[–-]$|^unbounded$")


def td(value: object) -> str:
    """A table cell, escaped; numbers (and the dash for none) right-aligned."""
    text = str(value)
    cls = ' class="n"' if _NUMBER.match(text) else ""
    return f"<td{cls}>{html.escape(text)}</td>"


def note(text: str, cls: str = "note") -> str:
    """A paragraph of plain text (escaped)."""
    return f'<p class="{cls}">{html.escape(text)}</p>'


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage with a thin space, or an en dash."""
    return "–" if x is None else f"{100.0 * x:.{digits}f} %"


def ms(x: float | None) -> str:
    """Milliseconds for a table, ``unbounded`` for None (an unstable queue)."""
    return "unbounded" if x is None else f"{x:,.2f}"
