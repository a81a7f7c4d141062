"""Graph analysis of edge topologies: connectivity, resilience, constrained paths, partitioning.

Pure functions over a graph given as arrays, with no dependency on the scenario model: ``n_nodes``, edge end
points ``src`` and ``dst`` (integer arrays of length E), edge ``latency_ms`` and optionally
``bandwidth_mbps``. Graphs are undirected; parallel edges are allowed (the smallest latency counts for
distances) and self-loops are ignored. Internally the graph is a :mod:`scipy.sparse` CSR matrix
(:func:`adjacency`): breadth-first searches, Dijkstra and components run in scipy's C code, and cut
vertices, bridges and betweenness are vectorised or linear-time here; :mod:`networkx` is used where it has
the algorithm (maximum flows for k-connectivity, Yen's k shortest paths, Kernighan-Lin).

Large graphs are estimated, never silently: above ``exact_limit`` nodes the distance metrics come from a
seeded sample of sources and the result says ``sampled=True`` with the sample size; connectivity above
``connectivity_limit`` nodes is an upper bound from sampled node pairs unless a cut vertex or bridge makes it
exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csgraph

from edgescale.errors import ModelAssumptionError

__all__ = [
    "DEFAULT_CONNECTIVITY_LIMIT",
    "DEFAULT_EXACT_LIMIT",
    "DEFAULT_SAMPLES",
    "ConnectivityReport",
    "DistanceSummary",
    "Partition",
    "PathStats",
    "ResilienceCurve",
    "Route",
    "adjacency",
    "betweenness",
    "component_labels",
    "connectivity",
    "distances",
    "girth",
    "k_shortest_paths",
    "partition",
    "resilience",
    "shortest_path",
]

DEFAULT_EXACT_LIMIT = 2_000
"""Largest component (nodes) whose distance metrics are computed exactly, from every source."""

DEFAULT_SAMPLES = 64
"""Sources sampled for distance metrics and betweenness above the exact limit."""

DEFAULT_CONNECTIVITY_LIMIT = 500
"""Largest component (nodes) whose edge and node connectivity are computed exactly."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Seed = int | np.random.Generator | None


# -- input and the sparse form -------------------------------------------------------------------------


def _edges(
    n_nodes: int, src: ArrayLike, dst: ArrayLike, *weights: tuple[str, ArrayLike | None]
) -> tuple[IntArray, IntArray, list[FloatArray | None]]:
    """Validate the edge arrays; return them as int64 / float64 arrays."""
    if int(n_nodes) != n_nodes or n_nodes < 0:
        raise ModelAssumptionError(f"n_nodes: must be an integer >= 0 (got {n_nodes!r})")
    s = np.asarray(src)
    d = np.asarray(dst)
    if s.ndim != 1 or s.shape != d.shape:
        raise ModelAssumptionError(
            f"src, dst: must be 1-D of the same length (got shapes {s.shape}, {d.shape})"
        )
    for name, a in (("src", s), ("dst", d)):
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise ModelAssumptionError(f"{name}: must hold integer node indices (got dtype {a.dtype})")
        bad = np.flatnonzero((a < 0) | (a >= n_nodes))
        if bad.size:
            i = int(bad[0])
            raise ModelAssumptionError(f"{name}[{i}]: must be in [0, n_nodes={n_nodes}) (got {a[i]})")
    out: list[FloatArray | None] = []
    for name, w in weights:
        if w is None:
            out.append(None)
            continue
        a = np.asarray(w, dtype=np.float64)
        if a.shape != s.shape:
            raise ModelAssumptionError(
                f"{name}: must have one value per edge (got shape {a.shape}, {s.shape})"
            )
        bad = np.flatnonzero(~(a >= 0) | np.isnan(a))
        if bad.size:
            i = int(bad[0])
            raise ModelAssumptionError(f"{name}[{i}]: must be >= 0 and not NaN (got {a[i]})")
        out.append(a)
    return s.astype(np.int64), d.astype(np.int64), out


def _simple(
    src: IntArray, dst: IntArray, weight: FloatArray | None, tie: FloatArray | None = None
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Unique undirected pairs (u < v): smallest weight wins (ties: largest ``tie``); original edge index."""
    u, v = np.minimum(src, dst), np.maximum(src, dst)
    w = np.ones(u.size) if weight is None else weight
    t = np.zeros(u.size) if tie is None else tie
    keep = np.flatnonzero(u != v)
    order = keep[np.lexsort((-t[keep], w[keep], v[keep], u[keep]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    chosen = order[first]
    return u[chosen], v[chosen], w[chosen], chosen


def adjacency(n: int, src: ArrayLike, dst: ArrayLike, weight: ArrayLike | None = None) -> sp.csr_matrix:
    """Symmetric sparse adjacency matrix of an undirected graph.

    Parameters
    ----------
    n : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points.
    weight : array_like of float, shape (E,), optional
        Edge weights (>= 0); default 1 for every edge.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, n)``, entry ``[u, v] == [v, u]`` = weight of the lightest edge between u and v. Self-loops
        are dropped; parallel edges keep the smallest weight. Zero weights stay as explicit entries, which
        :mod:`scipy.sparse.csgraph` treats as edges.

    Raises
    ------
    ModelAssumptionError
        If an index is out of range, the arrays differ in length, or a weight is negative or NaN.

    Examples
    --------
    >>> a = adjacency(3, [0, 1, 1, 2], [1, 0, 2, 2], [5.0, 2.0, 0.0, 9.0])
    >>> a.toarray()
    array([[0., 2., 0.],
           [2., 0., 0.],
           [0., 0., 0.]])
    >>> int(a.nnz)  # the zero-weight edge 1-2 is kept explicitly
    4
    """
    s, d, (w,) = _edges(n, src, dst, ("weight", weight))
    u, v, ww, _ = _simple(s, d, w)
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    return sp.csr_matrix((np.concatenate([ww, ww]), (rows, cols)), shape=(n, n))


def _nx_graph(n: int, u: IntArray, v: IntArray, **attrs: FloatArray) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    if attrs:
        names = list(attrs)
        cols = [attrs[k].tolist() for k in names]
        g.add_edges_from(
            (a, b, dict(zip(names, vals, strict=True)))
            for a, b, *vals in zip(u.tolist(), v.tolist(), *cols, strict=True)
        )
    else:
        g.add_edges_from(zip(u.tolist(), v.tolist(), strict=True))
    return g


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def component_labels(n_nodes: int, src: ArrayLike, dst: ArrayLike) -> IntArray:
    """Connected component of each node, numbered by decreasing size (0 is the largest).

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points.

    Returns
    -------
    ndarray of int, shape (n_nodes,)
        Component label per node; ties in size are numbered by their smallest node.

    Examples
    --------
    >>> component_labels(6, [0, 1, 3], [1, 2, 4])
    array([0, 0, 0, 1, 1, 2])
    """
    a = adjacency(n_nodes, src, dst)
    _, raw = csgraph.connected_components(a, directed=False)
    sizes = np.bincount(raw)
    first = np.full(sizes.size, n_nodes)
    np.minimum.at(first, raw, np.arange(n_nodes))
    rank = np.empty(sizes.size, dtype=np.int64)
    rank[np.lexsort((first, -sizes))] = np.arange(sizes.size)
    out: IntArray = rank[raw]
    return out


def girth(n_nodes: int, src: ArrayLike, dst: ArrayLike) -> float:
    """Length of the shortest cycle (``inf`` for a forest); parallel edges and self-loops are ignored.

    Examples
    --------
    >>> import networkx as nx
    >>> s, d = np.array(nx.petersen_graph().edges()).T
    >>> girth(10, s, d)
    5.0
    """
    s, d, _ = _edges(n_nodes, src, dst)
    u, v, _, _ = _simple(s, d, None)
    return float(nx.girth(_nx_graph(n_nodes, u, v))) if u.size else math.inf


# -- connectivity --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathStats:
    """Diameter, radius and mean shortest-path length (hops or ms) of one component."""

    diameter: float
    radius: float
    average: float


@dataclass(frozen=True)
class DistanceSummary:
    """Shortest-path metrics of the largest connected component.

    Attributes
    ----------
    hops : PathStats
        In hops.
    latency_ms : PathStats or None
        Latency-weighted, in ms (None when no latency was given).
    nodes : int
        Nodes in the component measured.
    on_largest_component : bool
        True when the graph is disconnected and only its largest component was measured.
    sampled : bool
        True when the metrics are estimates from ``sample_size`` sources. Then ``diameter`` is a lower
        bound, ``radius`` an upper bound and ``average`` an unbiased estimate.
    sample_size : int
        Shortest-path trees computed (the component size when exact).
    """

    hops: PathStats
    latency_ms: PathStats | None
    nodes: int
    on_largest_component: bool
    sampled: bool
    sample_size: int


def distances(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    latency_ms: ArrayLike | None = None,
    *,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    samples: int = DEFAULT_SAMPLES,
    seed: Seed = None,
) -> DistanceSummary:
    """Diameter, radius and average shortest path, in hops and in latency, of the largest component.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points (undirected).
    latency_ms : array_like of float, shape (E,), optional
        Edge latency; latency metrics are computed only when given.
    exact_limit : int, optional
        Components up to this size are measured exactly (all sources, O(n E) time, O(n^2) memory).
    samples : int, optional
        Random sources for larger components; two more sweeps start from the farthest nodes found, which
        usually finds the true diameter (the "double sweep").
    seed : int, Generator or None
        Randomness of the sample.

    Returns
    -------
    DistanceSummary

    Notes
    -----
    The average is over ordered pairs of distinct nodes, :math:`\\frac{1}{m(m-1)}\\sum_{i \\ne j} d(i, j)`.
    Eccentricity is taken within the component. A one-node component has all metrics 0.

    Examples
    --------
    A path of 5 nodes with 1 ms links, plus an isolated node:

    >>> r = distances(6, [0, 1, 2, 3], [1, 2, 3, 4], [1.0, 1.0, 1.0, 1.0])
    >>> r.hops
    PathStats(diameter=4.0, radius=2.0, average=2.0)
    >>> r.nodes, r.on_largest_component, r.sampled
    (5, True, False)
    """
    s, d, (lat,) = _edges(n_nodes, src, dst, ("latency_ms", latency_ms))
    labels = component_labels(n_nodes, s, d)
    members = np.flatnonzero(labels == 0)
    m = members.size
    local = np.full(n_nodes, -1, dtype=np.int64)
    local[members] = np.arange(m)
    inside = (local[s] >= 0) & (local[d] >= 0)
    hop_graph = adjacency(m, local[s[inside]], local[d[inside]])
    lat_graph = None if lat is None else adjacency(m, local[s[inside]], local[d[inside]], lat[inside])
    sampled = m > exact_limit
    if sampled:
        rng = _rng(seed)
        hops, used = _sampled_stats(hop_graph, True, samples, rng)
        lat_stats = None if lat_graph is None else _sampled_stats(lat_graph, False, samples, rng)[0]
    else:
        hops, used = _exact_stats(hop_graph, True), m
        lat_stats = None if lat_graph is None else _exact_stats(lat_graph, False)
    return DistanceSummary(hops, lat_stats, m, bool(labels.max(initial=0) > 0), sampled, used)


_CHUNK = 256  # sources per batch of shortest-path trees: bounds memory at _CHUNK x n floats


def _bfs_depths(graph: sp.csr_matrix, sources: IntArray) -> NDArray[np.int32]:
    """Hop distance from each source (rows) to every node, -1 where unreachable.

    One C breadth-first search per source for the tree, then the depth of every node by pointer jumping
    over the predecessor arrays of all sources at once (log2(depth) numpy passes).
    """
    n = graph.shape[0]
    b = sources.size
    pred = np.empty((b, n), dtype=np.int64)
    for r, x in enumerate(sources.tolist()):
        pred[r] = csgraph.breadth_first_order(graph, x, directed=True, return_predecessors=True)[1]
    reached = pred >= 0
    offsets = (np.arange(b, dtype=np.int64) * n)[:, None]
    up = (np.where(reached, pred, np.arange(n)) + offsets).ravel()
    depth = reached.astype(np.int32).ravel()
    while True:
        upup = up[up]
        if np.array_equal(upup, up):
            break
        depth += depth[up]
        up = upup
    out = depth.reshape(b, n)
    out[~reached] = -1
    out[np.arange(b), sources] = 0
    return out


def _bfs_distances(graph: sp.csr_matrix, sources: IntArray) -> FloatArray:
    """Hop distances from each source (rows), ``inf`` where unreachable."""
    depth = _bfs_depths(graph, sources)
    return np.where(depth >= 0, depth.astype(np.float64), np.inf)


def _sssp(graph: sp.csr_matrix, sources: IntArray, unweighted: bool) -> FloatArray:
    """Shortest-path distances from *sources* on a symmetric CSR graph."""
    if unweighted:
        return _bfs_distances(graph, sources)
    return np.asarray(csgraph.dijkstra(graph, directed=True, indices=sources), dtype=np.float64)


def _eccentricities(graph: sp.csr_matrix, sources: IntArray, unweighted: bool) -> tuple[FloatArray, float]:
    """Eccentricity of each source and the sum of all its distances, in batches."""
    ecc, total = [], 0.0
    for i in range(0, sources.size, _CHUNK):
        dist = _sssp(graph, sources[i : i + _CHUNK], unweighted)
        ecc.append(dist.max(axis=1))
        total += float(dist.sum())
    return np.concatenate(ecc), total


def _exact_stats(graph: sp.csr_matrix, unweighted: bool) -> PathStats:
    m = graph.shape[0]
    if m < 2:
        return PathStats(0.0, 0.0, 0.0)
    ecc, total = _eccentricities(graph, np.arange(m, dtype=np.int64), unweighted)
    return PathStats(float(ecc.max()), float(ecc.min()), total / (m * (m - 1)))


def _sampled_stats(
    graph: sp.csr_matrix, unweighted: bool, samples: int, rng: np.random.Generator
) -> tuple[PathStats, int]:
    m = graph.shape[0]
    sources = rng.choice(m, size=min(samples, m), replace=False).astype(np.int64)
    dist = _sssp(graph, sources, unweighted)
    ecc = dist.max(axis=1)
    average = float(dist.sum() / (sources.size * (m - 1)))
    diameter, radius = float(ecc.max()), float(ecc.min())
    far = int(np.argmax(dist[int(np.argmax(ecc))]))
    for _ in range(2):  # double sweep from the farthest node found so far
        row = _sssp(graph, np.array([far], dtype=np.int64), unweighted)[0]
        diameter, radius = max(diameter, float(row.max())), min(radius, float(row.max()))
        far = int(np.argmax(row))
    return PathStats(diameter, radius, average), sources.size + 2


@dataclass(frozen=True)
class ConnectivityReport:
    """Connectivity of a graph; see :func:`connectivity`.

    Attributes
    ----------
    n_nodes, n_links : int
        Nodes, and distinct undirected links (parallel edges and self-loops not counted).
    components : int
        Connected components (isolated nodes count).
    largest_component : int
        Nodes in the largest component.
    connected : bool
        ``components == 1``.
    distances : DistanceSummary
        Diameter, radius, average path of the largest component.
    articulation_points : ndarray of int
        Nodes whose removal disconnects their component (whole graph), sorted.
    bridges : ndarray of int, shape (B, 2)
        Links whose removal disconnects their component, as ``(u, v)`` with ``u < v``, sorted.
    edge_connectivity, node_connectivity : int
        Of the largest component: minimum links / nodes to remove to disconnect it.
    connectivity_exact : bool
        False when the two numbers above are upper bounds from sampled node pairs.
    notes : tuple of str
        What was estimated or restricted, in words.
    """

    n_nodes: int
    n_links: int
    components: int
    largest_component: int
    connected: bool
    distances: DistanceSummary
    articulation_points: IntArray
    bridges: IntArray
    edge_connectivity: int
    node_connectivity: int
    connectivity_exact: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def connectivity(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    latency_ms: ArrayLike | None = None,
    *,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    samples: int = DEFAULT_SAMPLES,
    connectivity_limit: int = DEFAULT_CONNECTIVITY_LIMIT,
    connectivity_samples: int = 16,
    seed: Seed = None,
) -> ConnectivityReport:
    """Components, distance metrics, cut vertices, bridges and k-connectivity of an undirected graph.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points.
    latency_ms : array_like of float, shape (E,), optional
        Edge latency, for the latency-weighted distance metrics.
    exact_limit, samples : int, optional
        See :func:`distances`.
    connectivity_limit : int, optional
        Largest component whose edge and node connectivity are computed exactly (networkx flows).
    connectivity_samples : int, optional
        Node pairs tried above that limit; the result is then an upper bound.
    seed : int, Generator or None
        Randomness of every sample.

    Returns
    -------
    ConnectivityReport

    Notes
    -----
    Edge connectivity :math:`\\lambda` and node connectivity :math:`\\kappa` satisfy
    :math:`\\kappa \\le \\lambda \\le \\delta` (minimum degree). Above the limit a bridge makes both exact
    (:math:`\\lambda = \\kappa = 1`) and a cut vertex makes :math:`\\kappa = 1` exact; otherwise the minimum of
    :math:`\\delta` and the local connectivity between a minimum-degree node and sampled other nodes is
    reported, an upper bound. Both are computed on the largest component (0 if it is a single node).

    Parallel links between two nodes count as one link here, for bridges and edge connectivity too: the
    conservative view that they share a route, as parallel links in real topologies often do. Cut vertices
    and bridges come from one iterative Hopcroft-Tarjan depth-first search, O(n + E).

    Examples
    --------
    The Petersen graph is 3-regular, 3-connected, of diameter 2:

    >>> import networkx as nx
    >>> s, d = np.array(nx.petersen_graph().edges()).T
    >>> r = connectivity(10, s, d)
    >>> r.distances.hops.diameter, r.edge_connectivity, r.node_connectivity, r.articulation_points.size
    (2.0, 3, 3, 0)
    """
    s, d, (lat,) = _edges(n_nodes, src, dst, ("latency_ms", latency_ms))
    rng = _rng(seed)
    labels = component_labels(n_nodes, s, d)
    u, v, _, _ = _simple(s, d, None)
    dist = distances(n_nodes, s, d, lat, exact_limit=exact_limit, samples=samples, seed=rng)
    cut_nodes, bridges = _cuts(adjacency(n_nodes, u, v))
    inside = (labels[u] == 0) & (labels[v] == 0)
    has_cut = bool(np.any(labels[cut_nodes] == 0))
    has_bridge = bool(np.any(labels[bridges[:, 0]] == 0))
    if dist.nodes <= connectivity_limit or not has_bridge:
        largest = _nx_graph(0, u[inside], v[inside])
        largest.add_nodes_from(np.flatnonzero(labels == 0).tolist())
    else:
        largest = None  # a bridge settles it: no flows needed
    lam, kappa, exact, k_note = _k_connectivity(
        largest, dist.nodes, has_cut, has_bridge, connectivity_limit, connectivity_samples, rng
    )
    n_comp = int(labels.max(initial=-1)) + 1
    notes = _connectivity_notes(n_comp, dist, k_note)
    return ConnectivityReport(
        n_nodes,
        int(u.size),
        n_comp,
        dist.nodes,
        n_comp == 1,
        dist,
        cut_nodes,
        bridges,
        lam,
        kappa,
        exact,
        notes,
    )


def _cuts(graph: sp.csr_matrix) -> tuple[IntArray, IntArray]:
    """Articulation points (sorted) and bridges ``(u < v)``, sorted: iterative Hopcroft-Tarjan lowpoints."""
    n = graph.shape[0]
    indptr, indices = graph.indptr.tolist(), graph.indices.tolist()
    disc, low, parent = [-1] * n, [0] * n, [-1] * n
    nxt = indptr[:-1]
    cut, bridges, clock = set(), [], 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack, root_children = [root], 0
        while stack:
            x = stack[-1]
            if nxt[x] < indptr[x + 1]:
                y = indices[nxt[x]]
                nxt[x] += 1
                if disc[y] < 0:
                    parent[y], disc[y], low[y] = x, clock, clock
                    clock += 1
                    stack.append(y)
                    root_children += x == root
                elif y != parent[x]:
                    low[x] = min(low[x], disc[y])
                continue
            stack.pop()
            p = parent[x]
            if p >= 0:
                low[p] = min(low[p], low[x])
                if low[x] > disc[p]:
                    bridges.append((min(p, x), max(p, x)))
                if low[x] >= disc[p] and p != root:
                    cut.add(p)
        if root_children > 1:
            cut.add(root)
    return np.array(sorted(cut), dtype=np.int64), np.array(sorted(bridges), dtype=np.int64).reshape(-1, 2)


def _connectivity_notes(n_comp: int, dist: DistanceSummary, k_note: str) -> tuple[str, ...]:
    notes = []
    if n_comp > 1:
        notes.append(f"disconnected ({n_comp} components): distances and k-connectivity of the largest only")
    if dist.sampled:
        notes.append(
            f"distances sampled from {dist.sample_size} sources of {dist.nodes}: "
            "diameter is a lower bound, radius an upper bound, average an estimate"
        )
    if k_note:
        notes.append(k_note)
    return tuple(notes)


def _k_connectivity(
    g: nx.Graph | None,
    m: int,
    has_cut: bool,
    has_bridge: bool,
    limit: int,
    pairs: int,
    rng: np.random.Generator,
) -> tuple[int, int, bool, str]:
    """(edge connectivity, node connectivity, exact, note) of a connected graph of *m* nodes."""
    if m < 2:
        return 0, 0, True, ""
    if has_bridge and m > limit:
        return 1, 1, True, ""
    assert g is not None
    if m <= limit:
        return int(nx.edge_connectivity(g)), int(nx.node_connectivity(g)), True, ""
    lam = _sampled_edge_connectivity(g, pairs, rng)
    if has_cut:
        note = f"edge connectivity: upper bound from {pairs} sampled node pairs (node connectivity exact)"
        return lam, 1, False, note
    kappa = min(lam, _sampled_node_connectivity(g, pairs, rng))
    return lam, kappa, False, f"edge and node connectivity: upper bounds from {pairs} sampled node pairs"


def _sampled_edge_connectivity(g: nx.Graph, pairs: int, rng: np.random.Generator) -> int:
    from networkx.algorithms.connectivity import build_auxiliary_edge_connectivity, local_edge_connectivity
    from networkx.algorithms.flow import build_residual_network

    degree = dict(g.degree())
    s = min(degree, key=lambda x: (degree[x], x))
    best = int(degree[s])
    aux = build_auxiliary_edge_connectivity(g)
    res = build_residual_network(aux, "capacity")
    others = [x for x in g.nodes if x != s]
    for t in rng.choice(others, size=min(pairs, len(others)), replace=False).tolist():
        best = min(best, int(local_edge_connectivity(g, s, t, auxiliary=aux, residual=res, cutoff=best)))
    return best


def _sampled_node_connectivity(g: nx.Graph, pairs: int, rng: np.random.Generator) -> int:
    from networkx.algorithms.connectivity import build_auxiliary_node_connectivity, local_node_connectivity
    from networkx.algorithms.flow import build_residual_network

    degree = dict(g.degree())
    s = min(degree, key=lambda x: (degree[x], x))
    best = int(degree[s])
    aux = build_auxiliary_node_connectivity(g)
    res = build_residual_network(aux, "capacity")
    others = [x for x in g.nodes if x != s and not g.has_edge(s, x)]
    for t in rng.choice(others, size=min(pairs, len(others)), replace=False).tolist() if others else []:
        best = min(best, int(local_node_connectivity(g, s, t, auxiliary=aux, residual=res, cutoff=best)))
    return best


# -- betweenness ---------------------------------------------------------------------------------------


def betweenness(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    *,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    samples: int = DEFAULT_SAMPLES,
    seed: Seed = None,
) -> tuple[FloatArray, FloatArray]:
    """Node and link betweenness (shortest paths in hops), exact or estimated from sampled sources.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points (undirected).
    exact_limit : int, optional
        Up to this many nodes every node is a source (exact); above, ``samples`` random sources are used
        and the sums are scaled by ``n / samples`` (an unbiased estimate).
    samples : int, optional
        Sources sampled above the exact limit.
    seed : int, Generator or None
        Randomness of the sample.

    Returns
    -------
    node : ndarray, shape (n_nodes,)
        :math:`\\sum_{s<t} \\sigma_{st}(v) / \\sigma_{st}` over pairs of other nodes: networkx's
        ``betweenness_centrality(G, normalized=False)``.
    link : ndarray, shape (E,)
        The same for each input edge; parallel edges share their node pair's value, self-loops get 0.

    Notes
    -----
    Brandes' algorithm, vectorised: per batch of sources, breadth-first distances in C, then the path
    counts and the dependencies are accumulated level by level over the arcs of the shortest-path DAG
    with numpy. Time O(s E) for s sources, memory O(batch x E).

    References
    ----------
    U. Brandes, "A faster algorithm for betweenness centrality", J. Math. Sociology 25(2), 2001.

    Examples
    --------
    On a path 0-1-2-3 the middle nodes lie on 2 of the 3 paths between other nodes:

    >>> node, link = betweenness(4, [0, 1, 2], [1, 2, 3])
    >>> node
    array([0., 2., 2., 0.])
    >>> link
    array([3., 4., 3.])
    """
    s, d, _ = _edges(n_nodes, src, dst)
    u, v, _, _ = _simple(s, d, None)
    a = adjacency(n_nodes, u, v)
    if n_nodes <= exact_limit:
        sources, scale = np.arange(n_nodes, dtype=np.int64), 0.5
    else:
        sources = _rng(seed).choice(n_nodes, size=min(samples, n_nodes), replace=False).astype(np.int64)
        scale = 0.5 * n_nodes / sources.size
    coo = a.tocoo()
    tail, head = coo.row.astype(np.int64), coo.col.astype(np.int64)
    node, arc = _brandes(a, tail, head, sources)
    key_pair = u * n_nodes + v  # sorted: _simple orders pairs by (u, v)
    pair_score = np.zeros(u.size)
    np.add.at(
        pair_score, np.searchsorted(key_pair, np.minimum(tail, head) * n_nodes + np.maximum(tail, head)), arc
    )
    link = np.zeros(s.size)
    ok = s != d
    link[ok] = pair_score[np.searchsorted(key_pair, np.minimum(s, d)[ok] * n_nodes + np.maximum(s, d)[ok])]
    return node * scale, link * scale


def _brandes(
    a: sp.csr_matrix, tail: IntArray, head: IntArray, sources: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Sum over *sources* of node dependencies, and of arc dependencies (arcs ``tail -> head`` of *a*)."""
    n = a.shape[0]
    node, arc = np.zeros(n), np.zeros(tail.size)
    batch = max(1, min(_CHUNK, 4_000_000 // max(tail.size, 1)))
    for i in range(0, sources.size, batch):
        chunk = sources[i : i + batch]
        depth = _bfs_depths(a, chunk)
        at_head = depth[:, head]
        # arcs of the shortest-path DAGs; an unreachable tail (-1) never has a head at depth 0 (the source)
        r, k = np.nonzero(at_head == depth[:, tail] + 1)
        level = at_head[r, k]
        small = level.astype(np.int16) if level.size and level.max() < 2**15 else level
        order = np.argsort(small, kind="stable")  # radix sort for int16
        r, k, level = r[order], k[order], level[order]
        bounds = np.searchsorted(level, np.arange(level.max(initial=0) + 2))
        up = r * n + tail[k]
        down = r * n + head[k]
        roots = np.arange(chunk.size) * n + chunk
        sigma = np.zeros(chunk.size * n)
        sigma[roots] = 1.0
        for lv in range(1, bounds.size - 1):
            sl = slice(bounds[lv], bounds[lv + 1])
            np.add.at(sigma, down[sl], sigma[up[sl]])
        delta = np.zeros(chunk.size * n)
        for lv in range(bounds.size - 2, 0, -1):
            sl = slice(bounds[lv], bounds[lv + 1])
            share = sigma[up[sl]] / sigma[down[sl]] * (1.0 + delta[down[sl]])
            np.add.at(delta, up[sl], share)
            np.add.at(arc, k[sl], share)
        delta[roots] = 0.0
        node += delta.reshape(chunk.size, n).sum(axis=0)
    return node, arc


# -- resilience ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResilienceCurve:
    """Reachability of tiers from devices as nodes or links are removed; see :func:`resilience`.

    Attributes
    ----------
    fractions : ndarray, shape (S+1,)
        Fraction of the removal candidates removed at each step (0 first).
    removed : ndarray of int, shape (S+1,)
        How many nodes or links that is.
    tiers : ndarray of int, shape (T,)
        The tier ids checked, in the order of the columns of ``reach``.
    reach : ndarray, shape (S+1, T)
        Weighted share of devices that still reach at least one node of each tier.
    reach_all : ndarray, shape (S+1,)
        Weighted share of devices that reach every checked tier at once.
    giant_component : ndarray, shape (S+1,)
        Largest component of the remaining graph, as a share of all nodes.
    remove, strategy : str
        What was removed and how it was chosen.
    removal_order : ndarray of int, shape (removed[-1],)
        The nodes (or links) in the order they were removed; ``removal_order[:removed[i]]`` is gone at
        step i.
    notes : tuple of str
    """

    fractions: FloatArray
    removed: IntArray
    tiers: IntArray
    reach: FloatArray
    reach_all: FloatArray
    giant_component: FloatArray
    remove: str
    strategy: str
    removal_order: IntArray
    notes: tuple[str, ...] = field(default_factory=tuple)


def resilience(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    *,
    device_nodes: ArrayLike,
    tier_of_node: ArrayLike,
    tiers: Sequence[int] | ArrayLike,
    device_weights: ArrayLike | None = None,
    remove: Literal["nodes", "links"] = "nodes",
    strategy: Literal["random", "degree", "betweenness"] = "random",
    candidates: ArrayLike | None = None,
    steps: int = 20,
    max_fraction: float = 1.0,
    adaptive: bool = False,
    seed: Seed = None,
    betweenness_samples: int = DEFAULT_SAMPLES,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> ResilienceCurve:
    """Share of devices still reaching each tier while nodes or links are removed step by step.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points.
    device_nodes : array_like of int, shape (D,)
        The node each device (or device group) attaches to; repeats allowed.
    tier_of_node : array_like of int, shape (n_nodes,)
        Tier id of every node.
    tiers : sequence of int
        Tier ids to check, e.g. the edge, aggregation and cloud ids.
    device_weights : array_like of float, shape (D,), optional
        Weight of each device entry (e.g. group size); default 1.
    remove : {"nodes", "links"}
        Remove nodes (with their links) or links (``candidates`` index ``src``).
    strategy : {"random", "degree", "betweenness"}
        Order of removal: uniformly random, highest degree first, or highest betweenness first (sampled
        from ``betweenness_samples`` sources above ``exact_limit`` nodes). Links support "random" and
        "betweenness" (edge betweenness). Ties are broken at random.
    candidates : array_like of int, optional
        Nodes (or links) that may be removed; default all. Fractions refer to this set.
    steps : int, optional
        Number of removal steps; the curve has ``steps + 1`` points.
    max_fraction : float, optional
        Fraction of the candidates removed at the last step.
    adaptive : bool, optional
        Recompute the targeted ranking on the remaining graph before every step (an adaptive attack)
        instead of once on the intact graph.
    seed : int, Generator or None
        Randomness of the order, tie breaks and betweenness sampling.
    betweenness_samples, exact_limit : int, optional
        Sampling of betweenness for large graphs.

    Returns
    -------
    ResilienceCurve

    Notes
    -----
    Removal is cumulative, so every curve is non-increasing. A device reaches a tier iff its node is alive
    and its connected component in the remaining graph contains an alive node of that tier: one
    connected-components pass per step, O(E + n), whatever the number of tiers or devices. A device whose
    own node is removed reaches nothing.

    Examples
    --------
    A star: centre 0 (tier 1) and leaves 1..4 (tier 0, with the devices). Removing the centre cuts every
    device off; removing leaves only cuts off their own devices.

    >>> src, dst = [0, 0, 0, 0], [1, 2, 3, 4]
    >>> tier = [1, 0, 0, 0, 0]
    >>> c = resilience(5, src, dst, device_nodes=[1, 2, 3, 4], tier_of_node=tier, tiers=[1],
    ...                strategy="degree", steps=5)
    >>> c.reach[:, 0]
    array([1., 0., 0., 0., 0., 0.])
    >>> c = resilience(5, src, dst, device_nodes=[1, 2, 3, 4], tier_of_node=tier, tiers=[1],
    ...                candidates=[1, 2, 3, 4], steps=4, seed=1)
    >>> c.reach[:, 0]
    array([1.  , 0.75, 0.5 , 0.25, 0.  ])
    """
    s, d, _ = _edges(n_nodes, src, dst)
    rng = _rng(seed)
    dev, weights, tier_col, tier_ids = _resilience_inputs(
        n_nodes, device_nodes, device_weights, tier_of_node, tiers
    )
    universe = n_nodes if remove == "nodes" else s.size
    pool = _candidates(candidates, universe, remove)
    _check_strategy(remove, strategy, steps, max_fraction)
    graph = _Removal(n_nodes, s, d, remove, rng, betweenness_samples, exact_limit)
    counts = np.round(np.linspace(0.0, max_fraction, steps + 1) * pool.size).astype(np.int64)
    reach = np.empty((steps + 1, tier_ids.size))
    reach_all, giant = np.empty(steps + 1), np.empty(steps + 1)
    order, pos, done = np.empty(0, dtype=np.int64), 0, 0
    gone: list[IntArray] = []
    for i, target in enumerate(counts.tolist()):
        if target > done:
            if done == 0 or adaptive:
                order, pos = graph.ranking(pool[~graph.removed[pool]], strategy), 0
            gone.append(order[pos : pos + target - done])
            graph.removed[gone[-1]] = True
            pos, done = pos + target - done, target
        reach[i], reach_all[i], giant[i] = graph.reach(dev, weights, tier_col, tier_ids.size)
    notes = _resilience_notes(n_nodes, remove, strategy, adaptive, exact_limit, betweenness_samples)
    fractions = counts / max(pool.size, 1)
    removal_order = np.concatenate(gone) if gone else np.zeros(0, dtype=np.int64)
    return ResilienceCurve(
        fractions, counts, tier_ids, reach, reach_all, giant, remove, strategy, removal_order, notes
    )


def _resilience_inputs(
    n: int, device_nodes: ArrayLike, device_weights: ArrayLike | None, tier_of_node: ArrayLike, tiers: Any
) -> tuple[IntArray, FloatArray, IntArray, IntArray]:
    """(device nodes, weights, column of each node's tier or -1, tier ids)."""
    dev = np.asarray(device_nodes)
    if dev.ndim != 1 or (dev.size and not np.issubdtype(dev.dtype, np.integer)):
        raise ModelAssumptionError(f"device_nodes: must be a 1-D array of node indices (got {dev!r:.60})")
    if dev.size and (dev.min() < 0 or dev.max() >= n):
        raise ModelAssumptionError(
            f"device_nodes: must be in [0, n_nodes={n}) (got {dev.min()}..{dev.max()})"
        )
    w = np.ones(dev.size) if device_weights is None else np.asarray(device_weights, dtype=np.float64)
    if w.shape != dev.shape or not np.all(w >= 0) or not w.sum() > 0:
        raise ModelAssumptionError("device_weights: must be >= 0, one per device, with a positive sum")
    tier_arr = np.asarray(tier_of_node)
    if tier_arr.shape != (n,):
        raise ModelAssumptionError(f"tier_of_node: must have one tier per node (got shape {tier_arr.shape})")
    tier_ids = np.asarray(tiers, dtype=np.int64).reshape(-1)
    if np.unique(tier_ids).size != tier_ids.size or tier_ids.size == 0:
        raise ModelAssumptionError(
            f"tiers: must be distinct tier ids, at least one (got {tier_ids.tolist()})"
        )
    col = np.full(n, -1, dtype=np.int64)
    for j, t in enumerate(tier_ids.tolist()):
        col[tier_arr == t] = j
    return dev.astype(np.int64), w, col, tier_ids


def _candidates(candidates: ArrayLike | None, universe: int, remove: str) -> IntArray:
    if candidates is None:
        return np.arange(universe, dtype=np.int64)
    pool = np.unique(np.asarray(candidates, dtype=np.int64))
    if pool.size and (pool[0] < 0 or pool[-1] >= universe):
        what = "node" if remove == "nodes" else "link"
        raise ModelAssumptionError(
            f"candidates: must be {what} indices in [0, {universe}) (got {pool.tolist()[:5]}...)"
        )
    return pool


def _check_strategy(remove: str, strategy: str, steps: int, max_fraction: float) -> None:
    if remove not in ("nodes", "links"):
        raise ModelAssumptionError(f"remove: must be 'nodes' or 'links' (got {remove!r})")
    allowed = ("random", "degree", "betweenness") if remove == "nodes" else ("random", "betweenness")
    if strategy not in allowed:
        raise ModelAssumptionError(
            f"strategy: must be one of {allowed} when removing {remove} (got {strategy!r})"
        )
    if steps < 1:
        raise ModelAssumptionError(f"steps: must be >= 1 (got {steps})")
    if not 0.0 <= max_fraction <= 1.0:
        raise ModelAssumptionError(f"max_fraction: must be in [0, 1] (got {max_fraction})")


def _resilience_notes(
    n: int, remove: str, strategy: str, adaptive: bool, limit: int, samples: int
) -> tuple[str, ...]:
    notes = []
    if strategy != "random":
        when = "recomputed before every step" if adaptive else "computed once on the intact graph"
        notes.append(f"{strategy} ranking of {remove} {when}")
    if strategy == "betweenness" and n > limit:
        notes.append(
            f"betweenness (in hops) sampled from {samples} sources ({n} nodes > exact limit {limit})"
        )
    return tuple(notes)


class _Removal:
    """A graph losing nodes or links: current rankings and tier reachability."""

    def __init__(
        self,
        n: int,
        s: IntArray,
        d: IntArray,
        remove: str,
        rng: np.random.Generator,
        samples: int,
        limit: int,
    ) -> None:
        self.n, self.s, self.d, self.remove, self.rng = n, s, d, remove, rng
        self.samples, self.limit = samples, limit
        self.removed = np.zeros(n if remove == "nodes" else s.size, dtype=bool)

    def alive(self) -> tuple[BoolArray, BoolArray]:
        """(alive nodes, alive links)."""
        if self.remove == "nodes":
            nodes = ~self.removed
            return nodes, nodes[self.s] & nodes[self.d]
        return np.ones(self.n, dtype=bool), ~self.removed

    def ranking(self, left: IntArray, strategy: str) -> IntArray:
        """*left* sorted by removal priority (highest first), ties at random."""
        tie = self.rng.random(left.size)
        if strategy == "random":
            return left[np.argsort(tie)]
        score = self._scores(left, strategy)
        return left[np.lexsort((tie, -score))]

    def _scores(self, left: IntArray, strategy: str) -> FloatArray:
        _, links = self.alive()
        s, d = self.s[links], self.d[links]
        if strategy == "degree":
            u, v, _, _ = _simple(s, d, None)
            return np.bincount(np.concatenate([u, v]), minlength=self.n)[left].astype(np.float64)
        seed = int(self.rng.integers(2**31))
        node, link = betweenness(self.n, s, d, exact_limit=self.limit, samples=self.samples, seed=seed)
        if self.remove == "nodes":
            return node[left]
        full = np.zeros(self.s.size)
        full[links] = link
        return full[left]

    def reach(
        self, dev: IntArray, w: FloatArray, tier_col: IntArray, n_tiers: int
    ) -> tuple[FloatArray, float, float]:
        """(share reaching each tier, share reaching all, giant component share)."""
        nodes, links = self.alive()
        a = sp.csr_matrix((np.ones(int(links.sum())), (self.s[links], self.d[links])), shape=(self.n, self.n))
        n_comp, labels = csgraph.connected_components(a, directed=False)
        has = nodes & (tier_col >= 0)
        present = np.zeros((n_comp, n_tiers), dtype=bool)
        present[labels[has], tier_col[has]] = True
        ok = present[labels[dev]] & nodes[dev][:, None]
        total = w.sum()
        giant = np.bincount(labels[nodes]).max() / self.n if nodes.any() else 0.0
        return (w @ ok) / total, float(w @ ok.all(axis=1)) / total, float(giant)


# -- paths ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A simple path: its nodes, the edges used (indices into the input arrays) and its totals.

    ``bottleneck_mbps`` is the smallest bandwidth along the path, ``inf`` when bandwidth is unknown or the
    path has no links.
    """

    nodes: tuple[int, ...]
    links: tuple[int, ...]
    latency_ms: float
    bottleneck_mbps: float

    @property
    def hops(self) -> int:
        """Number of links."""
        return len(self.links)


_PairEdges = dict[tuple[int, int], tuple[int, float, float]]


def _usable(
    n: int,
    src: ArrayLike,
    dst: ArrayLike,
    latency_ms: ArrayLike,
    bandwidth_mbps: ArrayLike | None,
    min_bandwidth_mbps: float,
    ends: tuple[int, int],
) -> tuple[IntArray, IntArray, FloatArray, _PairEdges]:
    """Links meeting the bandwidth floor, one per node pair (lowest latency, then most bandwidth).

    Returns u, v, latency and ``{(u, v): (input edge index, latency, bandwidth)}``.
    """
    s, d, (lat, bw) = _edges(n, src, dst, ("latency_ms", latency_ms), ("bandwidth_mbps", bandwidth_mbps))
    assert lat is not None
    for name, x in zip(("source", "target"), ends, strict=True):
        if not 0 <= x < n:
            raise ModelAssumptionError(f"{name}: must be a node in [0, n_nodes={n}) (got {x})")
    if bw is None:
        if min_bandwidth_mbps > 0:
            raise ModelAssumptionError("min_bandwidth_mbps: needs bandwidth_mbps for every edge")
        bw = np.full(s.size, np.inf)
    keep = np.flatnonzero(bw >= min_bandwidth_mbps)
    u, v, w, chosen = _simple(s[keep], d[keep], lat[keep], bw[keep])
    idx = keep[chosen]
    cols = (u.tolist(), v.tolist(), idx.tolist(), w.tolist(), bw[idx].tolist())
    pairs = {(a, b): (i, x, y) for a, b, i, x, y in zip(*cols, strict=True)}
    return u, v, w, pairs


def _route(nodes: list[int], pairs: _PairEdges) -> Route:
    parts = [pairs[(min(a, b), max(a, b))] for a, b in itertools.pairwise(nodes)]
    latency = float(sum(p[1] for p in parts))
    bottleneck = min((p[2] for p in parts), default=math.inf)
    return Route(tuple(nodes), tuple(p[0] for p in parts), latency, float(bottleneck))


def shortest_path(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    latency_ms: ArrayLike,
    source: int,
    target: int,
    *,
    bandwidth_mbps: ArrayLike | None = None,
    min_bandwidth_mbps: float = 0.0,
) -> Route | None:
    """Lowest-latency path between two nodes over links with at least a given bandwidth.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points (undirected).
    latency_ms : array_like of float, shape (E,)
        Edge latency.
    source, target : int
        End nodes.
    bandwidth_mbps : array_like of float, shape (E,), optional
        Edge bandwidth; needed when ``min_bandwidth_mbps > 0``.
    min_bandwidth_mbps : float, optional
        Links below this bandwidth are not used.

    Returns
    -------
    Route or None
        None when no path meets the constraint.

    Notes
    -----
    Dijkstra (:func:`scipy.sparse.csgraph.dijkstra`) on the links that pass the bandwidth filter; between
    parallel links the lowest latency is used (ties: the larger bandwidth).

    Examples
    --------
    A triangle whose direct link 0-2 is slow but thin:

    >>> src, dst = [0, 1, 0], [1, 2, 2]
    >>> lat, bw = [1.0, 1.0, 5.0], [100.0, 100.0, 10.0]
    >>> shortest_path(3, src, dst, lat, 0, 2, bandwidth_mbps=bw)
    Route(nodes=(0, 1, 2), links=(0, 1), latency_ms=2.0, bottleneck_mbps=100.0)
    >>> shortest_path(3, src, dst, lat, 0, 2, bandwidth_mbps=bw, min_bandwidth_mbps=200.0) is None
    True
    """
    ends = (source, target)
    u, v, w, pairs = _usable(n_nodes, src, dst, latency_ms, bandwidth_mbps, min_bandwidth_mbps, ends)
    a = adjacency(n_nodes, u, v, w)
    dist, pred = csgraph.dijkstra(a, directed=False, indices=source, return_predecessors=True)
    if not np.isfinite(dist[target]):
        return None
    nodes = [target]
    while nodes[-1] != source:
        nodes.append(int(pred[nodes[-1]]))
    return _route(nodes[::-1], pairs)


def k_shortest_paths(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    latency_ms: ArrayLike,
    source: int,
    target: int,
    k: int,
    *,
    bandwidth_mbps: ArrayLike | None = None,
    min_bandwidth_mbps: float = 0.0,
    max_latency_ms: float = math.inf,
) -> list[Route]:
    """Up to *k* loop-free paths in order of latency, within a latency bound and a bandwidth floor.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points (undirected).
    latency_ms : array_like of float, shape (E,)
        Edge latency.
    source, target : int
        End nodes.
    k : int
        Most paths returned.
    bandwidth_mbps : array_like of float, shape (E,), optional
        Edge bandwidth; needed when ``min_bandwidth_mbps > 0``.
    min_bandwidth_mbps : float, optional
        Links below this bandwidth are not used.
    max_latency_ms : float, optional
        Paths longer than this are not returned.

    Returns
    -------
    list of Route
        In non-decreasing latency; empty when no path qualifies. Paths are distinct as node sequences
        (parallel links are one choice, the lowest latency).

    Notes
    -----
    Yen's algorithm via :func:`networkx.shortest_simple_paths`, stopped at *k* paths or at the first path
    over the bound, so the cost is about *k* times a few Dijkstra runs.

    Examples
    --------
    A square 0-1-2-3-0 with a diagonal 0-2:

    >>> src, dst, lat = [0, 1, 2, 3, 0], [1, 2, 3, 0, 2], [1.0, 1.0, 2.0, 2.0, 3.0]
    >>> [(r.nodes, r.latency_ms) for r in k_shortest_paths(4, src, dst, lat, 0, 2, 5)]
    [((0, 1, 2), 2.0), ((0, 2), 3.0), ((0, 3, 2), 4.0)]
    >>> [r.nodes for r in k_shortest_paths(4, src, dst, lat, 0, 2, 5, max_latency_ms=3.0)]
    [(0, 1, 2), (0, 2)]
    """
    if k < 1:
        raise ModelAssumptionError(f"k: must be >= 1 (got {k})")
    ends = (source, target)
    u, v, w, pairs = _usable(n_nodes, src, dst, latency_ms, bandwidth_mbps, min_bandwidth_mbps, ends)
    if source == target:
        return [Route((source,), (), 0.0, math.inf)]
    g = _nx_graph(n_nodes, u, v, latency=w)
    routes: list[Route] = []
    try:
        for nodes in nx.shortest_simple_paths(g, source, target, weight="latency"):
            route = _route(nodes, pairs)
            if route.latency_ms > max_latency_ms or len(routes) == k:
                break
            routes.append(route)
    except nx.NetworkXNoPath:
        pass
    return routes


# -- partitioning --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """Nodes split into *k* regions; see :func:`partition`.

    Attributes
    ----------
    labels : ndarray of int, shape (n,)
        Region of each node, 0..k-1.
    sizes : ndarray, shape (k,)
        Node weight (or count) of each region.
    imbalance : float
        ``max(sizes) / (sum(sizes) / k) - 1``; 0 is perfect balance.
    cut_links : int
        Distinct links between regions.
    method : str
        ``"bisection"`` or ``"geographic"``.
    notes : tuple of str
    """

    labels: IntArray
    sizes: FloatArray
    imbalance: float
    cut_links: int
    method: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        """Number of regions."""
        return int(self.sizes.size)


def partition(
    n_nodes: int,
    src: ArrayLike,
    dst: ArrayLike,
    k: int,
    *,
    lat: ArrayLike | None = None,
    lon: ArrayLike | None = None,
    node_weights: ArrayLike | None = None,
    method: Literal["auto", "bisection", "geographic"] = "auto",
    tolerance: float = 0.05,
    max_iter: int = 20,
    seed: Seed = None,
) -> Partition:
    """Split the nodes into *k* balanced regions that cut few links or stay geographically compact.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    src, dst : array_like of int, shape (E,)
        Edge end points (undirected).
    k : int
        Number of regions, 1 <= k <= n_nodes.
    lat, lon : array_like of float, shape (n_nodes,), optional
        Node coordinates in degrees, for the geographic method.
    node_weights : array_like of float, shape (n_nodes,), optional
        Load or capacity of each node, balanced by the geographic method (default 1 each).
    method : {"auto", "bisection", "geographic"}
        ``"bisection"``: recursive bisection, each cut refined by Kernighan-Lin; ``"geographic"``:
        k-means on the sphere with a capacity per region. ``"auto"`` (default, may change) is geographic when
        coordinates are given, else bisection.
    tolerance : float, optional
        Geographic method: no region exceeds ``(1 + tolerance)`` times the mean weight, except by the
        rounding minimum ``ceil(n/k)`` for unit weights or when a single node's weight leaves no room.
    max_iter : int, optional
        Kernighan-Lin passes per cut, or k-means iterations.
    seed : int, Generator or None
        Randomness of the initial centres and of Kernighan-Lin.

    Returns
    -------
    Partition

    Raises
    ------
    ModelAssumptionError
        If k is out of range, coordinates are missing or not finite for the geographic method, or node
        weights are given for bisection (which balances node counts).

    Notes
    -----
    Bisection is hierarchical: the leaf sizes are fixed first (``n // k`` or one more), each cut gives one
    side the sizes of the first ``k // 2`` leaves, and Kernighan-Lin swaps pairs of nodes, which keeps the
    sizes. So every region has ``floor(n/k)`` or ``ceil(n/k)`` nodes, and regions with consecutive labels
    share a parent cut. The initial cut follows a breadth-first order from a peripheral node, so regions
    start contiguous; a region may still end up internally disconnected on sparse graphs. Kernighan-Lin in
    networkx is quadratic-ish in Python: fine up to a few thousand nodes.

    The geographic method works on unit vectors, so it is correct across the antimeridian and near the
    poles; nodes are assigned greedily, strongest preference first, to the nearest centre with room.

    References
    ----------
    B. W. Kernighan and S. Lin, "An efficient heuristic procedure for partitioning graphs", Bell System
    Technical Journal 49(2), 1970.

    Examples
    --------
    Two triangles joined by one link split along that link:

    >>> src, dst = [0, 1, 2, 3, 4, 5, 2], [1, 2, 0, 4, 5, 3, 3]
    >>> p = partition(6, src, dst, 2, seed=0)
    >>> sorted(map(sorted, [np.flatnonzero(p.labels == r).tolist() for r in range(2)]))
    [[0, 1, 2], [3, 4, 5]]
    >>> p.cut_links, p.imbalance
    (1, 0.0)
    """
    s, d, _ = _edges(n_nodes, src, dst)
    if not 1 <= k <= max(n_nodes, 1):
        raise ModelAssumptionError(f"k: must be in [1, n_nodes={n_nodes}] (got {k})")
    geo = lat is not None and lon is not None
    chosen = ("geographic" if geo else "bisection") if method == "auto" else method
    rng = _rng(seed)
    u, v, _, _ = _simple(s, d, None)
    if chosen == "bisection":
        if node_weights is not None:
            raise ModelAssumptionError(
                "node_weights: bisection balances node counts; use method='geographic'"
            )
        labels = _bisection(n_nodes, u, v, k, max_iter, rng)
        weights = np.ones(n_nodes)
    elif chosen == "geographic":
        weights = _node_weights(node_weights, n_nodes)
        labels = _geographic(_unit_vectors(lat, lon, n_nodes), weights, k, tolerance, max_iter, rng)
    else:
        raise ModelAssumptionError(f"method: must be 'auto', 'bisection' or 'geographic' (got {method!r})")
    sizes = np.bincount(labels, weights=weights, minlength=k).astype(np.float64)
    imbalance = float(sizes.max() / (sizes.sum() / k) - 1.0) if sizes.sum() > 0 else 0.0
    notes = (
        ()
        if chosen != "geographic" or imbalance <= tolerance + 1e-12
        else (_over_note(imbalance, tolerance),)
    )
    return Partition(labels, sizes, imbalance, int((labels[u] != labels[v]).sum()), chosen, notes)


def _over_note(imbalance: float, tolerance: float) -> str:
    return f"imbalance {imbalance:.3g} exceeds tolerance {tolerance:g}: node weights too lumpy or rounding"


def _bfs_order(a: sp.csr_matrix) -> IntArray:
    """All nodes, component by component (largest first), breadth-first from a peripheral node of each."""
    _, labels = csgraph.connected_components(a, directed=False)
    order = []
    for c in np.argsort(-np.bincount(labels), kind="stable").tolist():
        start = int(np.flatnonzero(labels == c)[0])
        far = int(csgraph.breadth_first_order(a, start, directed=False, return_predecessors=False)[-1])
        order.append(csgraph.breadth_first_order(a, far, directed=False, return_predecessors=False))
    return np.concatenate(order).astype(np.int64) if order else np.zeros(0, dtype=np.int64)


def _bisection(n: int, u: IntArray, v: IntArray, k: int, max_iter: int, rng: np.random.Generator) -> IntArray:
    g = _nx_graph(n, u, v)
    a = adjacency(n, u, v)
    labels = np.zeros(n, dtype=np.int64)
    leaves = [n // k + (1 if i < n % k else 0) for i in range(k)]
    stack: list[tuple[IntArray, int, list[int]]] = [(np.arange(n, dtype=np.int64), 0, leaves)]
    while stack:
        nodes, first, sizes = stack.pop()
        if len(sizes) == 1:
            labels[nodes] = first
            continue
        half = len(sizes) // 2
        order = nodes[_bfs_order(a[nodes][:, nodes])]
        cut = sum(sizes[:half])
        side_a, side_b = set(order[:cut].tolist()), set(order[cut:].tolist())
        sub = g.subgraph(nodes.tolist())
        if sub.number_of_edges():
            seed = int(rng.integers(2**31))
            one, two = nx.community.kernighan_lin_bisection(sub, (side_a, side_b), max_iter, seed=seed)
            side_a, side_b = (one, two) if len(one) == cut else (two, one)  # sizes kept, order not
        stack.append((np.array(sorted(side_a), dtype=np.int64), first, sizes[:half]))
        stack.append((np.array(sorted(side_b), dtype=np.int64), first + half, sizes[half:]))
    return labels


def _node_weights(node_weights: ArrayLike | None, n: int) -> FloatArray:
    if node_weights is None:
        return np.ones(n)
    w = np.asarray(node_weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w) & (w >= 0)) or not w.sum() > 0:
        raise ModelAssumptionError("node_weights: must be finite, >= 0, one per node, with a positive sum")
    return w


def _unit_vectors(lat: ArrayLike | None, lon: ArrayLike | None, n: int) -> FloatArray:
    if lat is None or lon is None:
        raise ModelAssumptionError(
            "lat, lon: the geographic method needs coordinates; or use method='bisection'"
        )
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    if la.shape != (n,) or lo.shape != (n,) or not np.all(np.isfinite(la) & np.isfinite(lo)):
        raise ModelAssumptionError(f"lat, lon: must be finite, one per node (n_nodes={n})")
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _geographic(
    xyz: FloatArray, w: FloatArray, k: int, tolerance: float, max_iter: int, rng: np.random.Generator
) -> IntArray:
    n = xyz.shape[0]
    mean = w.sum() / k
    cap = (1.0 + tolerance) * mean
    if np.all(w == 1.0):
        cap = max(math.floor(cap + 1e-9), math.ceil(n / k - 1e-9))
    centres = _kmeans_pp(xyz, w, k, rng)
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(max(max_iter, 1)):
        new = _balanced_assign(xyz, centres, w, cap)
        if np.array_equal(new, labels):
            break
        labels = new
        centres = _centres(xyz, w, labels, k, centres)
    return labels


def _kmeans_pp(xyz: FloatArray, w: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    p = w / w.sum()
    centres = [xyz[rng.choice(xyz.shape[0], p=p)]]
    for _ in range(1, k):
        d2 = np.min(((xyz[:, None, :] - np.array(centres)[None, :, :]) ** 2).sum(axis=2), axis=1) * w
        total = d2.sum()
        centres.append(
            xyz[rng.choice(xyz.shape[0], p=d2 / total)] if total > 0 else xyz[rng.choice(xyz.shape[0])]
        )
    return np.array(centres)


def _balanced_assign(xyz: FloatArray, centres: FloatArray, w: FloatArray, cap: float) -> IntArray:
    dist = 1.0 - xyz @ centres.T
    pref = np.argsort(dist, axis=1, kind="stable")
    best = (
        np.take_along_axis(dist, pref[:, :2], axis=1) if centres.shape[0] > 1 else np.zeros((xyz.shape[0], 2))
    )
    order = np.argsort(-(best[:, -1] - best[:, 0]), kind="stable")
    load = np.zeros(centres.shape[0])
    labels = np.empty(xyz.shape[0], dtype=np.int64)
    for i in order.tolist():
        room = [j for j in pref[i].tolist() if load[j] + w[i] <= cap + 1e-9]
        j = room[0] if room else int(np.argmin(load))
        labels[i] = j
        load[j] += w[i]
    return labels


def _centres(xyz: FloatArray, w: FloatArray, labels: IntArray, k: int, old: FloatArray) -> FloatArray:
    sums = np.zeros((k, 3))
    np.add.at(sums, labels, xyz * w[:, None])
    norms = np.linalg.norm(sums, axis=1)
    out = old.copy()
    ok = norms > 1e-12
    out[ok] = sums[ok] / norms[ok, None]
    return out
