"""Run the digital twin: replications with seeds, warm-up deletion, epochs, confidence intervals.

The control plane is Python and acts at epoch boundaries and at scheduled events (exact times):
it sets diurnal rates, takes failed sites' stations down and back up, and samples per-site
utilization. The data plane is the compiled kernel (:mod:`edgescale.sim.kernel`).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError, SimulationError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_sha256
from edgescale.model.plan import Plan, check_plan_matches, plan_to_arrays
from edgescale.model.schema import TIERS, Scenario
from edgescale.policies.registry import check_policies
from edgescale.sim.histogram import LogHistogram
from edgescale.sim.kernel import (
    KernelMetrics,
    compile_kernel,
    drain,
    init_state,
    read_metrics,
    reset_metrics,
    run_until,
)
from edgescale.sim.world import World, build_world, diurnal_factor

__all__ = ["SimulationResult", "simulate_scenario"]

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}
TOP_SITES = 20


@dataclass
class SimulationResult:
    """What a simulation run reports; :meth:`to_dict` is the documented results file."""

    data: dict[str, Any]
    histograms: list[LogHistogram] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def to_frames(self) -> dict[str, Any]:
        """Applications and utilization series as pandas DataFrames (needs ``edgescale[data]``)."""
        import pandas as pd

        apps = pd.json_normalize(self.data["applications"])
        util = self.data["utilization"]
        series = pd.DataFrame(util["by_tier"], index=pd.Index(util["t_s"], name="t_s"))
        return {"applications": apps, "utilization_by_tier": series}


def _ci(values: list[float], level: float = 0.99) -> dict[str, float | None]:
    arr = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if len(arr) == 0:
        return {"mean": None, "half_width": None, "level": level}
    mean = float(arr.mean())
    if len(arr) < 2:
        return {"mean": mean, "half_width": None, "level": level}
    from scipy.special import stdtrit  # imported here: scipy.special is slow to import

    half = float(stdtrit(len(arr) - 1, 0.5 + level / 2) * arr.std(ddof=1) / math.sqrt(len(arr)))
    return {"mean": mean, "half_width": half, "level": level}


def little_check(m: KernelMetrics) -> dict[str, float]:
    """Little's law over the window of one run, as relative errors (largest over stations).

    ``identity``: the integral of the number inside each station against the time requests spent there
    (exact bookkeeping: rounding only). ``mean``: ``L`` against ``lambda W`` at stations with at least 1,000
    departures (differs by boundary effects only).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        lhs = m.station_in_system_s
        rhs = m.station_residence_done_s + m.station_residence_open_s
        ident = np.abs(lhs - rhs) / np.maximum(np.abs(lhs), 1e-9)
        busy = m.station_departures >= 1000
        lam_w = m.throughput_per_s * m.mean_sojourn_s
        mean = np.abs(m.mean_in_system - lam_w)[busy] / np.maximum(m.mean_in_system[busy], 1e-9)
    return {
        "identity": float(ident.max()) if ident.size else 0.0,
        "mean": float(mean.max()) if mean.size else 0.0,
    }


def _event_times(
    scenario: Scenario, a: SystemArrays, horizon: float
) -> list[tuple[float, NDArray[np.int64], bool]]:
    """Scheduled fail/recover events as (time, sites, up) in time order."""
    pos = {n: i for i, n in enumerate(a.site_ids)}
    out: list[tuple[float, NDArray[np.int64], bool]] = []
    for ev in scenario.events:
        if ev.sites is not None:
            sites = np.array([pos[x] for x in ev.sites], dtype=np.int64)
        elif ev.region is not None:
            sites = np.flatnonzero(a.site_region == a.region_ids.index(ev.region)).astype(np.int64)
        else:
            assert ev.failure_domain is not None
            sites = np.flatnonzero(a.site_domain == a.domain_ids.index(ev.failure_domain)).astype(np.int64)
        up = ev.action == "recover"
        if ev.at_s <= horizon:
            out.append((ev.at_s, sites, up))
        if ev.duration_s is not None and ev.at_s + ev.duration_s <= horizon:
            out.append((ev.at_s + ev.duration_s, sites, not up))
    return sorted(out, key=lambda e: e[0])


def _replicate(
    world: World,
    a: SystemArrays,
    scenario: Scenario,
    *,
    duration: float,
    warmup: float,
    epoch: float,
    seed: np.random.SeedSequence,
) -> dict[str, Any]:
    model = world.model
    up0 = model.up.copy()
    base_rate = world.source_base_rate_per_s
    state = init_state(model, np.random.default_rng(seed))
    horizon = warmup + duration
    events = _event_times(scenario, a, horizon)
    stops = sorted({*np.arange(epoch, horizon, epoch).tolist(), warmup, horizon, *(e[0] for e in events)})
    stops = [t for t in stops if 0 < t <= horizon]
    kernel_s = 0.0
    busy_prev = np.zeros(world.n_stations)
    samples: list[tuple[float, NDArray[np.float64]]] = []
    t_prev = warmup
    ev_i = 0
    applied: list[dict[str, Any]] = []
    model.up[:] = up0
    for t in stops:
        for g, (profile, period) in world.diurnal_groups.items():
            sel = world.source_group == g
            model.rate_per_s[sel] = base_rate[sel] * diurnal_factor(profile, period, state.now)
        t0 = time.perf_counter()
        run_until(model, state, t, validate=False)
        kernel_s += time.perf_counter() - t0
        if math.isclose(t, warmup) and warmup > 0:
            reset_metrics(state)
            busy_prev = np.zeros(world.n_stations)
            t_prev = t
        elif t > warmup:
            m = read_metrics(state)
            busy = m.station_busy_s
            samples.append((t, (busy - busy_prev) / max(t - t_prev, 1e-12)))
            busy_prev, t_prev = busy.copy(), t
        while ev_i < len(events) and events[ev_i][0] <= t + 1e-12:
            at, sites, up = events[ev_i]
            model.up[np.isin(world.station_site, sites)] = up
            applied.append({"t_s": at, "sites": len(sites), "action": "recover" if up else "fail"})
            ev_i += 1
    t0 = time.perf_counter()
    metrics = drain(model, state, max_s=duration)  # requests created in the window finish
    kernel_s += time.perf_counter() - t0
    model.up[:] = up0
    model.rate_per_s[:] = base_rate
    return {"metrics": metrics, "kernel_s": kernel_s, "samples": samples, "events": applied}


def _replicate_job(job: tuple[Any, ...]) -> dict[str, Any]:
    world, a, scenario, duration, warmup, epoch, seed = job
    if not world.model.up.flags.writeable:  # e.g. zero-copy arrays from Ray's object store
        world = copy.deepcopy(world)
    compile_kernel()
    return _replicate(world, a, scenario, duration=duration, warmup=warmup, epoch=epoch, seed=seed)


def _run_all(
    jobs: list[tuple[Any, ...]], *, executor: str, workers: int | None, ray_address: str | None
) -> list[dict[str, Any]]:
    """Run replications serially, in local processes, or on Ray; results in replication order."""
    if executor == "serial" or len(jobs) == 1:
        return [_replicate_job(j) for j in jobs]
    if executor == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(_replicate_job, jobs))
    if executor == "ray":
        try:
            import ray
        except ImportError as e:
            raise SimulationError("executor 'ray' needs ray: pip install 'edgescale[distributed]'") from e
        started = False
        if not ray.is_initialized():
            ray.init(address=ray_address, include_dashboard=False, log_to_driver=False)
            started = True
        try:
            task = ray.remote(_replicate_job)
            return list(ray.get([task.remote(j) for j in jobs]))
        finally:
            if started:
                ray.shutdown()
    raise ScenarioError([Issue("executor", "must be serial, processes or ray", executor)])


def _site_series(
    world: World, a: SystemArrays, samples: list[tuple[float, NDArray[np.float64]]]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Utilization per site (busy cores / cores) at each sample: (times, matrix n_samples x n_sites)."""
    times = np.array([t for t, _ in samples])
    mat = np.zeros((len(samples), a.n_sites))
    cores_used = np.minimum(1.0, a.service_cpu_cores[world.station_service])
    for k, (_, busy) in enumerate(samples):
        np.add.at(mat[k], world.station_site, busy * cores_used)
    with np.errstate(divide="ignore", invalid="ignore"):
        mat = np.where(a.site_cpu_cores > 0, mat / a.site_cpu_cores, 0.0)
    return times, mat


def simulate_scenario(
    scenario: Scenario,
    *,
    plan: Plan | None = None,
    duration_s: float | None = None,
    warmup_s: float | None = None,
    replications: int | None = None,
    seed: int = 0,
    epoch_s: float | None = None,
    arrays: SystemArrays | None = None,
    executor: str = "serial",
    workers: int | None = None,
    ray_address: str | None = None,
) -> SimulationResult:
    """Simulate a scenario under a plan (the default plan when none is given).

    Parameters
    ----------
    scenario : Scenario
    plan : Plan, optional
    duration_s, warmup_s, replications, epoch_s : optional
        Default to the scenario's ``simulation`` section. Statistics cover ``duration_s`` after
        ``warmup_s``; each replication has its own seed from ``SeedSequence(seed)``.
    seed : int
        The same seed gives the same numbers, whatever the executor.
    executor : {"serial", "processes", "ray"}
        Where replications run: in this process, in local worker processes, or on a Ray cluster
        (``ray_address``; ``None`` starts a local one). Results are identical across executors.
    workers : int, optional
        Worker processes for ``"processes"`` (default: CPU count).

    Returns
    -------
    SimulationResult
        See ``docs/results-format.md`` for the fields.
    """
    wall0 = time.perf_counter()
    cfg = scenario.simulation
    duration = cfg.duration_s if duration_s is None else duration_s
    warmup = cfg.warmup_s if warmup_s is None else warmup_s
    reps = cfg.replications if replications is None else replications
    epoch = cfg.epoch_s if epoch_s is None else epoch_s
    if duration <= 0 or warmup < 0 or reps < 1 or epoch <= 0:
        raise ScenarioError(
            [
                Issue(
                    "simulation",
                    "needs duration > 0, warmup >= 0, replications >= 1, epoch > 0",
                    {"duration_s": duration, "warmup_s": warmup, "replications": reps},
                )
            ]
        )
    policy_issues = check_policies(scenario.policies)
    if policy_issues:
        raise ScenarioError(policy_issues, scenario.source)
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    warnings: list[Issue] = []
    if plan is None:
        plan, warnings = default_plan(scenario, a)
    else:
        check_plan_matches(plan, scenario_sha256(scenario), source="plan")
    world = build_world(scenario, a, plan_to_arrays(plan, a, source="plan"))
    load_s = compile_kernel()  # compiles, or loads numba's cache: kept out of the kernel time
    seeds = np.random.SeedSequence(seed).spawn(reps)
    jobs = [(world, a, scenario, duration, warmup, epoch, s) for s in seeds]
    runs = _run_all(jobs, executor=executor, workers=workers, ray_address=ray_address)
    data, hists = _results(scenario, a, world, plan, runs, duration, warmup, seed, wall0, warnings)
    data["kernel_load_seconds"] = load_s
    return SimulationResult(data, hists)


def _results(
    scenario: Scenario,
    a: SystemArrays,
    world: World,
    plan: Plan,
    runs: list[dict[str, Any]],
    duration: float,
    warmup: float,
    seed: int,
    wall0: float,
    warnings: list[Issue],
) -> tuple[dict[str, Any], list[LogHistogram]]:
    n_app = len(a.app_ids)
    apps: list[dict[str, Any]] = []
    pooled: list[LogHistogram] = []
    for k in range(n_app):
        hists = [r["metrics"].latency[k] for r in runs]
        pool = hists[0]
        for h in hists[1:]:
            pool = pool.merge(h)
        pooled.append(pool)
        lat: dict[str, Any] = {}
        per_rep = {"mean": [h.mean * 1000.0 for h in hists]}
        for name, q in QUANTILES.items():
            per_rep[name] = [float(h.quantile(q)) * 1000.0 if h.count else math.nan for h in hists]
        for name, values in per_rep.items():
            ci = _ci(values)
            lat[name] = ci["mean"]
            lat[f"{name}_ci99_half_width"] = ci["half_width"]
        lat["mean_by_replication"] = per_rep["mean"]
        m = [r["metrics"] for r in runs]
        completions = int(sum(x.completions[k] for x in m))
        cdf_q = np.linspace(0.01, 0.99, 99)
        apps.append(
            {
                "application": a.app_ids[k],
                "requests": completions,
                "latency_ms": lat,
                "drops": int(sum(x.drops_full[k] + x.drops_down[k] for x in m)),
                "timeouts": int(sum(x.timeouts[k] for x in m)),
                "throughput_per_s": completions / (duration * len(runs)),
                "decomposition_ms": {
                    "wait": 1000.0 * sum(float(x.wait_s_sum[k]) for x in m) / max(completions, 1),
                    "service": 1000.0 * sum(float(x.service_s_sum[k]) for x in m) / max(completions, 1),
                    "link": 1000.0 * sum(float(x.link_s_sum[k]) for x in m) / max(completions, 1),
                },
                "cdf": {
                    "q": cdf_q.tolist(),
                    "latency_ms": (np.asarray(pool.quantile(cdf_q)) * 1000.0).tolist(),
                }
                if pool.count
                else None,
            }
        )
    times, util = (
        _site_series(world, a, runs[0]["samples"])
        if runs[0]["samples"]
        else (np.zeros(0), np.zeros((0, a.n_sites)))
    )
    mean_util = util.mean(axis=0) if len(util) else np.zeros(a.n_sites)
    top = np.argsort(-mean_util, kind="stable")[:TOP_SITES]
    by_tier = {
        t: util[:, a.site_tier == i].mean(axis=1).tolist()
        for i, t in enumerate(TIERS)
        if np.any(a.site_tier == i)
    }
    energy = float(np.sum(a.site_idle_w * duration + (a.site_peak_w - a.site_idle_w) * mean_util * duration))
    total = sum(x["requests"] for x in apps)
    kernel_s = sum(r["kernel_s"] for r in runs)
    little = [little_check(r["metrics"]) for r in runs]
    data = {
        "schema": "edgescale.results/1",
        "scenario": scenario.name,
        "scenario_sha256": scenario_sha256(scenario),
        "plan": plan.created_by,
        "seed": seed,
        "replications": len(runs),
        "duration_s": duration,
        "warmup_s": warmup,
        "requests": total,
        "applications": apps,
        "utilization": {
            "t_s": (times - warmup).tolist(),
            "by_tier": by_tier,
            "top_sites": {a.site_ids[i]: util[:, i].tolist() for i in top if mean_util[i] > 0},
            "mean_by_site_max": float(mean_util.max()) if len(mean_util) else 0.0,
        },
        "energy_j": energy,
        "events": runs[0]["events"],
        "sources": world.model.n_sources,
        "stations": world.n_stations,
        "merged_poisson_sources": world.merged,
        "notes": world.notes,
        "warnings": [w.to_dict() for w in warnings],
        "littles_law": {
            "identity_max_rel_error": max(x["identity"] for x in little),
            "mean_max_rel_error": max(x["mean"] for x in little),
        },
        "kernel_seconds": kernel_s,
        "requests_per_kernel_second": total / kernel_s if kernel_s > 0 else None,
        "wall_seconds": time.perf_counter() - wall0,
    }
    return data, pooled
