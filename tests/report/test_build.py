"""build_report / write_report and ``edgescale report`` without a browser: content, inputs, errors."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edgescale.analysis.scenario import analyze_scenario
from edgescale.cli.app import app
from edgescale.errors import ScenarioError
from edgescale.model.io import load
from edgescale.report import SECTIONS, build_report, write_report
from edgescale.report.verdict import verdict_facts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture(scope="module")
def factory_scenario() -> Any:
    return load(EXAMPLES / "factory-cell.yaml")


@pytest.fixture(scope="module")
def results(factory: dict[str, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(factory["results"].read_text())
    return data


def test_sections_and_one_inlined_plotly(factory: dict[str, Path]) -> None:
    text = factory["report"].read_text()
    for key in SECTIONS:
        assert len(re.findall(f'<section id="{key}"', text)) == 1
    assert text.count("plotly.js (cartesian - minified)") == 1  # the library, once
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)  # nothing fetched
    assert int(re.search(r'data-figures="(\d+)"', text)[1]) == text.count('class="plotly-graph-div"')  # type: ignore[index]


def test_without_simulation_says_so(factory_scenario: Any) -> None:
    text = build_report(factory_scenario)
    assert "No simulation was given" in text
    assert 'data-simulation="false"' in text
    for fig in ("utilization-heatmap", "drops-timeouts", "utilization-tiers"):
        assert fig not in text
    assert "latency-cdf-0" in text and "map-figure" in text


def test_objects_and_dicts_give_the_same_report(factory_scenario: Any, results: dict[str, Any]) -> None:
    an = analyze_scenario(factory_scenario)
    from_obj = build_report(factory_scenario, analysis=an, simulation=results)
    from_dict = build_report(factory_scenario, analysis=json.loads(json.dumps(an.to_dict())), simulation=results)
    assert from_obj == from_dict
    assert from_obj == build_report(factory_scenario, simulation=results)  # analysis computed when not given


def test_verdict_facts_from_results(factory: dict[str, Path], results: dict[str, Any], factory_scenario: Any) -> None:
    analysis = json.loads(factory["analysis"].read_text())
    f = verdict_facts(analysis, results)
    # factory-cell: control misses its 99.99 % availability target (one edge rack, one power domain)
    assert (f["slo_apps"], f["slo_met"], f["failing"]) == (3, 2, ["control"])
    assert [m[0] for m in f["availability_misses"]] == ["control"]
    # the bottleneck is analyze's: its busiest queue (service at site), as in its verdict sentence
    (q,) = [b for b in analysis["bottlenecks"] if b["utilization"] == max(x["utilization"] for x in analysis["bottlenecks"])]
    assert (f["bottleneck_service"], f["bottleneck_site"], f["bottleneck_utilization"]) == (
        q["service"], q["site"], q["utilization"]
    )
    assert f"bottleneck: {q['service']} at {q['site']} ({100 * q['utilization']:.0f}% utilization)" in analysis["verdict"]
    util = analysis["sites"]["utilization"]
    assert (f["busiest_site"], f["busiest_site_utilization"]) == max(util.items(), key=lambda kv: kv[1])
    # the busiest simulated site and its utilization are the same site's: recomputed from the series
    means = {k: sum(v) / len(v) for k, v in results["utilization"]["top_sites"].items() if v}
    site = max(means, key=lambda k: means[k])
    assert f["sim_busiest_site"] == site
    assert f["sim_max_utilization"] == pytest.approx(means[site], rel=1e-9)
    assert f["sim_max_utilization"] == pytest.approx(results["utilization"]["mean_by_site_max"], rel=1e-9)
    # energy between every site idle and every site at peak for the measured time
    idle_w = peak_w = 0.0
    for x in factory_scenario.sites:
        if x.power is not None:
            idle_w += x.power.idle_w
            peak_w += x.power.peak_w
    duration_s = results["duration_s"]
    assert idle_w * duration_s <= f["energy_j"] <= peak_w * duration_s
    assert f["energy_j"] == pytest.approx(results["energy_j"])


def test_write_report_is_atomic_and_returns_the_path(tmp_path: Path, factory_scenario: Any) -> None:
    out = write_report(tmp_path / "sub" / "r.html", factory_scenario)
    assert out == tmp_path / "sub" / "r.html"
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left


def _other_scenario(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "scenario_sha256": "0" * 64, "scenario": "elsewhere"}


BAD_SIMULATIONS = [
    (_other_scenario, r"simulation.scenario_sha256: results were made for another scenario \('elsewhere'\)"),
    (  # results without a digest (older files) are matched by the plan's label
        lambda r: {**{k: v for k, v in r.items() if k != "plan_sha256"}, "plan": "placement"},
        r"simulation.plan: results were made under plan 'placement'.*--plan",
    ),
    (lambda r: {k: v for k, v in r.items() if k != "schema"}, r"simulation.schema: must be a edgescale.results/1"),
    (
        lambda r: {k: v for k, v in r.items() if k != "scenario_sha256"},
        r"simulation.scenario_sha256: missing: must be the sha256 of the scenario",
    ),
    (
        lambda r: {**r, "plan_sha256": "0" * 64},
        r"simulation.plan_sha256: results were made under another plan \('default'\), the report uses 'default'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "match"),
    BAD_SIMULATIONS,
    ids=["other-scenario", "other-plan", "no-schema", "no-scenario-sha", "other-plan-content"],
)
def test_bad_simulation_results(mutate: Any, match: str, factory_scenario: Any, results: dict[str, Any]) -> None:
    with pytest.raises(ScenarioError, match=match):
        build_report(factory_scenario, simulation=mutate(copy.deepcopy(results)))


def test_bad_analysis_and_bundle(factory_scenario: Any, factory: dict[str, Path]) -> None:
    analysis = json.loads(factory["analysis"].read_text())
    with pytest.raises(ScenarioError, match=r"analysis\.scenario_sha256"):
        build_report(factory_scenario, analysis=_other_scenario(analysis))
    with pytest.raises(ScenarioError, match="analysis: must be an analysis results file"):
        build_report(factory_scenario, analysis={"schema": "edgescale.results/1"})
    no_sha = {k: v for k, v in analysis.items() if k != "scenario_sha256"}
    with pytest.raises(ScenarioError, match=r"analysis\.scenario_sha256: missing"):
        build_report(factory_scenario, analysis=no_sha)
    with pytest.raises(ScenarioError, match="simulation: must be a results object or its dict"):
        build_report(factory_scenario, simulation=[1, 2])
    with pytest.raises(ScenarioError, match="plotlyjs: must be 'cartesian' or 'full'"):
        build_report(factory_scenario, plotlyjs="lite")


def test_full_bundle_is_the_plotly_packages(factory_scenario: Any) -> None:
    import plotly.offline

    text = build_report(factory_scenario, plotlyjs="full")
    assert text.count(plotly.offline.get_plotlyjs()) == 1


def test_vendored_bundle_matches_the_plotly_package_major_version() -> None:
    import plotly.offline

    from edgescale.report.page import plotly_js

    head = plotly_js("cartesian")[:200]
    got = re.search(r"v(\d+)\.(\d+)\.(\d+)", head)
    assert got is not None
    assert got[1] == plotly.offline.get_plotlyjs_version().split(".")[0]


def test_cli_report(tmp_path: Path, factory: dict[str, Path]) -> None:
    out = tmp_path / "r.html"
    args = ["report", str(factory["scenario"]), "--sim", str(factory["results"]), "-o", str(out)]
    result = runner.invoke(app, [*args, "--analysis", str(factory["analysis"]), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["bytes"] == out.stat().st_size and data["simulation"] is True
    assert 'data-simulation="true"' in out.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sim", "missing.json"], "cannot read simulation results"),
        (["--sim", "{scenario}"], "simulation results must be JSON"),
        (["--sim", "{other}"], "results were made for another scenario"),
        (["--plan", "missing-plan.json"], "cannot read plan"),
    ],
    ids=["missing-results", "not-json", "other-scenario", "missing-plan"],
)
def test_cli_report_bad_input(extra: list[str], message: str, tmp_path: Path, factory: dict[str, Path]) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_other_scenario(json.loads(factory["results"].read_text()))))
    extra = [x.format(scenario=factory["scenario"], other=other) for x in extra]
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(factory["scenario"]), "-o", str(out), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_report_missing_scenario(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "file not found" in result.output


def test_map_without_locations_uses_a_graph_layout(tiny_doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import scenario_from_dict
    from edgescale.report import fig_map

    del tiny_doc["sites"][2]["location"]  # the cloud: unknown position
    tiny_doc["links"][2]["latency_ms"] = 12.0
    s = scenario_from_dict(tiny_doc, source="tiny")
    assert "locations unknown: a graph layout" in build_report(s)
    a = compile_scenario(s, devices=False)
    x, y, geographic = fig_map.site_positions(a)
    assert not geographic and np.all(np.isfinite(x) & np.isfinite(y))
    assert len({(round(u, 9), round(v, 9)) for u, v in zip(x, y, strict=True)}) == a.n_sites  # no overlap
    monkeypatch.setattr(fig_map, "SPRING_MAX_SITES", 0)  # many sites: one row per tier
    x, y, _ = fig_map.site_positions(a)
    np.testing.assert_array_equal(y, -a.site_tier.astype(float))


def test_analytic_cdf_drawn_from_the_analysis(factory: dict[str, Path], factory_scenario: Any) -> None:
    analysis = json.loads(factory["analysis"].read_text())
    apps = analysis["applications"]
    assert all(x["cdf"] is not None for x in apps)  # the analysis publishes its distribution
    assert build_report(factory_scenario, analysis=analysis).count('"name":"analytic CDF"') == len(apps)
    for x in apps:
        x["cdf"] = None
    assert "analytic CDF" not in build_report(factory_scenario, analysis=analysis)


def test_availability_as_users_saw_it(factory: dict[str, Path], factory_scenario: Any, results: dict[str, Any]) -> None:
    analysis = json.loads(factory["analysis"].read_text())
    text = build_report(factory_scenario, analysis=analysis, simulation=results)
    seen = {x["application"]: x["availability"]["mean"] for x in results["applications"]}
    assert "simulated (users saw" in text
    for name, value in seen.items():
        assert f'data-app="{name}" data-availability="' in text
        assert re.search(f'data-app="{name}"[^>]*data-sim-availability="{re.escape(repr(value))}"', text)
    assert "simulated (users saw" not in build_report(factory_scenario, analysis=analysis)


def test_capacity_summary_adds_up() -> None:
    from edgescale.report.tables import MAX_CAPACITY_ROWS, capacity_table

    rows = [
        {"application": "a", "service": "s", "site": f"e{i}", "servers_now": 1, "budget_ms": 9.0,
         "servers_needed": 3, "extra_cost_per_hour": 0.5}
        for i in range(150)
    ] + [{"application": "a", "service": "t", "site": "c", "servers_now": 2, "budget_ms": 9.0,
          "servers_needed": None, "note": "cannot meet"}]
    text = capacity_table({"capacity_plan": rows})
    summary = re.search(r'id="capacity-summary">(.*?)</table>', text)[1]  # type: ignore[index]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in summary.split("</tr>")[1:3]]
    assert cells[0][:7] == ["a", "s", "150", "150", "450", "75.00", "0"]
    assert cells[1][:7] == ["a", "t", "1", "2", "–", "0.00", "1"]
    assert "300 servers to add in all, 75.00 per hour more" in text
    detail = re.search(r'id="capacity-table">(.*?)</table>', text)[1]  # type: ignore[index]
    assert detail.count("<tr>") == MAX_CAPACITY_ROWS + 1  # header + the first rows
    assert f"the first {MAX_CAPACITY_ROWS} of 151" in text


def test_capacity_row_without_a_budget_shows_a_dash() -> None:
    """An overloaded queueing link leaves a stage no budget (``budget_ms`` null): the row still renders."""
    from edgescale.report.tables import capacity_table

    note = "queueing link a-b (a -> b) on the route is overloaded"
    rows = [{"application": "a", "service": "s", "site": "e1", "servers_now": 2, "budget_ms": None,
             "servers_needed": None, "note": note}]
    detail = re.search(r'id="capacity-table">(.*?)</table>', capacity_table({"capacity_plan": rows}))[1]  # type: ignore[index]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", detail)
    assert cells[4:] == ["–", "–", html.escape(note)]


def test_scenario_without_workloads(tiny_doc: dict[str, Any]) -> None:
    from edgescale.model.io import scenario_from_dict

    tiny_doc["device_groups"] = []
    text = build_report(scenario_from_dict(tiny_doc, source="tiny"))
    assert 'data-slo-apps="0"' in text
    assert "No application has devices sending requests" in text
    assert "No site carries load under this plan" in text
    for fig in ("map-figure", "energy-figure", "cost-figure"):
        assert f'id="{fig}"' in text


def test_pareto_with_three_objectives_colours_the_third(factory_scenario: Any) -> None:
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.default_plan import default_plan
    from edgescale.model.plan import Pareto
    from edgescale.report.fig_pareto import pareto_section

    base, _ = default_plan(factory_scenario, compile_scenario(factory_scenario, devices=False))
    front = Pareto(
        objectives=("mean_latency_ms", "cost_per_hour", "energy_w"),
        points=((10.0, 3.0, 900.0), (12.0, 2.0, 800.0), (15.0, 1.0, 950.0)),
        chosen=2,
        hypervolume=0.5,
    )
    text = pareto_section(base.model_copy(update={"pareto": front}))
    assert "colour: energy_w" in text and '"text":"energy_w"' in text
    assert "Chosen point #2: mean_latency_ms 15, cost_per_hour 1, energy_w 950. Hypervolume 0.5." in text
    assert text.count('class="chosen"') == 1
    assert "has no Pareto front" in pareto_section(base)


def test_plan_compared_by_content(factory_scenario: Any, results: dict[str, Any]) -> None:
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.default_plan import default_plan
    from edgescale.report.inputs import plan_sha256

    base, _ = default_plan(factory_scenario, compile_scenario(factory_scenario, devices=False))
    # the same decisions under another label: accepted; the label is not part of the digest
    relabelled = base.model_copy(update={"created_by": "renamed"})
    assert plan_sha256(relabelled) == plan_sha256(base)
    ok = {**results, "plan": "renamed", "plan_sha256": plan_sha256(base)}
    assert 'data-simulation="true"' in build_report(factory_scenario, simulation=ok)
    # other decisions under the same label: rejected
    other = base.model_copy(update={"routes": base.routes[1:]})
    assert plan_sha256(other) != plan_sha256(base)
    with pytest.raises(ScenarioError, match=r"simulation\.plan_sha256: results were made under another plan"):
        build_report(factory_scenario, plan=other, simulation={**results, "plan_sha256": plan_sha256(base)})


def test_report_rejects_results_simulated_under_an_offload_plan(tmp_path: Path) -> None:
    scen = str(EXAMPLES / "factory-cell.yaml")
    plan, sim = tmp_path / "offload-plan.json", tmp_path / "sim.json"
    assert runner.invoke(app, ["offload", scen, "-o", str(plan)]).exit_code == 0
    r = runner.invoke(
        app, ["simulate", scen, "--plan", str(plan), "--duration", "5", "--replications", "1", "-o", str(sim)]
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", scen, "--sim", str(sim), "-o", str(out)])
    assert r.exit_code == 1
    assert "simulation.plan_sha256: results were made under another plan ('offload:best-response" in r.output
    assert not out.exists()
    r = runner.invoke(app, ["report", scen, "--plan", str(plan), "--sim", str(sim), "-o", str(out)])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    ("flag", "doc", "missing"),
    [
        (
            "--analysis",
            {"applications": [{"application": "app"}], "verdict": "x"},
            ["analysis.scenario_sha256", "analysis.applications[0].decomposition_ms"],
        ),
        (
            "--sim",
            {"schema": "edgescale.results/1", "applications": [{"application": "app"}]},
            [
                "simulation.scenario_sha256", "simulation.replications", "simulation.duration_s",
                "simulation.warmup_s", "simulation.applications[0].latency_ms",
                "simulation.applications[0].decomposition_ms",
            ],
        ),
        (
            "--analysis",
            {"scenario_sha256": "x", "verdict": "x", "applications": [
                {"application": "a", "decomposition_ms": {}, "meets_availability_slo": False, "slo_latency_ms": 5.0}
            ]},
            ["analysis.applications[0].slo_percentile", "analysis.applications[0].availability",
             "analysis.applications[0].slo_availability"],
        ),
    ],
    ids=["analysis", "simulation", "analysis-slo"],
)
def test_cli_report_names_every_missing_field(
    flag: str, doc: dict[str, Any], missing: list[str], tmp_path: Path, factory: dict[str, Path]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(factory["scenario"]), flag, str(bad), "-o", str(out), "-f", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["error"] == "ScenarioError"
    assert [i["path"] for i in data["issues"]] == missing
    assert not out.exists()


def test_results_record_the_plan_digest(factory: dict[str, Path], factory_scenario: Any) -> None:
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.default_plan import default_plan
    from edgescale.model.plan import plan_sha256

    plan, _ = default_plan(factory_scenario, compile_scenario(factory_scenario))
    for kind in ("analysis", "results"):
        assert json.loads(factory[kind].read_text())["plan_sha256"] == plan_sha256(plan)
