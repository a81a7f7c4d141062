"""Link queueing in the twin: FIFO stations for the links a scenario marks ``queueing: fifo``.

Each such link gets two kernel stations, one per direction (one server at speed 1, FIFO), appended after the
service stations, so every per-site statistic (which reads the service stations only) is unchanged. A route hop
(from the access site, or from the previous stage's site, to the site of a stage) whose minimum-latency path
crosses queueing links queues at **one** of them, its bottleneck (the least bandwidth): the request waits there
for its transmission, ``request_kb * 8 / bandwidth_mbps`` ms of deterministic work, and crosses the rest of the
hop as a pure delay (the propagation of the whole path, the access link for a first stage, and the transmission
on the path's other links). Responses and access links stay pure delays.

The single-bottleneck reduction is exact for a flow of equal-size messages that crosses the links alone: in a
tandem of deterministic servers every request's total time is that of the slowest server alone plus the other
servers' service times (Friedman, *Reduction methods for tandem queuing systems*, Oper. Res. 13, 1965). It is an
approximation when other traffic joins a hop at one of its faster queueing links (that link's queueing is left
out) or when message sizes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["LinkQueues", "bottlenecks", "link_queues"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass
class LinkQueues:
    """The queueing links of a scenario and their stations.

    The station of queueing link ``q`` in direction ``d`` (0: ``link_src`` to ``link_dst``, 1: back) is
    ``first_station + 2 q + d``.
    """

    links: I64  # SystemArrays link index of each queueing link
    tx_ms_per_kb: F64  # transmission ms per kB (8 / bandwidth_mbps) of each
    first_station: int
    queue_of_link: I64  # per SystemArrays link: its queue, -1 for none
    _key: I64  # sorted u * n_sites + v of the CSR adjacency (both directions)
    _key_link: I64  # the link of each key

    @property
    def n_stations(self) -> int:
        return 2 * int(self.links.size)

    def station_names(self, a: SystemArrays) -> list[tuple[str, str, str]]:
        """Per link station, in station order: (link name ``src-dst``, from site, to site)."""
        out = []
        for k in self.links.tolist():
            s, d = a.site_ids[int(a.link_src[k])], a.site_ids[int(a.link_dst[k])]
            out += [(f"{s}-{d}", s, d), (f"{s}-{d}", d, s)]
        return out

    def edge_link(self, u: I64, v: I64, n_sites: int) -> I64:
        """The link joining sites *u* and *v* (they must be adjacent)."""
        out: I64 = self._key_link[np.searchsorted(self._key, u * n_sites + v)]
        return out


def link_queues(scenario: Scenario, a: SystemArrays, first_station: int) -> LinkQueues | None:
    """The queueing links of *scenario* (None when it has none); their stations start at *first_station*.

    A link listed twice is the first listing (as :func:`~edgescale.model.arrays.compile_scenario` keeps it).
    """
    n = a.n_sites
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
    key = np.repeat(np.arange(n, dtype=np.int64), np.diff(a.graph_indptr)) * n + a.graph_indices
    order = np.argsort(key, kind="stable")
    return LinkQueues(
        links=links,
        tx_ms_per_kb=(8.0 / a.link_bandwidth_mbps[links]).astype(np.float64),
        first_station=int(first_station),
        queue_of_link=queue_of_link,
        _key=key[order].astype(np.int64),
        _key_link=a.graph_link[order].astype(np.int64),
    )


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
    from scipy.sparse.csgraph import dijkstra

    m = origin.size
    station = np.full(m, -1, np.int64)
    q_tx = np.zeros(m)
    p_tx = np.zeros(m)
    todo = np.flatnonzero(origin != target)
    if not todo.size:
        return station, q_tx, p_tx
    o, t = origin[todo].astype(np.int64), target[todo].astype(np.int64)
    graph = getattr(paths, "believed", paths).graph
    uo, ut = np.unique(o), np.unique(t)
    swapped = ut.size < uo.size  # search from the side with fewer sites (the graph is undirected)
    if swapped:
        o, t, uo = t, o, ut
    dist, pred = dijkstra(graph, directed=False, indices=uo, return_predecessors=True)
    row = np.searchsorted(uo, o)
    cur = t.copy()
    best_tx = np.zeros(todo.size)
    best_st = np.full(todo.size, -1, np.int64)
    acc = np.zeros(todo.size)
    live = np.isfinite(dist[row, t]) & (cur != o)
    all_tx = 8.0 / a.link_bandwidth_mbps
    # walk back to the search's source: the hop travels prev -> cur (cur -> prev when swapped)
    while live.any():
        idx = np.flatnonzero(live)
        prev = pred[row[idx], cur[idx]].astype(np.int64)
        start = cur[idx] if swapped else prev
        link = q.edge_link(prev, cur[idx], a.n_sites)
        acc[idx] += all_tx[link]
        qi = q.queue_of_link[link]
        has = qi >= 0
        tx = np.where(has, q.tx_ms_per_kb[np.maximum(qi, 0)], 0.0)
        better = has & (tx > best_tx[idx])
        back = (a.link_src[link] != start).astype(np.int64)  # direction 1: from link_dst to link_src
        best_tx[idx] = np.where(better, tx, best_tx[idx])
        best_st[idx] = np.where(better, q.first_station + 2 * np.maximum(qi, 0) + back, best_st[idx])
        cur[idx] = prev
        live[idx] = prev != o[idx]
    station[todo], q_tx[todo], p_tx[todo] = best_st, best_tx, acc
    return station, q_tx, p_tx
