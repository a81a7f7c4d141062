"""Link queueing in the twin: FIFO stations for the links a scenario marks ``queueing: fifo``.

Each such link gets two kernel stations, one per direction (one server at speed 1, FIFO), appended after the
service stations, so every per-site statistic (which reads the service stations only) is unchanged. A route hop
(from the access site, or from the site of the stage's first parent, to the site of a stage) whose minimum-latency path
crosses queueing links queues at **one** of them, its bottleneck (the least bandwidth; on ties the one nearest
the hop's end): the request waits there for its transmission, ``request_kb * 8 / bandwidth_mbps`` ms of
deterministic work, and crosses the rest of the hop as a pure delay (the propagation of the whole path, the
access link for a first stage, and the transmission on the path's other links). Responses and access links stay
pure delays.

Which links queue and each hop's bottleneck (:func:`hop_paths`) are :mod:`edgescale.analysis._link_queues` and
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

__all__ = ["LinkQueues", "hop_paths", "link_queues"]

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


def hop_paths(q: LinkQueues | None, paths: Any, origin: I64, target: I64) -> tuple[F64, F64, I64, F64]:
    """Each hop from *origin* to *target* (site arrays) on its minimum-latency path, and where it queues.

    *paths* is the :class:`~edgescale.analysis._paths.PathMetrics` (or the control plane's ``CutPaths``)
    whose graph the paths are searched on; without queueing links (*q* None) only its ``pairs`` is asked.

    Returns
    -------
    (latency_ms, path_tx_ms_per_kb, station, queue_tx_ms_per_kb)
        Per hop: the path's latency (inf: no path, or a cut one) and the transmission ms per kB of all its
        links (0 within one site); the station of its bottleneck queueing link in the direction travelled
        (-1: it crosses none, or has no path) and that link's transmission ms per kB (0 for none). A request
        queues for ``kb * queue_tx`` and crosses ``kb * (path_tx - queue_tx)`` as a delay; a response
        crosses the whole ``kb * path_tx``.
    """
    if q is None:
        lat, tx, _ = paths.pairs(origin, target)
        return lat, tx, np.full(origin.size, -1, np.int64), np.zeros(origin.size)
    lat, tx, direction, q_tx = q.hop_queues(paths, origin, target)
    return lat, tx, np.where(direction >= 0, q.first_station + direction, -1).astype(np.int64), q_tx
