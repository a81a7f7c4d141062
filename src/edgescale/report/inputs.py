"""What a report is made of: the scenario compiled, the plan, the analysis and the simulation results.

Results may come as objects (``AnalysisResult``, ``SimulationResult``) or as the dicts their
``to_dict`` returns (as read back from JSON). Results made for another scenario or under another plan
are rejected with a :class:`~edgescale.errors.ScenarioError` naming the field: the scenario by its
``scenario_sha256`` (required), the plan by its content (:func:`plan_sha256`) when the results record
``plan_sha256``, else by its ``created_by`` label. Results missing fields the report reads are
rejected up front, every missing field named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import matches_scenario_sha256, scenario_sha256
from edgescale.model.plan import Plan, PlanArrays, check_plan_matches, plan_sha256, plan_to_arrays
from edgescale.model.schema import Scenario

__all__ = ["RESULTS_SCHEMA", "ReportInputs", "load_results", "plan_sha256", "prepare"]

RESULTS_SCHEMA = "edgescale.results/1"


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report draws from, checked to belong together."""

    scenario: Scenario
    arrays: SystemArrays
    plan: Plan
    plan_arrays: PlanArrays
    plan_given: bool
    analysis: dict[str, Any]
    simulation: dict[str, Any] | None


def _as_dict(x: Any, what: str) -> dict[str, Any] | None:
    if x is None:
        return None
    if isinstance(x, dict):
        return x
    to_dict = getattr(x, "to_dict", None)
    if callable(to_dict):
        d = to_dict()
        if isinstance(d, dict):
            return d
    raise ScenarioError(
        [Issue(what, "must be a results object or its dict", type(x).__name__, "pass .to_dict() or the JSON")]
    )


def _check_same(d: dict[str, Any], what: str, scenario: Scenario, plan: Plan, plan_given: bool) -> None:
    issues: list[Issue] = []
    got = d.get("scenario_sha256")  # present: checked with the other fields; an earlier version's digest too
    if not (isinstance(got, str) and matches_scenario_sha256(scenario, got)):
        sha = scenario_sha256(scenario)
        issues.append(
            Issue(
                f"{what}.scenario_sha256",
                f"results were made for another scenario ('{d.get('scenario')}')",
                str(got)[:12] + "...",
                f"this scenario's sha256 is {sha[:12]}...; re-run them for this scenario",
            )
        )
    made_under = d.get("plan")
    digest = d.get("plan_sha256")
    hint = "pass the plan they were made under (--plan)" if not plan_given else "re-run them under this plan"
    if digest is not None:  # the plan's content, when the results record it
        mine = plan_sha256(plan)
        if digest != mine:
            issues.append(
                Issue(
                    f"{what}.plan_sha256",
                    f"results were made under another plan ('{made_under}'), the report uses '{plan.created_by}'",
                    str(digest)[:12] + "...",
                    f"this plan's sha256 is {mine[:12]}...; {hint}",
                )
            )
    elif made_under is not None and made_under != plan.created_by:
        issues.append(
            Issue(
                f"{what}.plan",
                f"results were made under plan '{made_under}', the report uses '{plan.created_by}'",
                made_under,
                hint,
            )
        )
    if issues:
        raise ScenarioError(issues)


_NUMBER = (int, float)
# required fields: name -> (accepted types, what it must be)
_SIM_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "scenario_sha256": ((str,), "the sha256 of the scenario the results were made for"),
    "replications": ((int,), "an integer"),
    "duration_s": (_NUMBER, "a number"),
    "warmup_s": (_NUMBER, "a number"),
}
_SIM_APP_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "application": ((str,), "a string"),
    "latency_ms": ((dict,), "an object"),
    "decomposition_ms": ((dict,), "an object"),
}
_AN_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "scenario_sha256": ((str,), "the sha256 of the scenario the results were made for"),
    "verdict": ((str,), "a string"),
}
_AN_APP_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "application": ((str,), "a string"),
    "decomposition_ms": ((dict,), "an object"),
}


def _fields(
    d: dict[str, Any], path: str, spec: dict[str, tuple[tuple[type, ...], str]], hint: str
) -> list[Issue]:
    """An issue for every field of *spec* missing from *d* or of the wrong type."""
    out = []
    for name, (types, what) in spec.items():
        if name not in d or d[name] is None:
            out.append(Issue(f"{path}.{name}", f"missing: must be {what}", has_value=False, hint=hint))
        elif not isinstance(d[name], types) or (isinstance(d[name], bool) and bool not in types):
            out.append(Issue(f"{path}.{name}", f"must be {what}", d[name], hint))
    return out


def _apps(
    d: dict[str, Any], what: str, spec: dict[str, tuple[tuple[type, ...], str]], hint: str
) -> list[Issue]:
    apps = d.get("applications")
    if not isinstance(apps, list):
        return [
            Issue(
                f"{what}.applications", "missing: must be a list", apps, hint, has_value="applications" in d
            )
        ]
    issues: list[Issue] = []
    for k, x in enumerate(apps):
        if not isinstance(x, dict):
            issues.append(Issue(f"{what}.applications[{k}]", "must be an object", x, hint))
            continue
        issues += _fields(x, f"{what}.applications[{k}]", spec, hint)
        if what == "analysis":
            issues += _analysis_app_slo(x, f"{what}.applications[{k}]", hint)
    return issues


def _analysis_app_slo(x: dict[str, Any], path: str, hint: str) -> list[Issue]:
    """Fields the verdict reads when an application has or misses an SLO."""
    need: list[str] = []
    if x.get("slo_latency_ms") is not None or x.get("meets_latency_slo") is False:
        need += ["slo_percentile", "slo_latency_ms"]
    if x.get("meets_availability_slo") is False:
        need += ["availability", "slo_availability"]
    return _fields(x, path, dict.fromkeys(need, (_NUMBER, "a number")), hint)


def _check_simulation(d: dict[str, Any]) -> None:
    hint = "write one with: edgescale simulate FILE -o results.json"
    if d.get("schema") != RESULTS_SCHEMA:
        raise ScenarioError(
            [Issue("simulation.schema", f"must be a {RESULTS_SCHEMA} results file", d.get("schema"), hint)]
        )
    issues = _fields(d, "simulation", _SIM_FIELDS, hint) + _apps(d, "simulation", _SIM_APP_FIELDS, hint)
    if issues:
        raise ScenarioError(issues)


def _check_analysis(d: dict[str, Any]) -> None:
    hint = "write one with: edgescale analyze FILE -o analysis.json"
    if "applications" not in d and "verdict" not in d:
        raise ScenarioError(
            [
                Issue(
                    "analysis",
                    "must be an analysis results file (applications, verdict, sites)",
                    sorted(d)[:8],
                    hint,
                )
            ]
        )
    issues = _fields(d, "analysis", _AN_FIELDS, hint) + _apps(d, "analysis", _AN_APP_FIELDS, hint)
    if issues:
        raise ScenarioError(issues)


def _analyze(scenario: Scenario, plan: Plan, arrays: SystemArrays) -> dict[str, Any]:
    if not len(arrays.demand_group):
        return {
            "scenario": scenario.name,
            "scenario_sha256": scenario_sha256(scenario),
            "plan": plan.created_by,
            "applications": [],
            "sites": {"utilization": {}, "max_utilization": 0.0, "sites_used": 0},
            "bottlenecks": [],
            "capacity_plan": [],
            "verdict": "no workloads: nothing to analyse",
        }
    from edgescale.analysis.scenario import analyze_scenario

    return analyze_scenario(scenario, plan=plan, arrays=arrays).to_dict()


def prepare(
    scenario: Scenario,
    *,
    plan: Plan | None = None,
    analysis: Any = None,
    simulation: Any = None,
    arrays: SystemArrays | None = None,
) -> ReportInputs:
    """Compile the scenario, resolve the plan, check the results belong to both; analyse if needed."""
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    plan_given = plan is not None
    if plan is None:
        plan, _ = default_plan(scenario, a)
    else:
        check_plan_matches(plan, scenario, source="plan")
    pa = plan_to_arrays(plan, a, source="plan")
    sim = _as_dict(simulation, "simulation")
    if sim is not None:
        _check_simulation(sim)  # the fields the report reads, every missing one named
        _check_same(sim, "simulation", scenario, plan, plan_given)
    an = _as_dict(analysis, "analysis")
    if an is None:
        an = _analyze(scenario, plan, a)
    else:
        _check_analysis(an)
        _check_same(an, "analysis", scenario, plan, plan_given)
    return ReportInputs(scenario, a, plan, pa, plan_given, an, sim)


def load_results(path: str | Path, what: str) -> dict[str, Any]:
    """Read a results JSON file (analysis or simulation) as a dict, with a clear error."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioError([Issue("<file>", f"cannot read {what} results", str(p), str(e))], str(p)) from e
    except json.JSONDecodeError as e:
        raise ScenarioError(
            [Issue(f"<line {e.lineno}>", f"{what} results must be JSON", e.msg, has_value=True)], str(p)
        ) from e
    if not isinstance(data, dict):
        raise ScenarioError([Issue("<root>", "results must be a JSON object", type(data).__name__)], str(p))
    return data
