"""``edgescale report``: a self-contained HTML report of a design, its plan and its simulation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from edgescale.cli._common import Format, FormatOpt, SetOpt, emit, escape, fail, load_scenario, spinner
from edgescale.errors import EdgescaleError


def report(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Plan file (default: the default plan).")
    ] = None,
    sim: Annotated[
        Path | None, typer.Option("--sim", help="Simulation results JSON (edgescale simulate -o).")
    ] = None,
    analysis: Annotated[
        Path | None,
        typer.Option("--analysis", help="Analysis results JSON (edgescale analyze -o); computed when not given."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    plotlyjs: Annotated[
        str, typer.Option(help="plotly.js to inline: 'cartesian' (1.5 MB, enough) or 'full' (4.8 MB).")
    ] = "cartesian",
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Write one self-contained HTML page: verdict, map, latency, utilization, energy and cost, Pareto front,
    capacity plan and availability."""
    try:
        try:
            from edgescale.report import write_report
            from edgescale.report.inputs import load_results
        except ImportError as e:
            raise EdgescaleError(f"report needs plotly ({e}): pip install 'edgescale[report]'") from e
        from edgescale.model.plan import load_plan

        t0 = time.perf_counter()
        s = load_scenario(file, set_)
        p = load_plan(plan) if plan is not None else None
        sim_data = load_results(sim, "simulation") if sim is not None else None
        an_data = load_results(analysis, "analysis") if analysis is not None else None
        with spinner("writing the report"):
            path = write_report(output, s, plan=p, analysis=an_data, simulation=sim_data, plotlyjs=plotlyjs)
        size = path.stat().st_size
    except (EdgescaleError, OSError) as e:
        fail(e, fmt)
        return
    seconds = time.perf_counter() - t0
    data = {"ok": True, "output": str(path), "bytes": size, "seconds": round(seconds, 3), "simulation": sim is not None}

    emit(fmt, data, f"wrote {escape(str(path))} ({size / 1e6:,.2f} MB) in {seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the command line."""
    app.command()(report)
