"""Policies by name: what a scenario's ``policies`` section may choose, and how to build them.

Names are kebab-case. Parameters are the keyword arguments of the class's constructor; some
(``ENGINE_PARAMS``, e.g. a plan's replicas) are supplied by the engine rather than the scenario.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any, Literal, overload

from edgescale.errors import Issue, ScenarioError
from edgescale.policies._checks import ParamError
from edgescale.policies.autoscaling import TargetUtilization
from edgescale.policies.base import (
    Autoscaler,
    CachePolicy,
    FailureDetector,
    LoadBalancer,
    OffloadingPolicy,
    PlacementPolicy,
    Policy,
)
from edgescale.policies.caching import LRUCache, StaticCache
from edgescale.policies.failover import NearestFailover
from edgescale.policies.heartbeat_timeout import HeartbeatTimeout
from edgescale.policies.least_loaded import LeastLoaded
from edgescale.policies.nearest import Nearest
from edgescale.policies.offloading import FixedOffloading, ThresholdOffloading
from edgescale.policies.phi_accrual import PhiAccrual
from edgescale.policies.placement import EverywhereAllowed, FromPlan, LeastLoadedPlacement
from edgescale.policies.plan_weights import PlanWeights
from edgescale.policies.power_of_two import PowerOfTwoChoices
from edgescale.policies.water_filling import WaterFilling

__all__ = ["POLICIES", "check_policies", "make_policy"]

POLICIES: dict[str, dict[str, type[Policy]]] = {
    "placement": {
        "everywhere": EverywhereAllowed,
        "tiers": EverywhereAllowed,
        "from-plan": FromPlan,
        "least-loaded": LeastLoadedPlacement,
        "nearest-failover": NearestFailover,
        "water-filling": WaterFilling,
    },
    "balancing": {
        "nearest": Nearest,
        "least-loaded": LeastLoaded,
        "power-of-two": PowerOfTwoChoices,
        "plan-weights": PlanWeights,
    },
    "autoscaling": {"target-utilization": TargetUtilization},
    "failure_detection": {"phi-accrual": PhiAccrual, "heartbeat-timeout": HeartbeatTimeout},
    "offloading": {"threshold": ThresholdOffloading, "fixed": FixedOffloading},
    "caching": {"lru": LRUCache, "static": StaticCache},
}


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else f"choose from {', '.join(sorted(choices))}"


def _issues(
    kind: str, name: Any, params: Any, *, engine_supplies: bool
) -> tuple[list[Issue], type[Policy] | None]:
    """Check a choice by name and its parameters' names; return the issues and the class."""
    where = f"policies.{kind}"
    if kind not in POLICIES:
        return [Issue("policies", "unknown policy kind", kind, _hint(kind, list(POLICIES)))], None
    cls = POLICIES[kind].get(name) if isinstance(name, str) else None
    if cls is None:
        return [Issue(f"{where}.name", "unknown policy", name, _hint(str(name), list(POLICIES[kind])))], None
    if not isinstance(params, Mapping):
        return [Issue(f"{where}.params", "must be a mapping", params)], cls
    sig = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY}
    issues = [
        Issue(f"{where}.params.{p}", f"unknown parameter of '{name}'", params[p], _hint(str(p), list(sig)))
        for p in params
        if p not in sig
    ]
    for p, spec in sig.items():
        supplied = p in params or (engine_supplies and p in cls.ENGINE_PARAMS)
        if spec.default is inspect.Parameter.empty and not supplied:
            issues.append(Issue(f"{where}.params.{p}", f"is required by '{name}'", has_value=False))
    return issues, cls


def _construct(kind: str, cls: type[Policy], params: Mapping[str, Any]) -> tuple[Policy | None, list[Issue]]:
    try:
        return cls(**params), []
    except ParamError as e:
        return None, [Issue(f"policies.{kind}.params.{e.param}", e.rule, e.value)]
    except (TypeError, ValueError) as e:
        return None, [Issue(f"policies.{kind}.params", str(e), dict(params))]


@overload
def make_policy(
    kind: Literal["placement"], name: str, params: Mapping[str, Any] | None = None
) -> PlacementPolicy: ...
@overload
def make_policy(
    kind: Literal["balancing"], name: str, params: Mapping[str, Any] | None = None
) -> LoadBalancer: ...
@overload
def make_policy(
    kind: Literal["autoscaling"], name: str, params: Mapping[str, Any] | None = None
) -> Autoscaler: ...
@overload
def make_policy(
    kind: Literal["failure_detection"], name: str, params: Mapping[str, Any] | None = None
) -> FailureDetector: ...
@overload
def make_policy(
    kind: Literal["offloading"], name: str, params: Mapping[str, Any] | None = None
) -> OffloadingPolicy: ...
@overload
def make_policy(
    kind: Literal["caching"], name: str, params: Mapping[str, Any] | None = None
) -> CachePolicy: ...
@overload
def make_policy(kind: str, name: str, params: Mapping[str, Any] | None = None) -> Policy: ...
def make_policy(kind: str, name: str, params: Mapping[str, Any] | None = None) -> Policy:
    """Build the policy *kind*/*name* with keyword arguments *params*.

    Parameters
    ----------
    kind : str
        One of the keys of :data:`POLICIES`: ``placement``, ``balancing``, ``autoscaling``,
        ``failure_detection``, ``offloading``, ``caching``.
    name : str
        Kebab-case policy name, e.g. ``power-of-two``.
    params : mapping, optional
        Constructor arguments (the scenario's ``params`` plus any the engine supplies).

    Returns
    -------
    Policy
        A new instance (policies keep state; build one per use).

    Raises
    ------
    ScenarioError
        Unknown kind or name (with a did-you-mean hint), unknown or missing parameter, or a value
        the constructor rejects; every issue's path starts with ``policies.<kind>``.

    Examples
    --------
    >>> make_policy("failure_detection", "phi-accrual", {"threshold": 10})
    PhiAccrual(threshold=10.0, window=1000, min_std_s=0.1, acceptable_pause_s=0.0, first_heartbeat_estimate_s=1.0)
    >>> make_policy("balancing", "power-of-too")
    Traceback (most recent call last):
    ...
    edgescale.errors.ScenarioError: 1 problem
      policies.balancing.name: unknown policy (got 'power-of-too'); did you mean 'power-of-two'?
    """
    p = {} if params is None else params
    issues, cls = _issues(kind, name, p, engine_supplies=False)
    if issues or cls is None:
        raise ScenarioError(issues)
    policy, issues = _construct(kind, cls, p)
    if issues or policy is None:
        raise ScenarioError(issues)
    return policy


def check_policies(section: Any) -> list[Issue]:
    """Every problem in a scenario's ``policies`` section, parameters an engine supplies aside.

    *section* is a :class:`edgescale.model.schema.Policies` or a mapping of kind to
    ``{"name": ..., "params": {...}}`` (``None`` entries are skipped). Values are checked by building
    each policy when it needs no engine-supplied parameter.
    """
    data = section.model_dump() if hasattr(section, "model_dump") else dict(section or {})
    out: list[Issue] = []
    for kind, chosen in data.items():
        if chosen is None:
            continue
        name, params = chosen.get("name"), chosen.get("params") or {}
        issues, cls = _issues(kind, name, params, engine_supplies=True)
        if not issues and cls is not None and not (cls.ENGINE_PARAMS - set(params)):
            issues = _construct(kind, cls, params)[1]
        out.extend(issues)
    return out
