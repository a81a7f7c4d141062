"""``edgescale operate``: the control plane (controller, regions, agents)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from edgescale.cli._common import Format, FormatOpt, emit, escape, fail, out
from edgescale.errors import EdgescaleError

operate_app = typer.Typer(
    help="Run what was designed: controller, agents, a local cluster (NATS).", no_args_is_help=True
)

ClusterOpt = Annotated[Path, typer.Option("--cluster", help="Directory (or file) with cluster.json.")]
LevelOpt = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING.")]


def register(app: typer.Typer) -> None:
    """Add ``edgescale operate ...`` to the command line."""
    app.add_typer(operate_app, name="operate")


def _kv(items: list[str] | None, what: str) -> dict[str, str]:
    outd: dict[str, str] = {}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise EdgescaleError(f"{what}: must be KEY=VALUE (got {it!r})")
        outd[k] = v
    return outd


@operate_app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write cluster.json and join.json.")],
    nats_url: Annotated[list[str] | None, typer.Option("--nats-url", help="NATS URL (repeatable).")] = None,
    api_url: Annotated[str, typer.Option(help="Controller API address.")] = "http://127.0.0.1:8470",
    fmt: FormatOpt = Format.text,
) -> None:
    """Create cluster secrets: NATS users, bootstrap token, API token, controller key."""
    try:
        from edgescale.operate.config import init_cluster

        init_cluster(directory, nats_urls=nats_url or ["nats://127.0.0.1:4222"], api_url=api_url)
    except (EdgescaleError, OSError) as e:
        fail(e, fmt)
    data = {"ok": True, "cluster": str(directory / "cluster.json"), "join": str(directory / "join.json")}
    emit(fmt, data, f"wrote {data['cluster']} (controller, secret) and {data['join']} (for agents, secret)")


@operate_app.command("nats")
def nats_cmd(cluster: ClusterOpt, store_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Run a nats-server with the cluster's users (JetStream on) until interrupted."""
    from urllib.parse import urlparse

    from edgescale.operate.config import load_cluster
    from edgescale.operate.natsd import NatsServer

    try:
        cfg = load_cluster(cluster)
        port = urlparse(cfg.nats_urls[0]).port or 4222
        srv = NatsServer(store_dir or Path(cluster) / "nats", users=cfg.nats_users(), port=port).start()
    except EdgescaleError as e:
        fail(e, Format.text)
        return
    out.print(f"nats-server on {srv.url} (store {srv.store_dir}); Ctrl-C stops it")
    try:
        while srv.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


@operate_app.command("controller")
def controller_cmd(
    cluster: ClusterOpt,
    state_dir: Annotated[Path, typer.Option(help="SQLite state and controller.json.")] = Path("controller"),
    api_port: Annotated[int, typer.Option(help="HTTP API port (0: free; -1: none).")] = 8470,
    api_host: Annotated[str, typer.Option()] = "127.0.0.1",
    heartbeat_s: Annotated[float, typer.Option(min=0.01, help="Agents' heartbeat period.")] = 1.0,
    autonomy_window_s: Annotated[
        float, typer.Option(min=0.0, help="Silence before a suspected node's replicas move.")
    ] = 30.0,
    detector: Annotated[str, typer.Option(help="phi-accrual or heartbeat-timeout.")] = "phi-accrual",
    detector_param: Annotated[
        list[str] | None, typer.Option(help="Detector parameter KEY=VALUE, e.g. threshold=8.")
    ] = None,
    placement: Annotated[
        str, typer.Option(help="Placement policy by name (or water-filling: least-loaded, vectorised).")
    ] = "least-loaded",
    reconcile_s: Annotated[float, typer.Option(min=0.01)] = 0.5,
    kv_replicas: Annotated[
        int,
        typer.Option(min=0, help="Mirror desired state and events to JetStream with N replicas (0: off)."),
    ] = 0,
    log_level: LevelOpt = "INFO",
) -> None:
    """Run the controller: desired state, reconcile, placement, failure detection, HTTP API."""
    from edgescale.operate.config import load_cluster
    from edgescale.operate.controller import ControllerConfig
    from edgescale.operate.serve import run_controller, setup_logging

    try:
        params: dict[str, Any] = {
            k: json.loads(v) for k, v in _kv(detector_param, "--detector-param").items()
        }
        cfg = ControllerConfig(
            state_dir=state_dir,
            heartbeat_s=heartbeat_s,
            detector=detector,
            detector_params=params,
            autonomy_window_s=autonomy_window_s,
            placement=placement,
            reconcile_s=reconcile_s,
            api_host=api_host,
            api_port=api_port,
            kv_replicas=kv_replicas,
        )
        cfg.make_detector()
        cfg.make_placement()
        setup_logging(log_level)
        run_controller(load_cluster(cluster), cfg)
    except (EdgescaleError, ValueError) as e:
        fail(e, Format.text)


@operate_app.command("agent")
def agent_cmd(
    join: Annotated[Path, typer.Option(help="join.json from 'operate init'.")],
    site: Annotated[str, typer.Option(help="This node's site name.")],
    state_dir: Annotated[Path | None, typer.Option(help="State file, lock, workload logs.")] = None,
    cpu_cores: Annotated[float, typer.Option(min=0.0)] = 2.0,
    memory_mb: Annotated[float, typer.Option(min=0.0)] = 2048.0,
    label: Annotated[list[str] | None, typer.Option(help="Label KEY=VALUE (repeatable).")] = None,
    region: Annotated[str, typer.Option()] = "",
    domain: Annotated[str, typer.Option(help="Failure domain.")] = "",
    tier: Annotated[str, typer.Option()] = "edge",
    heartbeat_s: Annotated[float, typer.Option(min=0.01)] = 1.0,
    stop_workloads_on_exit: Annotated[
        bool, typer.Option(help="Stop workloads when the agent exits.")
    ] = False,
    log_level: LevelOpt = "INFO",
) -> None:
    """Run an agent: join, renew the lease, run assigned workloads as processes, keep them up."""
    from edgescale.operate.agent import AgentConfig
    from edgescale.operate.config import load_join
    from edgescale.operate.serve import run_agent, setup_logging

    try:
        cfg = AgentConfig(
            site=site,
            state_dir=state_dir or Path(f"agent-{site}"),
            cpu_cores=cpu_cores,
            memory_mb=memory_mb,
            labels=_kv(label, "--label"),
            region=region,
            domain=domain,
            tier=tier,
            heartbeat_s=heartbeat_s,
            status_every_s=max(5 * heartbeat_s, 1.0),
            tick_s=min(0.1, heartbeat_s),
        )
        setup_logging(log_level)
        run_agent(load_join(join), cfg, stop_workloads_on_exit=stop_workloads_on_exit)
    except EdgescaleError as e:
        fail(e, Format.text)


def _client(cluster: Path, state_dir: Path | None) -> Any:
    from edgescale.operate.client import ApiClient

    return ApiClient.from_dirs(cluster, state_dir)


@operate_app.command("status")
def status_cmd(
    cluster: ClusterOpt = Path("."),
    state_dir: Annotated[Path | None, typer.Option(help="Controller state dir (its API address).")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Nodes and deployments: wanted, assigned, running, ready."""
    try:
        c = _client(cluster, state_dir)
        data = {"status": c.status(), "nodes": c.nodes()}
    except EdgescaleError as e:
        fail(e, fmt)
        return
    emit(fmt, data, _status_text(data))


def _status_text(data: dict[str, Any]) -> str:
    s = data["status"]
    states = ", ".join(f"{v} {k}" for k, v in sorted(s["node_states"].items())) or "none"
    lines = [f"[bold]nodes[/] {s['nodes']} ({states})"]
    for n in data["nodes"][:20]:
        lines.append(
            f"  {escape(n['site']):16} {n['state']:9} phi {n['phi']:6.2f}  "
            f"{n['running']}/{n['assigned']} running"
        )
    if len(data["nodes"]) > 20:
        lines.append(f"  ... {len(data['nodes']) - 20} more")
    lines.append(f"[bold]deployments[/] {len(s['deployments'])}")
    for d in s["deployments"]:
        lines.append(
            f"  {escape(d['name']):16} rev {d['revision']}  wanted {d['replicas']}  assigned {d['assigned']}  "
            f"running {d['running']}  ready {d['ready']}"
        )
    return "\n".join(lines)


@operate_app.command("apply")
def apply_cmd(
    file: Annotated[
        Path, typer.Argument(help="Deployment file (YAML/JSON, a list for several) or a scenario.")
    ],
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Plan of the scenario (default: its default plan).")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(help="Command the scenario's services run (default: a stand-in HTTP server)."),
    ] = None,
    cluster: ClusterOpt = Path("."),
    state_dir: Annotated[Path | None, typer.Option(help="Controller state dir (its API address).")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Create or update deployments; a scenario (with its plan) becomes one deployment per (service, site)."""
    import shlex

    import yaml

    try:
        try:
            doc = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise EdgescaleError(f"{file}: cannot read ({e})") from e
        if (isinstance(doc, dict) and "sites" in doc) or plan is not None:
            from edgescale.model.io import load
            from edgescale.model.plan import load_plan
            from edgescale.operate.design import deployments_from_plan

            argv = shlex.split(command) if command else None
            docs = deployments_from_plan(load(file), load_plan(plan) if plan else None, command=argv)
        else:
            docs = doc if isinstance(doc, list) else [doc]
        c = _client(cluster, state_dir)
        results = [c.apply(d) for d in docs]
    except EdgescaleError as e:
        fail(e, fmt)
        return
    emit(fmt, results, "\n".join(f"applied {r['name']} (revision {r['revision']})" for r in results))


@operate_app.command("up")
def up_cmd(
    agents: Annotated[int, typer.Option("--agents", min=1, help="Agent processes to start.")] = 3,
    directory: Annotated[Path, typer.Option("--dir", help="Working directory.")] = Path(".edgescale-local"),
    replicas: Annotated[
        int | None, typer.Option(help="Replicas of the sample deployment (default 2 per agent).")
    ] = None,
    heartbeat_s: Annotated[float, typer.Option(min=0.05)] = 0.5,
    autonomy_window_s: Annotated[float, typer.Option(min=0.0)] = 10.0,
    timeout_s: Annotated[float, typer.Option(min=1.0, help="Give up converging after this long.")] = 60.0,
    hold: Annotated[bool, typer.Option(help="Keep running after convergence until Ctrl-C.")] = True,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Run this designed system instead: one agent per site, its plan's replicas."),
    ] = None,
    plan: Annotated[Path | None, typer.Option(help="Plan of --scenario (default: its default plan).")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Start a nats-server, a controller, N agents and a sample deployment; show convergence."""
    from edgescale.operate.local import LocalCluster, sample_deployment

    lc = LocalCluster(
        directory, heartbeat_s=heartbeat_s, autonomy_window_s=autonomy_window_s, reconcile_s=0.2
    )
    try:
        sites, docs = _designed(scenario, plan) if scenario is not None else ([], [])
        lc.start_nats()
        lc.start_controller()
        for k in range(agents) if scenario is None else []:
            lc.start_agent(f"site-{k}", "--stop-workloads-on-exit")
        for site, args in sites:
            lc.start_agent(site, "--stop-workloads-on-exit", *args)
        n_agents = agents if scenario is None else len(sites)
        c = lc.client()
        t0 = time.monotonic()
        while len(c.nodes()) < n_agents:
            if time.monotonic() - t0 > timeout_s:
                raise EdgescaleError(f"only {len(c.nodes())} of {n_agents} agents joined in {timeout_s:g} s")
            time.sleep(0.1)
        if scenario is None:
            docs = [sample_deployment(replicas if replicas is not None else 2 * agents)]
        for d in docs:
            c.apply(d)
        data = _converge(c, sum(int(d["replicas"]) for d in docs), t0, timeout_s, fmt)
        if hold and fmt is Format.text:
            out.print(
                f"cluster in {directory}; 'edgescale operate status --cluster {directory}'; Ctrl-C stops"
            )
            while True:
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    except (EdgescaleError, OSError) as e:
        lc.stop()
        fail(e, fmt)
        return
    finally:
        if hold or fmt is Format.json:
            lc.stop()
    if not hold:
        lc.stop()
    if fmt is Format.json:
        emit(fmt, data, "")


def _designed(scenario: Path, plan: Path | None) -> tuple[list[tuple[str, list[str]]], list[dict[str, Any]]]:
    """Agents (site, arguments) for the scenario's serving sites and the deployments of its plan."""
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import load
    from edgescale.model.plan import load_plan
    from edgescale.model.schema import TIERS
    from edgescale.operate.design import deployments_from_plan

    s = load(scenario)
    a = compile_scenario(s, devices=False)
    serving = [j for j in range(a.n_sites) if TIERS[int(a.site_tier[j])] != "device"]
    if len(serving) > 40:
        raise EdgescaleError(
            f"{scenario}: {len(serving)} sites is too many agent processes for one machine (at most 40); "
            "use 'edgescale operate hollow' for scale"
        )
    sites = []
    for j in serving:
        r = int(a.site_region[j])
        args = ["--cpu-cores", str(float(a.site_cpu_cores[j])), "--tier", TIERS[int(a.site_tier[j])]]
        args += ["--region", a.region_ids[r]] if r >= 0 else []
        args += ["--domain", f"d{int(a.site_domain[j])}"] if int(a.site_domain[j]) >= 0 else []
        sites.append((a.site_ids[j], args))
    return sites, deployments_from_plan(s, load_plan(plan) if plan else None)


def _converge(c: Any, want: int, t0: float, timeout_s: float, fmt: Format) -> dict[str, Any]:
    last = -1
    while True:
        s = c.status()
        ready = sum(d["ready"] for d in s["deployments"])
        if ready != last and fmt is Format.text:
            out.print(
                f"  {time.monotonic() - t0:6.2f} s  {s['replicas_running']}/{want} running, {ready} ready"
            )
            last = ready
        if ready >= want:
            break
        if time.monotonic() - t0 > timeout_s:
            raise EdgescaleError(f"{ready} of {want} replicas ready after {timeout_s:g} s")
        time.sleep(0.2)
    data = {
        "ok": True,
        "agents": len(c.nodes()),
        "replicas": want,
        "deployments": len(s["deployments"]),
        "converged_s": round(time.monotonic() - t0, 3),
    }
    if fmt is Format.text:
        out.print(f"converged: {want} replicas ready on {data['agents']} agents in {data['converged_s']} s")
    return data


@operate_app.command("hollow")
def hollow_cmd(
    join: Annotated[Path, typer.Option(help="join.json of the cluster.")],
    agents: Annotated[int, typer.Option("--agents", min=1)] = 1000,
    connections: Annotated[int, typer.Option(min=1, help="Shared NATS connections.")] = 8,
    heartbeat_s: Annotated[float, typer.Option(min=0.05)] = 2.0,
    cpu_cores: Annotated[float, typer.Option(min=0.0)] = 1.0,
    prefix: Annotated[str, typer.Option(help="Site name prefix.")] = "hollow",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Run many lightweight agents in this process (real protocol and keys, fake workloads) until Ctrl-C."""
    import asyncio

    from edgescale.operate.config import load_join
    from edgescale.operate.hollow import HollowFleet

    async def main() -> None:
        fleet = HollowFleet(
            load_join(join), agents, connections=connections, heartbeat_s=heartbeat_s, cpu_cores=cpu_cores,
            prefix=prefix, seed=seed,
        )  # fmt: skip
        took = await fleet.start()
        out.print(f"{agents} hollow agents joined in {took:.2f} s; Ctrl-C stops them")
        try:
            while True:
                await asyncio.sleep(5.0)
                out.print(
                    f"  {fleet.running()} fake replicas running, {fleet.sent_heartbeats} heartbeats sent"
                )
        finally:
            await fleet.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except EdgescaleError as e:
        fail(e, Format.text)
