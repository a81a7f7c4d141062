"""Tests for edgescale.model.importers.topology (GraphML / GML -> scenario document)."""

from __future__ import annotations

import html
import json
import math
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
import yaml

from edgescale.errors import ScenarioError
from edgescale.model.geo import haversine_km
from edgescale.model.importers.topology import (
    FALLBACK_LATENCY_MS,
    ImportReport,
    import_topology,
    unique_ids,
)
from edgescale.model.io import scenario_from_dict
from edgescale.model.schema import ID_PATTERN

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ZOO = SHARED / "topology-zoo" / "graphml"
ID_RE = re.compile(ID_PATTERN)

needs_zoo = pytest.mark.skipif(
    not ZOO.is_dir(), reason=f"Topology Zoo data not found at ../shared/data ({ZOO.name} missing)"
)


def _zoo_files() -> list[Path]:
    return sorted(ZOO.glob("*.graphml")) if ZOO.is_dir() else []


def _xml_counts(path: Path) -> tuple[int, int, int]:
    """Count <node> and <edge> elements and distinct undirected non-loop node pairs, without networkx."""
    root = ET.parse(path).getroot()
    nodes = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "node"]
    edges = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "edge"]
    pairs = {
        frozenset((e.get("source"), e.get("target"))) for e in edges if e.get("source") != e.get("target")
    }
    return len(nodes), len(edges), len(pairs)


def _check_document(doc: dict, report: ImportReport, *, dump_yaml: bool = True) -> None:
    """Invariants every imported document satisfies."""
    ids = [s["id"] for s in doc["sites"]]
    assert len(ids) == len(set(ids)) == report.nodes
    assert all(ID_RE.match(i) for i in ids)
    assert len(doc["links"]) == report.links
    known = set(ids)
    for link in doc["links"]:
        assert link["src"] in known
        assert link["dst"] in known
        assert link["src"] != link["dst"]
        assert math.isfinite(link["latency_ms"])
        assert link["latency_ms"] >= 0
        assert link["medium"] == "wired"
        assert link.get("parallel_links", 2) >= 2
        assert link.get("bandwidth_mbps", 1.0) > 0
    pairs = {frozenset((k["src"], k["dst"])) for k in doc["links"]}
    assert len(pairs) == len(doc["links"])
    assert report.links + report.parallel_links_merged + report.self_loops_dropped == report.raw_links
    assert report.links_latency_estimated + report.links_latency_defaulted == report.links
    assert report.disconnected == (report.components > 1)
    assert doc["metadata"]["import_report"] == report.to_dict()
    json.dumps(doc)
    scenario_from_dict(doc)  # the model accepts it
    if dump_yaml:  # pure-Python YAML is slow: not in the loop over every file
        yaml.safe_dump(doc)  # plain Python types only


# -- real data ---------------------------------------------------------------------------------------

FEW = ["Abilene.graphml", "Interoute.graphml", "Aconet.graphml", "Geant2012.graphml", "Kdl.graphml"]


@needs_zoo
@pytest.mark.needs_shared
@pytest.mark.parametrize("name", FEW)
def test_counts_match_xml(name: str) -> None:
    path = ZOO / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared data")
    n_nodes, n_edges, n_pairs = _xml_counts(path)
    doc, report = import_topology(path)
    assert report.raw_nodes == report.nodes == len(doc["sites"]) == n_nodes
    assert report.raw_links == n_edges
    assert report.links == n_pairs
    _check_document(doc, report)


@needs_zoo
@pytest.mark.needs_shared
def test_known_quirks_of_real_files() -> None:
    """Interoute has two self-loops; Abilene is a small connected US backbone with coordinates."""
    _, interoute = import_topology(ZOO / "Interoute.graphml")
    assert interoute.self_loops_dropped == 2
    doc, abilene = import_topology(ZOO / "Abilene.graphml")
    assert (abilene.nodes, abilene.links, abilene.components) == (11, 14, 1)
    assert abilene.nodes_without_location == 0
    assert abilene.links_latency_defaulted == 0
    site = next(s for s in doc["sites"] if s["id"] == "New_York")
    assert site["labels"] == {"label": "New York", "country": "United States"}
    assert site["tier"] == "aggregation"
    assert "Topology Zoo" in doc["metadata"]["source"]
    assert "CC BY 4.0" in doc["description"]


@needs_zoo
@pytest.mark.needs_shared
def test_all_zoo_files_import() -> None:
    files = _zoo_files()
    assert len(files) == 276
    start = time.perf_counter()
    multi = disconnected = 0
    for path in files:
        doc, report = import_topology(path)
        _check_document(doc, report, dump_yaml=False)
        multi += report.parallel_links_merged > 0
        disconnected += report.disconnected
    elapsed = time.perf_counter() - start
    # data/README.md: 96 files carry duplicate edges and 23 are disconnected
    assert (multi, disconnected) == (96, 23)
    print(f"imported {len(files)} Topology Zoo files in {elapsed:.2f} s")


# -- synthetic files ---------------------------------------------------------------------------------


def _write(tmp_path: Path, g: nx.Graph, name: str = "t.graphml") -> Path:
    path = tmp_path / name
    nx.write_graphml(g, path) if name.endswith(".graphml") else nx.write_gml(g, path)
    return path


def _square(graph_cls: type[nx.Graph] = nx.MultiGraph) -> nx.Graph:
    """Four nodes; one without coordinates; duplicate labels; parallel edges and a self-loop."""
    g = graph_cls(label="Square")
    g.add_node(0, label="Rome", Latitude=41.9, Longitude=12.5, Country="Italy")
    g.add_node(1, label="Rome", Latitude=45.46, Longitude=9.19)
    g.add_node(2, label="", Latitude=43.77, Longitude=11.25)
    g.add_node(3, label="Nowhere")
    g.add_edge(0, 1, LinkSpeedRaw=1e9)
    g.add_edge(1, 0, LinkSpeedRaw=2.5e9)
    g.add_edge(1, 2)
    g.add_edge(2, 3)
    g.add_edge(3, 3)
    return g


def test_ids_duplicates_and_empty_labels(tmp_path: Path) -> None:
    doc, _ = import_topology(_write(tmp_path, _square()))
    assert [s["id"] for s in doc["sites"]] == ["Rome", "Rome-2", "n2", "Nowhere"]
    assert "location" not in doc["sites"][3]
    assert "labels" not in doc["sites"][2]


def test_unique_ids_never_collide() -> None:
    ids = unique_ids(["a", "a-2", "a", "n1", None, "Zürich"], ["n0", "n1", "n2", "n3", "n1", "n5"])
    assert ids == ["a", "a-2", "a-3", "n1", "n1-2", "Zurich"]
    long_and_odd = unique_ids(["x" * 300, "x" * 300, "-.lead", "__"], ["n0", "n1", "n2", "n3"])
    assert [len(i) for i in long_and_odd[:2]] == [100, 102]
    assert long_and_odd[2:] == ["lead", "n3"]
    assert all(ID_RE.match(i) for i in long_and_odd)


def test_parallel_links_merged_and_self_loops_dropped(tmp_path: Path) -> None:
    doc, report = import_topology(_write(tmp_path, _square()))
    assert (report.raw_links, report.links, report.parallel_links_merged, report.self_loops_dropped) == (
        5,
        3,
        1,
        1,
    )
    rome = doc["links"][0]
    assert (rome["src"], rome["dst"], rome["parallel_links"]) == ("Rome", "Rome-2", 2)
    assert rome["bandwidth_mbps"] == pytest.approx(3500.0)
    assert "parallel_links" not in doc["links"][1]
    assert "bandwidth_mbps" not in doc["links"][1]
    assert any("parallel edges merged" in w for w in report.warnings)
    assert any("self-loops dropped" in w for w in report.warnings)
    _check_document(doc, report)


def test_latency_is_distance_times_route_factor_over_speed(tmp_path: Path) -> None:
    path = _write(tmp_path, _square())
    doc, report = import_topology(path, propagation_km_per_ms=100.0, route_factor=1.5)
    km = haversine_km(41.9, 12.5, 45.46, 9.19)
    assert doc["links"][0]["latency_ms"] == pytest.approx(km * 1.5 / 100.0)
    assert report.links_latency_estimated == 2
    assert "route_factor 1.5" in doc["metadata"]["propagation"]


@pytest.mark.parametrize(
    ("default", "rule"),
    [(7.5, "given"), (None, "median of estimated")],
    ids=["given", "median"],
)
def test_default_latency_for_nodes_without_coordinates(
    tmp_path: Path, default: float | None, rule: str
) -> None:
    doc, report = import_topology(_write(tmp_path, _square()), default_latency_ms=default)
    estimated = sorted(k["latency_ms"] for k in doc["links"][:2])
    expected = default if default is not None else (estimated[0] + estimated[1]) / 2
    assert doc["links"][2]["latency_ms"] == pytest.approx(expected)
    assert (report.links_latency_defaulted, report.default_latency_rule) == (1, rule)
    assert report.default_latency_ms == pytest.approx(expected)
    assert report.nodes_without_location == 1


def test_fallback_latency_when_nothing_is_located(tmp_path: Path) -> None:
    g = nx.path_graph(3)
    doc, report = import_topology(_write(tmp_path, g))
    assert [k["latency_ms"] for k in doc["links"]] == [FALLBACK_LATENCY_MS] * 2
    assert report.default_latency_rule == "fallback"
    assert [s["id"] for s in doc["sites"]] == ["n0", "n1", "n2"]


def test_tier_components_and_name(tmp_path: Path) -> None:
    g = nx.Graph(label="Split")
    g.add_edges_from([(0, 1), (2, 3)])
    g.add_node(4)
    doc, report = import_topology(_write(tmp_path, g), tier="edge")
    assert {s["tier"] for s in doc["sites"]} == {"edge"}
    assert (report.components, report.disconnected) == (3, True)
    assert doc["name"] == "Split"
    assert doc["schema_version"] == 1
    assert "Topology Zoo" not in doc["description"]


def test_directed_file_is_read_as_undirected(tmp_path: Path) -> None:
    g = nx.DiGraph()
    g.add_edges_from([(0, 1), (1, 0), (1, 2)])
    doc, report = import_topology(_write(tmp_path, g))
    assert report.links == 2
    assert doc["links"][0]["parallel_links"] == 2
    assert "directed graph read as undirected" in report.warnings


def _gml_value(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return '"' + html.escape(str(value), quote=True) + '"'


def _zoo_style_gml(g: nx.Graph) -> str:
    """Write GML the way the Topology Zoo does: integer ids, the name in ``label``."""
    index = {key: i for i, key in enumerate(g)}
    lines = ["graph ["] + (["  multigraph 1"] if g.is_multigraph() else [])
    for key, data in g.nodes(data=True):
        attrs = " ".join(f"{k} {_gml_value(v)}" for k, v in data.items() if k != "id")
        lines.append(f"  node [ id {index[key]} {attrs} ]")
    for u, v, data in g.edges(data=True):
        attrs = " ".join(f"{k} {_gml_value(x)}" for k, x in data.items() if k not in ("id", "key"))
        lines.append(f"  edge [ source {index[u]} target {index[v]} {attrs} ]")
    return "\n".join([*lines, "]", ""])


@needs_zoo
@pytest.mark.needs_shared
@pytest.mark.parametrize("name", ["Aconet.graphml", "Interoute.graphml"])
def test_gml_gives_the_same_document_as_graphml(tmp_path: Path, name: str) -> None:
    src = ZOO / name
    gml = tmp_path / name.replace(".graphml", ".gml")
    gml.write_text(_zoo_style_gml(nx.read_graphml(src)), encoding="utf-8")
    a, ra = import_topology(src)
    b, rb = import_topology(gml)
    assert a["sites"] == b["sites"]
    assert a["links"] == b["links"]
    assert ra.to_dict() == rb.to_dict()


def test_gml_tolerates_non_ascii_duplicate_labels_and_undeclared_parallel_edges(tmp_path: Path) -> None:
    text = """graph [
  label "Tolerant"
  node [ id 0 label "Zürich" Latitude 47.37 Longitude 8.54 ]
  node [ id 1 label "Zürich" Latitude 46.2 Longitude 6.14 ]
  node [ id 2 label "Bern" ]
  edge [ source 0 target 1 LinkSpeedRaw 1000000000 ]
  edge [ source 0 target 1 LinkSpeedRaw 1000000000 ]
  edge [ source 1 target 2 ]
]
"""
    path = tmp_path / "tolerant.gml"
    path.write_text(text, encoding="utf-8")
    doc, report = import_topology(path)
    assert [s["id"] for s in doc["sites"]] == ["Zurich", "Zurich-2", "Bern"]
    assert doc["sites"][0]["labels"]["label"] == "Zürich"
    assert doc["links"][0]["parallel_links"] == 2
    assert doc["links"][0]["bandwidth_mbps"] == 2000.0
    assert report.links == 2
    path.write_bytes(text.encode("latin-1"))
    doc2, _ = import_topology(path)
    assert doc2["sites"] == doc["sites"]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "match"),
    [
        ("t.txt", "x", {}, "unknown topology format"),
        ("missing.graphml", None, {}, "cannot read file"),
        ("bad.graphml", "<graphml><graph>", {}, "not valid GraphML"),
        ("bad.gml", "graph [ node [ id 0 ] edge [ source 0 target 9 ] ]", {}, "not valid GML"),
        ("t.graphml", "", {"tier": "fog"}, r"tier: must be one of"),
        ("t.graphml", "", {"propagation_km_per_ms": -1.0}, r"propagation_km_per_ms: must be"),
        ("t.graphml", "", {"route_factor": math.nan}, r"route_factor: must be"),
        ("t.graphml", "", {"default_latency_ms": -2.0}, r"default_latency_ms: must be"),
    ],
    ids=["extension", "missing", "bad-xml", "bad-gml", "tier", "speed", "route-factor", "default"],
)
def test_bad_input_raises_scenario_error(
    tmp_path: Path, name: str, content: str | None, kwargs: dict, match: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ScenarioError, match=match):
        import_topology(path, **kwargs)
