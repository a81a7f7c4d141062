"""Path metrics between sites on minimum-latency paths, computed only for the pairs asked for."""

from __future__ import annotations

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
    Dijkstra from whichever side has fewer distinct sites (the graph is undirected).
    """

    def __init__(self, arrays: SystemArrays) -> None:
        a = arrays
        self.n = a.n_sites
        lat = a.link_latency_ms[a.graph_link]
        # zero-latency links still count as edges: scipy treats explicit zeros as absent
        self.graph = csr_matrix(
            (np.maximum(lat, 1e-12), a.graph_indices, a.graph_indptr), shape=(self.n, self.n)
        )
        key = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(a.graph_indptr)) * self.n + a.graph_indices
        order = np.argsort(key, kind="stable")
        self._key = key[order]
        link = a.graph_link[order]
        self._tx = (8.0 / a.link_bandwidth_mbps[link]).astype(np.float64)  # ms per kB
        self._logav = np.log(a.link_availability[link])

    def edge_values(self, u: I64, v: I64) -> tuple[F64, F64]:
        """Transmission ms per kB and log-availability of the links (u, v) (they must exist)."""
        pos = np.searchsorted(self._key, u * self.n + v)
        return self._tx[pos], self._logav[pos]

    def pairs(self, origin: I64, target: I64) -> tuple[F64, F64, F64]:
        """Latency, ms-per-kB and log-availability for each pair (inf latency when unreachable)."""
        m = len(origin)
        lat = np.zeros(m)
        tx = np.zeros(m)
        logav = np.zeros(m)
        todo = np.flatnonzero(origin != target)
        if not len(todo):
            return lat, tx, logav
        o, t = origin[todo], target[todo]
        uo, ut = np.unique(o), np.unique(t)
        if len(ut) < len(uo):  # run from the targets and walk back towards them
            o, t = t, o
            uo = ut
        dist, pred = dijkstra(self.graph, directed=False, indices=uo, return_predecessors=True)
        row = np.searchsorted(uo, o)
        lat[todo] = dist[row, t]
        reach = np.isfinite(lat[todo])
        cur = t.copy()
        acc_tx = np.zeros(len(todo))
        acc_av = np.zeros(len(todo))
        live = reach & (cur != o)
        while live.any():
            idx = np.flatnonzero(live)
            prev = pred[row[idx], cur[idx]].astype(np.int64)
            e_tx, e_av = self.edge_values(prev, cur[idx])
            acc_tx[idx] += e_tx
            acc_av[idx] += e_av
            cur[idx] = prev
            live[idx] = cur[idx] != o[idx]
        lat[todo] = np.where(reach, lat[todo], np.inf)
        tx[todo] = acc_tx
        logav[todo] = np.where(reach, acc_av, -np.inf)
        return lat, tx, logav
