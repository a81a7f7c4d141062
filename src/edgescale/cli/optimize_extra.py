"""``edgescale offload`` and ``edgescale cache``: offloading and cache placement for a scenario.

Each writes (with ``-o``) a plan whose ``offload`` or ``cache`` section holds the decision, taking
the other sections from ``--plan`` (or the default plan); its ``created_by`` says what made it, e.g.
``offload:milp (on default)``, so results made under it are told apart from the base plan's.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from edgescale.cli._common import Format, FormatOpt, SetOpt, emit, escape, fail, load_scenario, spinner
from edgescale.errors import EdgescaleError


class OffloadMethod(StrEnum):
    best_response = "best-response"
    milp = "milp"


class CacheMethod(StrEnum):
    greedy = "greedy"
    milp = "milp"


PlanOpt = Annotated[
    Path | None, typer.Option("--plan", help="Plan to add the decision to (default: the default plan).")
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Plan file to write.")]
TimeOpt = Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds for the MILP.")]


def _base_plan(scenario: Any, arrays: Any, plan_file: Path | None) -> Any:
    from edgescale.model.default_plan import default_plan
    from edgescale.model.plan import check_plan_matches, load_plan

    if plan_file is None:
        return default_plan(scenario, arrays)[0]
    plan = load_plan(plan_file)
    check_plan_matches(plan, scenario, source=str(plan_file))
    return plan


def offload(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    method: Annotated[
        OffloadMethod, typer.Option(help="best-response (any size) or milp (exact, small).")
    ] = (OffloadMethod.best_response),
    energy_weight: Annotated[
        float, typer.Option(min=0.0, help="Cost per joule of device energy (per ms: 1).")
    ] = 0.0,
    max_devices: Annotated[
        int, typer.Option(min=1, help="Model at most this many devices (scaled).")
    ] = 20_000,
    deadlines: Annotated[bool, typer.Option(help="Use the SLO latencies as task deadlines.")] = True,
    plan: PlanOpt = None,
    output: OutputOpt = None,
    time_limit: TimeOpt = 60.0,
    seed: Annotated[int, typer.Option(help="Order of the best-response moves.")] = 0,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Decide where each device group's tasks run: on the device, at the edge or in the cloud."""
    try:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.plan import save_plan
        from edgescale.optimize import offloading as off

        s = load_scenario(file, set_)
        arrays = compile_scenario(s, devices=False)
        so = off.offload_problem_from_scenario(
            s, arrays, max_devices=max_devices, energy_weight=energy_weight, deadlines=deadlines
        )
        with spinner("deciding offloading"):
            if method is OffloadMethod.milp:
                r = off.offload_optimal(so.problem, time_limit_s=time_limit)
            else:
                r = off.offload_best_response(so.problem, seed=seed)
        entries = r.plan_entries(so.problem.n_edges, so.device_group, arrays.group_ids)
        if output is not None:
            base = _base_plan(s, arrays, plan)
            made_by = f"offload:{method.value} (on {base.created_by})"
            save_plan(base.model_copy(update={"offload": entries, "created_by": made_by}), output)
    except (EdgescaleError, OSError, ValueError, ImportError, MemoryError) as e:
        fail(e, fmt)
        return
    data = {
        **r.to_dict(),
        "scale": so.scale,
        "offload": [e.model_dump() for e in entries],
        "output": str(output) if output else None,
    }
    lines = [
        f"offload ({r.method}): {r.status}; cost {r.objective:.6g}, bound {r.bound:.6g}, gap {r.gap:.2%}"
    ]
    lines += [f"  {e.group}: device {e.device:.0%}, edge {e.edge:.0%}, cloud {e.cloud:.0%}" for e in entries]
    if output:
        lines.append(f"wrote {output}")
    emit(fmt, data, escape("\n".join(lines)))


def cache(
    file: Annotated[Path, typer.Argument(help="Scenario file (with a content catalog and cache_gb).")],
    method: Annotated[CacheMethod, typer.Option(help="greedy (lazy, any size) or milp (exact, small).")] = (
        CacheMethod.greedy
    ),
    max_items: Annotated[int, typer.Option(min=1, help="Model the most popular items only.")] = 10_000,
    plan: PlanOpt = None,
    output: OutputOpt = None,
    time_limit: TimeOpt = 60.0,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Decide which content items each edge cache holds."""
    try:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.plan import save_plan
        from edgescale.optimize import caching

        s = load_scenario(file, set_)
        arrays = compile_scenario(s, devices=False)
        sc = caching.cache_problem_from_scenario(s, arrays, max_items=max_items)
        with spinner("placing content"):
            if method is CacheMethod.milp:
                r = caching.cache_optimal(sc.problem, time_limit_s=time_limit)
            else:
                r = caching.cache_greedy(sc.problem)
        names = [arrays.site_ids[i] for i in sc.sites]
        entries = r.plan_entries(names)
        if output is not None:
            base = _base_plan(s, arrays, plan)
            made_by = f"cache:{method.value} (on {base.created_by})"
            save_plan(base.model_copy(update={"cache": entries, "created_by": made_by}), output)
    except (EdgescaleError, OSError, ValueError, ImportError, MemoryError) as e:
        fail(e, fmt)
        return
    data = {
        **r.to_dict(),
        "items_modelled": sc.items_modelled,
        "cache": [{"site": e.site, "items": len(e.items)} for e in entries],
        "output": str(output) if output else None,
    }
    text = (
        f"cache ({r.method}): {r.status}; saves {r.objective:.6g} ms/s (bound {r.bound:.6g}, gap {r.gap:.2%}); "
        f"mean latency {r.mean_latency_ms:.3f} ms; local hits {r.local_hit:.1%}, neighbour {r.neighbour_hit:.1%}"
        + (f"\nwrote {output}" if output else "")
    )
    emit(fmt, data, escape(text))


def register(app: typer.Typer) -> None:
    """Add ``offload`` and ``cache`` to the command line."""
    app.command()(offload)
    app.command()(cache)
