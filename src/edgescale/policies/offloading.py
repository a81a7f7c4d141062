"""Offloading: run a device's task locally, at the edge or in the cloud, from latency and energy estimates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgescale.model.schema import TIERS
from edgescale.policies._checks import choice, number
from edgescale.policies.base import (
    OFFLOAD_TARGETS,
    ClusterView,
    DeviceState,
    OffloadingPolicy,
    OffloadTarget,
    TaskClass,
)

__all__ = ["Estimate", "FixedOffloading", "ThresholdOffloading", "estimate_offloading"]

_EDGE_TIERS = (TIERS.index("edge"), TIERS.index("aggregation"))
_CLOUD_TIERS = (TIERS.index("cloud"),)
MAX_UTILIZATION = 0.99


@dataclass(frozen=True)
class Estimate:
    """Estimated latency (ms) and device energy (J) of running a task at one target; ``site`` -1 for the device."""

    target: OffloadTarget
    site: int
    latency_ms: float
    energy_j: float


def estimate_offloading(view: ClusterView, task: TaskClass, device: DeviceState) -> tuple[Estimate, ...]:
    """Latency and device energy of running *task* on the device, at the edge, and in the cloud.

    Notes
    -----
    - Device: ``work_ms / cpu_speed``, drawing ``compute_w``.
    - Edge (nearest up edge or aggregation site from the access site) and cloud (nearest up cloud
      site): upload ``input_kb * 8 / uplink_mbps`` ms at ``tx_w``, network round trip
      ``2 * (access_latency_ms + latency(access, site))``, service time
      ``work_ms / cpu_speed(site) / (1 - load)`` (M/M/1 response time at the site's utilization,
      capped at 0.99), download ``output_kb * 8 / downlink_mbps`` ms at ``rx_w``; the device waits at
      ``idle_w`` meanwhile.
    - A target without an up site has infinite latency and energy.
    """
    local_ms = task.work_ms / device.cpu_speed
    out = [Estimate("device", -1, local_ms, device.compute_w * local_ms / 1e3)]
    up_ms = task.input_kb * 8.0 / device.uplink_mbps
    down_ms = task.output_kb * 8.0 / device.downlink_mbps
    remote: tuple[tuple[OffloadTarget, tuple[int, ...]], ...] = (
        ("edge", _EDGE_TIERS),
        ("cloud", _CLOUD_TIERS),
    )
    for target, tiers in remote:
        site, net_ms = _nearest(view, device.access_site, tiers)
        if site < 0:
            out.append(Estimate(target, -1, math.inf, math.inf))
            continue
        load = min(float(view.site_load[site]), MAX_UTILIZATION)
        serve_ms = task.work_ms / float(view.site_cpu_speed[site]) / (1.0 - load)
        wait_ms = 2.0 * (device.access_latency_ms + net_ms) + serve_ms
        energy = (device.tx_w * up_ms + device.idle_w * wait_ms + device.rx_w * down_ms) / 1e3
        out.append(Estimate(target, site, up_ms + wait_ms + down_ms, energy))
    return tuple(out)


def _nearest(view: ClusterView, origin: int, tiers: tuple[int, ...]) -> tuple[int, float]:
    """Nearest up site of *tiers* from *origin* (ties to the lower index) and its latency; -1 if none."""
    sites = np.flatnonzero(np.isin(view.site_tier, tiers) & np.asarray(view.site_up, bool))
    if len(sites) == 0:
        return -1, math.inf
    lat = view.latencies([origin], sites)[0]
    k = int(np.argmin(lat))
    return (int(sites[k]), float(lat[k])) if np.isfinite(lat[k]) else (-1, math.inf)


class ThresholdOffloading(OffloadingPolicy):
    """Among the targets whose estimated latency meets the deadline, take the cheapest.

    Estimates come from :func:`estimate_offloading`. A target is acceptable when its latency is at
    most ``min(task.deadline_ms, max_latency_ms)``; among those the policy takes the one with the
    least device energy (``prefer="energy"``) or the least latency (``prefer="latency"``), ties in
    the order device, edge, cloud. When none is acceptable it takes the fastest.

    Parameters
    ----------
    max_latency_ms : float
        Latency threshold applied to every task (default: none beyond the task's deadline).
    prefer : {"energy", "latency"}
        What to minimise among acceptable targets.

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView, DeviceState, TaskClass
    >>> v = ArrayClusterView(site_tier=[1, 3], latency_ms=[[0, 20], [20, 0]])
    >>> dev = DeviceState(access_site=0, cpu_speed=0.25)
    >>> ThresholdOffloading().decide(v, TaskClass(work_ms=50, input_kb=10, deadline_ms=100), dev)
    'edge'
    >>> ThresholdOffloading().decide(v, TaskClass(work_ms=1, input_kb=500, deadline_ms=100), dev)
    'device'
    """

    def __init__(self, *, max_latency_ms: float = math.inf, prefer: str = "energy") -> None:
        self.max_latency_ms = number("max_latency_ms", max_latency_ms, lo=0.0, lo_open=True)
        self.prefer = choice("prefer", prefer, ("energy", "latency"))

    def _decide(self, view: ClusterView, task: TaskClass, device: DeviceState) -> OffloadTarget:
        est = estimate_offloading(view, task, device)
        limit = min(task.deadline_ms, self.max_latency_ms)
        ok = [e for e in est if e.latency_ms <= limit]
        if not ok:
            return min(est, key=lambda e: e.latency_ms).target
        if self.prefer == "energy":
            return min(ok, key=lambda e: (e.energy_j, e.latency_ms)).target
        return min(ok, key=lambda e: e.latency_ms).target


class FixedOffloading(OffloadingPolicy):
    """Always run tasks at one target (a baseline).

    Parameters
    ----------
    target : {"device", "edge", "cloud"}

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView, DeviceState, TaskClass
    >>> FixedOffloading(target="cloud").decide(ArrayClusterView(site_tier=[3]), TaskClass(1.0), DeviceState(0))
    'cloud'
    """

    def __init__(self, *, target: str = "edge") -> None:
        self.target: OffloadTarget = choice("target", target, OFFLOAD_TARGETS)  # type: ignore[assignment]

    def _decide(self, view: ClusterView, task: TaskClass, device: DeviceState) -> OffloadTarget:
        return self.target
