"""Orchestration of the GAP solvers on minimisation-form arrays (see ``gap.solve_gap``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.optimize import _gap_bounds, _gap_colgen, _gap_heur, _gap_milp

__all__ = ["RawSolve", "SolveBudget", "run_bounds", "run_solver"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Checker = Callable[[IntArray], list[str]]


@dataclass(frozen=True)
class SolveBudget:
    """How the wall-clock budget is shared: fractions of ``time_limit_s`` and a stall limit."""

    time_limit_s: float
    search_share: float
    lagrangian_share: float
    dive_share: float
    dive_max_jobs_per_agent: int
    diversify_gap: float
    idle_dives: int
    patience: int


@dataclass
class RawSolve:
    """Outcome in minimisation form: the best plan (or ``None``), its cost and the best bound."""

    assignment: IntArray | None
    cost: float
    bound: float
    proven: bool
    stats: dict[str, float] = field(default_factory=dict)


class _Solver:
    """Keeps the incumbent and the bound while the phases run; every plan offered is checked."""

    def __init__(
        self, c: FloatArray, a: FloatArray, b: FloatArray, budget: SolveBudget, seed: int, check: Checker
    ):
        self.c, self.a, self.b = c, a, b
        self.m, self.n = c.shape
        self.budget, self.seed, self.check = budget, seed, check
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + budget.time_limit_s
        self.integral = bool(np.all(c == np.round(c)))
        self.best: IntArray | None = None
        self.best_cost = math.inf
        self.bound = -math.inf
        self.milp_optimal = False
        self.stats: dict[str, float] = {}

    def cost(self, asg: IntArray) -> float:
        return float(self.c[asg, np.arange(self.n)].sum())

    def offer(self, asg: IntArray | None, source: str) -> None:
        """Take ``asg`` as incumbent if it is feasible and cheaper."""
        if asg is None:
            return
        if self.check(asg):
            self.stats["rejected_plans"] = self.stats.get("rejected_plans", 0.0) + 1
            return
        value = self.cost(asg)
        self.stats[f"{source}_objective"] = min(value, self.stats.get(f"{source}_objective", math.inf))
        if value < self.best_cost - 1e-9:
            self.best, self.best_cost = asg.copy(), value

    def raise_bound(self, value: float, source: str) -> None:
        self.stats[f"{source}_bound"] = value
        self.bound = max(self.bound, value)

    def rounded_bound(self) -> float:
        if self.integral and math.isfinite(self.bound):
            return float(math.ceil(self.bound - 1e-6))
        return self.bound

    def proven(self) -> bool:
        if self.milp_optimal:
            return True
        tol = 1e-9 * max(1.0, abs(self.best_cost)) if math.isfinite(self.best_cost) else 0.0
        return self.best is not None and self.rounded_bound() >= self.best_cost - tol

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def target(self) -> float:
        return self.rounded_bound() if math.isfinite(self.bound) else -math.inf

    # ------------------------------------------------------------------ phases

    def necessary_conditions(self) -> None:
        """Raise InfeasibleError if a job fits no agent or the total capacity is short."""
        a, b = self.a, self.b
        fits = a <= b[:, None] * (1 + 1e-12) + 1e-12
        homeless = np.flatnonzero(~fits.any(axis=0))
        if homeless.size:
            j = int(homeless[0])
            i = int(np.argmin(a[:, j] - b))
            over = float(a[i, j] - b[i])
            more = f"; {homeless.size - 1} more job(s) fit no agent" if homeless.size > 1 else ""
            raise InfeasibleError(
                f"job {j}: fits no agent; its best agent {i} has capacity {b[i]:g} but the job needs "
                f"{a[i, j]:g} there (over by {over:g}){more}",
                constraint=f"job {j}",
                excess=over,
            )
        need = float(np.where(fits, a, np.inf).min(axis=0).sum())
        have = float(b.sum())
        if need > have + 1e-9 * max(1.0, have):
            raise InfeasibleError(
                f"total capacity: the jobs need at least {need:g} but the agents have {have:g} "
                f"(short by {need - have:g})",
                constraint="total capacity",
                excess=need - have,
            )

    def infeasible(self, proof: str) -> InfeasibleError:
        integer = proof == "MILP"
        over = _gap_milp.min_overflow(
            self.a, self.b, time_limit=min(max(self.remaining(), 1.0), 10.0), integer=integer
        )
        if integer and over > 0 and np.all(self.a == np.round(self.a)):
            over = float(math.ceil(over - 1e-6))
        short = f"; at least {over:g} units of capacity are missing in total" if over > 0 else ""
        return InfeasibleError(
            f"agent capacities: no assignment of all {self.n} jobs fits (proved by the {proof}){short}",
            constraint="agent capacities",
            excess=over if over > 0 else None,
        )

    def lp(self) -> _gap_milp.LpOutcome:
        lp = _gap_milp.solve_lp(self.c, self.a, self.b, time_limit=max(self.remaining(), 0.1))
        if not lp.feasible:
            raise self.infeasible("LP relaxation")
        self.raise_bound(lp.value, "lp")
        return lp

    def construct(self, lp: _gap_milp.LpOutcome) -> IntArray:
        """Greedy plans (improved by descent); returns the best start for the search."""
        guided = self.c - np.minimum(lp.v, 0.0)[:, None] * self.a
        starts = _gap_heur.greedy_starts(self.c, self.a, self.b, [guided])
        overflow = []
        for asg in starts:
            load = _gap_heur.loads_of(self.a, asg, self.m)
            overflow.append(float(np.maximum(load - self.b, 0.0).sum()))
            if overflow[-1] <= 0:
                self.offer(_gap_heur.descent(self.c, self.a, self.b, asg), "greedy")
        return self.best if self.best is not None else starts[int(np.argmin(overflow))]

    def lagrangian(self, lp: _gap_milp.LpOutcome | None) -> _gap_bounds.LagrangianOutcome:
        t = time.perf_counter()
        out = _gap_bounds.lagrangian_bound(
            self.c,
            self.a,
            self.b,
            u0=lp.u if lp is not None and math.isfinite(lp.value) else None,
            upper=self.best_cost,
            deadline=min(self.deadline, t + self.budget.lagrangian_share * self.budget.time_limit_s),
            integral_costs=self.integral,
        )
        self.raise_bound(out.bound, "lagrangian")
        self.offer(out.assignment, "lagrangian")
        self.stats["lagrangian_iterations"] = out.iterations
        self.stats["lagrangian_seconds"] = time.perf_counter() - t
        return out

    def column_generation(self, lag: _gap_bounds.LagrangianOutcome) -> _gap_colgen.ColumnGeneration:
        """Root column generation seeded with the Lagrangian knapsacks and the incumbent."""
        t = time.perf_counter()
        seeds = list(lag.columns)
        if self.best is not None:
            seeds += [(i, np.flatnonzero(self.best == i).astype(np.int64)) for i in range(self.m)]
        cg = _gap_colgen.ColumnGeneration(
            self.c, np.rint(self.a).astype(np.int64), np.floor(self.b + 1e-9).astype(np.int64), seeds
        )
        self.raise_bound(cg.root(lag.u, self.dive_deadline()), "colgen")
        self.stats["colgen_seconds"] = time.perf_counter() - t
        return cg

    def dive_deadline(self, until: float | None = None) -> float:
        end = time.perf_counter() + self.budget.dive_share * self.budget.time_limit_s
        return min(self.deadline, end, until if until is not None else end)

    def dive(
        self, cg: _gap_colgen.ColumnGeneration, rng: np.random.Generator | None, until: float
    ) -> IntArray:
        """One dive before ``until``; returns its plan, completed greedily where jobs were left open."""
        t = time.perf_counter()
        asg = self.complete(cg.dive(self.dive_deadline(until), rng))
        if np.all(_gap_heur.loads_of(self.a, asg, self.m) <= self.b + 1e-9):
            self.offer(asg, "dive")
        self.stats["dives"] = self.stats.get("dives", 0.0) + 1
        self.stats["colgen_iterations"] = cg.iterations
        self.stats["colgen_columns"] = cg.columns
        self.stats["colgen_seconds"] = self.stats.get("colgen_seconds", 0.0) + time.perf_counter() - t
        return asg

    def relative_gap(self) -> float:
        if self.best is None or not math.isfinite(self.bound):
            return math.inf
        return (self.best_cost - self.rounded_bound()) / max(abs(self.best_cost), 1e-9)

    def complete(self, asg: IntArray) -> IntArray:
        """Give every open job (-1) the agent it overloads least, in order of weight."""
        asg = asg.copy()
        load = np.zeros(self.m)
        done = asg >= 0
        np.add.at(load, asg[done], self.a[asg[done], np.flatnonzero(done)])
        for j in sorted(np.flatnonzero(~done), key=lambda j: -self.a[:, j].min()):
            i = int(np.argmin(load + self.a[:, j] - self.b))
            asg[j] = i
            load[i] += self.a[i, j]
        return asg

    def search(self, start: IntArray, deadline: float) -> bool:
        """One ejection-chain search; True if it improved the incumbent."""
        t = time.perf_counter()
        before = self.best_cost
        out = _gap_heur.ejection_chain_search(
            self.c,
            self.a,
            self.b,
            start,
            deadline=deadline,
            target=self.target(),
            patience=self.budget.patience,
            incumbent=self.best_cost,
        )
        self.offer(out.assignment, "search")
        self.stats["search_rounds"] = self.stats.get("search_rounds", 0.0) + out.rounds
        self.stats["search_seconds"] = self.stats.get("search_seconds", 0.0) + time.perf_counter() - t
        return self.best_cost < before

    def improve(self, starts: list[IntArray], deadline: float) -> None:
        """Search from each start, then from the incumbent again for as long as that pays off."""
        for start in starts:
            if self.proven() or time.perf_counter() >= deadline:
                return
            self.search(start, deadline)
        while self.best is not None and not self.proven() and time.perf_counter() < deadline:
            if not self.search(self.best, deadline):
                return

    def heuristics(self, until: float) -> None:
        """Bounds, constructions, dives and searches until ``until`` or a proof of optimality."""
        lp = self.lp()
        start = self.construct(lp)
        if self.proven():
            return
        lag = self.lagrangian(lp)
        if self.proven():
            return
        if lag.exact_knapsacks and self.m > 1 and self.n <= self.budget.dive_max_jobs_per_agent * self.m:
            self.dive_and_search(self.column_generation(lag), until)
        else:
            self.improve([start], until)

    def dive_and_search(self, cg: _gap_colgen.ColumnGeneration, until: float) -> None:
        """A dive and a search from it; more randomised dives while the gap is wide and they pay off."""
        self.improve([self.dive(cg, None, until)], until)
        rng = np.random.default_rng(self.seed)
        idle = 0
        while (
            idle < self.budget.idle_dives
            and not self.proven()
            and time.perf_counter() < until
            and self.relative_gap() > self.budget.diversify_gap
        ):
            before = self.best_cost
            self.improve([self.dive(cg, rng, until)], until)
            idle = 0 if self.best_cost < before else idle + 1

    def prove_feasibility(self) -> None:
        """No plan found by the heuristics: let HiGHS look for any plan, or prove there is none."""
        if self.remaining() < 0.05:
            return
        zero = np.zeros_like(self.c)
        out = _gap_milp.solve_milp(zero, self.a, self.b, time_limit=self.remaining(), integral_costs=True)
        if out.status == "infeasible":
            raise self.infeasible("MILP")
        self.offer(out.assignment, "feasibility")

    def milp(self) -> None:
        if self.remaining() < 0.05:
            return
        out = _gap_milp.solve_milp(
            self.c,
            self.a,
            self.b,
            time_limit=self.remaining(),
            start=self.best,
            integral_costs=self.integral,
            seed=self.seed,
        )
        self.stats["milp_seconds"] = out.seconds
        if out.status == "infeasible":
            raise self.infeasible("MILP")
        self.raise_bound(out.bound, "milp")
        self.offer(out.assignment, "milp")
        tol = 1e-9 * max(1.0, abs(out.objective)) if math.isfinite(out.objective) else 0.0
        self.milp_optimal = out.status == "optimal" and self.best_cost <= out.objective + tol
        self.stats["milp_optimal"] = float(self.milp_optimal)


def run_solver(
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    *,
    method: str,
    budget: SolveBudget,
    seed: int,
    check: Checker,
) -> RawSolve:
    """Run the phases of ``method`` on the minimisation-form arrays."""
    s = _Solver(c, a, b, budget, seed, check)
    s.necessary_conditions()
    if method != "milp":
        s.heuristics(
            until=s.t0 + (1.0 if method == "heuristic" else budget.search_share) * budget.time_limit_s
        )
    if method != "heuristic" and not s.proven():
        s.milp()
    if s.best is None:
        s.prove_feasibility()
    return RawSolve(s.best, s.best_cost, s.rounded_bound(), s.proven(), s.stats)


def run_bounds(c: FloatArray, a: FloatArray, b: FloatArray, *, budget: SolveBudget) -> RawSolve:
    """Only the bounds: LP relaxation, Lagrangian relaxation and root column generation."""
    s = _Solver(c, a, b, budget, 0, lambda asg: [])
    s.necessary_conditions()
    lag = s.lagrangian(s.lp())
    if lag.exact_knapsacks:
        s.column_generation(lag)
    return RawSolve(None, math.inf, s.rounded_bound(), False, s.stats)
