"""A table of bad scenario files: each must fail with the project's error naming the path and rule."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgescale.errors import ScenarioError
from edgescale.model.io import load, scenario_from_dict

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        node: Any = doc
        steps = path.split(".")
        for step in steps[:-1]:
            node = node[int(step)] if isinstance(node, list) else node.setdefault(step, {})
        last = steps[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _del(path: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        node: Any = doc
        steps = path.split(".")
        for step in steps[:-1]:
            node = node[int(step)] if isinstance(node, list) else node[step]
        del node[steps[-1]]

    return apply


def _append(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        doc.setdefault(path, []).append(copy.deepcopy(value))

    return apply


# (id, mutation, expected path (regex), expected rule (regex))
CASES: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("unknown-top-key", _set("sitez", []), r"sitez", r"unknown field.*did you mean 'sites'"),
    (
        "unknown-site-key",
        _set("sites.0.cpu_core", 4),
        r"sites\[edge-1\]\.cpu_core",
        r"did you mean 'cpu_cores'",
    ),
    (
        "wrong-type-cores",
        _set("sites.0.cpu_cores", "many"),
        r"sites\[edge-1\]\.cpu_cores",
        r"must be a number",
    ),
    ("negative-cores", _set("sites.0.cpu_cores", -2), r"sites\[edge-1\]\.cpu_cores", r"must be >= 0"),
    ("negative-memory", _set("sites.1.memory_gb", -1), r"sites\[edge-2\]\.memory_gb", r"must be >= 0"),
    ("bad-tier", _set("sites.0.tier", "edgy"), r"sites\[edge-1\]\.tier", r"did you mean 'edge'"),
    (
        "bad-latitude",
        _set("sites.0.location", {"lat": 95, "lon": 8}),
        r"sites\[edge-1\]\.location\.lat",
        r"<= 90",
    ),
    ("bad-site-id", _set("sites.0.id", "edge 1!"), r"sites\[0\]\.id|sites\[edge 1!\]\.id", r"must be an id"),
    ("duplicate-site", _set("sites.1.id", "edge-1"), r"sites\[edge-1\]", r"duplicate id"),
    ("unknown-region", _set("sites.0.region", "nort"), r"sites\[edge-1\]\.region", r"did you mean 'north'"),
    ("dangling-link", _set("links.0.dst", "edge-7"), r"links\[0\]\.dst", r"unknown site.*did you mean"),
    ("self-loop-link", _set("links.0.dst", "edge-1"), r"links\[0\]\.dst", r"cannot connect a site to itself"),
    ("negative-latency", _set("links.0.latency_ms", -1), r"links\[0\]\.latency_ms", r"must be >= 0"),
    ("zero-bandwidth", _set("links.0.bandwidth_mbps", 0), r"links\[0\]\.bandwidth_mbps", r"must be > 0"),
    ("loss-one", _set("links.0.loss", 1.0), r"links\[0\]\.loss", r"must be < 1"),
    (
        "latency-without-location",
        lambda d: (d["sites"][2].pop("location"), None)[1],
        r"links\[2\]\.latency_ms",
        r"required when an endpoint has no location",
    ),
    ("zero-work", _set("services.0.work_ms", 0), r"services\[api\]\.work_ms", r"must be > 0"),
    ("zero-replicas", _set("services.0.min_replicas", 0), r"services\[api\]\.min_replicas", r"must be >= 1"),
    (
        "max-below-min",
        lambda d: d["services"][0].update(min_replicas=3, max_replicas=2),
        r"services\[api\]",
        r"max_replicas must be >= min_replicas",
    ),
    (
        "general-without-scv",
        _set("services.0.work_distribution", "general"),
        r"services\[api\]",
        r"needs work_scv",
    ),
    (
        "service-bad-tier",
        _set("services.1.tiers", ["device"]),
        r"services\[db\]\.tiers\[0\]",
        r"must be one of",
    ),
    (
        "unknown-service-in-app",
        _set("applications.0.stages.1.service", "dbb"),
        r"applications\[shop\]\.stages\[1\]\.service",
        r"unknown service.*did you mean 'db'",
    ),
    (
        "cycle-in-dag",
        lambda d: d["applications"][0]["stages"][0].update(after=["db"]),
        r"applications\[shop\]\.stages",
        r"cycle|exactly one entry",
    ),
    (
        "cycle-with-entry",
        lambda d: (
            d["services"].append({"id": "cache", "work_ms": 1})
            or d["applications"][0].update(
                stages=[
                    {"service": "api", "after": []},
                    {"service": "db", "after": ["api", "cache"]},
                    {"service": "cache", "after": ["db"]},
                ]
            )
        ),
        r"applications\[shop\]\.stages",
        r"cycle",
    ),
    ("empty-app", _set("applications.0.stages", []), r"applications\[shop\]\.stages", r"at least 1"),
    (
        "duplicate-stage",
        _set("applications.0.stages", [{"service": "api"}, {"service": "api"}]),
        r"applications\[shop\]\.stages",
        r"appears 2 times",
    ),
    (
        "percentile-100",
        _set("applications.0.slo.percentile", 100),
        r"applications\[shop\]\.slo\.percentile",
        r"must be < 100",
    ),
    (
        "percentile-zero",
        _set("applications.0.slo.percentile", 0),
        r"applications\[shop\]\.slo\.percentile",
        r"must be > 0",
    ),
    (
        "availability-one",
        _set("applications.0.slo.availability", 1.0),
        r"applications\[shop\]\.slo\.availability",
        r"must be < 1",
    ),
    ("zero-devices", _set("device_groups.0.count", 0), r"device_groups\[phones\]\.count", r"must be >= 1"),
    (
        "unknown-app",
        _set("device_groups.0.application", "shopp"),
        r"device_groups\[phones\]\.application",
        r"did you mean 'shop'",
    ),
    (
        "bad-arrival-process",
        _set("device_groups.0.arrival", {"process": "poison", "rate_per_s": 1}),
        r"device_groups\[phones\]\.arrival",
        r"did you mean 'poisson'",
    ),
    (
        "negative-rate",
        _set("device_groups.0.arrival.rate_per_s", -1),
        r"device_groups\[phones\]\.arrival\.rate_per_s",
        r"must be > 0",
    ),
    (
        "mmpp-mismatch",
        _set(
            "device_groups.0.arrival", {"process": "mmpp", "rates_per_s": [1, 2], "mean_sojourn_s": [1, 2, 3]}
        ),
        r"device_groups\[phones\]\.arrival",
        r"same length",
    ),
    (
        "missing-arrival",
        _del("device_groups.0.arrival"),
        r"device_groups\[phones\]\.arrival",
        r"required when the group runs an application",
    ),
    (
        "two-placements",
        _set("device_groups.0.placement.csv", "users.csv"),
        r"device_groups\[phones\]\.placement",
        r"exactly one of",
    ),
    (
        "missing-csv",
        _set("device_groups.0.placement", {"csv": "no-such-users.csv"}),
        r"device_groups\[phones\]\.placement\.csv",
        r"file not found",
    ),
    (
        "around-unknown-site",
        _set("device_groups.0.placement", {"around": {"sites": ["edge-9"]}}),
        r"device_groups\[phones\]\.placement\.around\.sites",
        r"unknown site",
    ),
    (
        "access-tier-empty",
        lambda d: d["device_groups"][0].update(access={"tier": "aggregation"}) or d.update(site_groups=[]),
        r"device_groups\[phones\]\.access\.tier",
        r"no site has this tier",
    ),
    (
        "mttr-zero",
        _set("failures.classes.0.mttr_h", 0),
        r"failures\.classes\[0\]\.mttr_h",
        r"must be > 0",
    ),
    (
        "event-unknown-region",
        _append("events", {"at_s": 60, "region": "south"}),
        r"events\[0\]\.region",
        r"unknown region",
    ),
    (
        "event-two-targets",
        _append("events", {"at_s": 60, "region": "north", "sites": ["edge-1"]}),
        r"events\[0\]",
        r"exactly one target",
    ),
    (
        "group-no-layout",
        _set("regions", []),
        r"site_groups\[agg\]",
        r"needs 'regions', 'area' or 'csv'|unknown region",
    ),
    ("wrong-schema-version", _set("schema_version", 2), r"schema_version", r"must be one of|1"),
    ("missing-name", _del("name"), r"^name$", r"is required"),
    (
        "peak-below-idle",
        _set("sites.0.power", {"idle_w": 100, "peak_w": 50}),
        r"sites\[edge-1\]\.power",
        r"peak_w",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario_names_path_and_rule(
    tiny_doc: Doc, tmp_path: Path, mutate: Callable[[Doc], None], path: str, rule: str
) -> None:
    mutate(tiny_doc)
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(tiny_doc))
    with pytest.raises(ScenarioError) as info:
        load(file)
    issues = info.value.issues
    matching = [i for i in issues if re.search(path, i.path) and re.search(rule, i.message + " " + i.hint)]
    assert matching, f"no issue matches {path!r} / {rule!r}; got:\n{info.value}"
    text = str(info.value)
    assert str(file) in text  # every line names the file


def test_table_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


def test_every_problem_is_reported_at_once(tiny_doc: Doc) -> None:
    tiny_doc["sites"][0]["cpu_cores"] = -1
    tiny_doc["services"][0]["work_ms"] = 0
    tiny_doc["device_groups"][0]["count"] = 0
    tiny_doc["bogus"] = 1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_doc, source="x.yaml")
    paths = {i.path for i in info.value.issues}
    assert {
        "sites[edge-1].cpu_cores",
        "services[api].work_ms",
        "device_groups[phones].count",
        "bogus",
    } <= paths


def test_cross_reference_problems_are_reported_together(tiny_doc: Doc) -> None:
    tiny_doc["links"][0]["dst"] = "edge-7"
    tiny_doc["applications"][0]["stages"][1]["service"] = "dbb"
    tiny_doc["device_groups"][0]["application"] = "shopp"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_doc, source="x.yaml")
    assert len(info.value.issues) == 3
    assert "x.yaml: links[0].dst: unknown site (got 'edge-7'); did you mean 'edge-2'?" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "rule"),
    [
        ("name: [unclosed", r"line \d+, column \d+", "invalid YAML"),
        ("a: 1\na: 2\n", r"line 2", "duplicate key"),
        ("- just\n- a list\n", "<root>", "must be a mapping"),
        ("", "<root>", "must be a mapping"),
    ],
    ids=["yaml-syntax", "duplicate-key", "list-root", "empty-file"],
)
def test_unparseable_files(tmp_path: Path, text: str, where: str, rule: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load(file)
    assert any(re.search(where, i.path) and rule in i.message for i in info.value.issues), str(info.value)


def test_bad_json_file(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text('{"schema_version": 1, "name": }')
    with pytest.raises(ScenarioError, match=r"invalid JSON"):
        load(file)


def test_missing_file_suggests_neighbour(tmp_path: Path) -> None:
    (tmp_path / "factory.yaml").write_text("x: 1")
    with pytest.raises(ScenarioError, match=r"did you mean 'factory.yaml'"):
        load(tmp_path / "factroy.yaml")


def test_bad_override_path(tiny_doc: Doc, tmp_path: Path) -> None:
    file = tmp_path / "ok.json"
    file.write_text(json.dumps(tiny_doc))
    with pytest.raises(
        ScenarioError, match=r"--set services\[apii\]\.work_ms: no item 'apii'.*did you mean 'api'"
    ):
        load(file, overrides=["services[apii].work_ms=3"])
    with pytest.raises(ScenarioError, match=r"must look like PATH=VALUE"):
        load(file, overrides=["services"])


def test_override_changes_value(tiny_doc: Doc, tmp_path: Path) -> None:
    file = tmp_path / "ok.json"
    file.write_text(json.dumps(tiny_doc))
    s = load(file, overrides=["device_groups[phones].arrival.rate_per_s=2.5", "sites[1].cpu_cores=8"])
    assert s.device_groups[0].arrival is not None
    assert s.device_groups[0].arrival.rate_per_s == 2.5  # type: ignore[union-attr]
    assert s.sites[1].cpu_cores == 8
