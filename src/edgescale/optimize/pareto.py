"""Pareto fronts of placement: mean latency, energy and cost traded against each other.

Every point of a front is a placement and assignment of :mod:`edgescale.optimize.placement`'s model
(same constraints: SLO-derived queue capacities, cores, memory, replica limits, failure domains, and
``budget_per_hour`` when given); objectives are its mean latency (ms), power (W) and cost per hour,
all minimised, each without the tie-breaking terms of the single-objective solver.

Methods:

- ``"epsilon"`` (exact): the adaptive ε-constraint method on the MILP (see
  :mod:`._pareto_epsilon`). When the front is finite (at most one objective depends on routing)
  and the search completes at the default resolution with every MILP proven optimal, the front is
  exact and the plan's status is ``"optimal"``; otherwise ``"feasible"``.
- ``"nsga2"``: NSGA-II (pymoo) with an integer encoding of replicas, routing weights, and repair
  to feasibility (see :mod:`._pareto_nsga2`); status ``"heuristic"``.
- ``"auto"``: ε-constraint when the model has at most :data:`EPSILON_MAX_COLUMNS` chains plus queue
  levels, NSGA-II otherwise.

Hypervolume: objectives normalised so the front's ideal point (least value of each objective) is 0
and its nadir (largest value over the front) is 1, reference point 1.1 in every coordinate; pymoo's
``HV`` indicator. To compare two fronts, use :func:`front_hypervolume` with the same ideal and nadir.

The chosen point: the one closest (Euclidean) to the ideal point after that normalisation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.plan import Pareto, Plan
from edgescale.model.schema import Scenario
from edgescale.optimize._pareto_common import (
    NAMES,
    REF_OFFSET,
    VALUE_KEY,
    hypervolume,
    knee,
    nondominated,
    pure_objectives,
)
from edgescale.optimize._pareto_epsilon import DELTA_REL, epsilon_front
from edgescale.optimize._pareto_nsga2 import nsga2_front
from edgescale.optimize._placement_milp import solve
from edgescale.optimize._placement_model import ModelOptions, PlacementModel, build_model, evaluate
from edgescale.optimize._placement_model import objective as objective_terms

__all__ = ["EPSILON_MAX_COLUMNS", "ParetoResult", "front_hypervolume", "pareto_front"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SEED_SHARE = 0.5
"""NSGA-II: share of the time limit spent on the single-objective heuristic plans that seed it."""

EPSILON_MAX_COLUMNS = 3_000
"""``method="auto"`` uses the ε-constraint MILPs up to this many chains plus queue levels."""


@dataclass(frozen=True)
class ParetoResult:
    """A Pareto front and the plan of its chosen point.

    Attributes
    ----------
    objectives : tuple of str
        Names of the objectives, in the order of ``points``' columns.
    points : ndarray (n, p)
        Non-dominated objective vectors, sorted lexicographically.
    plans : tuple of Plan
        The decision of each point (without the ``pareto`` section).
    chosen : int
        Index of the chosen point (closest to the ideal after normalisation).
    hypervolume : float
        Hypervolume of the normalised front (reference point ``reference`` per coordinate).
    ideal, nadir : ndarray (p,)
        The normalisation: least and largest value of each objective over the front.
    reference : float
        Hypervolume reference point in every normalised coordinate.
    method : str
        ``"epsilon"`` or ``"nsga2"``.
    complete : bool
        ε-constraint: the search finished and every MILP was proven optimal (the front is exact when
        finite). NSGA-II: always False.
    seconds : float
        Wall time.
    evaluations : int
        MILPs solved (ε-constraint) or genomes decoded (NSGA-II).
    """

    objectives: tuple[str, ...]
    points: F64
    plans: tuple[Plan, ...]
    chosen: int
    hypervolume: float
    ideal: F64
    nadir: F64
    reference: float
    method: str
    complete: bool
    seconds: float
    evaluations: int

    @property
    def plan(self) -> Plan:
        """The chosen point's plan, with the front in its ``pareto`` section."""
        p = self.plans[self.chosen]
        front = Pareto(
            objectives=tuple(VALUE_KEY[n] for n in self.objectives),
            points=tuple(tuple(float(v) for v in row) for row in self.points),
            chosen=self.chosen,
            hypervolume=self.hypervolume,
        )
        objectives = {k: v for k, v in p.objectives.items() if k not in ("bound", "gap")}
        objectives["hypervolume"] = self.hypervolume
        objectives["pareto_points"] = float(len(self.points))
        return p.model_copy(update={"pareto": front, "objectives": objectives})


def front_hypervolume(points: F64, ideal: F64, nadir: F64) -> float:
    """Hypervolume of ``points`` normalised by ``ideal`` (to 0) and ``nadir`` (to 1), reference 1.1 each.

    Parameters
    ----------
    points : array (n, p)
        Objective vectors (minimised).
    ideal, nadir : array (p,)
        The normalisation, usually a reference front's least and largest values.

    Returns
    -------
    float
        pymoo's ``HV`` of the normalised points with reference point (1.1, ..., 1.1); points outside
        the reference box count nothing.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> round(front_hypervolume(pts, np.zeros(2), np.ones(2)), 6)
    0.21
    """
    return hypervolume(
        np.asarray(points, np.float64), np.asarray(ideal, np.float64), np.asarray(nadir, np.float64)
    )


def _model(
    scenario: Scenario,
    a: SystemArrays,
    rho_max: float,
    min_domains: int | None,
    budget_per_hour: float | None,
) -> PlacementModel:
    from edgescale.optimize.placement import _diagnose, _local_capacity, _prechecks

    m = build_model(scenario, a, ModelOptions(rho_max=rho_max, min_domains=min_domains))
    _prechecks(a, m, budget_per_hour)
    _local_capacity(a, m)
    obj = objective_terms(a, m, {"cost": 1.0})
    lp = solve(m, a, obj, integer=False, time_limit_s=60.0, budget_per_hour=budget_per_hour, link=False)
    if lp.status == "infeasible":
        raise _diagnose(a, m, obj, budget_per_hour)
    return m


def _seeds(
    a: SystemArrays,
    m: PlacementModel,
    names: tuple[str, ...],
    seconds: float,
    budget_per_hour: float | None,
    seed: int,
) -> list[tuple[F64, I64]]:
    """Feasible starting points for NSGA-II: one construction (LP-guided greedy, else HiGHS's first
    feasible solution), then the local search of each single objective from it."""
    from edgescale.optimize._placement_heuristic import heuristic

    deadline = time.perf_counter() + seconds

    def left(share: float = 1.0) -> float:
        return max((deadline - time.perf_counter()) * share, 1.0)

    objs = {n: objective_terms(a, m, {n: 1.0}) for n in names}
    lp = solve(
        m,
        a,
        objs[names[0]],
        integer=False,
        time_limit_s=left(0.3),
        budget_per_hour=budget_per_hour,
        link=False,
    )
    first: tuple[F64, I64] | None = None
    try:
        first = heuristic(m, a, objs[names[0]], time_limit_s=left(0.1), guide=lp.z)
    except InfeasibleError:  # tight capacity: HiGHS's first feasible solution, with all the time left
        res = solve(
            m,
            a,
            objective_terms(a, m, {}),
            integer=True,
            time_limit_s=left(),
            budget_per_hour=budget_per_hour,
            link=False,
            seed=seed,
            first_solution=True,
        )
        if res.z is not None and res.kq is not None:
            first = (res.z, res.kq)
    if first is None:
        return []
    out = [first]
    for i, n in enumerate(names):
        try:
            out.append(heuristic(m, a, objs[n], time_limit_s=left(1.0 / (len(names) - i)), start=first))
        except InfeasibleError:
            continue
    return out


def pareto_front(
    scenario: Scenario,
    *,
    arrays: SystemArrays | None = None,
    objectives: Sequence[str] = NAMES,
    method: str = "auto",
    points: int = 60,
    resolution: float | None = None,
    time_limit_s: float = 120.0,
    rho_max: float = 0.8,
    budget_per_hour: float | None = None,
    min_domains: int | None = None,
    pop_size: int = 40,
    generations: int = 200,
    seed: int = 0,
) -> ParetoResult:
    """The Pareto front of placement over two or three of latency, energy and cost.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    arrays : SystemArrays, optional
        Its compiled form, if at hand.
    objectives : sequence of {"latency", "energy", "cost"}
        Two or three distinct objectives; the ε-constraint method minimises the first in every
        subproblem and bounds the others.
    method : {"auto", "epsilon", "nsga2"}
        See the module docstring.
    points : int
        The ε-constraint search stops (incomplete) at this many points.
    resolution : float, optional
        ε-constraint: the least difference, as a share of each objective's spread over the
        single-objective optima, by which a bounded objective must improve for a new point. The
        default (1e-5) separates every point of a finite front; a coarser value such as 0.02 gives
        an even sample of a front with continuous pieces (latency against energy through routing).
    time_limit_s : float
        Wall-time limit of the search (model build excluded).
    rho_max, budget_per_hour, min_domains
        As in :func:`edgescale.optimize.placement.optimize_placement`.
    pop_size, generations : int
        NSGA-II population size and most generations (the time limit may stop it sooner).
    seed : int
        Seed of HiGHS and of NSGA-II.

    Returns
    -------
    ParetoResult
        The front, the decision of each point, hypervolume and the chosen point; ``result.plan`` is
        the chosen plan with the front in its ``pareto`` section. Every plan has passed
        :func:`edgescale.optimize.check.check_plan`.

    Raises
    ------
    InfeasibleError
        When no placement meets the constraints (``constraint`` names which).
    ValueError
        On unknown objectives or method.

    Examples
    --------
    >>> from edgescale.model.io import load
    >>> r = pareto_front(load("examples/factory-cell.yaml"), objectives=("latency", "cost"), time_limit_s=60)
    >>> r.method, r.plan.pareto is not None
    ('epsilon', True)
    """
    from edgescale.optimize.check import check_plan
    from edgescale.optimize.placement import _to_plan

    names = tuple(objectives)
    if len(names) < 2 or len(set(names)) != len(names) or any(n not in NAMES for n in names):
        raise ValueError(f"objectives: two or three distinct names of {', '.join(NAMES)} (got {names!r})")
    if method not in ("auto", "epsilon", "nsga2"):
        raise ValueError(f"method must be auto, epsilon or nsga2 (got {method!r})")
    t0 = time.perf_counter()
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    m = _model(scenario, a, rho_max, min_domains, budget_per_hour)
    pure = pure_objectives(a, m)
    objs = [pure[n] for n in names]
    size = len(m.chain_latency) + len(m.level_cap)
    use = method if method != "auto" else ("epsilon" if size <= EPSILON_MAX_COLUMNS else "nsga2")
    left = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    if use == "epsilon":
        ef = epsilon_front(
            m,
            a,
            objs,
            time_limit_s=left,
            max_points=points,
            budget_per_hour=budget_per_hour,
            seed=seed,
            resolution=DELTA_REL if resolution is None else float(resolution),
        )
        pts_list, decisions, complete, evaluations = (
            ef.points,
            ef.decisions,
            ef.complete and ef.all_optimal and resolution is None,
            ef.solves,
        )
        status, by = ("optimal" if complete else "feasible"), "optimize:pareto-epsilon"
    else:
        seeds = _seeds(a, m, names, left * SEED_SHARE, budget_per_hour, seed)
        left = max(time_limit_s - (time.perf_counter() - t0), 1.0)
        pts_list, decisions, evaluations = nsga2_front(
            m,
            a,
            objs,
            time_limit_s=left,
            seed=seed,
            pop_size=pop_size,
            max_generations=generations,
            seeds=seeds,
            budget_per_hour=budget_per_hour,
        )
        complete, status, by = False, "heuristic", "optimize:pareto-nsga2"
    if not pts_list:
        raise InfeasibleError(
            f"no feasible placement found within {time_limit_s:g} s; raise the time limit",
            constraint="time_limit",
        )
    pts = np.array(pts_list)
    keep = nondominated(pts)
    pts = pts[keep]
    decisions = [decisions[i] for i in keep]
    ideal, nadir = pts.min(axis=0), pts.max(axis=0)
    hv = hypervolume(pts, ideal, nadir)
    chosen = knee(pts)
    seconds = time.perf_counter() - t0
    need = {a.service_ids[i]: int(v) for i, v in enumerate(m.min_domains)}
    obj_for_values = objective_terms(a, m, {names[0]: 1.0})
    plans: list[Plan] = []
    for i, (z, kq) in enumerate(decisions):
        vals = evaluate(m, obj_for_values, z, kq)
        vals["objective"] = float(pts[i][0])
        plan = _to_plan(
            scenario,
            a,
            m,
            z,
            kq,
            vals,
            bound=float("nan"),
            status=status,
            seconds=seconds,
            created_by=by,
            notes=(
                f"pareto: {use}, objectives {list(names)}, {len(pts)} points, hypervolume {hv:.6g} "
                f"(normalised by the front's ideal and nadir, reference {REF_OFFSET} each), chosen "
                f"point {chosen} (closest to the ideal)",
            ),
        )
        plan = plan.model_copy(
            update={"objectives": {k: v for k, v in plan.objectives.items() if k not in ("bound", "gap")}}
        )
        problems = check_plan(scenario, a, plan, min_domains=need, budget_per_hour=budget_per_hour)
        if problems:
            raise RuntimeError(
                "optimizer bug: a Pareto plan fails the checker:\n  " + "\n  ".join(problems[:10])
            )
        plans.append(plan)
    return ParetoResult(
        objectives=names,
        points=pts,
        plans=tuple(plans),
        chosen=chosen,
        hypervolume=hv,
        ideal=ideal,
        nadir=nadir,
        reference=REF_OFFSET,
        method=use,
        complete=complete,
        seconds=seconds,
        evaluations=evaluations,
    )
