"""Build an :class:`OffloadProblem` from a scenario, with the runtime policy's conventions.

The policy (:func:`edgescale.policies.offloading.estimate_offloading`) measures work in ms of a
speed-1 core; here a speed-1 core runs at :data:`REFERENCE_HZ`, so a task of ``work_ms`` has
``work_ms * REFERENCE_HZ / 1e3`` cycles and a device of ``cpu_speed`` runs at
``cpu_speed * REFERENCE_HZ``. The device's compute power ``P`` (its power model's ``peak_w``, or
:data:`DEFAULT_COMPUTE_W` as in the policy's ``DeviceState``) gives ``kappa = P / f**3``, so the
local energy is ``P * time`` as in the policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._paths import PathMetrics
from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import TIER_INDEX, SystemArrays
from edgescale.model.schema import DeviceGroup, DeviceSpec, Radio, Scenario
from edgescale.optimize._offload_model import OffloadProblem

__all__ = ["DEFAULT_COMPUTE_W", "REFERENCE_HZ", "ScenarioOffload", "offload_problem_from_scenario"]

REFERENCE_HZ = 1e9
DEFAULT_COMPUTE_W = 2.0
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ScenarioOffload:
    """An offloading problem made from a scenario and how its rows map back.

    Attributes
    ----------
    problem : OffloadProblem
    device_group : ndarray of int64
        Group index (into ``arrays.group_ids``) of every modelled device.
    edge_sites : ndarray of int64
        Site index of each edge option (option ``k + 1`` is ``edge_sites[k]``).
    scale : float
        Share of the devices modelled (edge capacities are scaled alike).
    """

    problem: OffloadProblem
    device_group: I64
    edge_sites: I64
    scale: float


def offload_problem_from_scenario(
    scenario: Scenario,
    arrays: SystemArrays,
    *,
    max_devices: int = 20_000,
    latency_weight: float = 1.0,
    energy_weight: float = 0.0,
    deadlines: bool = True,
) -> ScenarioOffload:
    """One task per device of every group with an application, as in the runtime policy's estimates.

    Parameters
    ----------
    scenario, arrays : the scenario and its compiled arrays.
    max_devices : int
        Model at most this many devices: each demand point keeps ``ceil(count * scale)`` of them and
        the edge sites keep ``scale`` of their cycles, so the congestion per device is unchanged.
    latency_weight, energy_weight : float
        Cost per ms and per joule.
    deadlines : bool
        Use the applications' SLO latencies as deadlines (else none).

    Notes
    -----
    Task: the application's summed stage work, the entry stage's ``request_kb`` up and the
    application's ``response_kb`` down, the SLO latency as deadline. Edge options: every edge and
    aggregation site (``cpu_cores * cpu_speed * REFERENCE_HZ`` shared, at most one core,
    ``cpu_speed * REFERENCE_HZ``, per task); the cloud: the nearest cloud
    site's ``cpu_speed * REFERENCE_HZ`` per task. Round trips: ``2 * (access latency + path
    latency)``, on minimum-latency paths. Up- and downlink: the group's radio (default
    :class:`~edgescale.model.schema.Radio`) over a wireless access, capped by the access's
    ``bandwidth_mbps``; a wired access's ``bandwidth_mbps`` (unlimited when not given).
    """
    a = arrays
    groups = {g.id: g for g in scenario.device_groups}
    has_app = a.group_app[a.demand_group] >= 0
    points = np.flatnonzero(has_app & (a.demand_devices > 0))
    edges = np.flatnonzero(np.isin(a.site_tier, [TIER_INDEX["edge"], TIER_INDEX["aggregation"]]))
    clouds = np.flatnonzero(a.site_tier == TIER_INDEX["cloud"])
    issues = []
    if len(points) == 0:
        issues.append(
            Issue("device_groups", "no device group with an application to offload for", has_value=False)
        )
    if len(edges) == 0 and len(clouds) == 0:
        issues.append(Issue("sites", "no edge, aggregation or cloud site to offload to", has_value=False))
    if issues:
        raise ScenarioError(issues, scenario.source)
    total = int(a.demand_devices[points].sum())
    scale = min(1.0, max_devices / total)
    per_point = np.maximum(np.ceil(a.demand_devices[points] * scale), 1).astype(np.int64)
    scale = float(per_point.sum() / total)
    paths = PathMetrics(a)
    access = a.demand_site[points].astype(np.int64)
    n_e = len(edges)
    rtt = np.empty((len(points), n_e + 1))
    for k, site in enumerate(edges):
        rtt[:, k] = paths.pairs(access, np.full(len(access), site))[0]
    cloud_speed = 1.0
    if len(clouds):
        lat_c = np.stack([paths.pairs(access, np.full(len(access), c))[0] for c in clouds], axis=1)
        near = lat_c.argmin(axis=1)
        rtt[:, n_e] = lat_c[np.arange(len(points)), near]
        cloud_speed = float(a.site_cpu_speed[clouds].max())
    else:
        rtt[:, n_e] = np.inf
    rtt = 2.0 * (rtt + a.demand_access_latency_ms[points][:, None])
    cols = _device_columns(a, points, groups)
    rep = np.repeat(np.arange(len(points)), per_point)
    problem = OffloadProblem.build(
        cycles=cols["work_ms"][rep] * REFERENCE_HZ / 1e3,
        device_hz=cols["speed"][rep] * REFERENCE_HZ,
        kappa=cols["compute_w"][rep] / (cols["speed"][rep] * REFERENCE_HZ) ** 3,
        input_bits=cols["input_kb"][rep] * 8e3,
        output_bits=cols["output_kb"][rep] * 8e3,
        deadline_ms=cols["deadline_ms"][rep] if deadlines else np.inf,
        tx_w=cols["tx_w"][rep],
        rx_w=cols["rx_w"][rep],
        idle_w=cols["idle_w"][rep],
        uplink_bps=cols["up_mbps"][rep] * 1e6,
        downlink_bps=cols["down_mbps"][rep] * 1e6,
        rtt_ms=rtt[rep],
        edge_hz=np.maximum(a.site_cpu_cores[edges] * a.site_cpu_speed[edges] * REFERENCE_HZ * scale, 1e-9),
        edge_core_hz=a.site_cpu_speed[edges] * REFERENCE_HZ,
        cloud_hz=cloud_speed * REFERENCE_HZ,
        latency_weight=latency_weight,
        energy_weight=energy_weight,
    )
    return ScenarioOffload(
        problem, a.demand_group[points][rep].astype(np.int64), edges.astype(np.int64), scale
    )


def _device_columns(a: SystemArrays, points: I64, groups: dict[str, DeviceGroup]) -> dict[str, F64]:
    """Per demand point: task and device parameters."""
    names = (
        "work_ms",
        "input_kb",
        "output_kb",
        "deadline_ms",
        "speed",
        "compute_w",
        "tx_w",
        "rx_w",
        "idle_w",
        "up_mbps",
        "down_mbps",
    )
    out = {k: np.empty(len(points)) for k in names}
    for row, d in enumerate(points):
        g = a.demand_group[d]
        app = int(a.group_app[g])
        lo, hi = a.app_stage_ptr[app], a.app_stage_ptr[app + 1]
        spec = groups[a.group_ids[g]].device or DeviceSpec()
        radio = spec.radio or Radio()
        slo = a.app_slo_latency_ms[app]
        out["work_ms"][row] = a.service_work_ms[a.stage_service[lo:hi]].sum()
        out["input_kb"][row] = a.stage_request_kb[lo]
        out["output_kb"][row] = a.app_response_kb[app]
        out["deadline_ms"][row] = slo if np.isfinite(slo) and slo > 0 else np.inf
        out["speed"][row] = spec.cpu_speed
        out["compute_w"][row] = spec.power.peak_w if spec.power is not None else DEFAULT_COMPUTE_W
        out["tx_w"][row], out["rx_w"][row], out["idle_w"][row] = radio.tx_w, radio.rx_w, radio.idle_w
        out["up_mbps"][row], out["down_mbps"][row] = _access_rates_mbps(groups[a.group_ids[g]], radio)
    return out


def _access_rates_mbps(group: DeviceGroup, radio: Radio) -> tuple[float, float]:
    """Uplink and downlink Mbit/s of a group's devices: the radio's, capped by the access bandwidth.

    A wireless access uses the radio (declared or default) and is capped by the access's
    ``bandwidth_mbps`` when declared; a wired access uses its ``bandwidth_mbps`` in both directions
    (unlimited when not declared, as the compiled access link).
    """
    acc = group.access
    bw = math.inf if acc.bandwidth_mbps is None else float(acc.bandwidth_mbps)
    if acc.medium == "wired":
        return bw, bw
    return min(radio.uplink_mbps, bw), min(radio.downlink_mbps, bw)
