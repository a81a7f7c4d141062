"""Registry: names with did-you-mean, parameters checked against constructors, scenario sections."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from edgescale.errors import ScenarioError
from edgescale.model.default_plan import PLACEMENT_POLICIES
from edgescale.model.io import load
from edgescale.model.schema import Policies
from edgescale.policies import POLICIES, PhiAccrual, PowerOfTwoChoices, check_policies, make_policy
from edgescale.policies.base import Policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def issue_of(exc: pytest.ExceptionInfo[ScenarioError]) -> Any:
    assert len(exc.value.issues) == 1
    return exc.value.issues[0]


def test_builds_by_name_with_params() -> None:
    p = make_policy("balancing", "power-of-two", {"choices": 3})
    assert isinstance(p, PowerOfTwoChoices) and p.choices == 3
    d = make_policy("failure_detection", "phi-accrual", {"threshold": 10, "acceptable_pause_s": 3})
    assert isinstance(d, PhiAccrual) and d.threshold == 10.0 and d.acceptable_pause_s == 3.0


@pytest.mark.parametrize(
    ("kind", "name", "hint"),
    [
        ("balancing", "power-of-2", "did you mean 'power-of-two'?"),
        ("balancing", "least_loaded", "did you mean 'least-loaded'?"),
        ("failure_detection", "phi-acrual", "did you mean 'phi-accrual'?"),
        ("caching", "lfu", "did you mean 'lru'?"),
        ("autoscaling", "qqq", "choose from target-utilization"),
    ],
)
def test_unknown_names_rejected_with_did_you_mean(kind: str, name: str, hint: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        make_policy(kind, name, {})
    issue = issue_of(exc)
    assert (issue.path, issue.message, issue.value, issue.hint) == (
        f"policies.{kind}.name",
        "unknown policy",
        name,
        hint,
    )


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ScenarioError, match=r"unknown policy kind.*did you mean 'balancing'"):
        make_policy("balancer", "nearest")


@pytest.mark.parametrize(
    ("kind", "name", "params", "path", "message"),
    [
        ("failure_detection", "phi-accrual", {"thresold": 8}, "thresold", "unknown parameter"),
        ("failure_detection", "phi-accrual", {"threshold": -1}, "threshold", "must be > 0"),
        ("failure_detection", "phi-accrual", {"window": 2.5}, "window", "must be an integer"),
        ("failure_detection", "heartbeat-timeout", {"timeout_s": "5s"}, "timeout_s", "must be a number"),
        ("balancing", "power-of-two", {"choices": 0}, "choices", "must be >= 1"),
        ("offloading", "threshold", {"prefer": "money"}, "prefer", "must be one of 'energy', 'latency'"),
        ("offloading", "fixed", {"target": "fog"}, "target", "must be one of"),
        ("placement", "from-plan", {}, "replicas", "is required by 'from-plan'"),
        ("placement", "tiers", {"tiers": ["edge", "clowd"]}, "tiers", "must be a list of tier names"),
        ("placement", "least-loaded", {"headroom": 1.0}, "headroom", "must be < 1"),
        ("placement", "everywhere", {"tiers": 5}, "tiers", "must be a list of tier names"),
        ("caching", "lru", {}, "capacity_items", "is required by 'lru'"),
    ],
    ids=lambda x: str(x),
)
def test_bad_params_rejected_naming_the_parameter(
    kind: str, name: str, params: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as exc:
        make_policy(kind, name, params)
    issue = issue_of(exc)
    assert issue.path == f"policies.{kind}.params.{path}"
    assert message in issue.message


def test_unknown_param_gets_a_hint() -> None:
    with pytest.raises(ScenarioError) as exc:
        make_policy("failure_detection", "phi-accrual", {"thresold": 8})
    assert issue_of(exc).hint == "did you mean 'threshold'?"


@pytest.mark.parametrize(
    ("kind", "name"), [(k, n) for k, names in POLICIES.items() for n in names], ids=lambda x: str(x)
)
def test_every_registered_policy_builds_from_defaults(kind: str, name: str) -> None:
    cls = POLICIES[kind][name]
    assert issubclass(cls, Policy)
    required = {
        n: p
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    }
    samples: dict[str, Any] = {"replicas": [[1]], "capacity_items": 10, "items": [1, 2]}
    policy = make_policy(kind, name, {n: samples[n] for n in required})
    assert type(policy) is cls
    assert repr(policy).startswith(cls.__name__ + "(")
    assert name == name.lower() and "_" not in name


def test_default_plan_placement_names_are_registered() -> None:
    assert set(PLACEMENT_POLICIES) <= set(POLICIES["placement"])


def test_check_policies_reports_every_problem_and_allows_engine_params() -> None:
    section = Policies.model_validate(
        {
            "placement": {"name": "from-plan"},  # replicas come from the plan: fine here
            "balancing": {"name": "powerof-two"},
            "failure_detection": {"name": "phi-accrual", "params": {"threshold": 0}},
            "caching": {"name": "lru", "params": {"capacity": 5}},
        }
    )
    paths = [i.path for i in check_policies(section)]
    assert paths == [
        "policies.balancing.name",
        "policies.failure_detection.params.threshold",
        "policies.caching.params.capacity",  # capacity_items is the engine's (from cache_gb): not required
    ]


def test_example_scenarios_choose_known_policies() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        scenario = load(path)
        assert check_policies(scenario.policies) == [], path.name
