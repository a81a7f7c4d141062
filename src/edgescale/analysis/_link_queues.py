"""Queueing links (``links[].queueing: fifo``): which links queue, and the M/G/1 wait at each direction.

One FIFO server per link direction serves each request message in ``request_kb * 8 / bandwidth_mbps`` ms. A
route hop whose minimum-latency path crosses queueing links queues at one of them only, its bottleneck (the
most transmission per kB; on ties the one nearest the hop's end:
:meth:`~edgescale.analysis._paths.PathMetrics.bottlenecks`), and crosses the rest of its path as a pure delay;
responses and access links never queue. The twin (:mod:`edgescale.sim.links`) and ``analyze``
(:mod:`edgescale.analysis.scenario`) share these definitions.

The single-bottleneck reduction is exact for one flow of equal-size messages (in a tandem of deterministic
servers every request's total time is that of the slowest server alone plus the other servers' service
times: Friedman, *Reduction methods for tandem queuing systems*, Oper. Res. 13, 1965); it is an approximation
when other traffic joins a hop at one of its faster queueing links, or when message sizes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["TOP_LINKS", "DirectionLoads", "QueueingLinks", "busiest", "direction_waits", "queueing_links"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

TOP_LINKS = 100
"""Link directions listed in results (``links`` of analyze and simulate): the busiest."""


def busiest(utilization: F64 | list[float]) -> list[int]:
    """Indices of the :data:`TOP_LINKS` busiest directions, in direction order."""
    top = np.argsort(-np.asarray(utilization, np.float64), kind="stable")[:TOP_LINKS]
    return sorted(top.tolist())


@dataclass(frozen=True)
class QueueingLinks:
    """The queueing links of a scenario; direction ``2 q + d`` of queueing link ``q`` is ``d = 0`` from its
    ``link_src`` to its ``link_dst`` and ``d = 1`` back."""

    links: I64  # SystemArrays link index of each queueing link
    tx_ms_per_kb: F64  # transmission ms per kB (8 / bandwidth_mbps) of each
    queue_of_link: I64  # per SystemArrays link: its queueing link, -1 for none

    @property
    def n_directions(self) -> int:
        return 2 * int(self.links.size)

    def direction_names(self, a: SystemArrays) -> list[tuple[str, str, str]]:
        """Per direction, in direction order: (link name ``src-dst``, from site, to site)."""
        out = []
        for k in self.links.tolist():
            s, d = a.site_ids[int(a.link_src[k])], a.site_ids[int(a.link_dst[k])]
            out += [(f"{s}-{d}", s, d), (f"{s}-{d}", d, s)]
        return out

    def hop_queues(self, paths: Any, origin: I64, target: I64) -> tuple[F64, F64, I64, F64]:
        """Each hop from *origin* to *target* on its minimum-latency path, and the direction it queues at.

        *paths* is a :class:`~edgescale.analysis._paths.PathMetrics` (or anything with its ``bottlenecks``).

        Returns
        -------
        (latency_ms, path_tx_ms_per_kb, direction, queue_tx_ms_per_kb)
            Per hop: the path's latency (inf: no path) and the transmission ms per kB of all its links; the
            direction of its bottleneck queueing link (-1: it crosses none, or has no path: a request lost on
            the way queues nowhere) and that link's transmission ms per kB (0 for none).
        """
        lat, tx, _, direction, q_tx = paths.bottlenecks(origin, target, self.queue_of_link, self.tx_ms_per_kb)
        on = np.isfinite(lat) & (direction >= 0)
        return lat, tx, np.where(on, direction, -1).astype(np.int64), np.where(on, q_tx, 0.0)


def queueing_links(scenario: Scenario, a: SystemArrays) -> QueueingLinks | None:
    """The links of *scenario* with ``queueing: fifo`` (None when there are none).

    A link listed twice is the first listing (as :func:`~edgescale.model.arrays.compile_scenario` keeps it).
    """
    pos = {name: i for i, name in enumerate(a.site_ids)}
    seen: set[tuple[int, int]] = set()
    fifo: set[tuple[int, int]] = set()
    for link in scenario.links:
        u, v = pos[link.src], pos[link.dst]
        pair = (min(u, v), max(u, v))
        if pair not in seen and link.queueing == "fifo":
            fifo.add(pair)
        seen.add(pair)
    if not fifo:
        return None
    lo = np.minimum(a.link_src, a.link_dst).astype(np.int64)
    hi = np.maximum(a.link_src, a.link_dst).astype(np.int64)
    is_q = np.array([(int(x), int(y)) in fifo for x, y in zip(lo, hi, strict=True)], bool)
    links = np.flatnonzero(is_q).astype(np.int64)
    queue_of_link = np.full(len(a.link_src), -1, np.int64)
    queue_of_link[links] = np.arange(links.size)
    return QueueingLinks(
        links=links,
        tx_ms_per_kb=(8.0 / a.link_bandwidth_mbps[links]).astype(np.float64),
        queue_of_link=queue_of_link,
    )


@dataclass
class DirectionLoads:
    """Poisson flows summed per link direction: rate and the raw moments of their (deterministic) work."""

    rate_per_s: F64
    work_s1: F64  # sum over flows of rate * D (the utilization)
    work_s2: F64  # sum of rate * D^2
    work_s3: F64  # sum of rate * D^3

    @classmethod
    def zeros(cls, n: int) -> DirectionLoads:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))

    def add(self, direction: I64, rate_per_s: F64, work_s: F64) -> None:
        """Add flows of *rate_per_s* with constant work *work_s* at *direction* (-1: none, skipped)."""
        on = direction >= 0
        d, r, w = direction[on], rate_per_s[on], work_s[on]
        np.add.at(self.rate_per_s, d, r)
        np.add.at(self.work_s1, d, r * w)
        np.add.at(self.work_s2, d, r * w * w)
        np.add.at(self.work_s3, d, r * w * w * w)


def direction_waits(loads: DirectionLoads) -> tuple[F64, F64, F64]:
    """Utilization, mean wait (s) and wait variance (s^2) at each link direction (inf where rho >= 1).

    Each direction is an M/G/1 queue fed by the Poisson superposition of its flows; a flow's messages all
    have one size, so the service time is the rate-weighted mixture of the flows' constant times and its
    moments are ``E[S^k] = sum(rate * D^k) / sum(rate)``: M/D/1 when one message size crosses it. The wait's
    mean and second moment are Pollaczek-Khinchine's and Takacs' (:func:`~edgescale.analysis.queueing.
    mg1_wait_moments_vec`).
    """
    from edgescale.analysis.queueing import mg1_wait_moments_vec  # here: scipy.special stays out of the twin

    lam = loads.rate_per_s
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(lam > 0, lam, 1.0)
        es1, es2, es3 = loads.work_s1 / safe, loads.work_s2 / safe, loads.work_s3 / safe
    rho = loads.work_s1
    mean, second = mg1_wait_moments_vec(lam, es1, es2, es3)
    ok = np.isfinite(second)
    var = np.full(lam.size, np.inf)
    var[ok] = np.maximum(second[ok] - mean[ok] * mean[ok], 0.0)
    return rho, mean, var
