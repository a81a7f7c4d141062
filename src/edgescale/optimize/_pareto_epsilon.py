"""Exact Pareto front of the placement MILP by the adaptive ε-constraint method.

Minimise the first objective ``f1`` with every other objective ``f_k`` held strictly below an upper
bound ``u_k`` (``f_k <= u_k - delta_k``), then, with ``f1`` fixed at its optimum, minimise the sum of
the others (scaled) so the point found is non-dominated. The bounds ``u`` form a grid: per
constrained objective, the distinct values of the points found so far plus infinity. Every grid cell
is solved until no new point appears (Laumanns, Thiele and Zitzler, EJOR 169 (2006) 932-942).

Exactness: when the front is finite, every non-dominated point ``y`` is found. At the fixed point take
the cell whose bounds are the least grid values above ``y``'s; its optimum ``y'`` has
``f1(y') <= f1(y)`` and each other ``f_k(y') < u_k``, so ``f_k(y') <= f_k(y)`` (no grid value lies
between), and since ``y`` is non-dominated, ``y' = y``. The front is finite when at most one of the
objectives depends on the (continuous) routing: latency and dynamic energy both do, unless dynamic
power per unit of work is the same at every site. Otherwise the front has continuous pieces and the
method returns points on it until ``max_points`` or the time limit.

Shortcuts: a cell whose bounds are all at most those of an infeasible cell is infeasible; a cell
whose bounds are all at most those of a solved cell, and which that cell's point satisfies, has the
same point.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._pareto_common import combine, values
from edgescale.optimize._placement_milp import solve
from edgescale.optimize._placement_model import Objective, PlacementModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DELTA_REL = 1e-5
"""Strictness of ``f_k < u_k``: ``delta_k`` is this share of the objective's spread (or magnitude)."""


@dataclass
class EpsilonFront:
    """Points found (objective vectors and decisions), whether the search finished, subproblems solved."""

    points: list[F64]
    decisions: list[tuple[F64, I64]]
    complete: bool
    all_optimal: bool
    solves: int


class _Search:
    def __init__(
        self,
        m: PlacementModel,
        a: SystemArrays,
        objs: Sequence[Objective],
        budget_per_hour: float | None,
        seed: int,
        deadline: float,
    ) -> None:
        self.m, self.a, self.objs = m, a, list(objs)
        self.budget, self.seed, self.deadline = budget_per_hour, seed, deadline
        self.points: list[F64] = []
        self.decisions: list[tuple[F64, I64]] = []
        self.all_optimal = True
        self.solves = 0
        self.delta = np.zeros(len(objs))

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def _start(self, bounds: F64) -> tuple[F64, I64] | None:
        """A known decision within the bounds of the other objectives (a warm start), if any."""
        for (z, kq), p in zip(self.decisions, self.points, strict=True):
            if np.all(p[1:] <= bounds):
                return z, kq
        return None

    def _milp(
        self, obj: Objective, caps: tuple[tuple[Objective, float], ...], start: tuple[F64, I64] | None
    ) -> tuple[F64, I64] | None:
        """One MILP; None when infeasible; raises TimeoutError when the time is up without a solution."""
        self.solves += 1
        res = solve(
            self.m,
            self.a,
            obj,
            integer=True,
            time_limit_s=max(self.left(), 0.5),
            budget_per_hour=self.budget,
            link=True,
            seed=self.seed,
            start=start,
            caps=caps,
        )
        if res.status == "infeasible":
            return None
        if res.z is None or res.kq is None:
            raise TimeoutError
        self.all_optimal &= res.status == "optimal"
        return res.z, res.kq

    def cell(self, upper: tuple[float, ...]) -> F64 | None:
        """Solve one cell: the point found (added to the front when new), or None when infeasible."""
        caps = tuple(
            (o, u - d)
            for o, u, d in zip(self.objs[1:], upper, self.delta[1:], strict=True)
            if math.isfinite(u)
        )
        bounds = np.asarray(upper, np.float64) - self.delta[1:]
        first = self._milp(self.objs[0], caps, self._start(bounds))
        if first is None:
            return None
        f1 = values(self.m, self.objs, *first)[0]
        if len(self.objs) > 1:  # among the f1-optimal points, the least scaled sum of the others
            scale = [1.0 / d for d in self.delta[1:]]  # proportional to 1 / spread of each objective
            lex = combine(self.objs[1:], scale)
            tol = max(abs(f1) * 1e-6, 1e-9)  # HiGHS proves optimality to 1e-6
            refined = self._milp(lex, (*caps, (self.objs[0], f1 + tol)), first)
            first = refined if refined is not None else first
        p = values(self.m, self.objs, *first)
        self._add(p, first)
        return p

    def _add(self, p: F64, decision: tuple[F64, I64]) -> None:
        tol = 1e-7 * np.maximum(np.abs(p), 1e-9) + self.delta * 0.1
        for q in self.points:
            if np.all(np.abs(q - p) <= tol):
                return
        self.points.append(p)
        self.decisions.append(decision)


def epsilon_front(
    m: PlacementModel,
    a: SystemArrays,
    objs: Sequence[Objective],
    *,
    time_limit_s: float,
    max_points: int,
    budget_per_hour: float | None = None,
    seed: int = 0,
    resolution: float = DELTA_REL,
) -> EpsilonFront:
    """The adaptive ε-constraint search (see the module docstring); ``objs[0]`` is minimised in every cell.

    ``resolution``: the strictness ``delta_k`` as a share of each objective's spread; points closer
    than that in every bounded objective are not told apart (exact for finite fronts whose points
    differ by more).
    """
    s = _Search(m, a, objs, budget_per_hour, seed, time.perf_counter() + time_limit_s)
    p_dim = len(objs)
    complete = False
    try:
        # spreads for the strictness delta: each objective's own optimum versus the first point
        anchors = []
        for k in range(p_dim):
            sol = s._milp(objs[k], (), None)
            if sol is None:
                return EpsilonFront([], [], True, True, s.solves)
            anchors.append(values(m, objs, *sol))
        anch = np.array(anchors)
        spread = anch.max(axis=0) - anch.min(axis=0)
        s.delta = resolution * np.where(spread > 0, spread, np.maximum(np.abs(anch).max(axis=0), 1e-6))
        solved: dict[tuple[float, ...], F64 | None] = {}
        while True:
            grids = [
                sorted({float(p[k]) for p in s.points} | {math.inf}, reverse=True) for k in range(1, p_dim)
            ]
            new = False
            for upper in itertools.product(*grids):
                if upper in solved:
                    continue
                if len(s.points) >= max_points:
                    raise TimeoutError
                known = _implied(upper, solved, s.delta[1:])
                if known is not None:
                    solved[upper] = known[0]
                    continue
                if s.left() <= 0:
                    raise TimeoutError
                before = len(s.points)
                solved[upper] = s.cell(upper)
                new |= len(s.points) > before
            if not new:
                complete = True
                break
    except TimeoutError:
        complete = False
    return EpsilonFront(s.points, s.decisions, complete, s.all_optimal, s.solves)


def _implied(
    upper: tuple[float, ...], solved: dict[tuple[float, ...], F64 | None], delta: F64
) -> tuple[F64 | None] | None:
    """The answer of a cell when a solved cell with larger bounds settles it, else None."""
    for other, point in solved.items():
        if not all(u <= o for u, o in zip(upper, other, strict=True)):
            continue
        if point is None:
            return (None,)
        if all(v <= u - d for v, u, d in zip(point[1:], upper, delta, strict=True)):
            return (point,)
    return None
