"""The ``edgescale`` command line: one thin command per verb, each calling one library function.

Exit codes: 0 success; 1 bad input or runtime error, printed as a one-screen message (``--debug``
for the traceback); 2 usage error.
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from edgescale.cli._common import Format, FormatOpt, OutOpt, SetOpt, State, err, escape, out, warning_lines
from edgescale.cli._common import emit as _emit
from edgescale.cli._common import fail as _fail
from edgescale.cli._common import fmt_ms as _ms
from edgescale.cli._common import json_default as _json_default
from edgescale.cli._common import load_scenario as _load
from edgescale.cli._common import spinner as _spinner
from edgescale.errors import EdgescaleError, ScenarioError

app = typer.Typer(
    name="edgescale",
    help="Engineer large-scale edge systems: design, analyze, optimize, simulate, operate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
generate_app = typer.Typer(
    help="Generate a scenario file (small: it describes groups).", no_args_is_help=True
)
import_app = typer.Typer(help="Import real topologies and datasets as scenario files.", no_args_is_help=True)
app.add_typer(generate_app, name="generate")
app.add_typer(import_app, name="import")

@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    State.debug = debug
    if version:
        from edgescale import __version__

        out.print(__version__)
        raise typer.Exit(0)

@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Check a scenario file; report every problem at once."""
    try:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.default_plan import default_replicas, stage_sites
        from edgescale.model.io import scenario_sha256

        s = _load(file, set_)
        arrays = compile_scenario(s, devices=False)
        _, warnings = stage_sites(arrays, default_replicas(arrays))
    except EdgescaleError as e:
        _fail(e, fmt)
        return
    from edgescale.model.validate import check_references

    warnings = [i for i in check_references(s, s.base_dir) if i.severity == "warning"] + warnings
    data = {
        "ok": True,
        "file": str(file),
        "sha256": scenario_sha256(s),
        "warnings": [w.to_dict() for w in warnings],
    }
    lines = [escape(f"{file}: valid ({s.name})")] + [escape(f"  warning: {w.format()}") for w in warnings]
    _emit(fmt, data, "\n".join(lines))


@app.command()
def describe(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Summarise a system: sites per tier, devices, links, capacity, offered load, utilization."""
    try:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.describe import describe as describe_system

        t0 = time.perf_counter()
        s = _load(file, set_)
        with _spinner("compiling the system"):
            arrays = compile_scenario(s, devices=True)
        t1 = time.perf_counter()
        data = describe_system(s, arrays)
        data["compile_seconds"] = round(t1 - t0, 3)
    except EdgescaleError as e:
        _fail(e, fmt)
        return
    _emit(fmt, data, _describe_text(data))


def _describe_text(d: dict[str, Any]) -> str:
    u = d["utilization"]
    tiers = ", ".join(f"{n} {t}" for t, n in d["sites_by_tier"].items()) or "none"
    cap = ", ".join(f"{t} {c:,.0f}" for t, c in d["capacity_cores_by_tier"].items())
    lines = [
        f"[bold]{escape(d['name'])}[/]",
        f"  sites        {d['sites']:,} ({tiers}); {d['regions']} regions, "
        f"{d['failure_domains']} failure domains",
        f"  links        {d['links']:,}",
        f"  devices      {d['devices']:,} in {d['device_groups']} groups "
        f"({d['demand_points']:,} demand points)",
        f"  services     {d['services']}, applications {d['applications']}",
        f"  capacity     {d['capacity_cores']:,.1f} cores ({cap})",
        f"  offered load {d['offered_load_rate_per_s']:,.1f} req/s "
        f"= {d['offered_load_cores']:,.2f} busy cores",
    ]
    if u["max"] is not None:
        overall = f"{u['overall']:.1%}" if u["overall"] is not None else "n/a"
        lines.append(
            f"  utilization  overall {overall}; "
            f"busiest site {escape(u['max_site'])} at {u['max']:.1%} (rough)"
        )
    lines += warning_lines(d["warnings"])
    return "\n".join(lines)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Plan file (default: the default plan).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the results JSON here.")
    ] = None,
    graph: Annotated[bool, typer.Option("--graph", help="Add graph metrics and a resilience curve.")] = False,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Latency, utilization, availability and SLO verdicts from queueing models, in milliseconds."""
    try:
        from edgescale.analysis.scenario import analyze_scenario
        from edgescale.analysis.topology import graph_report
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.io import write_atomic
        from edgescale.model.plan import load_plan

        t0 = time.perf_counter()
        s = _load(file, set_)
        p = load_plan(plan) if plan is not None else None
        with _spinner("analysing"):
            arrays = compile_scenario(s, devices=False)
            data: dict[str, Any] = {}
            if len(arrays.demand_group):
                data = analyze_scenario(s, plan=p, arrays=arrays).to_dict()
            else:
                data = {
                    "scenario": s.name,
                    "applications": [],
                    "verdict": "no workloads: graph analysis only",
                }
            if graph or not len(arrays.demand_group):
                data["graph"] = graph_report(arrays)
        data["wall_seconds"] = round(time.perf_counter() - t0, 3)
        if output is not None:
            write_atomic(output, json.dumps(data, indent=1, default=_json_default) + "\n")
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)
        return
    _emit(fmt, data, _analysis_text(data))

def _analysis_text(d: dict[str, Any]) -> str:
    lines = [f"[bold]{escape(d['scenario'])}[/]: {escape(d['verdict'])}"]
    apps = d.get("applications", [])
    if apps:
        lines.append("  application       mean ms     p95 ms  SLO (ms @ pct)        availability  verdict")
        for x in apps:
            slo = f"{x['slo_latency_ms']:g} @ p{x['slo_percentile']:g}" if x["slo_latency_ms"] else "-"
            ok = [x["meets_latency_slo"], x["meets_availability_slo"]]
            verdict = "fails" if False in ok else ("meets" if True in ok else "-")
            lines.append(
                f"  {escape(x['application'])[:16]:16} {_ms(x['mean_ms']):>10} {_ms(x['p95_ms']):>10}  "
                f"{slo:20} {x['availability']:.5%}    {verdict}"
            )
    for b in d.get("bottlenecks", [])[:5]:
        lines.append(
            escape(
                f"  bottleneck: {b['service']} at {b['site']}: {b['utilization']:.1%} of {b['servers']} servers"
            )
        )
    busy = sorted((x for x in d.get("links") or [] if x["visits_per_s"]), key=lambda x: -x["utilization"])
    for x in busy[:3]:
        wait = "overloaded" if not x["stable"] else f"mean wait {_ms(x['mean_wait_ms'])} ms"
        lines.append(
            escape(f"  link {x['link']} ({x['from']} -> {x['to']}): {x['utilization']:.1%} busy, {wait}")
        )
    c = d.get("caches")
    if c:
        hr = ", ".join(f"{x['site']} {x['expected_hit_ratio']:.1%}" for x in c["sites"][:5])
        lines.append(escape(f"  caches ({c['policy']}, {c['reference']}): expected hit ratio {hr}"))
    lines += warning_lines(d.get("warnings", []))
    g = d.get("graph")
    if g:
        lines.append(
            f"  graph: {g['sites']} sites, {g['links']} links, {g['components']} component(s), "
            f"{g['articulation_point_count']} articulation points, {g['bridge_count']} bridges"
        )
    return "\n".join(lines)


class QueueModel(StrEnum):
    mm1 = "mm1"
    mmc = "mmc"
    mmck = "mmck"
    md1 = "md1"
    mg1 = "mg1"
    gg1 = "gg1"
    ggc = "ggc"


@app.command()
def queue(
    model: Annotated[QueueModel, typer.Argument(help="Queueing model.")],
    arrival_rate_per_s: Annotated[float, typer.Option("--arrival-rate-per-s", "-l", help="Arrival rate.")],
    service_rate_per_s: Annotated[
        float, typer.Option("--service-rate-per-s", "-m", help="Rate of one server.")
    ],
    servers: Annotated[int, typer.Option("--servers", "-c", min=1)] = 1,
    capacity: Annotated[
        int | None, typer.Option("--capacity", "-k", min=1, help="Places in the system (mmck).")
    ] = None,
    scv_service: Annotated[float, typer.Option(help="Squared coefficient of variation of service.")] = 1.0,
    scv_arrival: Annotated[
        float, typer.Option(help="Squared coefficient of variation of interarrivals.")
    ] = 1.0,
    percentile: Annotated[
        float | None, typer.Option(min=0.0, max=100.0, help="Response-time percentile.")
    ] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Evaluate one queueing model from the shell (times in seconds)."""
    from dataclasses import asdict

    from edgescale.analysis import queueing as q

    lam, mu, s = (
        arrival_rate_per_s,
        service_rate_per_s,
        1.0 / service_rate_per_s if service_rate_per_s else 0.0,
    )
    try:
        if model is QueueModel.mmck and capacity is None:
            raise EdgescaleError("mmck: --capacity is required")
        metrics = {
            QueueModel.mm1: lambda: q.mm1(lam, mu),
            QueueModel.mmc: lambda: q.mmc(lam, mu, servers),
            QueueModel.mmck: lambda: q.mmck(lam, mu, servers, capacity or servers),
            QueueModel.md1: lambda: q.md1(lam, s),
            QueueModel.mg1: lambda: q.mg1(lam, s, scv_service=scv_service),
            QueueModel.gg1: lambda: q.gg1_kingman(lam, s, scv_arrival=scv_arrival, scv_service=scv_service),
            QueueModel.ggc: lambda: q.ggc_allen_cunneen(
                lam, s, servers, scv_arrival=scv_arrival, scv_service=scv_service
            ),
        }[model]()
        data: dict[str, Any] = {"model": model.value, **asdict(metrics)}
        if percentile is not None:
            p = percentile / 100.0
            pct = {
                QueueModel.mm1: lambda: q.mm1_response_time_percentile(lam, mu, p),
                QueueModel.mmc: lambda: q.mmc_response_time_percentile(lam, mu, servers, p),
                QueueModel.md1: lambda: q.md1_response_time_percentile(lam, s, p),
            }.get(model)
            if pct is None:
                raise EdgescaleError(f"{model.value}: percentiles need mm1, mmc or md1 (no closed form here)")
            data[f"response_time_p{percentile:g}_s"] = pct()
    except (EdgescaleError, ValueError) as e:
        _fail(e, fmt)
        return
    text = "\n".join(f"{k:24} {v:.6g}" if isinstance(v, float) else f"{k:24} {v}" for k, v in data.items())
    _emit(fmt, data, escape(text))

@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="'scenario' or 'plan'.")] = "scenario",
) -> None:
    """Print the JSON Schema of scenario or plan files."""
    from pydantic import BaseModel

    from edgescale.model.plan import Plan
    from edgescale.model.schema import Scenario

    models: dict[str, type[BaseModel]] = {"scenario": Scenario, "plan": Plan}
    if kind not in models:
        from edgescale.model._errors import suggest

        err.print(f"error: unknown schema '{kind}' (one of scenario, plan); {suggest(kind, list(models))}")
        raise typer.Exit(2)
    data = models[kind].model_json_schema()
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@app.command("plan")
def plan_cmd(
    file: Annotated[Path, typer.Argument(help="Scenario file.")],
    output: OutOpt,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Write the default plan of a scenario (what every engine uses when no plan is given)."""
    try:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.default_plan import default_plan
        from edgescale.model.plan import save_plan

        s = _load(file, set_)
        p, warnings = default_plan(s, compile_scenario(s, devices=False))
        save_plan(p, output)
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)
        return
    data = {
        "ok": True,
        "output": str(output),
        "replicas": len(p.replicas),
        "routes": len(p.routes),
        "warnings": [w.to_dict() for w in warnings],
    }
    _emit(fmt, data, f"wrote {output}: {len(p.replicas)} replica entries, {len(p.routes)} routes")


def _write_doc(doc: dict[str, Any], output: Path, fmt: Format, extra: dict[str, Any]) -> None:
    from edgescale.model.io import save, scenario_from_dict

    scenario_from_dict(doc, source=str(output), base_dir=output.parent)  # never write an invalid file
    save(doc, output)
    size = output.stat().st_size
    data = {"ok": True, "output": str(output), "bytes": size, **extra}
    _emit(fmt, data, f"wrote {output} ({size:,} bytes)")


@generate_app.command("hierarchical")
def generate_hierarchical(
    output: OutOpt,
    devices: Annotated[int, typer.Option(min=1, help="Number of devices.")] = 10_000,
    edge_sites: Annotated[int, typer.Option(min=1, help="Number of edge sites.")] = 100,
    aggregation_sites: Annotated[int, typer.Option(min=0, help="Number of aggregation sites.")] = 10,
    clouds: Annotated[int, typer.Option(min=0, help="Number of cloud sites.")] = 2,
    regions: Annotated[int | None, typer.Option(min=1, help="Regions (failure domains).")] = None,
    rate_per_s: Annotated[float, typer.Option(min=0.0, help="Requests per second per device.")] = 0.1,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the layout.")] = 0,
    fmt: FormatOpt = Format.text,
) -> None:
    """A device → edge → aggregation → cloud hierarchy over seeded regions."""
    try:
        from edgescale.model.generators import hierarchical

        doc = hierarchical(
            devices=devices,
            edge_sites=edge_sites,
            aggregation_sites=aggregation_sites,
            clouds=clouds,
            seed=seed,
            regions=regions,
            rate_per_s=rate_per_s,
        )
        _write_doc(doc, output, fmt, {"devices": devices})
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)


@generate_app.command("metro")
def generate_metro(
    output: OutOpt,
    sites_csv: Annotated[Path, typer.Option(help="Base stations CSV (SITE_ID, LATITUDE, LONGITUDE).")],
    users_csv: Annotated[Path, typer.Option(help="Users CSV (Latitude, Longitude).")],
    target_utilization: Annotated[
        float, typer.Option(min=0.01, max=2.0, help="Offered work / total capacity.")
    ] = 0.72,
    edge_cores: Annotated[int, typer.Option(min=1)] = 4,
    name: Annotated[str, typer.Option()] = "metro",
    fmt: FormatOpt = Format.text,
) -> None:
    """A metro system on real base-station positions (e.g. the EUA Melbourne sites)."""
    try:
        from edgescale.model.generators import metro

        doc = metro(
            sites_csv=sites_csv,
            users_csv=users_csv,
            out_dir=output.parent,
            target_utilization=target_utilization,
            edge_cores=edge_cores,
            name=name,
        )
        _write_doc(doc, output, fmt, {})
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)


def _import_topology(file: Path, output: Path, tier: str, fmt: Format) -> None:
    try:
        from edgescale.model.importers.topology import import_topology

        with _spinner(f"importing {file.name}"):
            doc, report = import_topology(file, tier=tier)
        _write_doc(doc, output, fmt, {"report": report.to_dict()})
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)
    except ValueError as e:  # pragma: no cover - importer guards its own input
        _fail(ScenarioError([_issue(str(file), str(e))], str(file)), fmt)


def _issue(where: str, message: str) -> Any:
    from edgescale.errors import Issue

    return Issue(where, message, has_value=False)


TierOpt = Annotated[str, typer.Option(help="Tier of the imported nodes.")]


@import_app.command("graphml")
def import_graphml(
    file: Annotated[Path, typer.Argument()],
    output: OutOpt,
    tier: TierOpt = "aggregation",
    fmt: FormatOpt = Format.text,
) -> None:
    """A GraphML topology (e.g. the Internet Topology Zoo)."""
    _import_topology(file, output, tier, fmt)


@import_app.command("gml")
def import_gml(
    file: Annotated[Path, typer.Argument()],
    output: OutOpt,
    tier: TierOpt = "aggregation",
    fmt: FormatOpt = Format.text,
) -> None:
    """A GML topology."""
    _import_topology(file, output, tier, fmt)


@import_app.command("eua")
def import_eua(
    sites_csv: Annotated[Path, typer.Argument(help="EUA sites CSV.")],
    users_csv: Annotated[Path, typer.Argument(help="EUA users CSV.")],
    output: OutOpt,
    fmt: FormatOpt = Format.text,
) -> None:
    """EUA base stations (edge sites) and users (a device group)."""
    try:
        from edgescale.model.importers.eua import import_eua as run

        doc, report = run(sites_csv, users_csv)
        from edgescale.model.generators import relative_to_dir

        for g in doc.get("device_groups", []):  # CSV paths resolve against the written file's folder
            g["placement"]["csv"] = relative_to_dir(users_csv, output.parent)
        _write_doc(doc, output, fmt, {"report": report.to_dict()})
    except (EdgescaleError, OSError) as e:
        _fail(e, fmt)


def _register_commands() -> None:
    from edgescale.cli import operate, optimize, optimize_extra, report, simulate

    for module in (optimize, optimize_extra, simulate, report, operate):
        module.register(app)


_register_commands()


def run() -> None:
    """Run the app, turning usage errors into exit code 2."""
    app()
