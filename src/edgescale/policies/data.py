"""What policies receive and return: demand, placements, feedback records, offloading inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.policies._checks import frozen

__all__ = ["Demand", "DeviceState", "Failure", "Outcome", "Placement", "TaskClass"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Demand:
    """What placement is asked to serve: replicas wanted and offered load per service.

    Attributes
    ----------
    replicas : ndarray of int64, shape (n_services,), or None
        Total replicas wanted per service (for example from an autoscaler).
    rate_per_s : ndarray of float64, shape (n_services,), or None
        Offered load per service, requests per second.
    """

    replicas: I64 | None = None
    rate_per_s: F64 | None = None

    def __post_init__(self) -> None:
        if self.replicas is not None:
            object.__setattr__(self, "replicas", frozen(np.asarray(self.replicas, np.int64)))
        if self.rate_per_s is not None:
            object.__setattr__(self, "rate_per_s", frozen(np.asarray(self.rate_per_s, np.float64)))


@dataclass(frozen=True, eq=False)
class Placement:
    """A placement decision: replicas per (service, site) and replicas that found no site.

    Attributes
    ----------
    replicas : ndarray of int64, shape (n_services, n_sites)
        Desired replicas (read-only).
    unplaced : ndarray of int64, shape (n_services,)
        Replicas wanted that no allowed, up site with capacity could take (zeros by default).
    """

    replicas: I64
    unplaced: I64 | None = None

    def __post_init__(self) -> None:
        rep = np.array(self.replicas, np.int64, ndmin=2)
        if rep.ndim != 2 or (rep < 0).any():
            raise ValueError(f"replicas: must be a 2-D array of counts >= 0 (got shape {rep.shape})")
        un = np.zeros(rep.shape[0], np.int64) if self.unplaced is None else np.array(self.unplaced, np.int64)
        if un.shape != (rep.shape[0],) or (un < 0).any():
            raise ValueError(f"unplaced: must be counts >= 0, one per service (got shape {un.shape})")
        object.__setattr__(self, "replicas", frozen(rep))
        object.__setattr__(self, "unplaced", frozen(un))


@dataclass(frozen=True)
class Outcome:
    """One finished request, reported to :meth:`Policy.observe`."""

    t: float
    service: int
    site: int
    latency_ms: float
    ok: bool = True


@dataclass(frozen=True)
class Failure:
    """One failure (or repair) event, reported to :meth:`Policy.observe`; ``kind`` is e.g. ``"down"``."""

    t: float
    site: int
    kind: str = "down"


@dataclass(frozen=True)
class TaskClass:
    """A kind of task a device may offload.

    Attributes
    ----------
    work_ms : float
        CPU time on one reference (speed 1) core, milliseconds.
    input_kb, output_kb : float
        Data sent to and returned from the executing site, kilobytes.
    deadline_ms : float
        Latency the task should meet (``inf``: none).
    """

    work_ms: float
    input_kb: float = 0.0
    output_kb: float = 0.0
    deadline_ms: float = float("inf")


@dataclass(frozen=True)
class DeviceState:
    """The device asking where to run a task.

    Attributes
    ----------
    access_site : int
        Site index the device is attached to.
    cpu_speed : float
        Device core speed relative to the reference core.
    compute_w, tx_w, rx_w, idle_w : float
        Device power while computing, transmitting, receiving, and waiting, watts.
    uplink_mbps, downlink_mbps : float
        Radio rates.
    access_latency_ms : float
        One-way latency from the device to its access site.
    """

    access_site: int
    cpu_speed: float = 0.25
    compute_w: float = 2.0
    tx_w: float = 1.0
    rx_w: float = 0.5
    idle_w: float = 0.05
    uplink_mbps: float = 20.0
    downlink_mbps: float = 50.0
    access_latency_ms: float = 0.0
