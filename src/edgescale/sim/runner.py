"""Run the digital twin: replications with seeds, warm-up deletion, epochs, confidence intervals.

The control plane is Python and acts at epoch boundaries and at scheduled events (exact times):
it sets diurnal rates, takes failed sites' stations down and back up, and samples per-site
utilization. The data plane is the compiled kernel (:mod:`edgescale.sim.kernel`).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._link_queues import busiest
from edgescale.errors import Issue, ScenarioError, SimulationError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_sha256
from edgescale.model.plan import Plan, check_plan_matches, plan_sha256, plan_to_arrays
from edgescale.model.schema import TIERS, Scenario
from edgescale.policies import Autoscaler, make_policy
from edgescale.policies.registry import check_policies
from edgescale.sim.caching import attach_caches, hit_summary
from edgescale.sim.control import KEEP_PATH_BYTES, ControlPlane, SimClusterView, link_name
from edgescale.sim.failures import FailureClock, Unit, expected_transitions, failure_units
from edgescale.sim.histogram import LogHistogram
from edgescale.sim.kernel import (
    OUTCOMES,
    KernelMetrics,
    compile_kernel,
    drain,
    init_state,
    read_metrics,
    read_samples,
    reset_metrics,
    run_until,
)
from edgescale.sim.mobility import Mobility, mobile_groups
from edgescale.sim.offloading import attach_offloading, fold_metrics
from edgescale.sim.scaling import Scaler
from edgescale.sim.series import DEFAULT_MAX_ROWS, BoundedSeries
from edgescale.sim.world import World, build_world, diurnal_factor

if TYPE_CHECKING:  # scipy.sparse is slow to import: only when paths are needed
    pass

__all__ = ["SimulationResult", "simulate_scenario"]

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}
TOP_SITES = 20


@dataclass
class SimulationResult:
    """What a simulation run reports; :meth:`to_dict` is the documented results file."""

    data: dict[str, Any]
    histograms: list[LogHistogram] = field(default_factory=list)
    samples: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def write_trace(self, path: str | Path) -> int:
        """Write the sampled per-request traces to a Parquet file (needs pyarrow: ``edgescale[data]``).

        Columns: ``replication``, ``application``, ``access_site``, ``created_s`` (since the warm-up's end),
        ``latency_ms`` (null unless completed), ``wait_ms``, ``service_ms``, ``link_ms`` (last attempt),
        ``outcome`` (``completed``, ``dropped_full``, ``dropped_down``, ``failed``), and with offloading
        ``on_device``. Returns the rows written.

        Raises
        ------
        SimulationError
            If the run kept no samples (``trace_every`` was 0) or pyarrow is missing.
        """
        if self.samples is None:
            raise SimulationError("write_trace: the run kept no samples; pass trace_every > 0 (--trace)")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:
            raise SimulationError("--trace needs pyarrow: pip install 'edgescale[data]'") from e
        cols = dict(self.samples)
        lat = np.asarray(cols["latency_ms"], np.float64)
        arrays = {k: pa.array(v) for k, v in cols.items() if k != "latency_ms"}
        arrays["latency_ms"] = pa.array(lat, mask=np.isnan(lat))
        table = pa.table({k: arrays[k] for k in cols})
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, target)
        return int(table.num_rows)

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


def _availability_seen(m: list[KernelMetrics], k: int) -> dict[str, Any]:
    """Availability as users saw it: completed over created requests in the window, with a CI over runs."""
    per = [float(x.completions[k] / x.arrivals[k]) if x.arrivals[k] else math.nan for x in m]
    ci = _ci(per)
    return {"mean": ci["mean"], "ci99_half_width": ci["half_width"], "by_replication": per}


def _slo(scenario: Scenario, k: int, hists: list[LogHistogram], pool: LogHistogram) -> dict[str, Any] | None:
    """SLO check: share of requests slower than the latency target (from the histograms), with a CI."""
    slo = scenario.applications[k].slo
    if slo is None or slo.latency_ms is None:
        return None
    target_s = slo.latency_ms / 1000.0
    per = [_share_above(h, target_s) for h in hists]
    ci = _ci(per)
    allowed = 1.0 - slo.percentile / 100.0
    ratio = _share_above(pool, target_s)
    return {
        "latency_ms": slo.latency_ms,
        "percentile": slo.percentile,
        "violation_ratio": ratio,
        "violation_ratio_ci99_half_width": ci["half_width"],
        "allowed_ratio": allowed,
        "met": bool(ratio <= allowed) if not math.isnan(ratio) else None,
    }


def _share_above(h: LogHistogram, x: float) -> float:
    """Share of a histogram's values above *x* (buckets straddling x split linearly)."""
    if not h.count:
        return math.nan
    edges = h.edges
    counts = h.counts.astype(np.float64)
    lo, hi = edges[:-1], edges[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((hi - x) / (hi - lo), 0.0, 1.0)
    frac = np.where(np.isfinite(frac), frac, (lo >= x).astype(np.float64))
    return float((counts * frac).sum() / h.count)


def _site_availability(
    world: World, a: SystemArrays, runs: list[dict[str, Any]], duration: float
) -> dict[str, Any]:
    """Share of the window each site with stations was up (mean over its stations and replications)."""
    if not world.n_stations:
        return {"mean": None, "min": None, "by_site": {}}
    up = np.mean([r["metrics"].station_up_s[: world.n_stations] for r in runs], axis=0) / duration
    sites = np.unique(world.station_site)
    by_site = np.array([up[world.station_site == s].mean() for s in sites])
    worst = np.argsort(by_site, kind="stable")[:TOP_SITES]
    return {
        "mean": float(by_site.mean()),
        "min": float(by_site.min()),
        "by_site": {a.site_ids[int(sites[i])]: float(by_site[i]) for i in worst},
    }


def _tiers(world: World, a: SystemArrays, runs: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """Per tier, over its stations and all replications: visits per second and the mean time a visit spends
    waiting and in total (wait plus service), the hop-by-tier decomposition of the latency."""
    out: dict[str, Any] = {}
    tier = a.site_tier[world.station_site] if world.n_stations else np.zeros(0, np.int64)
    for i, name in enumerate(TIERS):
        sel = tier == i
        if not sel.any():
            continue
        n = world.n_stations  # the service stations
        dep = sum(int(r["metrics"].station_departures[:n][sel].sum()) for r in runs)
        soj = sum(float(r["metrics"].station_sojourn_s_sum[:n][sel].sum()) for r in runs)
        wait = sum(float(r["metrics"].station_wait_s_sum[:n][sel].sum()) for r in runs)
        out[name] = {
            "visits_per_s": dep / (duration * len(runs)),
            "mean_sojourn_ms": 1000.0 * soj / dep if dep else None,
            "mean_wait_ms": 1000.0 * wait / dep if dep else None,
        }
    return out


def _links(world: World, a: SystemArrays, runs: list[dict[str, Any]], duration: float) -> Any:
    """Link queueing: per queueing link and direction (the ``TOP_LINKS`` busiest), over all replications, its
    utilization (busy share of the window), visits per second and the mean time a visit spends there (waiting
    and transmitting)."""
    q = world.link_queues
    if q is None:
        return None
    rows: list[dict[str, Any]] = []
    span = duration * len(runs)
    for k, (name, src, dst) in enumerate(q.station_names(a)):
        st = q.first_station + k
        dep = sum(int(r["metrics"].station_departures[st]) for r in runs)
        soj = sum(float(r["metrics"].station_sojourn_s_sum[st]) for r in runs)
        wait = sum(float(r["metrics"].station_wait_s_sum[st]) for r in runs)
        busy = sum(float(r["metrics"].station_busy_s[st]) for r in runs)
        rows.append({"link": name, "from": src, "to": dst, "utilization": busy / span, "visits_per_s": dep / span,
                     "mean_sojourn_ms": 1000.0 * soj / dep if dep else None,
                     "mean_wait_ms": 1000.0 * wait / dep if dep else None})  # fmt: skip
    return [rows[i] for i in busiest([x["utilization"] for x in rows])]


def _cost(world: World, a: SystemArrays, runs: list[dict[str, Any]], duration: float) -> dict[str, float]:
    """Infrastructure cost of the window, mean per replication: every site hosting a station pays its fixed
    rate, and each core its replicas reserve (over time: autoscaling changes them) its per-core rate."""
    if not world.n_stations:
        return {"total": 0.0, "fixed": 0.0, "cores": 0.0, "core_hours": 0.0}
    cores = a.service_cpu_cores[world.station_service]
    per_replica = np.maximum(1.0, np.floor(cores))
    servers_s = np.mean([r["metrics"].station_servers_s[: world.n_stations] for r in runs], axis=0)
    core_h = servers_s / per_replica * cores / 3600.0
    core_cost = float(np.sum(core_h * a.site_cost_per_core_hour[world.station_site]))
    sites = np.unique(world.station_site)
    fixed = float(np.sum(a.site_cost_fixed_per_hour[sites])) * duration / 3600.0
    return {"total": fixed + core_cost, "fixed": fixed, "cores": core_cost, "core_hours": float(core_h.sum())}


def _by_app(a: SystemArrays, per_group: NDArray[Any]) -> NDArray[Any]:
    """Per application, the sum of *per_group* over its device groups (groups without one left out)."""
    out = np.zeros(len(a.app_ids), dtype=per_group.dtype)
    np.add.at(out, np.maximum(a.group_app, 0), np.where(a.group_app >= 0, per_group, 0))
    return out


def _device_energy(
    scenario: Scenario,
    a: SystemArrays,
    apps: list[dict[str, Any]],
    duration: float,
    reps: int,
    world: World | None = None,
    runs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Radio energy of the devices (groups with ``device.radio``), mean per replication, plus the compute
    energy of requests run on the devices when offloading.

    Each device idles at ``idle_w`` for the window; each completed request sent over the network costs its
    upload at ``tx_w`` for ``request_kb * 8 / uplink_mbps`` and its response at ``rx_w`` for
    ``response_kb * 8 / downlink_mbps``. A group's networked requests are its application's completions
    less those run on devices, shared in proportion to the groups' rates. A request run on its device
    costs ``compute_w * work_ms / cpu_speed`` instead (``compute_j``, per group, exact counts).
    """
    off = world.offloading if world is not None else None
    n_groups = len(scenario.device_groups)
    dev_done = np.zeros(n_groups)
    if off is not None and runs:
        dev_done = np.sum([r["offloading"]["device_completions"] for r in runs], axis=0).astype(np.float64)
    app_dev = _by_app(a, dev_done)
    rate = np.asarray(a.group_rate_per_s) * np.array([g.count for g in scenario.device_groups], np.float64)
    app_rate = _by_app(a, rate)
    by_group: dict[str, float] = {}
    for g, grp in enumerate(scenario.device_groups):
        radio = grp.device.radio if grp.device is not None else None
        k = int(a.group_app[g])
        if radio is None:
            continue
        joules = grp.count * radio.idle_w * duration
        if k >= 0 and app_rate[k] > 0:
            app = scenario.applications[k]
            up_s = app.stages[0].request_kb * 8.0 / 1000.0 / radio.uplink_mbps
            down_s = app.response_kb * 8.0 / 1000.0 / radio.downlink_mbps
            done = (apps[k]["requests"] - app_dev[k]) / reps * rate[g] / app_rate[k]
            joules += done * (radio.tx_w * up_s + radio.rx_w * down_s)
        by_group[grp.id] = float(joules)
    out: dict[str, Any] = {"total": float(sum(by_group.values())), "by_group": by_group}
    if off is not None:
        compute = {grp.id: float(dev_done[g] / reps * off.compute_w[g] * off.compute_s[g])
                   for g, grp in enumerate(scenario.device_groups) if dev_done[g] > 0}  # fmt: skip
        out["compute_j"] = {"total": float(sum(compute.values())), "by_group": compute}
        out["total"] += out["compute_j"]["total"]
    return out


def _offloading(world: World, a: SystemArrays, runs: list[dict[str, Any]], apps: list[dict[str, Any]]) -> Any:
    """Where requests ran: per application, requests completed on devices and over the network."""
    off = world.offloading
    if off is None:
        return None
    dev = np.sum([r["offloading"]["device_completions"] for r in runs], axis=0)
    per_app = _by_app(a, dev)
    rows = []
    for k, app in enumerate(apps):
        done = int(app["requests"])
        rows.append({"application": app["application"], "device_requests": int(per_app[k]),
                     "network_requests": done - int(per_app[k]),
                     "device_share": float(per_app[k]) / done if done else None})  # fmt: skip
    return {"policy": off.policy_name, "demand_points": int(off.points.size), "applications": rows,
            "last_decisions": runs[0]["offloading"]["decisions"]}  # fmt: skip


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
    sample_every: int = 0,
    sample_capacity: int = 0,
    progress: Callable[[float], None] | None = None,
    max_series_rows: int = DEFAULT_MAX_ROWS,
) -> dict[str, Any]:
    """One replication: the control plane stops the data plane at epochs and at events, in time order.

    At a stop at time t: the kernel has run to t; heartbeats up to t are fed (sites up before t's changes
    send them); the warm-up ends or a sample is taken; scheduled and random failures at t are applied; the
    failure detector is asked who is suspected and routes change. Stops: epochs, the warm-up's end, the
    horizon, scheduled events, random failure transitions, and the detector's deadlines.
    """
    model = world.model
    saved = {k: getattr(model, k).copy() for k in ("up", "rate_per_s", "stage_station", "stage_delay_s",
                                                    "return_delay_s", "servers", "stage_cache",
                                                    "stage_content_share", "stage_hit_return_s",
                                                    "stage_link_station", "stage_link_work_s")}  # fmt: skip
    base_rate = world.source_base_rate_per_s
    state = init_state(model, np.random.default_rng(seed), caches=world.caches.spec if world.caches else None,
                       sample_every=sample_every,
                       sample_capacity=sample_capacity)  # fmt: skip
    horizon = warmup + duration
    scheduled = _event_times(scenario, a, horizon)
    units = failure_units(scenario, a)
    fail_rng = np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1 << 20))
    )
    timeline = FailureClock(units, fail_rng)
    link_units = _link_units(scenario, a)
    link_rng = np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1 << 22))
    )
    link_tl = FailureClock(link_units, link_rng)
    link_down = np.zeros(len(link_units), bool)
    cfg = scenario.simulation
    control = (
        ControlPlane(world, a, scenario, world.replicas, cfg.heartbeat_interval_s)
        if (scheduled or timeline.peek() <= horizon or link_tl.peek() <= horizon
            or scenario.failures.overload_utilization is not None)
        and world.n_stations
        else None
    )
    overload = _Overload(world, a, scenario) if scenario.failures.overload_utilization is not None else None
    scaler = _make_scaler(world, a, scenario, control)
    offload = world.offloading
    app_of_group = np.asarray(a.group_app, np.int64)

    def stop_metrics() -> KernelMetrics:
        """Counters and time integrals now (no scan of the request pool: the stops need neither
        ``unfinished`` nor open residence)."""
        return read_metrics(state, open_requests=False)

    def fold(x: KernelMetrics) -> KernelMetrics:
        """Device pseudo-applications folded into their applications (offloading), else *x*."""
        return fold_metrics(x, offload.n_apps, app_of_group)[0] if offload is not None else x

    off_view: Any = None
    if offload is not None:
        off_view = control.view if control is not None else _plain_view(world, a)
        off_busy, off_t = np.zeros(world.n_stations), 0.0
        offload.on_device[:] = False
        offload.decide(off_view, 0.0)
        offload.apply_rates(model)
    saved_base = world.source_base_rate_per_s.copy()
    mobility = (
        Mobility(world, a, scenario, np.random.default_rng(np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, 1 << 21))))
        if mobile_groups(scenario)
        else None
    )  # fmt: skip
    fixed = _Stops(epoch, horizon, np.concatenate(([warmup, horizon], [e[0] for e in scheduled])))
    unit_down = np.zeros(len(units), bool)
    sched_down = np.zeros(a.n_sites, bool)
    kernel_s = 0.0
    busy_prev = np.zeros(world.n_stations)
    samples = BoundedSeries(max_series_rows)  # per station: [interval s, busy s ...]
    series = BoundedSeries(max_series_rows)  # per application: count deltas (see _counts)
    prev_counts: NDArray[np.float64] | None = None
    t_prev = warmup
    ev_i = 0
    applied: list[dict[str, Any]] = []
    n_events = 0
    if control is not None:  # the detectors hear every site and link once as the run starts
        control.feed_heartbeats(0.0)
    starts_down = timeline.pop_until(0.0)  # units that start down
    for _, k, is_down in starts_down:
        unit_down[k] = is_down
    if starts_down:
        _apply_up(world, a, units, unit_down, sched_down, model, control)
    for _, k, is_down in link_tl.pop_until(0.0):  # links that start down
        link_down[k] = is_down
        applied.append({"t_s": 0.0, "action": "link_fail", "link": link_name(a, k), "random": True})
    if control is not None and link_down.any():
        control.set_links(link_down)
    while not fixed.done:
        t = min(fixed.peek(), timeline.peek(), link_tl.peek())
        if control is not None:
            t = min(t, max(control.next_wakeup(state.now), state.now))
        if scaler is not None:
            t = min(t, max(scaler.next_ready(), state.now))
        if overload is not None:
            t = min(t, max(overload.next_restart(), state.now))
        if t >= fixed.peek():
            fixed.pop()
        for g, (profile, period) in world.diurnal_groups.items():
            sel = world.source_group == g
            model.rate_per_s[sel] = base_rate[sel] * diurnal_factor(profile, period, state.now)
        if offload is not None and world.diurnal_groups:
            offload.apply_rates(model)
        t0 = time.perf_counter()
        run_until(model, state, t, validate=False)
        kernel_s += time.perf_counter() - t0
        if control is not None:
            control.feed_heartbeats(t)
        if scaler is not None:
            applied += scaler.start_ready(t)
        if mobility is not None:
            mobility.advance(t)
        if progress is not None:
            progress(t / horizon)
        if math.isclose(t, warmup) and warmup > 0 and not len(samples) and prev_counts is None:
            reset_metrics(state)
            if scaler is not None:
                scaler.restart_window()
            if overload is not None:
                overload.restart_window(t)
            busy_prev = np.zeros(world.n_stations)
            t_prev = t
            prev_counts = _counts(fold(stop_metrics()))
        elif t > warmup or warmup == 0:
            m = fold(stop_metrics())
            if t > t_prev:
                busy = m.station_busy_s[: world.n_stations]
                samples.add(t, np.concatenate(([t - t_prev], busy - busy_prev)))
                busy_prev, t_prev = busy.copy(), t
            counts = _counts(m)
            series.add(t - warmup, (counts - (prev_counts if prev_counts is not None else 0.0)).ravel(),
                       scaler.replicas_by_service() if scaler is not None else None)  # fmt: skip
            prev_counts = counts
        is_epoch = abs(t / epoch - round(t / epoch)) < 1e-9
        if scaler is not None and is_epoch and t < horizon:
            m = stop_metrics()
            n = world.n_stations  # the service stations
            applied += scaler.epoch(t, m.station_busy_s[:n], m.station_servers_s[:n], state.in_station[:n])
        if offload is not None and is_epoch and t < horizon:
            busy = stop_metrics().station_busy_s[: world.n_stations]
            if t > off_t and busy.sum() >= off_busy.sum():  # not across a metrics reset
                off_view._load = _site_load(world, a, (busy - off_busy) / (t - off_t))
            off_busy, off_t = busy.copy(), t
            if offload.decide(off_view, t):
                offload.apply_rates(model)
        changed = False
        if overload is not None:
            busy_s = stop_metrics().station_busy_s[: world.n_stations] if is_epoch else None
            events, changed = overload.step(t, busy_s)
            applied += events
        while ev_i < len(scheduled) and scheduled[ev_i][0] <= t + 1e-12:
            at, sites, up = scheduled[ev_i]
            sched_down[sites] = not up
            changed = True
            applied.append({"t_s": at, "sites": len(sites), "action": "recover" if up else "fail"})
            ev_i += 1
        for at, k, is_down in timeline.pop_until(t + 1e-12):
            unit_down[k] = is_down
            n_events += 1
            if len(applied) < MAX_EVENTS_LOGGED:
                applied.append({"t_s": at, "sites": int(units[k].sites.size),
                                "action": "fail" if is_down else "recover", "random": True})  # fmt: skip
            changed = True
        links_changed = False
        for at, k, is_down in link_tl.pop_until(t + 1e-12):
            link_down[k] = is_down
            n_events += 1
            if len(applied) < MAX_EVENTS_LOGGED:
                applied.append({"t_s": at, "action": "link_fail" if is_down else "link_recover",
                                "link": link_name(a, k), "random": True})  # fmt: skip
            links_changed = True
        if links_changed and control is not None:
            control.set_links(link_down)
        if changed:
            down = sched_down | overload.down if overload is not None else sched_down
            _apply_up(world, a, units, unit_down, down, model, control)
        if control is not None:
            verdicts = control.update(t)
            for e in verdicts:
                if len(applied) < MAX_EVENTS_LOGGED:
                    applied.append(e)
            if verdicts and offload is not None and offload.decide(off_view, t):  # on events too
                offload.apply_rates(model)
    t0 = time.perf_counter()
    metrics = drain(model, state, max_s=duration)  # requests created in the window finish
    split = None
    if offload is not None:
        metrics, dev_arrivals, dev_done = fold_metrics(metrics, offload.n_apps, app_of_group)
        split = {"device_arrivals": dev_arrivals, "device_completions": dev_done,
                 "decisions": dict(offload.decisions)}  # fmt: skip
    kernel_s += time.perf_counter() - t0
    for name, v in saved.items():
        getattr(model, name)[:] = v
    world.source_base_rate_per_s[:] = saved_base
    return {"metrics": metrics, "kernel_s": kernel_s, "samples": samples.rows(), "events": applied,
            "series": [_series_row(t_s, d.reshape(N_COUNTS, -1), x) for t_s, d, x in series.rows()],
            "random_transitions": n_events,
            "request_samples": read_samples(state) if sample_capacity > 0 else None,
            "mobility": mobility.summary() if mobility is not None else None, "offloading": split}  # fmt: skip


MAX_EVENTS_LOGGED = 1000


class _Stops:
    """The fixed stops of a run in time order: epoch ends ``epoch * (k + 1)`` below the horizon, generated as
    they are reached (memory does not grow with the duration), merged with the *others* in (0, horizon]."""

    def __init__(self, epoch: float, horizon: float, others: Any) -> None:
        self.epoch = epoch
        self.horizon = horizon
        o = np.unique(np.asarray(others, dtype=np.float64))  # sorted, once each (a numpy array, not a list)
        self.others = o[(o > 0) & (o <= horizon)]
        self.i = 0
        self.k = 0
        self.done = False
        self._head = -1.0
        self._advance()

    def _next_tick(self) -> float:
        t = self.epoch + self.k * self.epoch  # the values of np.arange(epoch, horizon, epoch)
        return t if t < self.horizon else math.inf

    def _advance(self) -> None:
        tick = self._next_tick()
        other = float(self.others[self.i]) if self.i < self.others.size else math.inf
        head = min(tick, other)
        if head == math.inf:
            self.done = True
            return
        if tick == head:
            self.k += 1
        if other == head:
            self.i += 1
        self._head = head

    def peek(self) -> float:
        """The next stop."""
        return self._head

    def pop(self) -> None:
        """Move past the next stop."""
        self._advance()


MANY_TRANSITIONS = 100_000
"""Expected failure and repair transitions (all replications) above which :func:`simulate_scenario` warns."""


def _transition_warnings(scenario: Scenario, a: SystemArrays, simulated_s: float) -> list[Issue]:
    """A warning when random failures will make many transitions: each costs control-plane time (reroutes)."""
    units = failure_units(scenario, a) + _link_units(scenario, a)
    n = expected_transitions(units, simulated_s)
    if n <= MANY_TRANSITIONS:
        return []
    fastest = min(units, key=lambda u: u.mtbf_s + u.mttr_s)
    return [Issue("failures", f"about {n:,.0f} failure and repair transitions expected in {simulated_s:,.0f} "
                  "simulated seconds (all replications); each reroutes traffic in the control plane (about 1 ms "
                  "of CPU), so they dominate the run time",
                  {"shortest_mtbf_h": fastest.mtbf_s / 3600.0, "its_mttr_h": fastest.mttr_s / 3600.0},
                  "mtbf_h and mttr_h are in hours: check them, or shorten --duration", severity="warning")]  # fmt: skip


def _link_units(scenario: Scenario, a: SystemArrays) -> tuple[Unit, ...]:
    """One failure unit per link when the scenario gives link MTBF and MTTR (exponential, stationary start)."""
    f = scenario.failures
    if f.link_mtbf_h is None or f.link_mttr_h is None:
        return ()
    return tuple(Unit(np.array([k], np.int64), f.link_mtbf_h * 3600.0, f.link_mttr_h * 3600.0, None)
                 for k in range(len(a.link_src)))  # fmt: skip


class _Overload:
    """Overload cascades: a site whose utilization over a control epoch reaches ``overload_utilization``
    crashes and restarts ``overload_restart_s`` later; its traffic moves once the detector suspects it."""

    def __init__(self, world: World, a: SystemArrays, scenario: Scenario) -> None:
        f = scenario.failures
        assert f.overload_utilization is not None
        self.world, self.a = world, a
        self.threshold = float(f.overload_utilization)
        self.restart_s = float(f.overload_restart_s)
        self.down = np.zeros(a.n_sites, bool)
        self.until = np.full(a.n_sites, math.inf)
        self.busy_prev = np.zeros(world.n_stations)
        self.t_prev = 0.0

    def restart_window(self, t: float) -> None:
        """The kernel's integrals restarted (end of the warm-up)."""
        self.busy_prev[:] = 0.0
        self.t_prev = t

    def next_restart(self) -> float:
        return float(self.until.min()) if self.until.size else math.inf

    def step(self, t: float, busy_s: NDArray[np.float64] | None) -> tuple[list[dict[str, Any]], bool]:
        """Restart sites whose time is up; at an epoch end (*busy_s* given) crash the overloaded ones."""
        events: list[dict[str, Any]] = []
        back = np.flatnonzero(self.until <= t + 1e-12)
        for s in back.tolist():
            events.append(
                {"t_s": t, "sites": 1, "action": "recover", "cause": "overload", "site": self.a.site_ids[s]}
            )
        self.down[back] = False
        self.until[back] = math.inf
        if busy_s is not None and t > self.t_prev:
            rate = (busy_s - self.busy_prev) / (t - self.t_prev)
            self.busy_prev, self.t_prev = busy_s.copy(), t
            util = _site_load(self.world, self.a, rate)
            hot = np.flatnonzero((util >= self.threshold - 1e-9) & ~self.down)
            for s in hot.tolist():
                events.append({"t_s": t, "sites": 1, "action": "fail", "cause": "overload",
                               "site": self.a.site_ids[s], "utilization": float(util[s])})  # fmt: skip
            self.down[hot] = True
            self.until[hot] = t + self.restart_s
        return events, bool(back.size or (events and any(e["action"] == "fail" for e in events)))


def _make_scaler(
    world: World, a: SystemArrays, scenario: Scenario, control: ControlPlane | None
) -> Scaler | None:
    """The autoscaling loop when the scenario chooses an autoscaler (it shares the failure control's view)."""
    choice = scenario.policies.autoscaling
    if choice is None or not world.n_stations:
        return None
    policy = make_policy("autoscaling", choice.name, dict(choice.params))
    assert isinstance(policy, Autoscaler)
    view = control.view if control is not None else _plain_view(world, a)
    return Scaler(world, a, view, policy, scenario.simulation.image_pull_mbps)


def _apply_up(
    world: World,
    a: SystemArrays,
    units: tuple[Unit, ...],
    unit_down: NDArray[np.bool_],
    sched_down: NDArray[np.bool_],
    model: Any,
    control: ControlPlane | None,
) -> None:
    """Sites are down while a scheduled event or any failure unit covering them holds them down."""
    down = sched_down.copy()
    for k in np.flatnonzero(unit_down).tolist():
        down[units[k].sites] = True
    model.up[: world.n_stations] = ~down[world.station_site]  # link stations stay up
    if control is not None:
        control.site_up = ~down


def _plain_view(world: World, a: SystemArrays) -> SimClusterView:
    """A cluster view for policies when no control plane runs (no failures): all sites up."""
    from edgescale.analysis._paths import PathMetrics

    return SimClusterView(a, PathMetrics(a, keep_bytes=KEEP_PATH_BYTES), world.replicas)


def _site_load(world: World, a: SystemArrays, busy_rate: NDArray[np.float64]) -> NDArray[np.float64]:
    """Utilization per site (busy cores / cores) from busy servers per station."""
    load = np.zeros(a.n_sites)
    rate = busy_rate[: world.n_stations]  # the service stations (link stations come after them)
    np.add.at(load, world.station_site, rate * np.minimum(1.0, a.service_cpu_cores[world.station_service]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = np.where(a.site_cpu_cores > 0, load / a.site_cpu_cores, 0.0)
    return out


def _counts(m: KernelMetrics) -> NDArray[np.float64]:
    """Per application: arrivals, completions, drops, timeouts, latency sum (rows), for epoch deltas."""
    return np.array([m.arrivals, m.completions, m.drops_full + m.drops_down, m.timeouts,
                     [h.sum for h in m.latency]], dtype=np.float64)  # fmt: skip


N_COUNTS = 5  # rows of _counts


def _series_row(t: float, d: NDArray[np.float64], replicas: Any) -> dict[str, Any]:
    """One row of the epoch series from count deltas *d* (rows as in :func:`_counts`) over its interval."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ms = np.where(d[1] > 0, 1000.0 * d[4] / d[1], np.nan)
    return {
        "t_s": t,
        "arrivals": d[0].astype(np.int64).tolist(),
        "completions": d[1].astype(np.int64).tolist(),
        "drops": d[2].astype(np.int64).tolist(),
        "timeouts": d[3].astype(np.int64).tolist(),
        "mean_latency_ms": [None if math.isnan(x) else float(x) for x in mean_ms],
        **({"replicas": replicas} if replicas is not None else {}),
    }


def _replicate_job(job: tuple[Any, ...], progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    world, a, scenario, duration, warmup, epoch, seed, opts = job
    if not world.model.up.flags.writeable:  # e.g. zero-copy arrays from Ray's object store
        world = copy.deepcopy(world)
    compile_kernel()
    return _replicate(world, a, scenario, duration=duration, warmup=warmup, epoch=epoch, seed=seed,
                      progress=progress, **opts)  # fmt: skip


def _run_all(
    jobs: list[tuple[Any, ...]],
    *,
    executor: str,
    workers: int | None,
    ray_address: str | None,
    progress: Callable[[float], None] | None = None,
) -> list[dict[str, Any]]:
    """Run replications serially, in local processes, or on Ray; results in replication order."""
    n = len(jobs)
    if executor == "serial" or n == 1:
        out = []
        for i, j in enumerate(jobs):
            step = None if progress is None else (lambda f, i=i: progress((i + f) / n))
            out.append(_replicate_job(j, step))
        return out
    if executor == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            done = []
            for k, r in enumerate(pool.map(_replicate_job, jobs)):
                done.append(r)
                if progress is not None:
                    progress((k + 1) / n)
            return done
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
    world: World, a: SystemArrays, samples: list[tuple[float, NDArray[np.float64], Any]]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Utilization per site (busy cores / cores) over each row's interval: (times, n_rows x n_sites).

    A row of *samples* is ``(t, [interval_s, busy_s per station...], _)``.
    """
    times = np.array([t for t, _, _ in samples])
    mat = np.zeros((len(samples), a.n_sites))
    for k, (_, v, _) in enumerate(samples):
        mat[k] = _site_load(world, a, v[1:] / max(float(v[0]), 1e-12))
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
    trace_every: int = 0,
    trace_rows: int = 100_000,
    progress: Callable[[float], None] | None = None,
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
    trace_every, trace_rows : int, optional
        Keep every ``trace_every``-th request outcome of the windows as a per-request sample, at most
        ``trace_rows`` over all replications (bounded memory); :meth:`SimulationResult.write_trace` writes
        them to Parquet. 0: none.
    progress : callable, optional
        Called with the fraction done (0 to 1) as the run advances.

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
        check_plan_matches(plan, scenario, source="plan")
    warnings += _transition_warnings(scenario, a, (warmup + duration) * reps)
    world = build_world(scenario, a, plan_to_arrays(plan, a, source="plan"))
    world.offloading = attach_offloading(world, a, scenario)
    attach_caches(world, a, scenario, plan)
    load_s = compile_kernel()  # compiles, or loads numba's cache: kept out of the kernel time
    seeds = np.random.SeedSequence(seed).spawn(reps)
    opts = {
        "sample_every": int(trace_every),
        "sample_capacity": int(trace_rows) // reps if trace_every > 0 else 0,
    }
    jobs = [(world, a, scenario, duration, warmup, epoch, s, opts) for s in seeds]
    runs = _run_all(jobs, executor=executor, workers=workers, ray_address=ray_address, progress=progress)
    data, hists = _results(scenario, a, world, plan, runs, duration, warmup, seed, wall0, warnings)
    data["kernel_load_seconds"] = load_s
    samples = _samples(runs, a, world, warmup) if trace_every > 0 else None
    return SimulationResult(data, hists, samples)


def _samples(runs: list[dict[str, Any]], a: SystemArrays, world: World, warmup: float) -> dict[str, Any]:
    """Per-request samples of all replications as columns (times since the warm-up's end, ms)."""
    cols: dict[str, list[Any]] = {k: [] for k in ("replication", "application", "access_site", "created_s",
                                                  "latency_ms", "wait_ms", "service_ms", "link_ms", "outcome")}  # fmt: skip
    for rep, r in enumerate(runs):
        s = r["request_samples"]
        n = len(s["created_s"])
        cols["replication"].append(np.full(n, rep, np.int32))
        app = np.asarray(s["app"])
        n_app = len(a.app_ids)
        on_device = app >= n_app  # offloading: a device pseudo-application (n_apps + group) is its group's app
        app = np.where(on_device, np.asarray(a.group_app)[np.maximum(app - n_app, 0)], app)
        cols["application"].append(np.asarray(a.app_ids, dtype=object)[app])
        if world.offloading is not None:
            cols.setdefault("on_device", []).append(on_device)
        site = a.demand_site[world.source_demand[s["source"]]]
        cols["access_site"].append(np.asarray(a.site_ids, dtype=object)[site])
        cols["created_s"].append(s["created_s"] - warmup)
        for name in ("latency", "wait", "service", "link"):
            cols[f"{name}_ms"].append(s[f"{name}_s"] * 1000.0)
        cols["outcome"].append(np.asarray(OUTCOMES, dtype=object)[s["outcome"]])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}


def _caching(world: World, a: SystemArrays, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Cache lookups and hits of every replication's window, per caching site (None without caches)."""
    if world.caches is None:
        return None
    req = np.sum([r["metrics"].cache_requests for r in runs], axis=0)
    hits = np.sum([r["metrics"].cache_hits for r in runs], axis=0)
    return hit_summary(world.caches, a, req, hits)


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
        lat["min"] = pool.min * 1000.0 if pool.count else None  # exact, over all replications
        lat["max"] = pool.max * 1000.0 if pool.count else None
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
                "retries": int(sum(x.retries[k] for x in m)),
                "failed": int(sum(x.failed[k] for x in m)),
                "arrivals": int(sum(x.arrivals[k] for x in m)),
                "unfinished": int(sum(x.unfinished[k] for x in m)),
                "availability": _availability_seen(m, k),
                "slo": _slo(scenario, k, hists, pool),
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
        "plan_sha256": plan_sha256(plan),
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
        "caching": _caching(world, a, runs),
        "device_energy_j": _device_energy(scenario, a, apps, duration, len(runs), world, runs),
        "offloading": _offloading(world, a, runs, apps),
        "cost": _cost(world, a, runs, duration),
        "tiers": _tiers(world, a, runs, duration),
        "links": _links(world, a, runs, duration),
        "events": runs[0]["events"],
        "random_failure_transitions": runs[0].get("random_transitions", 0),
        "mobility": runs[0].get("mobility"),
        "epochs": {"application": list(a.app_ids), "rows": runs[0].get("series", [])},
        "site_availability": _site_availability(world, a, runs, duration),
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
