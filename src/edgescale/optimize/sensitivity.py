"""Sensitivity of placement: shadow prices of site capacities, and demand sweeps that show where the plan changes.

Shadow prices come from the LP relaxation of the placement MILP (:mod:`._placement_milp`, the model
of :func:`edgescale.optimize.placement.optimize_placement`, with its linking rows up to
``LINK_MAX_CHAINS`` chains, as the placement's bound): the dual value of each site's cores row
and memory row, as HiGHS reports it (``row_dual``), is the change of the relaxation's optimum per
extra core or GB at that site, for small changes (while the optimal basis stays optimal). Negative
means more capacity lowers the objective. They are marginal values of the *relaxation*: the MILP's
optimum moves in steps (whole replicas), so read them as where capacity is worth adding, not as prices
for large changes. The site-capacity rows only bind where the model's queue levels can use more
than the site has, notably memory (the number of levels per queue is already capped by cores).

Demand sweeps re-solve the placement with every demand rate scaled by each factor and report the
replicas at every scale and, going up and down from the base, the first scale at which they differ
from the base plan (which replicas appear, disappear or change count).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.plan import Plan
from edgescale.model.schema import Scenario
from edgescale.optimize._placement_milp import build_lp, run_lp
from edgescale.optimize._placement_model import ModelOptions, Objective, PlacementModel, build_model
from edgescale.optimize._placement_model import objective as objective_terms

__all__ = ["DemandSweep", "ShadowPrices", "SweepPoint", "capacity_shadow_prices", "demand_sweep"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ShadowPrices:
    """Marginal values of site capacity in the LP relaxation.

    Attributes
    ----------
    objective : str
        The objective (as given to the placement).
    relaxation_value : float
        Optimum of the LP relaxation.
    cores : dict of str to float
        Per site: change of the relaxation's optimum per extra CPU core (<= 0 for a minimisation).
    memory_gb : dict of str to float
        Per site: change per extra GB of memory.
    binding_cores, binding_memory : tuple of str
        Sites whose row is tight at the optimum with a non-zero dual.
    """

    objective: str
    relaxation_value: float
    cores: dict[str, float]
    memory_gb: dict[str, float]
    binding_cores: tuple[str, ...]
    binding_memory: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (only sites with a non-zero price)."""
        return {
            "objective": self.objective,
            "relaxation_value": self.relaxation_value,
            "cores": {k: v for k, v in self.cores.items() if v != 0.0},
            "memory_gb": {k: v for k, v in self.memory_gb.items() if v != 0.0},
            "binding_cores": list(self.binding_cores),
            "binding_memory": list(self.binding_memory),
        }


def _weights(objective: str, weights: Mapping[str, float] | None) -> dict[str, float]:
    from edgescale.optimize.placement import _weights as placement_weights

    return placement_weights(objective, weights)[0]


def relaxation(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    budget_per_hour: float | None = None,
    extra_cores: F64 | None = None,
    extra_memory_gb: F64 | None = None,
    link: bool = True,
) -> tuple[float, F64, F64]:
    """Optimum of the LP relaxation and the duals of the cores and memory rows (per site).

    ``extra_cores`` / ``extra_memory_gb`` (per site) are added to the rows' right-hand sides, for
    finite differences.
    """
    groups: dict[str, tuple[int, int]] = {}
    lp = build_lp(m, a, obj, integer=False, budget_per_hour=budget_per_hour, link=link, groups=groups)
    hi = np.asarray(lp.row_upper_, np.float64)
    for name, extra in (("cores", extra_cores), ("memory", extra_memory_gb)):
        if extra is not None:
            r0, r1 = groups[name]
            hi[r0:r1] += extra
    lp.row_upper_ = hi
    h = run_lp(lp, time_limit_s=120.0)
    st = h.getModelStatus()
    if st != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleError(
            "the LP relaxation has no optimum (infeasible placement); see optimize_placement's error for which "
            "constraint",
            constraint="combined",
        )
    dual = np.asarray(h.getSolution().row_dual, np.float64)
    value = float(h.getInfo().objective_function_value)
    c0, c1 = groups["cores"]
    m0, m1 = groups["memory"]
    return value, dual[c0:c1].copy(), dual[m0:m1].copy()


def capacity_shadow_prices(
    scenario: Scenario,
    *,
    arrays: SystemArrays | None = None,
    objective: str = "latency",
    weights: Mapping[str, float] | None = None,
    rho_max: float = 0.8,
    budget_per_hour: float | None = None,
    min_domains: int | None = None,
) -> ShadowPrices:
    """Shadow prices of every site's cores and memory from the placement's LP relaxation.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    arrays : SystemArrays, optional
        Its compiled form.
    objective, weights, rho_max, budget_per_hour, min_domains
        As in :func:`edgescale.optimize.placement.optimize_placement` (single or weighted objective).

    Returns
    -------
    ShadowPrices
        Per site, the change of the relaxation's optimum per extra core and per extra GB.

    Raises
    ------
    InfeasibleError
        When the relaxation is infeasible.
    """
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    w = _weights(objective, weights)
    m = build_model(scenario, a, ModelOptions(rho_max=rho_max, min_domains=min_domains))
    obj = objective_terms(a, m, w)
    from edgescale.optimize.placement import LINK_MAX_CHAINS

    link = len(m.chain_latency) <= LINK_MAX_CHAINS  # as the placement's own LP bound
    value, dc, dm = relaxation(m, a, obj, budget_per_hour=budget_per_hour, link=link)
    tol = 1e-9 * max(abs(value), 1.0)
    return ShadowPrices(
        objective=objective,
        relaxation_value=value,
        cores={a.site_ids[j]: float(dc[j]) for j in range(a.n_sites)},
        memory_gb={a.site_ids[j]: float(dm[j]) for j in range(a.n_sites)},
        binding_cores=tuple(a.site_ids[j] for j in np.flatnonzero(np.abs(dc) > tol)),
        binding_memory=tuple(a.site_ids[j] for j in np.flatnonzero(np.abs(dm) > tol)),
    )


@dataclass(frozen=True)
class SweepPoint:
    """The placement at one demand scale."""

    scale: float
    status: str
    objective: float | None
    replicas: dict[str, int]  # "service@site" -> count
    appeared: tuple[str, ...] = ()  # versus the base plan
    disappeared: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # count differs
    error: str | None = None

    @property
    def differs(self) -> bool:
        return bool(self.appeared or self.disappeared or self.changed or self.error)


@dataclass(frozen=True)
class DemandSweep:
    """Plans over demand scales, and the first scale up and down from 1 where the replicas change."""

    objective: str
    points: tuple[SweepPoint, ...]
    first_change_up: float | None
    first_change_down: float | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "objective": self.objective,
            "first_change_up": self.first_change_up,
            "first_change_down": self.first_change_down,
            "points": [
                {
                    "scale": p.scale,
                    "status": p.status,
                    "objective": p.objective,
                    "replicas": sum(p.replicas.values()),
                    "appeared": list(p.appeared),
                    "disappeared": list(p.disappeared),
                    "changed": list(p.changed),
                    **({"error": p.error} if p.error else {}),
                }
                for p in self.points
            ],
        }


def _replica_map(plan: Plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in plan.replicas:
        key = f"{r.service}@{r.site}"
        out[key] = out.get(key, 0) + int(r.count)
    return out


def demand_sweep(
    scenario: Scenario,
    *,
    arrays: SystemArrays | None = None,
    percent: float = 20.0,
    steps: int = 4,
    scales: Sequence[float] | None = None,
    objective: str = "latency",
    weights: Mapping[str, float] | None = None,
    method: str = "auto",
    time_limit_s: float = 30.0,
    rho_max: float = 0.8,
    budget_per_hour: float | None = None,
    min_domains: int | None = None,
    seed: int = 0,
) -> DemandSweep:
    """Re-solve the placement with all demand scaled, and find where the plan's replicas change.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    arrays : SystemArrays, optional
        Its compiled form.
    percent, steps : float, int
        Scales ``1 ± percent/100 * i/steps`` for i = 1..steps (ignored when ``scales`` is given).
    scales : sequence of float, optional
        The demand factors to try (1 is added as the base).
    objective, weights, method, time_limit_s, rho_max, budget_per_hour, min_domains, seed
        As in :func:`edgescale.optimize.placement.optimize_placement` (the time limit is per solve).

    Returns
    -------
    DemandSweep
        Per scale (sorted): status, objective, replicas, and which ``service@site`` entries appear,
        disappear or change count versus the base; ``first_change_up`` / ``first_change_down`` is the
        scale nearest to 1 (above / below) whose replicas differ, or None. A scale that makes the
        placement infeasible counts as a change and carries the error.
    """
    from edgescale.optimize.placement import optimize_placement

    if scales is None:
        if percent <= 0 or steps < 1:
            raise ValueError(f"percent must be > 0 and steps >= 1 (got {percent!r}, {steps!r})")
        f = [percent / 100.0 * i / steps for i in range(1, steps + 1)]
        scales = [1.0 - x for x in f if 1.0 - x > 0] + [1.0 + x for x in f]
    if any(not (s > 0 and math.isfinite(s)) for s in scales):
        raise ValueError(f"scales must be positive and finite (got {list(scales)!r})")
    grid = sorted({1.0, *(float(s) for s in scales)})
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    results: dict[float, tuple[Plan | None, str | None]] = {}
    for s in grid:
        scaled = replace(a, demand_rate_per_s=a.demand_rate_per_s * s)
        try:
            plan = optimize_placement(
                scenario,
                arrays=scaled,
                objective=objective,
                weights=weights,
                method=method,
                time_limit_s=time_limit_s,
                rho_max=rho_max,
                budget_per_hour=budget_per_hour,
                min_domains=min_domains,
                seed=seed,
            )
            results[s] = (plan, None)
        except InfeasibleError as e:
            results[s] = (None, str(e))
    base_plan = results[1.0][0]
    if base_plan is None:
        raise InfeasibleError(f"demand sweep: the base placement is infeasible: {results[1.0][1]}")
    base = _replica_map(base_plan)
    points: list[SweepPoint] = []
    for s in grid:
        got, error = results[s]
        if got is None:
            points.append(SweepPoint(s, "infeasible", None, {}, error=error))
            continue
        rep = _replica_map(got)
        points.append(
            SweepPoint(
                scale=s,
                status=got.status,
                objective=float(got.objectives["objective"]),
                replicas=rep,
                appeared=tuple(sorted(set(rep) - set(base))),
                disappeared=tuple(sorted(set(base) - set(rep))),
                changed=tuple(sorted(k for k in set(rep) & set(base) if rep[k] != base[k])),
            )
        )
    up = next((p.scale for p in points if p.scale > 1.0 and p.differs), None)
    down = next((p.scale for p in reversed(points) if p.scale < 1.0 and p.differs), None)
    notes: tuple[str, ...] = ()
    if any(p.status not in ("optimal", "infeasible") for p in points):
        notes = ("some solves were not proven optimal: a change may come from the solver, not the demand",)
    return DemandSweep(objective, tuple(points), up, down, notes)
