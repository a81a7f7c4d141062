"""Import wide-area topologies (GraphML, GML) as plain scenario documents.

The Internet Topology Zoo (Knight et al., IEEE JSAC 2011) publishes some 260 real network maps as GraphML and
GML: nodes are points of presence with a name and, for most, latitude and longitude; edges are links, some of
them parallel (two links between the same pair of PoPs), a few of them self-loops. The files carry no latency,
so it is estimated from the great-circle distance.

:func:`import_topology` turns such a file into a plain scenario document (a dict ready to dump as YAML or
JSON) plus an :class:`ImportReport` that says what was changed on the way in: parallel links merged,
self-loops dropped, latencies estimated or defaulted, components counted. The model loader validates the
document; this module only reads.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from edgescale.errors import Issue, ScenarioError
from edgescale.model.geo import haversine_km

__all__ = [
    "DEFAULT_PROPAGATION_KM_PER_MS",
    "TIERS",
    "ImportReport",
    "import_topology",
    "safe_id",
    "unique_ids",
]

DEFAULT_PROPAGATION_KM_PER_MS = 200.0
"""Signal speed in optical fibre: about 2/3 of c, i.e. 200 km per ms or 5 µs per km."""

FALLBACK_LATENCY_MS = 1.0
"""Latency given to links without coordinates when nothing better is known."""

TIERS = ("device", "edge", "aggregation", "cloud")
"""Site tiers of the scenario model, from the edge of the network inwards."""

ZOO_SOURCE = "The Internet Topology Zoo (Knight et al., IEEE JSAC 29(9), 2011), http://www.topology-zoo.org/"
ZOO_LICENSE = "CC BY 4.0 (credit: The Internet Topology Zoo)"

_MAX_ID_LENGTH = 100  # the model allows 128; leaves room for "-<k>" suffixes
_PLACEHOLDER_LABELS = frozenset({"", "none", "null", "nan", "?"})
_LAT_KEYS = ("latitude", "lat")
_LON_KEYS = ("longitude", "lon", "lng", "long")


@dataclass(frozen=True)
class ImportReport:
    """What an importer read and what it changed on the way in.

    Attributes
    ----------
    nodes : int
        Sites in the document.
    links : int
        Links in the document, after merging parallel links and dropping self-loops.
    raw_nodes, raw_links : int
        Node and edge elements in the file.
    parallel_links_merged : int
        Edges folded into another edge between the same two nodes (``raw_links - self_loops - links``).
    self_loops_dropped : int
        Edges from a node to itself, dropped.
    nodes_without_location : int
        Nodes without usable latitude and longitude.
    links_latency_estimated : int
        Links whose latency comes from the great-circle distance of their endpoints.
    links_latency_defaulted : int
        Links with an endpoint without coordinates, given ``default_latency_ms``.
    default_latency_ms : float or None
        The latency given to those links (None when there were none).
    default_latency_rule : str
        Where ``default_latency_ms`` came from: ``"given"``, ``"median of estimated"`` or ``"fallback"``.
    components : int
        Connected components (isolated nodes count as components).
    disconnected : bool
        True when ``components > 1``.
    devices : int
        Devices described (rows of a user file), 0 for topologies.
    warnings : tuple of str
        Everything odd, one sentence each.
    """

    nodes: int
    links: int = 0
    raw_nodes: int = 0
    raw_links: int = 0
    parallel_links_merged: int = 0
    self_loops_dropped: int = 0
    nodes_without_location: int = 0
    links_latency_estimated: int = 0
    links_latency_defaulted: int = 0
    default_latency_ms: float | None = None
    default_latency_rule: str = ""
    components: int = 0
    disconnected: bool = False
    devices: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/YAML ready); ``warnings`` becomes a list."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


def safe_id(text: str) -> str:
    """Turn free text into an identifier of ASCII letters, digits, ``-``, ``_`` and ``.``.

    Accents are stripped, every other run of characters becomes one ``_``, the result starts with a
    letter or digit (leading ``_``, ``.``, ``-`` are removed) and is cut to 100 characters. It may be empty.

    Examples
    --------
    >>> safe_id("São Paulo (POP 2)")
    'Sao_Paulo_POP_2'
    >>> safe_id("rtr-1.lon")
    'rtr-1.lon'
    >>> safe_id("???")
    ''
    >>> safe_id(".hidden-")
    'hidden-'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).lstrip("_.-")
    return cleaned[:_MAX_ID_LENGTH].rstrip("_")


def unique_ids(labels: Iterable[str | None], fallbacks: Iterable[str]) -> list[str]:
    """Make a safe, unique id for each label.

    A label whose safe form is empty (or a placeholder such as ``None`` or ``?``) takes its fallback;
    repeated ids get ``-2``, ``-3``, ... suffixes in order of appearance, skipping ids already taken.

    Examples
    --------
    >>> unique_ids(["Paris", "Paris", None, "Paris-2", "?"], ["n0", "n1", "n2", "n3", "n4"])
    ['Paris', 'Paris-2', 'n2', 'Paris-2-2', 'n4']
    """
    out: list[str] = []
    taken: set[str] = set()
    for label, fallback in zip(labels, fallbacks, strict=True):
        base = "" if label is None or label.strip().lower() in _PLACEHOLDER_LABELS else safe_id(label)
        base = base or safe_id(fallback)
        candidate, k = base, 1
        while candidate in taken:
            k += 1
            candidate = f"{base}-{k}"
        taken.add(candidate)
        out.append(candidate)
    return out


def import_topology(
    path: str | Path,
    *,
    tier: str = "aggregation",
    propagation_km_per_ms: float = DEFAULT_PROPAGATION_KM_PER_MS,
    route_factor: float = 1.0,
    default_latency_ms: float | None = None,
) -> tuple[dict[str, Any], ImportReport]:
    """Read a GraphML or GML topology into a plain scenario document.

    Parameters
    ----------
    path : str or Path
        A ``.graphml`` / ``.xml`` or ``.gml`` file; the format is chosen by the extension.
    tier : str, optional
        Tier of every site (default ``"aggregation"``: Topology Zoo nodes are points of presence).
    propagation_km_per_ms : float, optional
        Signal speed used to turn distance into latency (default 200 km/ms, light in fibre).
    route_factor : float, optional
        Ratio of cable length to great-circle distance (default 1.0; 1.5-2 is common for real fibre routes).
    default_latency_ms : float, optional
        Latency of links with an endpoint without coordinates. When None, the median of the latencies
        estimated in the same topology is used, or 1.0 ms if no latency could be estimated.

    Returns
    -------
    document : dict
        ``schema_version``, ``name``, ``description``, ``sites``, ``links`` and ``metadata`` (which holds the
        source, licence, propagation rule and the report as a dict).
    report : ImportReport
        Counts of what was read, merged, dropped, estimated and defaulted.

    Raises
    ------
    ScenarioError
        If the file cannot be read or parsed, its extension is unknown, or a parameter is out of range.

    Notes
    -----
    Latency of a link is :math:`d \\cdot f / v`, with :math:`d` the haversine distance of its endpoints,
    :math:`f` the route factor and :math:`v` the propagation speed; 200 km/ms is 5 µs/km. It is a lower bound
    on real latency: no queueing, no equipment delay. Parallel edges between the same two nodes become one
    link with ``parallel_links`` set, the smallest latency and the sum of the known bandwidths (from the Zoo's
    ``LinkSpeedRaw``, in bit/s). Directed files are read as undirected. Node labels that are empty or a
    placeholder (``None``, ``?``) give ids ``n<node id>``.

    Examples
    --------
    >>> import tempfile, networkx as nx
    >>> g = nx.Graph(label="Tiny")
    >>> g.add_node(0, label="Paris", Latitude=48.8566, Longitude=2.3522)
    >>> g.add_node(1, label="London", Latitude=51.5072, Longitude=-0.1276)
    >>> g.add_edge(0, 1, LinkSpeedRaw=1e10)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nx.write_graphml(g, f"{d}/tiny.graphml")
    ...     doc, report = import_topology(f"{d}/tiny.graphml")
    >>> [s["id"] for s in doc["sites"]]
    ['Paris', 'London']
    >>> doc["links"][0]["latency_ms"], doc["links"][0]["bandwidth_mbps"]
    (1.72..., 10000.0)
    >>> report.links, report.links_latency_estimated, report.disconnected
    (1, 1, False)
    """
    path = Path(path)
    _check_params(tier, propagation_km_per_ms, route_factor, default_latency_ms)
    graph = _read_graph(path)
    return _build_document(
        graph, path, tier, propagation_km_per_ms, route_factor, default_latency_ms, zoo=_is_zoo(graph)
    )


# -- reading ------------------------------------------------------------------------------------------


def _check_params(tier: str, speed: float, factor: float, default: float | None) -> None:
    issues = []
    if tier not in TIERS:
        issues.append(Issue("tier", f"must be one of {', '.join(TIERS)}", tier))
    if not (math.isfinite(speed) and speed > 0):
        issues.append(Issue("propagation_km_per_ms", "must be a finite number > 0", speed))
    if not (math.isfinite(factor) and factor > 0):
        issues.append(Issue("route_factor", "must be a finite number > 0", factor, hint="1.0-2.0 is usual"))
    if default is not None and not (math.isfinite(default) and default >= 0):
        issues.append(Issue("default_latency_ms", "must be a finite number >= 0 or None", default))
    if issues:
        raise ScenarioError(issues)


def _read_graph(path: Path) -> nx.Graph:
    suffix = path.suffix.lower()
    if suffix not in (".graphml", ".xml", ".gml"):
        issue = Issue("", "unknown topology format", path.suffix, hint="use a .graphml or .gml file")
        raise ScenarioError([issue], source=str(path))
    try:
        if suffix == ".gml":
            return _read_gml(path)
        return nx.read_graphml(path)
    except OSError as e:
        raise ScenarioError(
            [Issue("", f"cannot read file: {e.strerror or e}", has_value=False)], str(path)
        ) from e
    except Exception as e:  # any parser failure becomes one error type for callers
        kind = "GML" if suffix == ".gml" else "GraphML"
        msg = f"not valid {kind}: {type(e).__name__}: {e}"
        raise ScenarioError([Issue("", msg, has_value=False)], source=str(path)) from e


def _read_gml(path: Path) -> nx.Graph:
    """Parse GML tolerantly: any text encoding, duplicate labels, undeclared parallel edges."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    # Declaring a multigraph is harmless when there are no parallel edges and avoids a hard failure
    # when a file has them without saying so.
    text = re.sub(r"\bgraph\s*\[", "graph [\n  multigraph 1", text, count=1)
    return nx.parse_gml(text, label="id")


def _is_zoo(graph: nx.Graph) -> bool:
    return "Topology Zoo" in str(graph.graph.get("Creator", ""))


def _get_ci(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    lower = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if key in lower:
            return lower[key]
    return None


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _location(data: Mapping[str, Any]) -> tuple[float, float, bool]:
    """Return (lat, lon, invalid); NaN when absent; invalid when present but unusable."""
    lat_raw, lon_raw = _get_ci(data, _LAT_KEYS), _get_ci(data, _LON_KEYS)
    if lat_raw is None and lon_raw is None:
        return math.nan, math.nan, False
    lat, lon = _as_float(lat_raw), _as_float(lon_raw)
    if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
        return lat, lon, False
    return math.nan, math.nan, True


# -- building the document ----------------------------------------------------------------------------


@dataclass
class _Link:
    u: int
    v: int
    count: int = 1
    bandwidths: list[float] = field(default_factory=list)
    unknown_bandwidth: int = 0


def _merge_edges(graph: nx.Graph, index: Mapping[Any, int]) -> tuple[list[_Link], int, int]:
    """Merge parallel edges; return links (first-seen order), raw edge count and self-loops dropped."""
    links: dict[tuple[int, int], _Link] = {}
    raw = loops = 0
    for a, b, data in graph.edges(data=True):
        raw += 1
        u, v = index[a], index[b]
        if u == v:
            loops += 1
            continue
        key = (min(u, v), max(u, v))
        link = links.get(key)
        if link is None:
            link = links[key] = _Link(u, v, count=0)
        link.count += 1
        speed = _as_float(data.get("LinkSpeedRaw"))
        if math.isfinite(speed) and speed > 0:
            link.bandwidths.append(speed / 1e6)
        else:
            link.unknown_bandwidth += 1
    return list(links.values()), raw, loops


def _latencies(
    links: list[_Link], lat: np.ndarray, lon: np.ndarray, speed: float, factor: float
) -> np.ndarray:
    if not links:
        return np.zeros(0)
    u = np.array([k.u for k in links])
    v = np.array([k.v for k in links])
    return np.asarray(haversine_km(lat[u], lon[u], lat[v], lon[v])) * factor / speed


def _default_latency(estimated: np.ndarray, given: float | None) -> tuple[float, str]:
    if given is not None:
        return float(given), "given"
    if estimated.size:
        return float(statistics.median(estimated.tolist())), "median of estimated"
    return FALLBACK_LATENCY_MS, "fallback"


def _components(n: int, links: list[_Link]) -> int:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((k.u, k.v) for k in links)
    return int(nx.number_connected_components(g)) if n else 0


def _site(sid: str, data: Mapping[str, Any], lat: float, lon: float, tier: str) -> dict[str, Any]:
    site: dict[str, Any] = {"id": sid, "tier": tier}
    if math.isfinite(lat):
        site["location"] = {"lat": float(lat), "lon": float(lon)}
    labels = {}
    for out_key, keys in (("label", ("label",)), ("country", ("country",)), ("type", ("type",))):
        value = _get_ci(data, keys)
        if value is not None and str(value).strip():
            labels[out_key] = str(value).strip()
    if labels:
        site["labels"] = labels
    return site


def _link_entry(link: _Link, ids: list[str], latency: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"src": ids[link.u], "dst": ids[link.v], "latency_ms": latency}
    if link.bandwidths:
        entry["bandwidth_mbps"] = float(sum(link.bandwidths))
    entry["medium"] = "wired"
    if link.count > 1:
        entry["parallel_links"] = link.count
    return entry


def _build_document(
    graph: nx.Graph,
    path: Path,
    tier: str,
    speed: float,
    factor: float,
    default: float | None,
    *,
    zoo: bool,
) -> tuple[dict[str, Any], ImportReport]:
    nodes = list(graph.nodes(data=True))
    index = {key: i for i, (key, _) in enumerate(nodes)}
    ids = unique_ids(
        [None if d.get("label") is None else str(d.get("label")) for _, d in nodes],
        [f"n{key}" for key, _ in nodes],
    )
    located = [_location(d) for _, d in nodes]
    lat = np.array([p[0] for p in located], dtype=float)
    lon = np.array([p[1] for p in located], dtype=float)
    links, raw_links, loops = _merge_edges(graph, index)
    latency = _latencies(links, lat, lon, speed, factor)
    known = np.isfinite(latency)
    default_value, rule = _default_latency(latency[known], default)
    n_default = int((~known).sum())
    latency = np.where(known, latency, default_value)
    components = _components(len(nodes), links)

    report = ImportReport(
        nodes=len(nodes),
        links=len(links),
        raw_nodes=len(nodes),
        raw_links=raw_links,
        parallel_links_merged=raw_links - loops - len(links),
        self_loops_dropped=loops,
        nodes_without_location=int(np.isnan(lat).sum()),
        links_latency_estimated=int(known.sum()),
        links_latency_defaulted=n_default,
        default_latency_ms=default_value if n_default else None,
        default_latency_rule=rule if n_default else "",
        components=components,
        disconnected=components > 1,
        warnings=tuple(
            _warnings(graph, links, located, latency, known, loops, components, default_value, rule)
        ),
    )
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": _name(graph, path),
        "description": _description(path, report, zoo, factor, speed),
        "sites": [_site(ids[i], d, float(lat[i]), float(lon[i]), tier) for i, (_, d) in enumerate(nodes)],
        "links": [_link_entry(k, ids, float(x)) for k, x in zip(links, latency, strict=True)],
        "metadata": _metadata(graph, path, report, zoo, factor, speed),
    }
    return doc, report


def _warnings(
    graph: nx.Graph,
    links: list[_Link],
    located: list[tuple[float, float, bool]],
    latency: np.ndarray,
    known: np.ndarray,
    loops: int,
    components: int,
    default_value: float,
    rule: str,
) -> list[str]:
    out = []
    if graph.is_directed():
        out.append("directed graph read as undirected")
    merged = [k for k in links if k.count > 1]
    if merged:
        extra = sum(k.count - 1 for k in merged)
        out.append(
            f"{extra} parallel edges merged into {len(merged)} links "
            "(smallest latency, summed known bandwidth, count in parallel_links)"
        )
    partial = sum(1 for k in merged if k.bandwidths and k.unknown_bandwidth)
    if partial:
        out.append(f"{partial} merged links know the bandwidth of only some parallel edges; summed the known")
    if loops:
        out.append(f"{loops} self-loops dropped")
    invalid = sum(1 for p in located if p[2])
    if invalid:
        out.append(f"{invalid} nodes have coordinates out of range or not numbers; treated as unknown")
    missing = sum(1 for p in located if math.isnan(p[0]))
    if missing:
        out.append(f"{missing} nodes have no usable coordinates")
    if (~known).any():
        source = {"given": "given", "median of estimated": "median of the estimated latencies"}.get(
            rule, f"no latency could be estimated; fallback {FALLBACK_LATENCY_MS} ms"
        )
        out.append(
            f"{int((~known).sum())} links touch a node without coordinates: "
            f"latency_ms = {default_value:.6g} ({source})"
        )
    zero = int((known & (latency == 0)).sum())
    if zero:
        out.append(f"{zero} links join co-located nodes: estimated latency 0 ms")
    if components > 1:
        out.append(f"topology is disconnected: {components} connected components")
    return out


def _name(graph: nx.Graph, path: Path) -> str:
    for key in ("label", "Network", "name"):
        value = str(graph.graph.get(key, "")).strip()
        if value:
            return value
    return path.stem


def _description(path: Path, report: ImportReport, zoo: bool, factor: float, speed: float) -> str:
    origin = (
        "Internet Topology Zoo, CC BY 4.0" if zoo else ("GML" if path.suffix.lower() == ".gml" else "GraphML")
    )
    return (
        f"Imported from {path.name} ({origin}): {report.nodes} sites, {report.links} links; "
        f"latency from great-circle distance x {factor:g} at {speed:g} km/ms."
    )


def _metadata(
    graph: nx.Graph, path: Path, report: ImportReport, zoo: bool, factor: float, speed: float
) -> dict[str, Any]:
    propagation = (
        f"latency_ms = haversine_km x route_factor {factor:g} / {speed:g} km/ms "
        f"({1000.0 / speed:g} us/km; light in fibre travels about 200 km/ms)"
    )
    if report.links_latency_defaulted:
        propagation += (
            f"; {report.links_latency_defaulted} links without coordinates: "
            f"{report.default_latency_ms:.6g} ms ({report.default_latency_rule})"
        )
    original = {
        str(k): v
        for k, v in graph.graph.items()
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(k) not in ("multigraph",)
    }
    return {
        "source": f"{ZOO_SOURCE}; file {path.name}" if zoo else f"file {path.name}",
        "license": ZOO_LICENSE if zoo else "unknown (see the source file)",
        "propagation": propagation,
        "propagation_km_per_ms": speed,
        "route_factor": factor,
        "import_report": report.to_dict(),
        "original_attributes": original,
    }
