"""Assemble the report: one self-contained HTML page (plotly.js and every figure's data inlined).

Sections, each with a stable id: ``verdict``, ``map``, ``latency``, ``utilization``, ``energy-cost``,
``pareto``, ``capacity``, ``availability``.
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path
from typing import Any

from edgescale.errors import Issue, ScenarioError
from edgescale.model.io import write_atomic
from edgescale.model.plan import Plan
from edgescale.model.schema import Scenario
from edgescale.report.derived import cost_per_hour_by_site, link_load_mbps, power_w_by_site, site_utilization
from edgescale.report.fig_latency import latency_section
from edgescale.report.fig_map import map_section
from edgescale.report.fig_operations import energy_cost_section, utilization_section
from edgescale.report.fig_pareto import pareto_section
from edgescale.report.inputs import ReportInputs, prepare
from edgescale.report.tables import availability_table, capacity_table
from edgescale.report.verdict import verdict_section

__all__ = ["DEFAULT_BUNDLE", "SECTIONS", "build_report", "plotly_js", "write_report"]

DEFAULT_BUNDLE = "cartesian"

SECTIONS: dict[str, str] = {
    "verdict": "Verdict",
    "map": "Sites and links",
    "latency": "Latency per application",
    "utilization": "Utilization, drops and timeouts",
    "energy-cost": "Energy and cost",
    "pareto": "Pareto front",
    "capacity": "Capacity plan",
    "availability": "Availability",
}

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:0 1.5rem 3rem;color:#222}
header{border-bottom:2px solid #1f77b4;margin-bottom:1rem}
h1{font-size:1.6rem;margin:1.2rem 0 .3rem}h2{font-size:1.25rem;margin:1.8rem 0 .5rem}
nav a{margin-right:1rem;font-size:.9rem}.meta{color:#555;font-size:.9rem}
.headline{font-size:1.1rem;font-weight:600}.nosim,.note{color:#444}
table.data{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
table.data th,table.data td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
table.data td.n{text-align:right}table.data th{background:#f0f3f7}
tr.fail td{background:#fde8e8}tr.ok td{background:#eaf6ea}tr.chosen td{font-weight:700}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:.5rem}
.figure{min-height:300px}
"""


def _header(inp: ReportInputs) -> str:
    from edgescale import __version__

    s, sim = inp.scenario, inp.simulation
    a = inp.arrays
    what = (
        f"{a.n_sites:,} sites, {a.n_links:,} links, {a.n_devices:,} devices in {len(a.group_ids)} groups, "
        f"{len(a.app_ids)} applications. Plan: {inp.plan.created_by} ({inp.plan.status})."
    )
    run = (
        f"Simulation: seed {sim.get('seed')}, {sim.get('replications')} replication(s) of "
        f"{sim.get('duration_s'):g} s after {sim.get('warmup_s'):g} s warm-up."
        if sim is not None
        else "No simulation was given."
    )
    nav = "".join(f'<a href="#{k}">{html.escape(v)}</a>' for k, v in SECTIONS.items())
    return (
        f"<header><h1>edgescale report: {html.escape(s.name)}</h1>"
        f'<p class="meta">{html.escape(s.description or "")} {html.escape(what)} {html.escape(run)} '
        f"Scenario sha256 {inp.analysis.get('scenario_sha256', '')[:12]}…; edgescale {__version__}.</p>"
        f"<nav>{nav}</nav></header>"
    )


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(SECTIONS[key])}</h2>{body}</section>'


def _body(inp: ReportInputs) -> str:
    a, pa = inp.arrays, inp.plan_arrays
    util = site_utilization(a, pa)
    power = power_w_by_site(a, util)
    cost = cost_per_hour_by_site(a, pa)
    parts = [
        _header(inp),
        verdict_section(inp.analysis, inp.simulation),
        _section("map", map_section(a, util, link_load_mbps(a, pa))),
        _section("latency", latency_section(inp.analysis, inp.simulation)),
        _section("utilization", utilization_section(a, util, inp.simulation)),
        _section("energy-cost", energy_cost_section(a, power, cost, inp.simulation, dict(inp.plan.objectives))),
        _section("pareto", pareto_section(inp.plan)),
        _section("capacity", capacity_table(inp.analysis)),
        _section("availability", availability_table(inp.analysis, inp.simulation)),
    ]
    return "\n".join(parts)


def plotly_js(bundle: str = DEFAULT_BUNDLE) -> str:
    """The plotly.js source to inline: the vendored cartesian bundle, or the plotly package's full one."""
    if bundle == "cartesian":
        return (files("edgescale.report") / "_vendor" / "plotly-cartesian.min.js").read_text(encoding="utf-8")
    if bundle == "full":
        import plotly.offline

        js: str = plotly.offline.get_plotlyjs()
        return js
    raise ScenarioError([Issue("plotlyjs", "must be 'cartesian' or 'full'", bundle)])


def build_report(
    scenario: Scenario,
    *,
    plan: Plan | None = None,
    analysis: Any = None,
    simulation: Any = None,
    plotlyjs: str = DEFAULT_BUNDLE,
) -> str:
    """The report of a scenario as one self-contained HTML page.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    plan : Plan, optional
        The plan to report on (default: the default plan).
    analysis : AnalysisResult or dict, optional
        Analysis results (``edgescale analyze -o``); computed when not given.
    simulation : SimulationResult or dict, optional
        Simulation results (``edgescale simulate -o``); without them the report shows the analytic
        sections and says that no simulation was given.
    plotlyjs : {"cartesian", "full"}
        The plotly.js inlined: the vendored cartesian partial bundle (1.5 MB; every trace the report
        draws) or the full bundle of the ``plotly`` package (4.8 MB).

    Returns
    -------
    str
        The HTML page: plotly.js inlined once, every figure's data inlined, no network access needed.

    Raises
    ------
    ScenarioError
        When the plan or results were made for another scenario, or the results under another plan.
    """
    js = plotly_js(plotlyjs)
    inp = prepare(scenario, plan=plan, analysis=analysis, simulation=simulation)
    body = _body(inp)
    figures = body.count('class="plotly-graph-div"')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>edgescale report: {html.escape(scenario.name)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{js}</script></head>\n'
        f'<body data-figures="{figures}">\n{body}\n</body></html>\n'
    )


def write_report(
    path: str | Path,
    scenario: Scenario,
    *,
    plan: Plan | None = None,
    analysis: Any = None,
    simulation: Any = None,
    plotlyjs: str = DEFAULT_BUNDLE,
) -> Path:
    """Build the report (see :func:`build_report`) and write it to *path* atomically; returns the path."""
    text = build_report(scenario, plan=plan, analysis=analysis, simulation=simulation, plotlyjs=plotlyjs)
    p = Path(path)
    write_atomic(p, text)
    return p
