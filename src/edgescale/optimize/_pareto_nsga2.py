"""Pareto front of the placement model with NSGA-II (pymoo), for instances too large for the ε-constraint MILPs.

Encoding: one integer gene per queue (replicas of a service at a site, 0..kmax, carried as a float and
floored) plus one weight per objective in [0, 1]. Decoding repairs the genome to a feasible solution:

1. replicas are lowered where a site's cores or memory, or a service's replica maximum, would be exceeded;
2. on models of up to :data:`POLISH_MAX_CHAINS` chains, when these replicas carry the demand, the
   routing is the LP optimum for them under the genome's weighted objective; otherwise
   every demand row is routed whole to its cheapest chain under the genome's weighted objective
   (objectives scaled by their spread), adding replicas where the chain needs capacity (the
   construction of :mod:`._placement_heuristic`), largest rows first;
3. queues are right-sized (replicas carrying no load removed), then replica minimums and failure
   domains are repaired;
4. on models of up to :data:`POLISH_MAX_CHAINS` chains the routing is re-optimised for the final
   replicas with an LP under the same weights.

The repaired replicas are written back into the genome (Lamarckian repair). Every decoded solution
goes into an archive; the front returned is the archive's non-dominated set, not only the last
population's. The initial population holds the greedy solution of each single objective and of
equal weights, the ``seeds`` given (feasible solutions, e.g. the single-objective heuristic plans)
and perturbed copies of them; the rest is random.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import SystemArrays
from edgescale.optimize._pareto_common import combine, nondominated, values
from edgescale.optimize._placement_heuristic import _route_row, _State, repair, right_size, state_from
from edgescale.optimize._placement_model import Objective, PlacementModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

POLISH_MAX_CHAINS = 5_000
"""Models with at most this many chains get their routing re-optimised by an LP in every decode."""


class _RouteLP:
    """The routing LP for fixed replicas, built once; each call changes costs and fixed columns only."""

    def __init__(self, m: PlacementModel, a: SystemArrays, obj: Objective) -> None:
        import highspy

        from edgescale.optimize._placement_milp import _QuietHighs, build_lp

        self.m, self.a, self.n_c = m, a, len(m.chain_latency)
        lp = build_lp(m, a, obj, integer=False, budget_per_hour=None, link=False)
        self.n_col = int(lp.num_col_)
        self.h = _QuietHighs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("time_limit", 10.0)
        self.h.passModel(lp)
        self.ok = highspy.HighsModelStatus.kOptimal
        self.idx = np.arange(self.n_c, self.n_col, dtype=np.int32)
        self.cidx = np.arange(self.n_c, dtype=np.int32)

    def __call__(self, obj: Objective, kq: I64) -> F64 | None:
        from edgescale.optimize._placement_milp import full_vector

        x = full_vector(self.m, self.a, np.zeros(self.n_c), kq)[self.n_c :]
        self.h.changeColsCost(self.n_c, self.cidx, np.asarray(obj.chain, np.float64))
        self.h.changeColsBounds(len(self.idx), self.idx, x, x)
        self.h.run()
        if self.h.getModelStatus() != self.ok:
            return None
        z: F64 = np.clip(np.asarray(self.h.getSolution().col_value, np.float64)[: self.n_c], 0.0, 1.0)
        return z


class _Decoder:
    """Genome to feasible solution, with a cache and the archive of everything decoded."""

    def __init__(
        self, m: PlacementModel, a: SystemArrays, objs: Sequence[Objective], scale: F64, budget: float | None
    ) -> None:
        self.m, self.a, self.objs, self.scale, self.budget = m, a, list(objs), scale, budget
        self.kmax = np.diff(m.q_level_ptr).astype(np.int64)
        self.order = np.argsort(-m.rate, kind="stable")
        self.cache: dict[bytes, tuple[F64, F64] | None] = {}
        self.archive: list[tuple[F64, F64, I64]] = []
        self.route = _RouteLP(m, a, objs[0]) if len(m.chain_latency) <= POLISH_MAX_CHAINS else None

    def route_objective(self, w: F64) -> Objective:
        return combine(self.objs, (np.clip(w, 0.0, 1.0) + 1e-3) / self.scale)

    def solution(self, kq_in: I64, w: F64) -> tuple[F64, I64] | None:
        """A feasible (chain shares, replicas) near the genome, or None when the repair fails."""
        m, a = self.m, self.a
        st = _State(m, a, self.route_objective(w))
        for q in np.flatnonzero(kq_in > 0):
            qi = int(q)
            j = int(m.q_site[qi])
            svc = int(m.q_service[qi])
            k = int(min(kq_in[qi], self.kmax[qi]))
            k = min(k, int((a.site_cpu_cores[j] - st.cores[j] + 1e-9) // st.cpu[qi]))
            if st.mb[qi] > 0:
                k = min(k, int((a.site_memory_gb[j] - st.mem[j] + 1e-9) // st.mb[qi]))
            k = min(k, int(st.svc_max[svc] - st.per_svc[svc]))
            if k > 0:
                st.set_level(qi, k)
        z = self.route(st.obj, st.kq) if self.route is not None else None
        try:
            if z is not None:  # the genome's replicas carry the demand: best routing for them
                st = state_from(m, a, st.obj, z, st.kq)
            else:  # complete it: route rows whole, adding replicas where needed
                for r in self.order:
                    _route_row(st, int(r))
            right_size(st)
            repair(st)
        except InfeasibleError:
            return None
        z, kq = st.z, st.kq
        if self.route is not None:
            better = self.route(st.obj, kq)
            z = better if better is not None else z
        return z, kq

    def decode(self, x: F64) -> F64:
        """Repair a genome in place (replicas written back); returns its objective vector (inf if none)."""
        n_q = len(self.kmax)
        kq = np.clip(np.floor(x[:n_q]), 0, self.kmax).astype(np.int64)
        w = np.round(x[n_q:], 2)
        key = kq.tobytes() + w.tobytes()
        hit = self.cache.get(key)
        if key not in self.cache:
            sol = self.solution(kq, w)
            if sol is None:
                hit = None
            else:
                v = values(self.m, self.objs, *sol)
                if self.budget is not None and self._cost(sol) > self.budget * (1 + 1e-9):
                    hit = None
                else:
                    hit = (v, sol[1].astype(np.float64))
                    self.archive.append((v, sol[0], sol[1]))
            self.cache[key] = hit
        if hit is None:
            return np.full(len(self.objs), np.inf)
        x[:n_q] = hit[1] + 0.5
        return hit[0]

    def _cost(self, sol: tuple[F64, I64]) -> float:
        on = np.flatnonzero(sol[1] > 0)
        a, m = self.a, self.m
        k = sol[1][on]
        core = float(
            (k * a.service_cpu_cores[m.q_service[on]] * a.site_cost_per_core_hour[m.q_site[on]]).sum()
        )
        return core + float(a.site_cost_fixed_per_hour[np.unique(m.q_site[on])].sum())


def nsga2_front(
    m: PlacementModel,
    a: SystemArrays,
    objs: Sequence[Objective],
    *,
    time_limit_s: float,
    seed: int,
    pop_size: int = 40,
    max_generations: int = 200,
    seeds: Sequence[tuple[F64, I64]] = (),
    budget_per_hour: float | None = None,
) -> tuple[list[F64], list[tuple[F64, I64]], int]:
    """NSGA-II over the encoding above; the archive's non-dominated points, their decisions, evaluations."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mutation import Mutation
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.ux import UX
    from pymoo.optimize import minimize
    from pymoo.termination.default import DefaultMultiObjectiveTermination

    p_dim = len(objs)
    scale = np.ones(p_dim)
    dec = _Decoder(m, a, objs, scale, budget_per_hour)
    n_q = len(dec.kmax)
    # spreads from the single-objective greedy solutions
    anchors = [dec.solution(np.zeros(n_q, np.int64), np.eye(p_dim)[k]) for k in range(p_dim)]
    anchors += list(seeds)
    vals = np.array([values(m, objs, *s) for s in anchors if s is not None])
    if len(vals):
        spread = vals.max(axis=0) - vals.min(axis=0)
        dec.scale = np.where(spread > 0, spread, np.maximum(np.abs(vals).max(axis=0), 1e-6))
    dec.cache.clear()
    upper = np.concatenate([dec.kmax + 1.0 - 1e-9, np.ones(p_dim)])
    lower = np.zeros(n_q + p_dim)

    class _Problem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=n_q + p_dim, n_obj=p_dim, n_ieq_constr=1, xl=lower, xu=upper)

        def _evaluate(self, X: F64, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            F = np.array([dec.decode(x) for x in X])
            bad = ~np.isfinite(F).all(axis=1)
            out["G"] = np.where(bad, 1.0, -1.0)[:, None]
            out["F"] = np.where(bad[:, None], 1e12, F)

    class _Step(Mutation):  # type: ignore[misc]
        """Integer moves: one or two queues get a replica more or less (or none); weights jitter."""

        def _do(self, problem: Any, X: F64, *args: Any, random_state: Any = None, **kwargs: Any) -> F64:
            rs = random_state if random_state is not None else np.random.default_rng(seed)
            Y = X.copy()
            for y in Y:
                for q in rs.integers(0, n_q, 1 + int(rs.random() < 0.5)):
                    r = rs.random()
                    y[q] = 0.5 if r < 0.2 else np.floor(y[q]) + (1.5 if r < 0.6 else -0.5)
                y[n_q:] += rs.normal(0.0, 0.15, p_dim)
            return np.clip(Y, lower, upper)

    class _Lamarck(Repair):  # type: ignore[misc]
        def _do(self, problem: Any, X: F64, **kwargs: Any) -> F64:
            for x in X:
                dec.decode(x)
            return X

    rng = np.random.default_rng(seed)
    init = rng.uniform(lower, upper, (pop_size, n_q + p_dim))
    init[:, :n_q] = np.floor(init[:, :n_q] * rng.uniform(0, 0.3, (pop_size, 1)))  # sparse replicas
    start: list[F64] = []
    for k in range(p_dim):
        w = np.full(p_dim, 0.0)
        w[k] = 1.0
        start.append(np.concatenate([np.zeros(n_q), w]))
    start.append(np.concatenate([np.zeros(n_q), np.full(p_dim, 0.5)]))
    for z_kq in seeds:
        start.append(np.concatenate([z_kq[1] + 0.5, np.full(p_dim, 0.5)]))
    if seeds:  # half of the random genomes become perturbed copies of the seeds (tight instances)
        for i in range(len(start), pop_size, 2):
            base = seeds[int(rng.integers(len(seeds)))][1].astype(np.float64) + 0.5
            flip = rng.integers(0, n_q, max(1, n_q // 50))
            base[flip] = np.clip(
                np.floor(base[flip]) + rng.choice([-0.5, 1.5], len(flip)), 0.5, dec.kmax[flip] + 0.5
            )
            init[i, :n_q] = base
    init[: min(len(start), pop_size)] = np.array(start[:pop_size])
    algo = NSGA2(
        pop_size=pop_size,
        sampling=init,
        crossover=UX(),
        mutation=_Step(),
        repair=_Lamarck(),
        eliminate_duplicates=True,
    )
    t_end = time.perf_counter() + time_limit_s

    class _Until(DefaultMultiObjectiveTermination):  # type: ignore[misc]
        def _update(self, algorithm: Any) -> float:
            if time.perf_counter() >= t_end or algorithm.n_gen >= max_generations:
                return 1.0
            return 0.0

    minimize(_Problem(), algo, _Until(), seed=seed, verbose=False)
    if not dec.archive:
        return [], [], len(dec.cache)
    pts = np.array([v for v, _, _ in dec.archive])
    keep = nondominated(pts)
    return (
        [pts[i] for i in keep],
        [(dec.archive[i][1], dec.archive[i][2]) for i in keep],
        len(dec.cache),
    )
