"""``edgescale optimize``: placement and assignment plans, and OR-Library GAP instances."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.markup import escape

from edgescale.cli._common import (
    Format,
    FormatOpt,
    SetOpt,
    emit,
    err,
    fail,
    load_scenario,
    spinner,
)
from edgescale.errors import EdgescaleError


class Solver(StrEnum):
    auto = "auto"
    milp = "milp"
    heuristic = "heuristic"
    pareto = "pareto"


def optimize(
    target: Annotated[str, typer.Argument(help="A scenario file, or 'gap' to solve an OR-Library GAP file.")],
    gap_file: Annotated[Path | None, typer.Argument(help="With 'gap': the OR-Library file.")] = None,
    objective: Annotated[
        str, typer.Option(help="latency, cost, energy, or weights like latency=1,cost=0.1.")
    ] = ("latency"),
    solver: Annotated[Solver, typer.Option(help="auto, milp, heuristic or pareto.")] = Solver.auto,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds per solve.")] = 60.0,
    instance: Annotated[
        list[int] | None, typer.Option(help="With 'gap': 1-based instance number(s).")
    ] = None,
    sense: Annotated[
        str | None, typer.Option(help="With 'gap': min or max (default from the file name).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Plan (or results) file to write.")
    ] = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Decide placement and assignment (writes a plan), or solve standard GAP instances."""
    if target == "gap":
        _optimize_gap(gap_file, instance, sense, time_limit, solver, output, fmt)
        return
    _optimize_scenario(Path(target), objective, solver, time_limit, output, set_, fmt)


def _optimize_gap(
    file: Path | None,
    instance: list[int] | None,
    sense: str | None,
    time_limit: float,
    solver: Solver,
    output: Path | None,
    fmt: Format,
) -> None:
    if file is None:
        err.print("error: 'edgescale optimize gap' needs the OR-Library file, e.g. gapc.txt")
        raise typer.Exit(2)
    if sense not in (None, "min", "max"):
        err.print(f"error: --sense must be min or max (got {sense!r})")
        raise typer.Exit(2)
    if solver is Solver.pareto:
        err.print("error: --solver pareto does not apply to GAP (one objective)")
        raise typer.Exit(2)
    try:
        from edgescale.model.io import write_atomic
        from edgescale.optimize.gap import solve_gap_file

        with spinner(f"solving {file.name}"):
            results = solve_gap_file(
                file,
                instance=instance,
                sense=cast(Literal["min", "max"] | None, sense),
                time_limit_s=time_limit,
                method=cast(Literal["auto", "milp", "heuristic"], solver.value),
            )
        rows = [r.to_dict() for r in results]
        if output is not None:
            write_atomic(output, json.dumps(rows, indent=1) + "\n")
    except (EdgescaleError, OSError) as e:
        fail(e, fmt)
        return
    brief = [{k: v for k, v in r.items() if k not in ("assignment", "stats")} for r in rows]
    lines = ["instance  sense  objective      bound        gap  status      seconds"]
    for k, r in zip(instance or range(1, len(rows) + 1), brief, strict=False):
        gap = "-" if r["gap"] is None else f"{r['gap']:.4%}"
        lines.append(
            f"{k:>8}  {r['sense']:5}  {r['objective']!s:>9}  {r['bound']!s:>9}  {gap:>9}  {r['status']:10}"
            f"  {r['solve_seconds']:7.2f}"
        )
    emit(fmt, brief if len(brief) > 1 else brief[0], "\n".join(lines))


def _optimize_scenario(
    file: Path,
    objective: str,
    solver: Solver,
    time_limit: float,
    output: Path | None,
    set_: list[str] | None,
    fmt: Format,
) -> None:
    if solver is Solver.pareto:
        fail(EdgescaleError("--solver pareto: Pareto fronts are not built yet; use auto, milp or heuristic"), fmt)
        return
    try:
        from edgescale.optimize import placement
    except ImportError as e:
        fail(EdgescaleError(f"optimize needs highspy ({e}): pip install 'edgescale[optimize]'"), fmt)
        return
    try:
        from edgescale.model.plan import save_plan

        s = load_scenario(file, set_)
        weights = None
        if "=" in objective:
            weights = {k.strip(): float(v) for k, v in (p.split("=") for p in objective.split(","))}
            objective = "weighted"
        with spinner("optimizing"):
            plan = placement.optimize_placement(
                s, objective=objective, weights=weights, method=solver.value, time_limit_s=time_limit
            )
        if output is not None:
            save_plan(plan, output)
    except (EdgescaleError, OSError, ValueError) as e:
        fail(e, fmt)
        return
    data = {
        "status": plan.status,
        "objectives": plan.objectives,
        "bound": plan.bound,
        "gap": plan.gap,
        "solve_seconds": plan.solve_seconds,
        "created_by": plan.created_by,
        "output": str(output) if output else None,
    }
    text = escape(
        f"{plan.created_by}: {plan.status}; objectives {plan.objectives}; bound {plan.bound}; gap {plan.gap}"
        + (f"; wrote {output}" if output else "")
    )
    emit(fmt, data, text)


def register(app: typer.Typer) -> None:
    """Add ``optimize`` to the command line."""
    app.command()(optimize)
