"""The generalized assignment problem (GAP): read instances, solve them, bound them, check plans.

Each of ``n`` jobs goes to exactly one of ``m`` agents; job ``j`` on agent ``i`` costs ``c_ij`` and
uses ``a_ij`` of the agent's capacity ``b_i``. In edge terms an agent is a site and a job is a group
of users or a service to place. The objective is minimised (``sense="min"``) or maximised.

Workflow of :func:`solve_gap` with ``method="auto"``:

1. necessary conditions (every job fits some agent, total capacity suffices) or
   :class:`~edgescale.errors.InfeasibleError`;
2. LP relaxation with HiGHS (a bound, and duals that guide the greedy);
3. regret-greedy constructions (Martello–Toth) improved by shift/swap descent;
4. Lagrangian relaxation of the assignment constraints (one knapsack per agent, solved exactly by
   dynamic programming) with subgradient optimisation: a bound at least as tight as the LP;
5. on tightly packed instances (few jobs per agent), column generation seeded with the
   Lagrangian knapsacks, and dives in its master LP: each fixes whole knapsack-optimal job sets;
6. a weighted ejection-chain local search (shift, swap and longer chains, with adaptive
   penalties on overflow, i.e. strategic oscillation) from the dive's plan or the best greedy
   plan; more randomised dives and searches while the proven gap stays above 0.2 %;
7. HiGHS branch-and-cut with the best plan as MIP start, for the time that is left (30 %).

The plan returned is the best found, the bound the best proven, and the plan is checked by
:func:`check_gap_assignment`, which shares no code with the solvers, before it is returned.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import Issue, ScenarioError

if TYPE_CHECKING:
    from edgescale.optimize._gap_solve import RawSolve, SolveBudget

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "GapInstance",
    "GapResult",
    "check_gap_assignment",
    "gap_bound",
    "read_gap_file",
    "solve_gap",
    "solve_gap_file",
]

GapSense = Literal["min", "max"]
GapMethod = Literal["auto", "milp", "heuristic"]
GapStatus = Literal["optimal", "feasible", "infeasible", "time_limit"]

#: Default wall-clock budget of :func:`solve_gap`, in seconds.
DEFAULT_TIME_LIMIT_S = 60.0
#: Share of the budget the ejection-chain search may use before HiGHS takes over (``method="auto"``).
AUTO_SEARCH_SHARE = 0.7
#: Share of the budget the Lagrangian subgradient loop may use.
LAGRANGIAN_SHARE = 0.05
#: Share of the budget column generation and its dive may use.
DIVE_SHARE = 0.3
#: The dive runs when jobs per agent are at most this (tight packings, where it pays off).
DIVE_MAX_JOBS_PER_AGENT = 12
#: Further randomised dives run while the proven relative gap exceeds this...
DIVERSIFY_GAP = 0.002
#: ... and stop after this many dives in a row that did not improve the plan.
IDLE_DIVES = 5
#: Local searches without improvement after which the ejection-chain search stops (at least).
SEARCH_PATIENCE = 500
_CAPACITY_RTOL = 1e-9


def _frozen_array(value: ArrayLike, dtype: type) -> NDArray[Any]:
    arr: NDArray[Any] = np.array(value, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class GapInstance:
    """One GAP instance: ``m`` agents with capacities, ``n`` jobs with per-agent costs and weights.

    Parameters
    ----------
    name : str
        Label used in results and messages, e.g. ``"gapd-1"``.
    costs : array_like, shape (m, n)
        ``costs[i, j]`` is the cost (or profit, for ``sense="max"``) of job ``j`` on agent ``i``.
    weights : array_like, shape (m, n)
        Capacity that job ``j`` uses on agent ``i``; must be >= 0.
    capacities : array_like, shape (m,)
        Capacity of each agent; must be >= 0.
    sense : {"min", "max"}
        Whether the total cost is minimised or maximised.

    Raises
    ------
    ScenarioError
        Listing every inconsistent shape or invalid value.

    Examples
    --------
    >>> inst = GapInstance("tiny", costs=[[1, 5], [4, 2]], weights=[[3, 3], [3, 3]], capacities=[3, 3])
    >>> inst.m, inst.n, inst.sense
    (2, 2, 'min')
    >>> inst.objective([0, 1])
    3.0
    """

    name: str
    costs: NDArray[np.float64]
    weights: NDArray[np.float64]
    capacities: NDArray[np.float64]
    sense: GapSense = "min"

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        arrays = {}
        for label in ("costs", "weights", "capacities"):
            try:
                arrays[label] = _frozen_array(getattr(self, label), np.float64)
            except (TypeError, ValueError) as e:
                issues.append(Issue(label, "must be an array of numbers", hint=str(e), has_value=False))
        if not issues:
            issues = _instance_issues(arrays["costs"], arrays["weights"], arrays["capacities"])
        if self.sense not in ("min", "max"):
            issues.append(Issue("sense", "must be 'min' or 'max'", self.sense))
        if issues:
            raise ScenarioError(issues, source=self.name or None)
        for label, arr in arrays.items():
            object.__setattr__(self, label, arr)

    @property
    def m(self) -> int:
        """Number of agents."""
        return int(self.costs.shape[0])

    @property
    def n(self) -> int:
        """Number of jobs."""
        return int(self.costs.shape[1])

    def objective(self, assignment: ArrayLike) -> float:
        """Total cost (or profit) of ``assignment``, which gives the agent of each job."""
        asg = np.asarray(assignment, dtype=np.int64)
        return float(self.costs[asg, np.arange(self.n)].sum())

    def __repr__(self) -> str:
        return f"GapInstance(name={self.name!r}, m={self.m}, n={self.n}, sense={self.sense!r})"


def _instance_issues(c: NDArray[Any], a: NDArray[Any], b: NDArray[Any]) -> list[Issue]:
    issues = []
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 1:
        issues.append(Issue("costs", "must be a 2-D array with at least one agent and one job", c.shape))
    if a.shape != c.shape:
        issues.append(Issue("weights", f"must have the shape of costs {c.shape}", a.shape))
    if b.ndim != 1 or (c.ndim == 2 and b.shape[0] != c.shape[0]):
        issues.append(Issue("capacities", "must hold one value per agent (row of costs)", b.shape))
    for label, arr in (("costs", c), ("weights", a), ("capacities", b)):
        if not np.all(np.isfinite(arr)):
            issues.append(Issue(label, "must be finite", arr[~np.isfinite(arr)][:5].tolist()))
        elif label != "costs" and np.any(arr < 0):
            issues.append(Issue(label, "must be >= 0", arr[arr < 0][:5].tolist()))
    return issues


@dataclass(frozen=True, eq=False)
class GapResult:
    """The plan found by :func:`solve_gap`, with its proven bound.

    Attributes
    ----------
    assignment : ndarray of int, shape (n,)
        Agent of each job; all ``-1`` when no feasible plan was found (status ``"time_limit"``).
    objective : float
        Total cost (profit for ``sense="max"``) of the plan; ``nan`` without a plan.
    bound : float
        Proven bound on the optimum: lower for ``"min"``, upper for ``"max"``. Rounded to an
        integer when all costs are integers.
    gap : float
        ``|objective - bound| / |objective|``; 0 when proven optimal, ``nan`` without a plan.
    status : {"optimal", "feasible", "infeasible", "time_limit"}
        ``"optimal"`` only when proven (HiGHS proved it, or the bound meets the objective);
        ``"feasible"``: a checked plan, optimality not proven; ``"time_limit"``: no plan was
        found in time. ``"infeasible"`` belongs to the shared vocabulary of solver statuses:
        :func:`solve_gap` raises :class:`~edgescale.errors.InfeasibleError` instead.
    solve_seconds : float
        Wall-clock time of the whole solve.
    method : str
        The method asked for: ``"auto"``, ``"milp"`` or ``"heuristic"``.
    instance : str
        Name of the instance.
    sense : {"min", "max"}
        Objective sense.
    stats : mapping of str to float
        Diagnostics: bounds by source, time per phase, search effort.
    """

    assignment: NDArray[np.int64]
    objective: float
    bound: float
    gap: float
    status: GapStatus
    solve_seconds: float
    method: str
    instance: str = ""
    sense: GapSense = "min"
    stats: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``nan`` and infinities become ``None``), as ``--format json`` prints it."""
        return {
            "instance": self.instance,
            "sense": self.sense,
            "n": int(self.assignment.shape[0]),
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "status": self.status,
            "solve_seconds": round(self.solve_seconds, 3),
            "method": self.method,
            "assignment": self.assignment.tolist(),
            "stats": {k: _num(v) for k, v in self.stats.items()},
        }


def _num(value: float) -> float | int | None:
    if not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def check_gap_assignment(instance: GapInstance, assignment: ArrayLike) -> list[str]:
    """List every constraint that ``assignment`` violates; an empty list means it is feasible.

    Written independently of the solvers (plain loops over the instance), so that it can vouch
    for their plans.

    Parameters
    ----------
    instance : GapInstance
    assignment : array_like of int, shape (n,)
        Agent index of each job.

    Returns
    -------
    list of str
        One message per violation, as ``<where>: <rule> (got <value>)``.

    Examples
    --------
    >>> inst = GapInstance("tiny", costs=[[1, 5], [4, 2]], weights=[[3, 3], [3, 3]], capacities=[3, 3])
    >>> check_gap_assignment(inst, [0, 1])
    []
    >>> check_gap_assignment(inst, [0, 0])
    ['agent 0: load must be <= capacity 3 (got 6, over by 3)']
    >>> check_gap_assignment(inst, [0, 7])
    ['job 1: must be assigned to an agent in 0..1 (got 7)']
    """
    arr = np.asarray(assignment)
    if arr.ndim != 1 or arr.shape[0] != instance.n:
        return [f"assignment: must give one agent for each of the {instance.n} jobs (got shape {arr.shape})"]
    problems = []
    loads = [0.0] * instance.m
    for job, value in enumerate(arr.tolist()):
        agent = int(value) if isinstance(value, (int, float)) and float(value).is_integer() else None
        if agent is None or not 0 <= agent < instance.m:
            problems.append(f"job {job}: must be assigned to an agent in 0..{instance.m - 1} (got {value!r})")
            continue
        loads[agent] += float(instance.weights[agent][job])
    for agent, (load, cap) in enumerate(zip(loads, instance.capacities.tolist(), strict=True)):
        if load > cap + _CAPACITY_RTOL * max(1.0, abs(cap)):
            problems.append(
                f"agent {agent}: load must be <= capacity {cap:g} (got {load:g}, over by {load - cap:g})"
            )
    return problems


def _default_sense(stem: str) -> GapSense:
    """OR-Library convention: gap1..gap12 maximise profit, gapa..gape minimise cost."""
    return "max" if re.fullmatch(r"gap\d+", stem.lower()) else "min"


def read_gap_file(path: str | Path, *, sense: GapSense | None = None) -> list[GapInstance]:
    """Read every instance of an OR-Library GAP file.

    Parameters
    ----------
    path : str or Path
        File in the OR-Library format: the instance count, then per instance ``m n``, the ``m x n``
        costs, the ``m x n`` weights and the ``m`` capacities, all whitespace-separated.
    sense : {"min", "max"}, optional
        Objective sense. By default from the file name: ``gap1`` .. ``gap12`` are maximised,
        ``gapa`` .. ``gapd`` and any other name minimised.

    Returns
    -------
    list of GapInstance
        Named ``<stem>-<k>`` with ``k`` counted from 1, e.g. ``gapd-1``.

    Raises
    ------
    ScenarioError
        If the file cannot be read or is malformed; every problem is listed with its line and column.
    """
    from edgescale.optimize._gap_io import parse_orlib_gap

    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(
            [Issue("", "cannot read the file", hint=str(e), has_value=False)], source=str(p)
        ) from e
    chosen = sense or _default_sense(p.stem)
    raws = parse_orlib_gap(text, source=str(p))
    return [
        GapInstance(f"{p.stem}-{k}", r.costs, r.weights, r.capacities, chosen)
        for k, r in enumerate(raws, start=1)
    ]


def solve_gap(
    instance: GapInstance,
    *,
    method: GapMethod = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    seed: int = 0,
) -> GapResult:
    """Solve a GAP instance and report the best plan with a proven bound.

    Parameters
    ----------
    instance : GapInstance
    method : {"auto", "milp", "heuristic"}
        ``"milp"``: HiGHS branch-and-cut alone. ``"heuristic"``: everything but branch-and-cut
        (bounds, constructions, dives, ejection-chain search) for up to the whole budget.
        ``"auto"`` (default; the mix may change): the heuristics for up to 70 % of the budget, then
        HiGHS from the best plan (MIP start) for the rest; the best plan and the best bound of all
        phases are kept. Any method asks HiGHS for some plan, or a proof that none exists, when
        the heuristics found none.
    time_limit_s : float
        Wall-clock budget for the whole solve, in seconds. The first call in a fresh environment
        also compiles the numba kernels (about 20 s, then cached on disk).
    seed : int
        Seed for HiGHS and for the randomised dives. The search stops on stagnation, the time
        limit or a proof, so results can depend on the speed of the machine.

    Returns
    -------
    GapResult
        Checked by :func:`check_gap_assignment` before it is returned.

    Raises
    ------
    InfeasibleError
        If no assignment exists: ``constraint`` names the job that fits no agent, ``"total
        capacity"``, or ``"agent capacities"`` (proved by the LP relaxation or by HiGHS), and
        ``excess`` says by how much capacity falls short.
    ValueError
        For an unknown ``method`` or a non-positive ``time_limit_s``.

    Notes
    -----
    Minimisation form: maximisation instances are solved as ``min -c``. The bound is the best of
    the LP relaxation, the Lagrangian relaxation of the assignment constraints (whose knapsacks
    make it at least as tight as the LP; column generation converges to its optimum) and the HiGHS
    dual bound; it is rounded up (down for ``"max"``) when all costs are integers, so "optimal"
    means ``bound == objective``. Knapsacks are solved exactly when weights and capacities are
    integers; otherwise the fractional (Dantzig) knapsack bound keeps the Lagrangian bound valid
    and the column-generation dive is skipped.

    On OR-Library type D instances (5-20 agents, 100-200 jobs, 60 s on 2 shared cores) the plans
    were within 0.25 % of the best known values in our runs (HiGHS alone: up to 1.1 %); see
    ``benchmarks/optimize_gap.py``.

    References
    ----------
    .. [1] S. Martello, P. Toth, "Knapsack Problems", Wiley, 1990, ch. 7 (regret greedy).
    .. [2] M. L. Fisher, R. Jaikumar, L. N. Van Wassenhove, "A multiplier adjustment method for
       the generalized assignment problem", Management Science 32(9), 1986.
    .. [3] M. Yagiura, T. Ibaraki, F. Glover, "An ejection chain approach for the generalized
       assignment problem", INFORMS J. Computing 16(2), 2004.
    .. [4] C. Joncour et al., "Column generation based primal heuristics", Electronic Notes in
       Discrete Mathematics 36, 2010.

    Examples
    --------
    >>> inst = GapInstance("tiny", costs=[[1, 5, 3], [4, 2, 3]], weights=[[2, 2, 2], [2, 2, 2]],
    ...                    capacities=[4, 2])
    >>> res = solve_gap(inst, time_limit_s=10)
    >>> res.assignment.tolist(), res.objective, res.status
    ([0, 1, 0], 6.0, 'optimal')
    """
    from edgescale.optimize._gap_solve import run_solver

    if method not in ("auto", "milp", "heuristic"):
        raise ValueError(f"method: must be 'auto', 'milp' or 'heuristic' (got {method!r})")
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s: must be > 0 (got {time_limit_s!r})")
    t0 = time.perf_counter()
    sign = -1.0 if instance.sense == "max" else 1.0
    budget = _budget(time_limit_s)

    def check(asg: NDArray[np.int64]) -> list[str]:
        return check_gap_assignment(instance, asg)

    raw = run_solver(
        np.ascontiguousarray(sign * instance.costs),
        np.ascontiguousarray(instance.weights),
        np.ascontiguousarray(instance.capacities),
        method=method,
        budget=budget,
        seed=seed,
        check=check,
    )
    return _result(instance, raw, sign, method, time.perf_counter() - t0)


def _budget(time_limit_s: float) -> SolveBudget:
    from edgescale.optimize._gap_solve import SolveBudget

    return SolveBudget(
        time_limit_s=time_limit_s,
        search_share=AUTO_SEARCH_SHARE,
        lagrangian_share=LAGRANGIAN_SHARE,
        dive_share=DIVE_SHARE,
        dive_max_jobs_per_agent=DIVE_MAX_JOBS_PER_AGENT,
        diversify_gap=DIVERSIFY_GAP,
        idle_dives=IDLE_DIVES,
        patience=SEARCH_PATIENCE,
    )


def _result(instance: GapInstance, raw: RawSolve, sign: float, method: str, seconds: float) -> GapResult:
    stats = {k: (sign * v if k.endswith(("_bound", "_objective")) else v) for k, v in raw.stats.items()}
    bound = sign * raw.bound if math.isfinite(raw.bound) else sign * -math.inf
    if raw.assignment is None:
        asg = _frozen_array(np.full(instance.n, -1), np.int64)
        return GapResult(
            asg,
            math.nan,
            bound,
            math.nan,
            "time_limit",
            seconds,
            method,
            instance.name,
            instance.sense,
            stats,
        )
    violations = check_gap_assignment(instance, raw.assignment)
    if violations:  # pragma: no cover - offer() already filters; this is the last line of defence
        raise RuntimeError(f"{instance.name}: solver returned an infeasible plan: {violations[:3]}")
    objective = instance.objective(raw.assignment)
    gap = (
        abs(objective - bound) / abs(objective)
        if objective != 0
        else (0.0 if bound == objective else math.inf)
    )
    status: GapStatus = "optimal" if raw.proven else "feasible"
    if status == "optimal":
        bound, gap = objective, 0.0
    return GapResult(
        _frozen_array(raw.assignment, np.int64),
        objective,
        bound,
        gap,
        status,
        seconds,
        method,
        instance.name,
        instance.sense,
        stats,
    )


def gap_bound(instance: GapInstance, *, time_limit_s: float = 10.0) -> float:
    """Best proven bound without searching for a plan: lower for ``"min"``, upper for ``"max"``.

    The best of the LP relaxation, the Lagrangian relaxation of the assignment constraints and, when
    weights are integers, column generation at the root (which converges to the Lagrangian dual).
    Rounded when all costs are integers.

    Raises
    ------
    InfeasibleError
        If the necessary conditions or the LP relaxation show that no assignment exists.

    Examples
    --------
    >>> inst = GapInstance("tiny", costs=[[1, 5, 3], [4, 2, 3]], weights=[[2, 2, 2], [2, 2, 2]],
    ...                    capacities=[4, 2])
    >>> gap_bound(inst)
    6.0
    """
    from edgescale.optimize._gap_solve import run_bounds

    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s: must be > 0 (got {time_limit_s!r})")
    sign = -1.0 if instance.sense == "max" else 1.0
    budget = _budget(time_limit_s)
    budget = dataclasses.replace(budget, lagrangian_share=0.5, dive_share=0.5)
    raw = run_bounds(
        np.ascontiguousarray(sign * instance.costs),
        np.ascontiguousarray(instance.weights),
        np.ascontiguousarray(instance.capacities),
        budget=budget,
    )
    return sign * raw.bound


def solve_gap_file(
    path: str | Path,
    *,
    instance: int | Sequence[int] | None = None,
    sense: GapSense | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    method: GapMethod = "auto",
) -> list[GapResult]:
    """Read an OR-Library GAP file and solve the chosen instances (all by default).

    Parameters
    ----------
    path : str or Path
    instance : int or sequence of int, optional
        1-based instance number(s) within the file.
    sense : {"min", "max"}, optional
        Overrides the sense guessed from the file name (see :func:`read_gap_file`).
    time_limit_s : float
        Budget per instance, in seconds.
    method : {"auto", "milp", "heuristic"}

    Raises
    ------
    ScenarioError
        If the file is malformed or an instance number is out of range.
    InfeasibleError
        If a chosen instance has no feasible assignment.
    """
    instances = read_gap_file(path, sense=sense)
    if instance is None:
        chosen = list(range(1, len(instances) + 1))
    else:
        chosen = [instance] if isinstance(instance, int) else list(instance)
    bad = [k for k in chosen if not 1 <= k <= len(instances)]
    if bad:
        issue = Issue("instance", f"must be between 1 and {len(instances)}", bad if len(bad) > 1 else bad[0])
        raise ScenarioError([issue], source=str(path))
    return [solve_gap(instances[k - 1], method=method, time_limit_s=time_limit_s) for k in chosen]
