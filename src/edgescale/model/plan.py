"""The plan file: one versioned JSON format shared by optimize, analyze, simulate, report and operate.

A plan says where service replicas run (``replicas``), which sites serve each demand point for each
service (``routes``: fractions per group x access site x service), and optionally balancing weights,
offloading, caching and DVFS decisions, with the objective values, bound, gap and status of the solver
that made it. It records the SHA-256 of the scenario it was made for; a plan for another scenario is
rejected. Paths between sites are minimum-latency paths (ties by site index) unless a later section
says otherwise.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edgescale.errors import Issue, ScenarioError
from edgescale.model._errors import issues_from_validation, suggest
from edgescale.model.io import (
    canonical_json,
    matches_scenario_sha256,
    parse_document,
    scenario_sha256,
    write_atomic,
)
from edgescale.model.schema import Scenario

__all__ = [
    "PLAN_SCHEMA_VERSION",
    "Plan",
    "PlanArrays",
    "ReplicaEntry",
    "RouteEntry",
    "check_plan_matches",
    "load_plan",
    "plan_to_arrays",
    "save_plan",
]

PLAN_SCHEMA_VERSION = 1


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplicaEntry(_M):
    service: str
    site: str
    count: int = Field(ge=1)


class RouteEntry(_M):
    """Share of the requests of demand point (group, access_site) for ``service`` sent to ``site``."""

    group: str
    access_site: str
    service: str
    site: str
    fraction: float = Field(gt=0.0, le=1.0)


class WeightEntry(_M):
    service: str
    site: str
    weight: float = Field(ge=0.0)


class OffloadEntry(_M):
    """Share of a group's tasks run on the device itself, at the edge, or in the cloud."""

    group: str
    device: float = Field(ge=0.0, le=1.0)
    edge: float = Field(ge=0.0, le=1.0)
    cloud: float = Field(ge=0.0, le=1.0)


class CacheEntry(_M):
    site: str
    items: tuple[int, ...]


class DvfsEntry(_M):
    site: str
    frequency_ghz: float = Field(gt=0.0)


class ScenarioRef(_M):
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    overrides: tuple[str, ...] = ()


class Pareto(_M):
    objectives: tuple[str, ...]
    points: tuple[tuple[float, ...], ...]
    chosen: int = Field(ge=0)
    hypervolume: float | None = None

    @model_validator(mode="after")
    def _chosen_in_range(self) -> Pareto:
        if self.chosen >= len(self.points):
            raise ValueError(f"chosen must index points (got {self.chosen} with {len(self.points)} points)")
        if any(len(p) != len(self.objectives) for p in self.points):
            raise ValueError("every point needs one value per objective")
        return self


class Plan(_M):
    """A decision for one scenario (see the module docstring)."""

    schema_version: Literal[1] = 1
    kind: Literal["edgescale.plan"] = "edgescale.plan"
    scenario: ScenarioRef
    created_by: str = "default"
    routing: Literal["min_latency"] = "min_latency"
    replicas: tuple[ReplicaEntry, ...] = ()
    routes: tuple[RouteEntry, ...] = ()
    balancing: tuple[WeightEntry, ...] = ()
    offload: tuple[OffloadEntry, ...] = ()
    cache: tuple[CacheEntry, ...] = ()
    dvfs: tuple[DvfsEntry, ...] = ()
    objectives: dict[str, float] = {}
    bound: float | None = None
    gap: float | None = Field(None, ge=0.0)
    status: Literal["default", "optimal", "feasible", "time_limit", "heuristic", "infeasible"] = "default"
    solve_seconds: float | None = Field(None, ge=0.0)
    pareto: Pareto | None = None
    notes: tuple[str, ...] = ()


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file, every problem at once."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError([Issue("<file>", "cannot read plan", str(p))], str(p)) from e
    data = parse_document(text, source=str(p), fmt="json" if p.suffix == ".json" else None)
    if not isinstance(data, dict):
        raise ScenarioError([Issue("<root>", "a plan must be a JSON object", type(data).__name__)], str(p))
    try:
        return Plan.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(issues_from_validation(e, data, Plan), str(p)) from e


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write a plan as JSON, atomically."""
    write_atomic(path, json.dumps(plan.model_dump(mode="json"), indent=1) + "\n")


def plan_sha256(plan: Plan) -> str:
    """SHA-256 of the plan's content: its canonical JSON without the ``created_by`` label.

    Two plans with the same decisions have the same digest whatever made them; results files record it
    (``plan_sha256``) so that a report checks results against its plan by content, not by name.
    """
    data = plan.model_dump(mode="json", exclude={"created_by"})
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def check_plan_matches(plan: Plan, scenario: Scenario | str, *, source: str | None = None) -> None:
    """Reject a plan made for another scenario.

    Parameters
    ----------
    plan : Plan
        The plan, as loaded.
    scenario : Scenario or str
        The scenario the plan is to be used with, or its :func:`~edgescale.model.io.scenario_sha256`.
        Pass the scenario: then a plan written by an earlier edgescale version, which recorded the digest
        of every field defaults included (:func:`~edgescale.model.io.all_fields_sha256`), is accepted too.
        Both are accepted because the two digests name the same scenario: the old one changes whenever a
        release adds a defaulted field, although the scenario means the same, and refusing such plans
        would break every saved plan at each release. Given only a digest, the plan must record exactly it.
    source : str, optional
        The plan's file, for the error.

    Raises
    ------
    ScenarioError
        At ``scenario.sha256`` when the plan records neither digest, with this scenario's digest as hint.
    """
    if isinstance(scenario, str):
        sha, ok = scenario, plan.scenario.sha256 == scenario
    else:
        sha, ok = scenario_sha256(scenario), matches_scenario_sha256(scenario, plan.scenario.sha256)
    if not ok:
        raise ScenarioError(
            [
                Issue(
                    "scenario.sha256",
                    f"plan was made for another scenario ('{plan.scenario.name}')",
                    plan.scenario.sha256[:12] + "...",
                    f"this scenario's sha256 is {sha[:12]}...; re-run optimize for it",
                )
            ],
            source,
        )


class PlanArrays:
    """A plan as arrays over a compiled system.

    ``replicas``: (n_services, n_sites) int32. Routes: parallel arrays ``route_demand`` (demand point
    index), ``route_service``, ``route_site``, ``route_fraction``.
    """

    def __init__(
        self,
        replicas: NDArray[np.int32],
        route_demand: NDArray[np.int64],
        route_service: NDArray[np.int32],
        route_site: NDArray[np.int32],
        route_fraction: NDArray[np.float64],
    ) -> None:
        self.replicas = replicas
        self.route_demand = route_demand
        self.route_service = route_service
        self.route_site = route_site
        self.route_fraction = route_fraction


def plan_to_arrays(plan: Plan, arrays: Any, *, source: str | None = None) -> PlanArrays:
    """Resolve names in *plan* against compiled :class:`~edgescale.model.arrays.SystemArrays`."""
    site_pos = {n: i for i, n in enumerate(arrays.site_ids)}
    svc_pos = {n: i for i, n in enumerate(arrays.service_ids)}
    grp_pos = {n: i for i, n in enumerate(arrays.group_ids)}
    n_sites = len(arrays.site_ids)
    dkey = arrays.demand_group.astype(np.int64) * n_sites + arrays.demand_site
    dpos = {int(k): i for i, k in enumerate(dkey)}
    issues: list[Issue] = []

    def look(table: dict[str, int], name: str, where: str, what: str) -> int:
        if name in table:
            return table[name]
        if len(issues) < 50:
            issues.append(Issue(where, f"unknown {what}", name, suggest(name, list(table))))
        return -1

    rep = np.zeros((len(arrays.service_ids), n_sites), np.int32)
    for k, r in enumerate(plan.replicas):
        i = look(svc_pos, r.service, f"replicas[{k}].service", "service")
        j = look(site_pos, r.site, f"replicas[{k}].site", "site")
        if i >= 0 and j >= 0:
            rep[i, j] += r.count
    n = len(plan.routes)
    rd = np.empty(n, np.int64)
    rs = np.empty(n, np.int32)
    rt = np.empty(n, np.int32)
    rf = np.empty(n, np.float64)
    for k, e in enumerate(plan.routes):
        g = look(grp_pos, e.group, f"routes[{k}].group", "device group")
        a = look(site_pos, e.access_site, f"routes[{k}].access_site", "site")
        rs[k] = look(svc_pos, e.service, f"routes[{k}].service", "service")
        rt[k] = look(site_pos, e.site, f"routes[{k}].site", "site")
        rf[k] = e.fraction
        rd[k] = dpos.get(g * n_sites + a, -1) if g >= 0 and a >= 0 else -1
        if g >= 0 and a >= 0 and rd[k] < 0 and len(issues) < 50:
            issues.append(
                Issue(f"routes[{k}]", "no devices of this group reach this access site", e.access_site)
            )
        if rs[k] >= 0 and rt[k] >= 0 and rep[rs[k], rt[k]] == 0 and len(issues) < 50:
            issues.append(Issue(f"routes[{k}].site", f"no replica of '{e.service}' runs here", e.site))
    if issues:
        raise ScenarioError(issues, source)
    return PlanArrays(rep, rd, rs, rt, rf)
