"""Path metrics between sites on minimum-latency paths, computed only for the pairs asked for."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from edgescale.model.arrays import SystemArrays

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class PathMetrics:
    """Latency (ms), transmission time per kB (ms/kB) and log-availability of min-latency paths.

    Build once per system; :meth:`pairs` answers batches of (origin, target) site pairs, running
    Dijkstra from whichever side has fewer distinct sites (the graph is undirected);
    :meth:`bottlenecks` adds, per pair, the path's bottleneck queueing link and its direction.
    ``keep_bytes`` > 0 keeps Dijkstra's rows up to that many bytes (12 per site and row) for later batches
    from the same sites (the twin's control plane asks again at every reroute); the answers are the same.
    """

    def __init__(self, arrays: SystemArrays, *, keep_bytes: int = 0) -> None:
        a = arrays
        self.n = a.n_sites
        # Dijkstra rows (distances, predecessors) kept per source site, least recently used first out
        self._kept: OrderedDict[int, tuple[F64, NDArray[np.int32]]] = OrderedDict()
        self._max_kept = keep_bytes // (12 * max(self.n, 1))
        lat = a.link_latency_ms[a.graph_link]
        # zero-latency links still count as edges: scipy treats explicit zeros as absent
        self.graph = csr_matrix(
            (np.maximum(lat, 1e-12), a.graph_indices, a.graph_indptr), shape=(self.n, self.n)
        )
        key = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(a.graph_indptr)) * self.n + a.graph_indices
        order = np.argsort(key, kind="stable")
        self._key = key[order]
        link = a.graph_link[order]
        self._link = link.astype(np.int64)  # the SystemArrays link of each edge
        self._link_src = a.link_src
        self._tx = (8.0 / a.link_bandwidth_mbps[link]).astype(np.float64)  # ms per kB
        self._logav = np.log(a.link_availability[link])

    def edge_values(self, u: I64, v: I64) -> tuple[F64, F64]:
        """Transmission ms per kB and log-availability of the links (u, v) (they must exist)."""
        pos = np.searchsorted(self._key, u * self.n + v)
        return self._tx[pos], self._logav[pos]

    def pairs(self, origin: I64, target: I64) -> tuple[F64, F64, F64]:
        """Latency, ms-per-kB and log-availability for each pair (inf latency when unreachable)."""
        lat, tx, logav, _, _ = self._walk(origin, target, None)
        return lat, tx, logav

    def bottlenecks(
        self, origin: I64, target: I64, queue_of_link: I64, queue_tx_ms_per_kb: F64
    ) -> tuple[F64, F64, F64, I64, F64]:
        """Per pair, :meth:`pairs`' three values and its path's bottleneck among the queueing links.

        Parameters
        ----------
        origin, target : ndarray of int
            Site indices of the pairs; the path is the minimum-latency one, as in :meth:`pairs`.
        queue_of_link : ndarray of int
            Per SystemArrays link, its queueing link index ``q`` (-1: the link does not queue).
        queue_tx_ms_per_kb : ndarray of float
            Per queueing link, its transmission ms per kB (``8 / bandwidth_mbps``).

        Returns
        -------
        (latency_ms, path_tx_ms_per_kb, log_availability, direction, queue_tx_ms_per_kb)
            Per pair: the path's latency (inf when unreachable), transmission ms per kB (all its links) and
            log-availability, as :meth:`pairs`; the direction ``2 q + d`` of its bottleneck queueing link ``q`` (the one with the
            most transmission per kB; on ties the one nearest the target, whatever other pairs the batch
            holds), with ``d = 0`` when travelled from ``link_src`` to ``link_dst`` and 1 the other way (-1:
            the path crosses no queueing link, or there is no path); that link's transmission ms per kB (0 for
            none).
        """
        return self._walk(origin, target, (queue_of_link, queue_tx_ms_per_kb))

    def _walk(
        self, origin: I64, target: I64, queues: tuple[I64, F64] | None
    ) -> tuple[F64, F64, F64, I64, F64]:
        m = len(origin)
        lat = np.zeros(m)
        tx = np.zeros(m)
        logav = np.zeros(m)
        direction = np.full(m, -1, np.int64)
        q_tx = np.zeros(m)
        todo = np.flatnonzero(origin != target)
        if not len(todo):
            return lat, tx, logav, direction, q_tx
        o, t = origin[todo], target[todo]
        uo, ut = np.unique(o), np.unique(t)
        swapped = len(ut) < len(uo)
        if swapped:  # run from the targets and walk back towards them
            o, t = t, o
            uo = ut
        dist, pred = self._search(uo)
        row = np.searchsorted(uo, o)
        lat[todo] = dist[row, t]
        reach = np.isfinite(lat[todo])
        cur = t.copy()
        acc_tx = np.zeros(len(todo))
        acc_av = np.zeros(len(todo))
        best_tx = np.zeros(len(todo))
        best_dir = np.full(len(todo), -1, np.int64)
        live = reach & (cur != o)
        while live.any():
            idx = np.flatnonzero(live)
            prev = pred[row[idx], cur[idx]].astype(np.int64)
            pos = np.searchsorted(self._key, prev * self.n + cur[idx])
            acc_tx[idx] += self._tx[pos]
            acc_av[idx] += self._logav[pos]
            if queues is not None:
                link = self._link[pos]
                qi = queues[0][link]
                has = qi >= 0
                e_tx = np.where(has, queues[1][np.maximum(qi, 0)], 0.0)
                # on ties the one nearest the target, whichever way the walk goes (swapped: towards the target)
                better = has & ((e_tx >= best_tx[idx]) if swapped else (e_tx > best_tx[idx]))
                # the hop travels prev -> cur (cur -> prev when swapped)
                start = cur[idx] if swapped else prev
                back = (self._link_src[link] != start).astype(np.int64)
                best_tx[idx] = np.where(better, e_tx, best_tx[idx])
                best_dir[idx] = np.where(better, 2 * np.maximum(qi, 0) + back, best_dir[idx])
            cur[idx] = prev
            live[idx] = cur[idx] != o[idx]
        lat[todo] = np.where(reach, lat[todo], np.inf)
        tx[todo] = acc_tx
        logav[todo] = np.where(reach, acc_av, -np.inf)
        direction[todo] = best_dir
        q_tx[todo] = best_tx
        return lat, tx, logav, direction, q_tx

    def distances_from(self, sources: I64) -> F64:
        """Minimum-path latency (ms) from each of the distinct *sources* to every site, one row per source
        (the rows :meth:`pairs` searches; kept ones are read, see ``keep_bytes``)."""
        return self._search(sources)[0]

    def _search(self, sources: I64) -> tuple[F64, NDArray[np.int32]]:
        """Dijkstra from each of the distinct *sources*: distances and predecessors, one row per source.

        With ``keep_bytes``, rows are kept (least recently used first out; a batch larger than that keeps
        its last rows) and a later search from the same site reads them: a row is the same whatever other
        sources its batch holds, so the answers do not change, bit for bit.
        """
        if not self._max_kept:
            dist, pred = dijkstra(self.graph, directed=False, indices=sources, return_predecessors=True)
            return dist, pred
        keys = sources.tolist()
        missing = [k for k in keys if k not in self._kept]
        if len(missing) == len(keys):
            dist, pred = dijkstra(self.graph, directed=False, indices=sources, return_predecessors=True)
        else:
            dist, pred = np.empty((len(keys), self.n)), np.empty((len(keys), self.n), np.int32)
            new: dict[int, tuple[F64, NDArray[np.int32]]] = {}
            if missing:
                d_new, p_new = dijkstra(self.graph, directed=False, indices=missing, return_predecessors=True)
                new = {k: (d_new[j], p_new[j]) for j, k in enumerate(missing)}
            for i, k in enumerate(keys):
                dist[i], pred[i] = new[k] if k in new else self._kept[k]
        for i in range(max(0, len(keys) - self._max_kept), len(keys)):
            k = keys[i]
            if k in self._kept:
                self._kept.move_to_end(k)
            else:
                self._kept[k] = (dist[i].copy(), pred[i].copy())
        while len(self._kept) > self._max_kept:
            self._kept.popitem(last=False)
        return dist, pred
