"""Link queueing in the twin: FIFO stations for the links a scenario marks ``queueing: fifo``.

Each such link gets two kernel stations, one per direction (one server at speed 1, FIFO), appended after the
service stations, so every per-site statistic (which reads the service stations only) is unchanged. A route hop
(from the access site, or from the previous stage's site, to the site of a stage) whose minimum-latency path
crosses queueing links queues at **one** of them, its bottleneck (the least bandwidth): the request waits there
for its transmission, ``request_kb * 8 / bandwidth_mbps`` ms of deterministic work, and crosses the rest of the
hop as a pure delay (the propagation of the whole path, the access link for a first stage, and the transmission
on the path's other links). Responses and access links stay pure delays.

Which links queue and each hop's bottleneck are :mod:`edgescale.analysis._link_queues` and
:meth:`~edgescale.analysis._paths.PathMetrics.bottlenecks`, shared with ``analyze`` (which models each
direction as an M/G/1 queue). The single-bottleneck reduction is exact for a flow of equal-size messages that
crosses the links alone: in a tandem of deterministic servers every request's total time is that of the
slowest server alone plus the other servers' service times (Friedman, *Reduction methods for tandem queuing
systems*, Oper. Res. 13, 1965). It is an approximation when other traffic joins a hop at one of its faster
queueing links (that link's queueing is left out) or when message sizes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._link_queues import QueueingLinks, queueing_links
from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["LinkQueues", "bottlenecks", "link_queues"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class LinkQueues(QueueingLinks):
    """The queueing links of a scenario and their stations.

    The station of queueing link ``q`` in direction ``d`` (0: ``link_src`` to ``link_dst``, 1: back) is
    ``first_station + 2 q + d``.
    """

    first_station: int = 0

    @property
    def n_stations(self) -> int:
        return self.n_directions

    def station_names(self, a: SystemArrays) -> list[tuple[str, str, str]]:
        """Per link station, in station order: (link name ``src-dst``, from site, to site)."""
        return self.direction_names(a)


def link_queues(scenario: Scenario, a: SystemArrays, first_station: int) -> LinkQueues | None:
    """The queueing links of *scenario* (None when it has none); their stations start at *first_station*.

    A link listed twice is the first listing (as :func:`~edgescale.model.arrays.compile_scenario` keeps it).
    """
    q = queueing_links(scenario, a)
    if q is None:
        return None
    return LinkQueues(q.links, q.tx_ms_per_kb, q.queue_of_link, int(first_station))


def bottlenecks(q: LinkQueues, a: SystemArrays, paths: Any, origin: I64, target: I64) -> tuple[I64, F64, F64]:
    """The queueing of each hop from *origin* to *target* (site arrays) on its minimum-latency path.

    *paths* is the :class:`~edgescale.analysis._paths.PathMetrics` (or the control plane's ``CutPaths``,
    through its believed links) whose graph the path is searched on.

    Returns
    -------
    (station, queue_tx_ms_per_kb, path_tx_ms_per_kb)
        Per hop: the station of its bottleneck queueing link in the direction travelled (-1: it crosses
        none), that link's transmission ms per kB (0: none), and the transmission ms per kB of the whole path
        (all its links; 0 for a hop within one site or without a path).
    """
    pm = getattr(paths, "believed", paths)
    _, p_tx, direction, q_tx = pm.bottlenecks(origin, target, q.queue_of_link, q.tx_ms_per_kb)
    station = np.where(direction >= 0, q.first_station + direction, -1).astype(np.int64)
    return station, q_tx, p_tx
