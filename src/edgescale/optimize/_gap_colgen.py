"""Column generation for the GAP and a diving heuristic on its master LP (minimisation form).

The Dantzig–Wolfe master chooses one job set (a column) per agent so that every job is covered
once; its LP bound equals the Lagrangian bound with knapsack subproblems. Pricing solves one 0-1
knapsack per agent exactly (integer weights). Dual prices are smoothed towards the best Lagrangian
multipliers seen (Wentges stabilisation), which cuts the tailing-off of plain column generation.

The dive fixes the column with the largest LP value (and any at 1), regenerates columns for the
jobs and agents left, and repeats: every agent ends up with a knapsack-optimal packing under the
current prices, which is what tight instances (OR-Library type D) need. The ejection-chain search
then repairs and polishes the dive's plan.

References
----------
C. Joncour, S. Michel, R. Sadykov, D. Sverdlov, F. Vanderbeck, "Column generation based primal
heuristics", Electronic Notes in Discrete Mathematics 36, 2010.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numpy.typing import NDArray

from edgescale.optimize._gap_bounds import _knapsack_dp
from edgescale.optimize._gap_milp import quiet_highs

__all__ = ["ColumnGeneration"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Column = tuple[int, IntArray]

STABILISATION = 0.8
ROOT_ITERATIONS = 2000
STEP_ITERATIONS = 30


class _Master:
    """Restricted master LP in HiGHS; column ``k`` of ``cols`` is HiGHS column ``n + k``."""

    def __init__(self, c: FloatArray, a_int: IntArray, b_int: IntArray) -> None:
        import highspy

        self.c, self.a_int, self.b_int = c, a_int, b_int
        self.m, self.n = c.shape
        m, n = self.m, self.n
        self.h = quiet_highs()
        self.h.setOptionValue("presolve", "off")
        inf = highspy.kHighsInf
        empty_i, empty_f = np.array([], np.int32), np.array([], np.float64)
        self.h.addRows(n, np.ones(n), np.ones(n), 0, empty_i, empty_i, empty_f)
        self.h.addRows(m, np.full(m, -inf), np.ones(m), 0, empty_i, empty_i, empty_f)
        big = float(np.abs(c).max()) * 10 + 100  # artificial columns keep every master feasible
        rows = np.arange(n, dtype=np.int32)
        self.h.addCols(n, np.full(n, big), np.zeros(n), np.full(n, inf), n, rows, rows, np.ones(n))
        self.inf = inf
        self.cols: list[Column] = []
        self.keys: set[tuple[int, bytes]] = set()
        self.fixed_agent = np.zeros(m, np.bool_)
        self.covered = np.zeros(n, np.bool_)
        self.fixed: list[int] = []
        cap = int(b_int.max()) if m else 0
        self.dp = np.zeros(cap + 1)
        self.keep = np.zeros((n, cap + 1), np.bool_)
        self.sel = np.zeros(n, np.bool_)
        self.iterations = 0

    def add(self, agent: int, jobs: IntArray) -> bool:
        key = (agent, jobs.tobytes())
        if key in self.keys or jobs.size == 0:
            return False
        self.keys.add(key)
        self.cols.append((agent, jobs))
        rows = np.concatenate([jobs, [self.n + agent]]).astype(np.int32)
        cost = float(self.c[agent, jobs].sum())
        self.h.addCol(cost, 0.0, self.inf, rows.size, rows, np.ones(rows.size))
        return True

    def solve(self) -> tuple[float, FloatArray, FloatArray]:
        self.h.run()
        y = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        return float(self.h.getInfo().objective_function_value), y[: self.n], y[self.n :]

    def price(self, pi: FloatArray) -> tuple[list[Column], FloatArray]:
        """Best job set of every free agent under prices ``pi``, and its knapsack value."""
        found: list[Column] = []
        values = np.zeros(self.m)
        for i in np.flatnonzero(~self.fixed_agent):
            p = pi - self.c[i]
            p[self.covered] = -1.0
            values[i] = _knapsack_dp(p, self.a_int[i], int(self.b_int[i]), self.sel, self.dp, self.keep)
            found.append((int(i), np.flatnonzero(self.sel).astype(np.int64)))
        return found, values

    def lagrangian(self, pi: FloatArray, values: FloatArray) -> float:
        return float(pi[~self.covered].sum() - values.sum())

    def add_improving(self, found: list[Column], pi: FloatArray, mu: FloatArray) -> int:
        added = 0
        for agent, jobs in found:
            reduced = float(self.c[agent, jobs].sum() - pi[jobs].sum() - mu[agent])
            if reduced < -1e-7 and self.add(agent, jobs):
                added += 1
        return added

    def generate(
        self, max_iter: int, deadline: float, center: FloatArray | None
    ) -> tuple[float, float, bool]:
        """Column generation; returns (master LP value, best Lagrangian bound, converged)."""
        best_lb, z = -math.inf, math.inf
        for _ in range(max_iter):
            if time.perf_counter() > deadline:
                return z, best_lb, False
            self.iterations += 1
            z, pi, mu = self.solve()
            added = 0
            if center is not None:
                smooth = STABILISATION * center + (1 - STABILISATION) * pi
                found, values = self.price(smooth)
                best_lb = max(best_lb, self.lagrangian(smooth, values))
                added = self.add_improving(found, pi, mu)
            if added == 0:
                found, values = self.price(pi)
                lb = self.lagrangian(pi, values)
                if lb > best_lb:
                    best_lb, center = lb, (pi.copy() if center is not None else None)
                added = self.add_improving(found, pi, mu)
            if added == 0:
                return z, best_lb, True
        z, _, _ = self.solve()
        return z, best_lb, False

    def values(self) -> FloatArray:
        return np.asarray(self.h.getSolution().col_value, dtype=np.float64)[self.n :]

    def fix_next(self, rng: np.random.Generator | None) -> bool:
        """Fix every column at 1, or else a large fractional one; False if none is usable.

        Without ``rng`` the largest is fixed; with it, one of the three largest, in proportion to
        its value (a randomised dive).
        """
        lam = self.values()
        usable = [
            int(k)
            for k in np.flatnonzero(lam > 1e-6)
            if not self.fixed_agent[self.cols[k][0]] and not self.covered[self.cols[k][1]].any()
        ]
        if not usable:
            return False
        chosen = [k for k in usable if lam[k] > 1 - 1e-6]
        if not chosen:
            top = sorted(usable, key=lambda k: -lam[k])[: 1 if rng is None else 3]
            weights = lam[top] / lam[top].sum()
            chosen = [top[0] if rng is None else int(rng.choice(top, p=weights))]
        for k in chosen:
            agent, jobs = self.cols[k]
            if self.fixed_agent[agent] or self.covered[jobs].any():
                continue
            self.fixed_agent[agent] = True
            self.covered[jobs] = True
            self.fixed.append(k)
            self.h.changeColBounds(self.n + k, 1.0, 1.0)
        return True

    def unfix(self) -> None:
        """Release every fixed column, keeping the column pool for the next dive."""
        for k in self.fixed:
            self.h.changeColBounds(self.n + k, 0.0, self.inf)
        self.fixed.clear()
        self.fixed_agent[:] = False
        self.covered[:] = False

    def assignment(self) -> IntArray:
        """Fixed columns, then the largest LP value for jobs still open; -1 where nothing covers."""
        asg = np.full(self.n, -1, np.int64)
        best = np.zeros(self.n)
        lam = self.values()
        for k, (agent, jobs) in enumerate(self.cols):
            if lam[k] > 1e-6:
                take = jobs[(lam[k] > best[jobs]) & ~self.covered[jobs]]
                asg[take], best[take] = agent, lam[k]
            if self.fixed_agent[agent] and lam[k] > 0.5:
                asg[jobs] = agent
        return asg


class ColumnGeneration:
    """Root column generation once, then as many dives as time allows, sharing the column pool."""

    def __init__(self, c: FloatArray, a_int: IntArray, b_int: IntArray, seeds: list[Column]) -> None:
        self.master = _Master(c, a_int, b_int)
        for agent, jobs in seeds:
            self.master.add(agent, jobs)
        self.root_bound = -math.inf
        self.root_converged = False

    @property
    def iterations(self) -> int:
        return self.master.iterations

    @property
    def columns(self) -> int:
        return len(self.master.cols)

    def root(self, u0: FloatArray | None, deadline: float) -> float:
        """Stabilised column generation at the root; returns the best Lagrangian bound seen."""
        _, self.root_bound, self.root_converged = self.master.generate(ROOT_ITERATIONS, deadline, u0)
        return self.root_bound

    def dive(self, deadline: float, rng: np.random.Generator | None = None) -> IntArray:
        """One dive (randomised with ``rng``); returns its plan with ``-1`` for jobs left open."""
        master = self.master
        master.unfix()
        master.solve()
        while not master.covered.all() and time.perf_counter() < deadline:
            if not master.fix_next(rng):
                break
            if master.covered.all() or master.fixed_agent.all():
                master.solve()
                break
            master.generate(STEP_ITERATIONS, deadline, None)
        return master.assignment()
