"""Computation offloading in the twin: the scenario's offloading policy decides, at every control epoch, whether
each demand point's tasks run on the devices or go to the network.

A scenario offloads when it chooses ``policies.offloading`` (``threshold`` or ``fixed``). Every demand point
(device group x access site) of a device group that does not move, with Poisson or diurnal arrivals, is a
task class: ``work_ms`` the sum of its application's services' work, ``input_kb`` the first stage's
``request_kb``, ``output_kb`` the application's ``response_kb``, ``deadline_ms`` its SLO latency (none:
infinite). Its device is the group's ``device`` (``cpu_speed``; ``power.peak_w`` as computing power, else 2 W;
``radio``), attached to the access site at the access latency. At every epoch (and at the start) the policy's
:meth:`~edgescale.policies.OffloadingPolicy.decide` sees the :class:`~edgescale.sim.control.SimClusterView`
(site load = utilization over the last epoch, sites suspected by the failure detector not up) and answers
``device``, ``edge`` or ``cloud``:

- ``device``: the demand point's requests run on their devices: each takes ``work_ms / cpu_speed`` (the
  device's core, deterministic, no queueing: each device runs its own tasks, one at a time at these rates)
  and costs ``compute_w`` for that time; they load no site and send nothing.
- ``edge`` or ``cloud``: the requests follow the plan's routes (the plan decides which sites serve them),
  with their radio energy as without offloading.

The data plane is exact for this: each offloadable source has a twin *device source* (no route, return
delay = the compute time) and the control plane gives the Poisson rate to one or the other (a change of
Poisson rate at an epoch is exact by memorylessness). Device sources count under a pseudo-application per
device group, folded back into their application for latencies and counts (:func:`fold_metrics`), so the
results know exactly how many requests ran on devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import DeviceSpec, Radio, Scenario
from edgescale.policies import DeviceState, OffloadingPolicy, TaskClass, make_policy
from edgescale.sim._kernel_metrics import KernelMetrics
from edgescale.sim.kernel import KernelModel
from edgescale.sim.mobility import mobile_groups
from edgescale.sim.world import World

__all__ = ["DEFAULT_COMPUTE_W", "Offloading", "attach_offloading", "fold_metrics"]

DEFAULT_COMPUTE_W = 2.0  # as the policy's DeviceState and optimize's offloading problem
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_SOURCE_FIELDS = ("arrival_kind", "rate_per_s", "mmpp_rate1_per_s", "mmpp_switch01_per_s", "mmpp_switch10_per_s",
                  "return_delay_s", "app_of_source", "timeout_s", "max_retries", "token_depth",
                  "trace_period_s")  # fmt: skip
_APP_COUNTS = ("arrivals", "retries", "completions", "drops_full", "drops_down", "timeouts", "failed",
               "orphans_done", "unfinished", "wait_s_sum", "service_s_sum", "link_s_sum")  # fmt: skip


@dataclass
class Offloading:
    """What the control plane needs to offload: per offloadable demand point its sources, task and device."""

    policy: OffloadingPolicy
    policy_name: str
    n_apps: int
    points: I64  # offloadable demand points
    tasks: list[TaskClass]
    devices: list[DeviceState]
    remote_sources: list[I64]  # per point: its sources along the plan's routes
    device_sources: list[I64]  # per point: their device twins
    group_of_point: I64
    compute_s: F64  # per device group (NaN when not offloadable)
    compute_w: F64  # per device group
    on_device: NDArray[np.bool_]  # per point: the current decision is "device"
    decisions: dict[str, int]

    def decide(self, view: Any, now: float) -> bool:
        """Ask the policy for every point; return whether any decision changed."""
        view.now = now
        changed = False
        counts = {"device": 0, "edge": 0, "cloud": 0}
        seen = _PrefetchedView(view, np.unique([d.access_site for d in self.devices]))
        for k in range(self.points.size):
            target = self.policy.decide(seen, self.tasks[k], self.devices[k])
            counts[target] += 1
            dev = target == "device"
            changed |= bool(dev != self.on_device[k])
            self.on_device[k] = dev
        self.decisions = counts
        return changed

    def apply_rates(self, model: KernelModel) -> None:
        """Give each point's full rate to its device twins or to its remote sources, as decided.

        The full rate of a pair is the larger of the two (one of them is 0, or both were just set to the
        same diurnal rate)."""
        for k in range(self.points.size):
            rem, dev = self.remote_sources[k], self.device_sources[k]
            full = np.maximum(model.rate_per_s[rem], model.rate_per_s[dev])
            if self.on_device[k]:
                model.rate_per_s[dev] = full
                model.rate_per_s[rem] = 0.0
            else:
                model.rate_per_s[rem] = full
                model.rate_per_s[dev] = 0.0


class _PrefetchedView:
    """The cluster view with the latencies from the devices' access sites to every site computed in one batch
    (one multi-source Dijkstra instead of one per decision), when that matrix is small enough."""

    MAX_ENTRIES = 20_000_000

    def __init__(self, view: Any, origins: I64) -> None:
        self._view = view
        self._origins = origins
        self._rows: dict[int, F64] | None = None  # computed at the first call (a policy may never ask)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def latencies(self, src: Any, dst: Any) -> F64:
        """As the view's, from the prefetched rows when *src* is one access site."""
        if self._rows is None:
            n = int(self._view.n_sites)
            self._rows = {}
            if self._origins.size * n <= self.MAX_ENTRIES:
                block = self._view.latencies(self._origins, np.arange(n, dtype=np.int64))
                self._rows = {int(o): block[i] for i, o in enumerate(self._origins.tolist())}
        s = np.atleast_1d(np.asarray(src, np.int64))
        if s.size == 1 and int(s[0]) in self._rows:
            d = np.atleast_1d(np.asarray(dst, np.int64))
            out: F64 = self._rows[int(s[0])][d][None, :]
            return out
        lat: F64 = self._view.latencies(src, dst)
        return lat


def _task_and_device(scenario: Scenario, a: SystemArrays, d: int) -> tuple[TaskClass, DeviceState, float, float]:
    g = int(a.demand_group[d])
    app = int(a.group_app[g])
    lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
    group = scenario.device_groups[g]
    spec = group.device or DeviceSpec()
    radio = spec.radio or Radio()
    slo = float(a.app_slo_latency_ms[app])
    work_ms = float(a.service_work_ms[a.stage_service[lo:hi]].sum())
    compute_w = spec.power.peak_w if spec.power is not None else DEFAULT_COMPUTE_W
    acc = group.access
    bw = math.inf if acc.bandwidth_mbps is None else float(acc.bandwidth_mbps)
    up, down = (bw, bw) if acc.medium == "wired" else (min(radio.uplink_mbps, bw), min(radio.downlink_mbps, bw))
    task = TaskClass(work_ms=work_ms, input_kb=float(a.stage_request_kb[lo]), output_kb=float(a.app_response_kb[app]),
                     deadline_ms=slo if math.isfinite(slo) and slo > 0 else math.inf)  # fmt: skip
    device = DeviceState(access_site=int(a.demand_site[d]), cpu_speed=spec.cpu_speed, compute_w=compute_w,
                         tx_w=radio.tx_w, rx_w=radio.rx_w, idle_w=radio.idle_w, uplink_mbps=up, downlink_mbps=down,
                         access_latency_ms=float(a.demand_access_latency_ms[d]))  # fmt: skip
    return task, device, work_ms / spec.cpu_speed / 1000.0, compute_w


def attach_offloading(world: World, a: SystemArrays, scenario: Scenario) -> Offloading | None:
    """Add a device twin to every offloadable source of *world* (see the module); None when not offloading.

    The world's model is replaced by one with the twins appended (rate 0 until the first decision).
    """
    choice = scenario.policies.offloading
    if choice is None:
        return None
    policy: OffloadingPolicy = make_policy("offloading", choice.name, dict(choice.params))
    m = world.model
    n_app = len(a.app_ids)
    moving = set(mobile_groups(scenario))
    kinds = {g for g, grp in enumerate(scenario.device_groups)
             if grp.arrival is not None and grp.arrival.process in ("poisson", "diurnal")}  # fmt: skip
    routed = m.route_ptr[1:] > m.route_ptr[:-1]
    ok = routed & (m.arrival_kind == 0) & np.isin(world.source_group, sorted(kinds - moving))
    src = np.flatnonzero(ok).astype(np.int64)
    if not src.size:
        world.notes.append("offloading: no offloadable demand point (needs Poisson or diurnal groups that do not move)")
        return None
    points, inverse = np.unique(world.source_demand[src], return_inverse=True)
    n_groups = len(scenario.device_groups)
    compute_s, compute_w = np.full(n_groups, math.nan), np.zeros(n_groups)
    tasks, devices = [], []
    for d in points.tolist():
        task, dev, cs, cw = _task_and_device(scenario, a, d)
        g = int(a.demand_group[d])
        compute_s[g], compute_w[g] = cs, cw
        tasks.append(task)
        devices.append(dev)
    n0, k = m.n_sources, src.size
    twins = np.arange(n0, n0 + k, dtype=np.int64)
    new: dict[str, Any] = {}
    for name in _SOURCE_FIELDS:
        v = getattr(m, name)
        new[name] = np.concatenate([v, v[src]])
    new["rate_per_s"][n0:] = 0.0
    new["return_delay_s"][n0:] = compute_s[world.source_group[src]]
    new["app_of_source"][n0:] = n_app + world.source_group[src]  # a pseudo-application per device group
    new["route_ptr"] = np.concatenate([m.route_ptr, np.full(k, m.route_ptr[-1])])
    new["trace_ptr"] = np.concatenate([m.trace_ptr, np.full(k, m.trace_ptr[-1])])
    world.model = replace(m, **new)
    world.source_demand = np.concatenate([world.source_demand, world.source_demand[src]])
    world.source_group = np.concatenate([world.source_group, world.source_group[src]])
    world.source_base_rate_per_s = np.concatenate([world.source_base_rate_per_s, world.source_base_rate_per_s[src]])
    world.source_response_kb = np.concatenate([world.source_response_kb, world.source_response_kb[src]])
    order = np.argsort(inverse, kind="stable")
    cuts = np.searchsorted(inverse[order], np.arange(points.size + 1))
    remote = [src[order[cuts[i] : cuts[i + 1]]] for i in range(points.size)]
    twin = [twins[order[cuts[i] : cuts[i + 1]]] for i in range(points.size)]
    return Offloading(policy, choice.name, n_app, points.astype(np.int64), tasks, devices, remote, twin,
                      a.demand_group[points].astype(np.int64), compute_s, compute_w,
                      np.zeros(points.size, bool), {})  # fmt: skip


def fold_metrics(m: KernelMetrics, n_apps: int, app_of_group: I64) -> tuple[KernelMetrics, I64, I64]:
    """Fold the device pseudo-applications (``n_apps + group``) into their applications.

    Returns
    -------
    (metrics, device_arrivals, device_completions)
        Metrics with ``n_apps`` applications; per device group, the arrivals and completions of its
        requests that ran on the devices.
    """
    n_groups = app_of_group.size
    total = m.arrivals.size

    def pseudo(x: NDArray[Any]) -> NDArray[Any]:
        out = np.zeros(n_groups, dtype=x.dtype)
        hi = min(total, n_apps + n_groups)
        out[: max(hi - n_apps, 0)] = x[n_apps:hi]
        return out

    upd: dict[str, Any] = {}
    for f in fields(m):
        if f.name in _APP_COUNTS:
            x = getattr(m, f.name)
            base = np.zeros(n_apps, dtype=x.dtype)
            base[: min(n_apps, total)] = x[:n_apps]
            np.add.at(base, np.maximum(app_of_group, 0), np.where(app_of_group >= 0, pseudo(x), 0))
            upd[f.name] = base
    hists = list(m.latency[:n_apps])
    for g in range(n_groups):
        j = n_apps + g
        if j < total and app_of_group[g] >= 0 and m.latency[j].count:
            hists[int(app_of_group[g])] = hists[int(app_of_group[g])].merge(m.latency[j])
    upd["latency"] = tuple(hists)
    return replace(m, **upd), pseudo(m.arrivals).astype(np.int64), pseudo(m.completions).astype(np.int64)
