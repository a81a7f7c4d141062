"""``edgescale optimize``: placement and assignment plans, and OR-Library GAP instances."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from edgescale.cli._common import (
    Format,
    FormatOpt,
    SetOpt,
    emit,
    err,
    escape,
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
        str,
        typer.Option(
            help="latency, cost, energy, weights like latency=1,cost=0.1, an order like latency,cost "
            "(lexicographic); with --solver pareto: the front's objectives (default all three)."
        ),
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
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Add shadow prices of site cores and memory (LP duals) and a demand sweep to the output "
            "(re-solves the placement at 4 more demand scales, each within --time-limit).",
        ),
    ] = False,
    sweep_percent: Annotated[
        float, typer.Option("--sweep-percent", min=0.1, help="With --sensitivity: demand sweep of ± this %.")
    ] = 20.0,
    seed: Annotated[int, typer.Option(help="Seed of the solvers.")] = 0,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the HTML report of the scenario under the new plan here."),
    ] = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Decide placement and assignment (writes a plan), or solve standard GAP instances."""
    if target == "gap":
        if report is not None:
            err.print("error: --report applies to scenario files, not to GAP instances")
            raise typer.Exit(2)
        _optimize_gap(gap_file, instance, sense, time_limit, solver, output, fmt)
        return
    extra = _Extra(sensitivity=sensitivity, sweep_percent=sweep_percent, seed=seed, report=report)
    _optimize_scenario(Path(target), objective, solver, time_limit, output, set_, fmt, extra)


@dataclass(frozen=True)
class _Extra:
    sensitivity: bool = False
    sweep_percent: float = 20.0
    seed: int = 0
    report: Path | None = None


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
    extra: _Extra | None = None,
) -> None:
    extra = extra or _Extra()
    try:
        from edgescale.optimize import placement
    except ImportError as e:
        fail(EdgescaleError(f"optimize needs highspy ({e}): pip install 'edgescale[optimize]'"), fmt)
        return
    try:
        from edgescale.model.plan import save_plan

        s = load_scenario(file, set_)
        weights = None
        front = None
        if solver is Solver.pareto:
            from edgescale.optimize.pareto import pareto_front

            names = tuple(x.strip() for x in objective.split(",")) if "," in objective else None
            with spinner("building the Pareto front"):
                front = pareto_front(
                    s,
                    objectives=names or ("latency", "energy", "cost"),
                    time_limit_s=time_limit,
                    resolution=0.02,
                    seed=extra.seed,
                )
            plan = front.plan
            objective = names[0] if names else "latency"
        else:
            if "=" in objective:
                weights = {k.strip(): float(v) for k, v in (p.split("=") for p in objective.split(","))}
                objective = "weighted"
            with spinner("optimizing"):
                plan = placement.optimize_placement(
                    s,
                    objective=objective,
                    weights=weights,
                    method=solver.value,
                    time_limit_s=time_limit,
                    seed=extra.seed,
                )
        if output is not None:
            save_plan(plan, output)
        sens = _sensitivity(s, objective, weights, solver, time_limit, extra) if extra.sensitivity else None
        if extra.report is not None:
            try:
                from edgescale.report import write_report
            except ImportError as e:
                raise EdgescaleError(f"--report needs plotly ({e}): pip install 'edgescale[report]'") from e
            with spinner("writing the report"):
                write_report(extra.report, s, plan=plan)
    except (EdgescaleError, OSError, ValueError) as e:
        fail(e, fmt)
        return
    data: dict[str, Any] = {
        "status": plan.status,
        "objectives": plan.objectives,
        "bound": plan.bound,
        "gap": plan.gap,
        "solve_seconds": plan.solve_seconds,
        "created_by": plan.created_by,
        "output": str(output) if output else None,
        "report": str(extra.report) if extra.report else None,
    }
    text = plan_summary(plan) + (f"\nwrote {output}" if output else "")
    if front is not None:
        data["pareto"] = {
            "method": front.method,
            "complete": front.complete,
            "objectives": list(front.objectives),
            "points": front.points.tolist(),
            "chosen": front.chosen,
            "hypervolume": front.hypervolume,
            "ideal": front.ideal.tolist(),
            "nadir": front.nadir.tolist(),
            "reference_point": front.reference,
        }
        text += (
            f"\nPareto front ({front.method}, {len(front.points)} points, hypervolume {front.hypervolume:.4g}), "
            f"chosen point {front.chosen} (closest to the ideal):\n  "
            + "  ".join(f"{n:>12}" for n in front.objectives)
            + "".join(
                f"\n{'*' if i == front.chosen else ' '} " + "  ".join(f"{v:12.5g}" for v in row)
                for i, row in enumerate(front.points)
            )
        )
    if sens is not None:
        data["sensitivity"] = sens
        sp, sw = sens["shadow_prices"], sens["demand_sweep"]
        text += (
            f"\nshadow prices ({objective} per core / per GB): cores {sp['cores']}; memory {sp['memory_gb']}"
            f"\ndemand sweep: replicas change first at x{sw['first_change_up']} (up) and "
            f"x{sw['first_change_down']} (down)"
        )
    emit(fmt, data, escape(text))


_STATUS_TEXT = {
    "optimal": "optimal (proven by the solver)",
    "time_limit": "time limit reached: not proven optimal",
    "heuristic": "heuristic plan: not proven optimal",
    "feasible": "feasible: not proven optimal",
}


def plan_summary(plan: Any) -> str:
    """A few lines a person reads: status, the objective values with units, bound and gap.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> p = NS(created_by="optimize:milp", status="time_limit", bound=16.999, gap=0.0154, solve_seconds=30.06,
    ...        objectives={"objective": 17.265, "mean_latency_ms": 17.265, "cost_per_hour": 55.12,
    ...                    "energy_w": 21186.4})
    >>> print(plan_summary(p))
    optimize:milp: time limit reached: not proven optimal
      mean latency 17.265 ms, cost 55.12 per hour, power 21,186 W
      objective 17.265, bound 16.999, gap 1.54 % (the optimum lies between the bound and the objective)
      30.1 s
    """
    o = plan.objectives or {}
    parts = []
    if "mean_latency_ms" in o:
        parts.append(f"mean latency {o['mean_latency_ms']:.5g} ms")
    if "cost_per_hour" in o:
        parts.append(f"cost {o['cost_per_hour']:,.2f} per hour")
    if "energy_w" in o:
        parts.append(f"power {o['energy_w']:,.0f} W")
    lines = [f"{plan.created_by}: {_STATUS_TEXT.get(plan.status, plan.status)}"]
    if parts:
        lines.append("  " + ", ".join(parts))
    if "objective" in o and plan.bound is not None:
        pct = None if plan.gap is None else 100.0 * plan.gap
        gap = "" if pct is None else (", gap < 0.001 %" if 0 < pct < 1e-3 else f", gap {pct:.3g} %")
        where = " (the optimum lies between the bound and the objective)" if plan.status != "optimal" else ""
        lines.append(f"  objective {o['objective']:.5g}, bound {plan.bound:.5g}{gap}{where}")
    if plan.solve_seconds is not None:
        lines.append(f"  {plan.solve_seconds:.1f} s")
    return "\n".join(lines)


def _sensitivity(
    s: Any, objective: str, weights: dict[str, float] | None, solver: Solver, time_limit: float, extra: _Extra
) -> dict[str, Any]:
    from edgescale.optimize.sensitivity import capacity_shadow_prices, demand_sweep

    obj = objective if "," not in objective else objective.split(",")[0]
    with spinner("shadow prices and demand sweep"):
        sp = capacity_shadow_prices(s, objective=obj, weights=weights)
        sw = demand_sweep(
            s,
            percent=extra.sweep_percent,
            steps=2,
            objective=obj,
            weights=weights,
            method="auto" if solver is Solver.pareto else solver.value,
            time_limit_s=time_limit,
            seed=extra.seed,
        )
    return {"shadow_prices": sp.to_dict(), "demand_sweep": sw.to_dict()}


def register(app: typer.Typer) -> None:
    """Add ``optimize`` to the command line."""
    app.command()(optimize)
