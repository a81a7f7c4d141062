"""The independent plan checker accepts optimized plans and rejects deliberately corrupted ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from edgescale.model.arrays import compile_scenario
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import Plan, ReplicaEntry, RouteEntry, ScenarioRef
from edgescale.optimize.check import check_plan
from edgescale.optimize.placement import optimize_placement

sys.path.insert(0, str(Path(__file__).parent))
from _placement_cases import small_doc


@pytest.fixture(scope="module")
def case() -> tuple[Any, Any, Plan]:
    s = scenario_from_dict(small_doc(rate=60.0, cores=2))
    a = compile_scenario(s, devices=False)
    return s, a, optimize_placement(s, arrays=a, objective="latency", method="milp")


def _with(plan: Plan, **changes: Any) -> Plan:
    return plan.model_copy(update=changes)


def test_optimized_plan_passes(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    assert check_plan(s, a, plan) == []


def test_rejects_over_capacity(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    r0 = plan.replicas[0]
    bad = _with(plan, replicas=(r0.model_copy(update={"count": 50}), *plan.replicas[1:]))
    assert any("more cores" in p for p in check_plan(s, a, bad))


def test_rejects_memory_overflow() -> None:
    s = scenario_from_dict(small_doc(cores=64, memory_gb=2))
    a = compile_scenario(s, devices=False)
    plan = optimize_placement(s, arrays=a, method="milp")
    r0 = plan.replicas[0]
    bad = _with(plan, replicas=(r0.model_copy(update={"count": 3}), *plan.replicas[1:]))
    assert any("more memory" in p for p in check_plan(s, a, bad))


def test_rejects_unrouted_demand(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    bad = _with(plan, routes=plan.routes[1:])
    assert any("must sum to 1 (got 0)" in p for p in check_plan(s, a, bad))


def test_rejects_route_to_site_without_the_service(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    hosts = {r.site for r in plan.replicas}
    other = next(x for x in a.site_ids if x not in hosts)
    r0 = plan.routes[0]
    bad = _with(plan, routes=(r0.model_copy(update={"site": other}), *plan.routes[1:]))
    assert any("no replica" in p for p in check_plan(s, a, bad))


def test_rejects_fractions_not_summing_to_one(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    r0 = plan.routes[0]
    bad = _with(plan, routes=(r0.model_copy(update={"fraction": 0.5}), *plan.routes[1:]))
    assert any("must sum to 1 (got 0.5)" in p for p in check_plan(s, a, bad))
    extra = RouteEntry(**{**r0.model_dump(), "fraction": 0.25})
    assert any("must sum to 1" in p for p in check_plan(s, a, _with(plan, routes=(*plan.routes, extra))))


def test_rejects_disallowed_tier() -> None:
    doc = small_doc()
    doc["services"][0]["tiers"] = ["edge"]
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    plan = optimize_placement(s, arrays=a, method="milp")
    bad = _with(plan, replicas=(*plan.replicas, ReplicaEntry(service="svc", site="agg", count=1)))
    assert any("may not run on tier aggregation" in p for p in check_plan(s, a, bad))


def test_rejects_overloaded_queue_and_slo_and_budget_and_domains(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    # send every demand point to one host with one replica: overloaded
    host = plan.replicas[0].site
    routes = tuple(r.model_copy(update={"site": host, "fraction": 1.0}) for r in plan.routes)
    reps = (ReplicaEntry(service="svc", site=host, count=1),)
    found = check_plan(s, a, _with(plan, routes=routes, replicas=reps), min_domains=2, budget_per_hour=0.0)
    assert any("utilization must be below 1" in p for p in found)
    assert any("failure domains" in p for p in found)
    assert any("budget" in p for p in found)
    tight = scenario_from_dict(small_doc(rate=60.0, cores=2, slo_ms=6.0))
    far = tuple(r.model_copy(update={"site": "e2"}) for r in plan.routes)
    far_plan = _with(plan, routes=far, replicas=(ReplicaEntry(service="svc", site="e2", count=2),))
    from edgescale.model.io import scenario_sha256

    far_plan = _with(far_plan, scenario=ScenarioRef(name=tight.name, sha256=scenario_sha256(tight)))
    assert any(
        "exceeds the 6 ms SLO" in p
        for p in check_plan(tight, compile_scenario(tight, devices=False), far_plan)
    )


def test_rejects_plan_of_another_scenario(case: tuple[Any, Any, Plan]) -> None:
    s, a, plan = case
    bad = _with(plan, scenario=ScenarioRef(name="other", sha256="0" * 64))
    assert any("another scenario" in p for p in check_plan(s, a, bad))
