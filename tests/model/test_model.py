"""The model: round trips, the schema's coverage, fuzzing the loader, compiled arrays, plans."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from edgescale.errors import ScenarioError
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan, nearest_hosts
from edgescale.model.describe import describe
from edgescale.model.generators import hierarchical
from edgescale.model.geo import haversine_km
from edgescale.model.io import (
    all_fields_sha256,
    apply_overrides,
    load,
    matches_scenario_sha256,
    parse_document,
    save,
    scenario_from_dict,
    scenario_sha256,
)
from edgescale.model.plan import Plan, ScenarioRef, check_plan_matches, load_plan, plan_to_arrays, save_plan
from edgescale.model.schema import (
    FailureClass,
    Failures,
    Link,
    Location,
    Scenario,
    Service,
    Site,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_round_trip_load_save_load(path: Path, tmp_path: Path) -> None:
    first = load(path)
    out = tmp_path / path.name
    # CSV and trace paths are relative to the file: save next to links to the example's folders
    for sub in EXAMPLES.iterdir():
        if sub.is_dir():
            (tmp_path / sub.name).symlink_to(sub)
    save(first, out)
    second = load(out)
    assert second == first
    assert scenario_sha256(second) == scenario_sha256(first)
    out_json = tmp_path / (path.stem + ".json")
    save(first, out_json)
    assert load(out_json) == first


def test_round_trip_generated(tmp_path: Path) -> None:
    doc = hierarchical(devices=5000, edge_sites=50, aggregation_sites=5, clouds=2, seed=4)
    a = scenario_from_dict(doc)
    save(a, tmp_path / "g.yaml")
    assert load(tmp_path / "g.yaml") == a


def _walk(schema: dict[str, Any], defs: dict[str, Any], trail: str, seen: set[str], out: list[str]) -> None:
    for name, prop in schema.get("properties", {}).items():
        where = f"{trail}.{name}" if trail else name
        if not (prop.get("x-used-by") or prop.get("x-reserved")):
            out.append(where)
        for ref in _refs(prop):
            key = ref.rsplit("/", 1)[-1]
            if key not in seen:
                seen.add(key)
                _walk(defs[key], defs, f"{where}<{key}>", seen, out)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        for v in node.values():
            found += _refs(v)
        return found
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_schema_every_field_consumed_or_reserved() -> None:
    schema = Scenario.model_json_schema()
    missing: list[str] = []
    _walk(schema, schema.get("$defs", {}), "", set(), missing)
    assert missing == [], f"fields neither consumed nor reserved: {missing}"
    # and the walk really visits nested models
    defs = schema["$defs"]
    assert {"Site", "Link", "Service", "Application", "DeviceGroup", "Poisson", "Mmpp"} <= set(defs)


def test_schema_consumers_are_known_engines() -> None:
    text = json.dumps(Scenario.model_json_schema())
    engines = {"compile", "analyze", "optimize", "simulate", "operate", "report"}
    used = {
        e for chunk in text.split('"x-used-by": [')[1:] for e in json.loads("[" + chunk.split("]")[0] + "]")
    }
    assert used <= engines


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schema_version",
                    "name",
                    "sites",
                    "id",
                    "tier",
                    "links",
                    "src",
                    "dst",
                    "services",
                    "work_ms",
                    "applications",
                    "stages",
                    "service",
                    "device_groups",
                    "count",
                    "placement",
                    "arrival",
                    "process",
                    "rate_per_s",
                    "cpu_cores",
                    "latency_ms",
                    "around",
                    "x",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@given(doc=json_values)
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_loader_raises_only_scenario_error(doc: Any) -> None:
    for base in (doc, {"schema_version": 1, "name": "f", **doc} if isinstance(doc, dict) else doc):
        with contextlib.suppress(ScenarioError):
            scenario_from_dict(base, source="fuzz.yaml")


@given(text=st.text(max_size=200))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_fuzz_text_parser_raises_only_scenario_error(text: str) -> None:
    for fmt in ("yaml", "json"):
        try:
            data = parse_document(text, source="fuzz", fmt=fmt)
            scenario_from_dict(data, source="fuzz")
        except ScenarioError:
            pass


def test_compiled_counts_and_references(tiny_doc: dict[str, Any]) -> None:
    a = compile_scenario(scenario_from_dict(tiny_doc))
    assert a.site_ids == ["edge-1", "edge-2", "cloud-1", "agg-1", "agg-2"]
    assert a.n_devices == 100
    assert a.demand_devices.sum() == 100
    assert np.isclose(a.demand_rate_per_s.sum(), 100.0)
    # explicit links first, in file order; distance-based latency for the link without one
    assert a.link_latency_ms[:2].tolist() == [1.0, 10.0]
    d = haversine_km(50.1, 8.1, 52.5, 13.4)
    assert a.link_latency_ms[2] == pytest.approx(d * 1.5 / 200.0)
    # CSR adjacency holds both directions of every link
    assert a.graph_indptr[-1] == 2 * a.n_links
    for v in range(a.n_sites):
        for k in range(a.graph_indptr[v], a.graph_indptr[v + 1]):
            link = a.graph_link[k]
            assert {int(a.link_src[link]), int(a.link_dst[link])} == {v, int(a.graph_indices[k])}
    # every device's access site is the nearest edge site
    edge = np.flatnonzero(a.site_tier == 1)
    dist = haversine_km(
        a.device_lat[:, None], a.device_lon[:, None], a.site_lat[edge][None, :], a.site_lon[edge][None, :]
    )
    assert (edge[np.argmin(dist, axis=1)] == a.device_site).all()


def test_compile_is_deterministic_per_seed(tiny_doc: dict[str, Any]) -> None:
    a = compile_scenario(scenario_from_dict(tiny_doc))
    b = compile_scenario(scenario_from_dict(tiny_doc))
    assert np.array_equal(a.device_lat, b.device_lat)
    assert np.array_equal(a.site_lat, b.site_lat)
    tiny_doc["seed"] = 4
    c = compile_scenario(scenario_from_dict(tiny_doc))
    assert not np.array_equal(a.device_lat, c.device_lat)


def test_even_spread_puts_equal_devices_per_site() -> None:
    doc = hierarchical(devices=10_000, edge_sites=100, aggregation_sites=0, clouds=0, seed=2)
    doc["device_groups"][0]["access"]["assign"] = "home"
    a = compile_scenario(scenario_from_dict(doc))
    per_site = np.bincount(a.device_site, minlength=a.n_sites)[a.site_tier == 1]
    assert per_site.min() == per_site.max() == 100


def test_stage_order_is_topological(tiny_doc: dict[str, Any]) -> None:
    tiny_doc["services"].append({"id": "auth", "work_ms": 1})
    tiny_doc["applications"][0]["stages"] = [
        {"service": "db", "after": ["auth"]},
        {"service": "api", "after": []},
        {"service": "auth", "after": ["api"]},
    ]
    a = compile_scenario(scenario_from_dict(tiny_doc))
    order = [a.service_ids[i] for i in a.stage_service]
    assert order == ["api", "auth", "db"]
    assert a.stage_parents.tolist() == [0, 1]  # auth after api, db after auth
    assert a.stage_parent_ptr.tolist() == [0, 0, 1, 2]


def test_nearest_hosts_breaks_ties_by_index(tiny_doc: dict[str, Any]) -> None:
    tiny_doc["links"] = [
        {"src": "edge-1", "dst": "edge-2", "latency_ms": 2.0},
        {"src": "edge-1", "dst": "cloud-1", "latency_ms": 2.0},
    ]
    tiny_doc["link_rules"] = []
    a = compile_scenario(scenario_from_dict(tiny_doc))
    dist, src = nearest_hosts(a, np.array([2, 1]))  # cloud-1 and edge-2 are both 2 ms from edge-1
    assert dist[0] == 2.0
    assert src[0] == 1


def test_default_plan_routes_to_nearest_host(tiny_doc: dict[str, Any], tmp_path: Path) -> None:
    s = scenario_from_dict(tiny_doc)
    a = compile_scenario(s)
    plan, warnings = default_plan(s, a)
    assert warnings == []
    # api may run on every serving tier, db only in the cloud
    hosts = {(r.service, r.site) for r in plan.replicas}
    assert ("db", "cloud-1") in hosts
    assert ("db", "edge-1") not in hosts
    assert {site for svc, site in hosts if svc == "api"} == {"edge-1", "edge-2", "agg-1", "agg-2", "cloud-1"}
    for r in plan.routes:
        if r.service == "api":
            assert r.site == r.access_site  # the access site hosts api itself
        else:
            assert r.site == "cloud-1"
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    again = load_plan(path)
    assert again == plan
    arrays = plan_to_arrays(again, a)
    assert arrays.replicas[a.service_ids.index("db"), a.site_ids.index("cloud-1")] >= 1
    check_plan_matches(again, scenario_sha256(s))


def test_default_plan_warns_about_unreachable_devices(tiny_doc: dict[str, Any]) -> None:
    tiny_doc["links"] = [{"src": "edge-1", "dst": "edge-2", "latency_ms": 1.0}]  # the cloud is cut off
    s = scenario_from_dict(tiny_doc)
    _plan, warnings = default_plan(s, compile_scenario(s))
    assert len(warnings) == 1
    assert warnings[0].path == "device_groups[phones]"
    assert "unreachable" in warnings[0].message


def test_plan_for_another_scenario_is_rejected(tiny_doc: dict[str, Any]) -> None:
    s = scenario_from_dict(tiny_doc)
    plan, _ = default_plan(s, compile_scenario(s))
    tiny_doc["services"][0]["work_ms"] = 6
    other = scenario_from_dict(tiny_doc)
    with pytest.raises(ScenarioError, match=r"scenario\.sha256: plan was made for another scenario"):
        check_plan_matches(plan, scenario_sha256(other))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p["replicas"][0].update(site="nowhere"), r"replicas\[0\]\.site: unknown site"),
        (lambda p: p["replicas"][0].update(count=0), r"replicas\[0\]\.count: must be >= 1"),
        (lambda p: p["routes"][0].update(fraction=1.5), r"routes\[0\]\.fraction: must be <= 1"),
        (lambda p: p.update(status="great"), r"status: must be one of"),
        (lambda p: p["scenario"].update(sha256="abc"), r"scenario\.sha256"),
        (lambda p: p.update(extra=1), r"extra: unknown field"),
    ],
    ids=["unknown-site", "zero-count", "fraction", "status", "bad-sha", "unknown-key"],
)
def test_bad_plan_files(tiny_doc: dict[str, Any], tmp_path: Path, mutate: Any, match: str) -> None:
    s = scenario_from_dict(tiny_doc)
    a = compile_scenario(s)
    plan, _ = default_plan(s, a)
    data = plan.model_dump(mode="json")
    mutate(data)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScenarioError, match=match):
        plan_to_arrays(load_plan(path), a)


def test_describe_numbers(tiny_doc: dict[str, Any]) -> None:
    s = scenario_from_dict(tiny_doc)
    d = describe(s, compile_scenario(s))
    assert d["sites_by_tier"] == {"edge": 2, "aggregation": 2, "cloud": 1}
    assert d["devices"] == 100
    assert d["links"] == 5
    assert d["services"] == 2
    assert d["applications"] == 1
    # 100 req/s x (5 ms api + 10 ms db) = 1.5 busy cores
    assert d["offered_load_cores"] == pytest.approx(1.5)
    assert d["capacity_cores"] == 4 + 4 + 64 + 16 + 16


def test_utilization_warning(tiny_doc: dict[str, Any]) -> None:
    tiny_doc["device_groups"][0]["arrival"]["rate_per_s"] = (
        10.0  # 1000 req/s x 5 ms = 5 cores on 8 edge cores
    )
    tiny_doc["sites"][0]["cpu_cores"] = 1
    s = scenario_from_dict(tiny_doc)
    d = describe(s, compile_scenario(s))
    assert any("above 95% utilization" in w["message"] for w in d["warnings"])


def test_example_files_are_small_and_describe_cleanly() -> None:
    for path in EXAMPLE_FILES:
        assert path.stat().st_size < 20_000
        s = load(path)
        d = describe(s, compile_scenario(s, devices=False))
        assert d["devices"] > 0


def test_metro_example_is_capacitated() -> None:
    s = load(EXAMPLES / "melbourne-metro.yaml")
    a = compile_scenario(s, devices=False)
    d = describe(s, a)
    assert d["utilization"]["overall"] >= 0.70
    assert sum(1 for x in s.applications if x.slo and x.slo.latency_ms) >= 2
    assert len(set(a.site_domain.tolist())) >= 2


def test_parse_yaml_and_json_agree() -> None:
    data = yaml.safe_load((EXAMPLES / "factory-cell.yaml").read_text())
    assert parse_document(json.dumps(data), fmt="json") == data
    assert isinstance(Plan.model_json_schema(), dict)


# --- the scenario digest: defaults omitted, so a release that adds a defaulted field keeps it ---------------


class _LinkPlus(Link):
    """A Link as a later release might have it: one more field, at a default that changes nothing."""

    jitter_ms: float = 0.0


class _FailuresPlus(Failures):
    repair_crews: tuple[str, ...] = Field(default_factory=tuple)


class _Extra(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: int = 1


class _ScenarioPlus(Scenario):
    """New fields at every depth: in list items, in a nested model, at the top, with factory defaults."""

    links: tuple[_LinkPlus, ...] = ()
    failures: _FailuresPlus = _FailuresPlus()
    notes_url: str | None = None
    extra: _Extra = Field(default_factory=_Extra)
    tags: dict[str, str] = Field(default_factory=dict)


def test_sha256_ignores_fields_a_later_release_adds_with_defaults(tiny_doc: dict[str, Any]) -> None:
    now = scenario_from_dict(tiny_doc)
    later = _ScenarioPlus.model_validate(tiny_doc)
    assert later.links[0].jitter_ms == 0.0 and later.extra == _Extra()  # the new fields are there
    assert scenario_sha256(later) == scenario_sha256(now)
    assert all_fields_sha256(later) != all_fields_sha256(now)  # the old rule broke here
    # written out explicitly at their defaults, the new fields still change nothing
    tiny_doc["links"][0]["jitter_ms"] = 0
    tiny_doc["failures"]["repair_crews"] = []
    tiny_doc.update(notes_url=None, extra={"level": 1}, tags={})
    assert scenario_sha256(_ScenarioPlus.model_validate(tiny_doc)) == scenario_sha256(now)
    # set to something else, they count
    tiny_doc["links"][0]["jitter_ms"] = 0.5
    assert scenario_sha256(_ScenarioPlus.model_validate(tiny_doc)) != scenario_sha256(now)


@pytest.mark.parametrize(
    "override",
    [
        "links[0].queueing=none",  # the field added last session
        "links[1].medium=wired",
        "links[2].parallel_links=1",
        "sites[edge-1].cpu_speed=1",  # an int for a float default
        "sites[cloud-1].labels={}",
        "site_groups[agg].dvfs_levels=[]",
        "description=''",
        "device_groups[phones].access={}",  # a nested model written empty
        "device_groups[phones].access.assign=nearest",
        "failures.classes[0].distribution=exponential",
        "failures.correlated=[]",
        "policies={}",
        "simulation.duration_s=3600",
        "metadata={}",
    ],
)
def test_sha256_of_a_field_written_at_its_default_equals_omitting_it(
    tiny_doc: dict[str, Any], override: str
) -> None:
    base = scenario_sha256(scenario_from_dict(tiny_doc))
    assert scenario_sha256(scenario_from_dict(apply_overrides(tiny_doc, [override]))) == base


@pytest.mark.parametrize(
    "override",
    [
        "sites[edge-1].cpu_cores=5",
        "links[0].queueing=fifo",
        "links[2].latency_ms=3",
        "seed=4",
        "site_groups[agg].count=3",
        "services[api].work_ms=6",
        "device_groups[phones].arrival.rate_per_s=2",
        "device_groups[phones].access.assign=home",  # a nested default changed
        "simulation.duration_s=60",
        "name=tiny2",
    ],
)
def test_sha256_changes_when_the_scenario_does(tiny_doc: dict[str, Any], override: str) -> None:
    base = scenario_sha256(scenario_from_dict(tiny_doc))
    assert scenario_sha256(scenario_from_dict(apply_overrides(tiny_doc, [override]))) != base


def test_sha256_is_of_the_canonical_json_without_defaults() -> None:
    # the exact rule, pinned: keys sorted, no spaces, floats as JSON floats, defaults left out at every depth
    s = scenario_from_dict(
        {
            "schema_version": 1,
            "name": "pin",
            "seed": 0,
            "sites": [{"id": "e-1", "tier": "edge", "cpu_cores": 4, "cpu_speed": 1.0}],
            "failures": {},
        }
    )
    expected = '{"name":"pin","schema_version":1,"sites":[{"cpu_cores":4.0,"id":"e-1","tier":"edge"}]}'
    assert scenario_sha256(s) == hashlib.sha256(expected.encode()).hexdigest()


def test_sha256_same_for_yaml_and_python_built_scenario() -> None:
    text = """
schema_version: 1
name: two-sites
sites:
- {id: edge-1, tier: edge, cpu_cores: 4, location: {lat: 50.0, lon: 8.0}}
- {id: cloud-1, tier: cloud, cpu_cores: 64, location: {lat: 52.5, lon: 13.4}}
links:
- {src: edge-1, dst: cloud-1, latency_ms: 10, bandwidth_mbps: 100, queueing: fifo}
services:
- {id: api, work_ms: 5}
failures: {classes: [{tier: edge, mtbf_h: 1000, mttr_h: 2}]}
"""
    from_yaml = scenario_from_dict(parse_document(text))
    built = Scenario(
        schema_version=1,
        name="two-sites",
        sites=(
            Site(id="edge-1", tier="edge", cpu_cores=4.0, location=Location(lat=50.0, lon=8.0)),
            Site(id="cloud-1", tier="cloud", cpu_cores=64.0, location=Location(lat=52.5, lon=13.4)),
        ),
        links=(Link(src="edge-1", dst="cloud-1", latency_ms=10.0, bandwidth_mbps=100.0, queueing="fifo"),),
        services=(Service(id="api", work_ms=5.0),),
        failures=Failures(classes=(FailureClass(tier="edge", mtbf_h=1000.0, mttr_h=2.0),)),
    )
    assert scenario_sha256(built) == scenario_sha256(from_yaml)


def test_sha256_covers_a_csv_site_group_by_path_not_by_folder(tmp_path: Path) -> None:
    for sub in ("data",):  # the example read from another folder: same document, same digest
        (tmp_path / sub).symlink_to(EXAMPLES / sub)
    shutil.copy(EXAMPLES / "melbourne-metro.yaml", tmp_path)
    here = load(EXAMPLES / "melbourne-metro.yaml")
    moved = load(tmp_path / "melbourne-metro.yaml")
    assert moved.base_dir != here.base_dir
    assert scenario_sha256(moved) == scenario_sha256(here)
    # the same positions under another file name is another document: the digest names the CSV by its path
    csv = here.site_groups[0].csv
    assert csv is not None
    copy = tmp_path / "sites-copy.csv"
    shutil.copy(EXAMPLES / csv, copy)
    renamed = load(tmp_path / "melbourne-metro.yaml", overrides=[f"site_groups[edge].csv={copy.name}"])
    assert scenario_sha256(renamed) != scenario_sha256(here)


def test_new_plans_record_the_new_sha256(tiny_doc: dict[str, Any]) -> None:
    s = scenario_from_dict(tiny_doc)
    plan, _ = default_plan(s, compile_scenario(s, devices=False))
    assert plan.scenario.sha256 == scenario_sha256(s) != all_fields_sha256(s)


def test_plan_with_the_old_all_fields_sha256_is_still_accepted(
    tiny_doc: dict[str, Any], tmp_path: Path
) -> None:
    s = scenario_from_dict(tiny_doc)
    plan, _ = default_plan(s, compile_scenario(s, devices=False))
    old = plan.model_copy(update={"scenario": ScenarioRef(name=s.name, sha256=all_fields_sha256(s))})
    save_plan(old, tmp_path / "old.json")  # as an earlier version wrote it
    loaded = load_plan(tmp_path / "old.json")
    assert loaded.scenario.sha256 == all_fields_sha256(s)
    check_plan_matches(loaded, s)  # no error: the old digest names this scenario
    check_plan_matches(plan, s)
    assert matches_scenario_sha256(s, loaded.scenario.sha256)
    # given a digest only, the plan must record exactly that digest
    with pytest.raises(ScenarioError, match=r"scenario\.sha256: plan was made for another scenario"):
        check_plan_matches(loaded, scenario_sha256(s))


@pytest.mark.parametrize("digest", [scenario_sha256, all_fields_sha256], ids=["new", "old"])
def test_plan_for_another_scenario_is_rejected_by_either_digest(
    tiny_doc: dict[str, Any], digest: Callable[[Scenario], str]
) -> None:
    s = scenario_from_dict(tiny_doc)
    plan, _ = default_plan(s, compile_scenario(s, devices=False))
    plan = plan.model_copy(update={"scenario": ScenarioRef(name="tiny", sha256=digest(s))})
    other = scenario_from_dict(apply_overrides(tiny_doc, ["sites[edge-1].cpu_cores=5"]))
    with pytest.raises(ScenarioError) as e:
        check_plan_matches(plan, other, source="plan.json")
    assert str(e.value).splitlines()[1:] == [
        f"  plan.json: scenario.sha256: plan was made for another scenario ('tiny') (got '{digest(s)[:12]}...'); "
        f"this scenario's sha256 is {scenario_sha256(other)[:12]}...; re-run optimize for it"
    ]
