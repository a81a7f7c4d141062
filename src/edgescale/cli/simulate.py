"""``edgescale simulate``: the digital twin from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from edgescale.cli._common import (
    Format,
    FormatOpt,
    SetOpt,
    console,
    emit,
    err,
    escape,
    fail,
    fmt_ms,
    json_default,
    load_scenario,
    parse_duration,
    stderr_is_terminal,
    warning_lines,
)
from edgescale.errors import EdgescaleError


def simulate(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Plan file (default: the default plan).")
    ] = None,
    duration: Annotated[str | None, typer.Option(help="Measured time, e.g. 1h, 30m, 100 (s).")] = None,
    warmup: Annotated[str | None, typer.Option(help="Discarded warm-up, e.g. 5m.")] = None,
    replications: Annotated[int | None, typer.Option(min=1, help="Independent replications.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed gives the same numbers.")] = 0,
    executor: Annotated[
        str, typer.Option(help="Where replications run: serial, processes or ray.")
    ] = "serial",
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (executor 'processes').")
    ] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (executor 'ray').")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the results JSON here.")
    ] = None,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Write sampled per-request traces to this Parquet file.")
    ] = None,
    trace_every: Annotated[
        int,
        typer.Option(min=1, help="With --trace: keep every k-th request outcome (at most 1,000,000 rows)."),
    ] = 100,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep", help="Run every combination: PATH=V1,V2,... (repeatable).", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report with these results here.")
    ] = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Run the digital twin: latency distributions with confidence intervals, utilization, energy."""
    dur, warm = parse_duration(duration, "--duration"), parse_duration(warmup, "--warmup")
    try:
        from edgescale.model.io import write_atomic
        from edgescale.model.plan import load_plan

        try:
            # edgescale.sim, imported first, installs the ahead-of-time kernel: the twin runs without numba
            from edgescale.sim.runner import simulate_scenario
        except ImportError as e:
            raise EdgescaleError(f"simulate needs numba ({e}): pip install 'edgescale[simulate]'") from e

        s = load_scenario(file, set_)
        p = load_plan(plan) if plan is not None else None
        kwargs: dict[str, Any] = {"plan": p, "duration_s": dur, "warmup_s": warm, "replications": replications,
                                  "seed": seed}  # fmt: skip
        with _progress("sweeping" if sweep else "simulating") as step:
            if sweep:
                from edgescale.sim.sweep import parse_sweep, simulate_sweep

                if trace is not None:
                    raise EdgescaleError("--trace: not with --sweep (one trace file per run)")
                if report is not None:
                    raise EdgescaleError("--report: not with --sweep (one report per run)")
                data = simulate_sweep(file, parse_sweep(sweep), overrides=set_ or (), executor=executor,
                                      workers=workers, ray_address=ray_address, progress=step, **kwargs)  # fmt: skip
            else:
                result = simulate_scenario(s, executor=executor, workers=workers, ray_address=ray_address,
                                           trace_every=trace_every if trace is not None else 0,
                                           trace_rows=1_000_000, progress=step, **kwargs)  # fmt: skip
                data = result.to_dict()
                if trace is not None:
                    data["trace_rows"] = result.write_trace(trace)
        if output is not None:
            write_atomic(output, json.dumps(data, indent=1, default=json_default) + "\n")
        if report is not None:  # --sweep with --report was refused above
            try:
                from edgescale.report import write_report
            except ImportError as e:
                raise EdgescaleError(f"--report needs plotly ({e}): pip install 'edgescale[report]'") from e
            write_report(report, s, plan=p, simulation=data)
            data["report"] = str(report)
    except (EdgescaleError, OSError) as e:
        fail(e, fmt)
        return
    text = "" if fmt is Format.json else _sweep_text(data) if sweep else _simulation_text(data)
    if text and output is not None:
        text += f"\nwrote {escape(str(output))}"
    if text and report is not None:
        text += f"\nwrote {escape(str(report))}"
    emit(fmt, data, text)  # the text is only made for text output: JSON needs no rich


@contextmanager
def _progress(what: str) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on a terminal's stderr (nothing when stderr is not a terminal)."""
    if not stderr_is_terminal():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(what), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=console(err), transient=True) as bar:  # fmt: skip
        task = bar.add_task(what, total=1.0)
        yield lambda f: bar.update(task, completed=min(max(f, 0.0), 1.0))


def _sweep_text(d: dict[str, Any]) -> str:
    lines = [f"sweep over {', '.join(escape(k) for k in d['sweep'])}: {len(d['points'])} points"]
    for pt in d["points"]:
        what = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in pt["set"].items())
        apps = "; ".join(
            f"{escape(x['application'])} {fmt_ms(x['latency_ms']['mean'])} ms mean, {fmt_ms(x['latency_ms']['p95'])} p95"
            for x in pt["results"]["applications"]
        )
        lines.append(f"  {what}: {apps}")
    return "\n".join(lines)


def _simulation_text(d: dict[str, Any]) -> str:
    lines = [
        f"[bold]{escape(d['scenario'])}[/]: {d['requests']:,} requests in {d['replications']} replication(s) of "
        f"{d['duration_s']:g} s (after {d['warmup_s']:g} s warm-up); kernel {d['kernel_seconds']:.2f} s, "
        f"wall {d['wall_seconds']:.2f} s",
        "  application       mean ms (99% CI)        p95 ms      p99 ms   drops",
    ]
    for x in d["applications"]:
        lat = x["latency_ms"]
        hw = lat["mean_ci99_half_width"]
        ci = f"± {hw:.2f}" if hw is not None else ""
        lines.append(
            f"  {escape(x['application'])[:16]:16} {fmt_ms(lat['mean']):>9} {ci:12} {fmt_ms(lat['p95']):>10} "
            f"{fmt_ms(lat['p99']):>10} {x['drops']:>7}"
        )
    lines.append(
        f"  energy {d['energy_j'] / 3.6e6:,.3f} kWh; busiest site utilization {d['utilization']['mean_by_site_max']:.1%}"
    )
    lines += warning_lines(d.get("warnings", []))
    return "\n".join(lines)


def compile_kernel(
    force: Annotated[bool, typer.Option("--force", help="Rebuild it even if it exists.")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Compile the simulation kernel ahead of time (else done on first use): simulations then start fast."""
    import time

    from edgescale.sim import _aot

    t0 = time.perf_counter()
    try:
        path = _aot.build(force=force)
    except EdgescaleError as e:
        fail(e, fmt)
        return
    data = {"ok": True, "module": str(path), "seconds": round(time.perf_counter() - t0, 2)}
    emit(
        fmt, data, f"simulation kernel compiled ahead of time: {escape(str(path))} ({data['seconds']:.1f} s)"
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``compile`` to the command line."""
    app.command()(simulate)
    app.command("compile")(compile_kernel)


def run_alone() -> None:
    """Run ``edgescale simulate ...`` from ``sys.argv`` with only this command built.

    What the full command line does for it (same options, messages and exit codes), without importing and
    building the other commands (about 80 ms of a short simulation's start-up).
    """
    app = typer.Typer(name="edgescale", add_completion=False, pretty_exceptions_enable=False)
    app.callback()(_no_global_options)
    app.command()(simulate)
    app(prog_name="edgescale")


def _no_global_options() -> None:
    """Engineer large-scale edge systems: design, analyze, optimize, simulate, operate."""
