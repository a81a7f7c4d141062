"""The placement MILP (and its LP relaxation) with HiGHS, built column-wise from the model arrays.

Columns: chain shares ``z`` in [0, 1]; queue levels ``u[q, k]`` (binary: k replicas at queue q); site
openings ``open[j]`` (binary); domain indicators ``v[s, D]`` (binary, only for services that need two
or more failure domains).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csc_matrix, vstack

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_model import Objective, PlacementModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
INF = highspy.kHighsInf


class _QuietHighs(highspy.Highs):
    """A HiGHS instance that prints nothing, not even the banner, and runs on one thread.

    One thread keeps wall time close to CPU time and runs reproducible. HiGHS's thread scheduler is
    global and refuses ``threads=1`` once another run started it with more, so it is reset before
    each run (a fraction of a millisecond).
    """

    def enableCallbacks(self) -> None:  # noqa: N802 - HiGHS's name
        self.setOptionValue("output_flag", False)
        self.setOptionValue("threads", 1)
        super().enableCallbacks()  # type: ignore[no-untyped-call]

    def run(self) -> Any:
        highspy.Highs.resetThreadScheduler(True)
        return super().run()


def run_lp(lp: Any, *, time_limit_s: float) -> Any:
    """Solve a HiGHS model quietly on one thread under a time limit; returns the solver for its results."""
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.passModel(lp)
    h.run()
    return h


@dataclass(frozen=True)
class MilpResult:
    """Outcome of one HiGHS run; ``z`` and ``kq`` are None when no solution was found."""

    status: str  # "optimal", "time_limit", "infeasible", "unknown"
    z: F64 | None
    kq: I64 | None
    objective: float
    bound: float
    seconds: float
    duals: dict[str, F64] | None = None  # LP only: row duals per constraint group


class _Rows:
    """Row-wise triplet builder."""

    def __init__(self) -> None:
        self.r: list[I64] = []
        self.c: list[I64] = []
        self.v: list[F64] = []
        self.lo: list[F64] = []
        self.hi: list[F64] = []
        self.n = 0
        self.groups: dict[str, tuple[int, int]] = {}

    def add(self, rows: I64, cols: I64, vals: F64) -> None:
        self.r.append(np.asarray(rows, np.int64) + self.n)
        self.c.append(np.asarray(cols, np.int64))
        self.v.append(np.asarray(vals, np.float64))

    def close(self, count: int, lo: F64 | float, hi: F64 | float, name: str = "") -> None:
        self.groups[name] = (self.n, self.n + count)
        self.lo.append(np.broadcast_to(np.asarray(lo, np.float64), (count,)).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, np.float64), (count,)).copy())
        self.n += count


def _layout(m: PlacementModel, a: SystemArrays) -> tuple[int, int, int, list[tuple[int, int]]]:
    n_c = len(m.chain_latency)
    n_l = len(m.level_cap)
    pairs = []
    for svc in np.flatnonzero(m.min_domains > 1):
        qs = np.flatnonzero(m.q_service == svc)
        pairs += [(int(svc), int(d)) for d in np.unique(a.site_domain[m.q_site[qs]])]
    return n_c, n_l, a.n_sites, pairs


def build_lp(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    integer: bool,
    budget_per_hour: float | None,
    link: bool,
    groups: dict[str, tuple[int, int]] | None = None,
    caps: tuple[tuple[Objective, float], ...] = (),
    min_cores: F64 | None = None,
) -> Any:
    """The HighsLp of the placement model; ``groups`` receives the row range of each constraint group,
    ``min_cores`` (per site, optional) is a lower bound on the cores of each site's replicas.

    ``link`` adds one row per chain and stage: ``rate * z[c] <= sum_k min(rate, cap[q, k]) * u[q, k]``
    (a chain carries nothing where its queue has no replica, and no more than the level's capacity
    where it has one). Valid because the queue's load includes the chain's and at most one level is
    chosen; it implies the plain ``z[c] <= sum_k u[q, k]`` and is tighter where a level's capacity is
    below the demand row's rate (Melbourne, latency: LP bound 16.984; 16.978 with the plain rows,
    16.857 without; cost: MILP bound after 30 s 50.99 against 50.90 with the plain rows).
    """
    n_c, n_l, n_j, vpairs = _layout(m, a)
    o_u, o_open, o_v = n_c, n_c + n_l, n_c + n_l + n_j
    n_col = o_v + len(vpairs)
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    k = (np.arange(n_l) - m.q_level_ptr[lq] + 1).astype(np.float64)
    b = _Rows()
    b.add(rows, np.arange(n_c), np.ones(n_c))  # every demand row fully routed
    b.close(len(m.dem), 1.0, 1.0, "demand")
    n_q = len(m.q_service)
    for c in range(m.chain_queue.shape[1]):  # queue load within the level's capacity
        on = np.flatnonzero(m.chain_queue[:, c] >= 0)
        b.add(m.chain_queue[on, c], on, m.rate[rows[on]])
    b.add(lq, o_u + np.arange(n_l), -m.level_cap)
    b.close(n_q, -INF, 0.0, "load")
    b.add(lq, o_u + np.arange(n_l), np.ones(n_l))  # one level per queue, only at open sites
    b.add(np.arange(n_q), o_open + m.q_site, -np.ones(n_q))
    b.close(n_q, -INF, 0.0, "levels")
    cpu = a.service_cpu_cores[m.q_service[lq]]
    b.add(m.q_site[lq], o_u + np.arange(n_l), k * cpu)  # cores
    b.close(n_j, -INF if min_cores is None else min_cores, a.site_cpu_cores, "cores")
    b.add(m.q_site[lq], o_u + np.arange(n_l), k * a.service_memory_mb[m.q_service[lq]] / 1024.0)
    b.close(n_j, -INF, a.site_memory_gb, "memory")
    n_s = len(a.service_ids)
    b.add(m.q_service[lq], o_u + np.arange(n_l), k)  # replica limits
    mx = np.where(a.service_max_replicas > 0, a.service_max_replicas, INF).astype(np.float64)
    b.close(n_s, a.service_min_replicas.astype(np.float64), mx, "replicas")
    if vpairs:  # failure domains
        for i, (svc, dom) in enumerate(vpairs):
            sel = np.flatnonzero((m.q_service[lq] == svc) & (a.site_domain[m.q_site[lq]] == dom))
            b.add(np.full(len(sel), i), o_u + sel, -np.ones(len(sel)))
            b.add(np.array([i]), np.array([o_v + i]), np.ones(1))
        b.close(len(vpairs), -INF, 0.0, "domain_hosts")
        svcs = sorted({s for s, _ in vpairs})
        for i, svc in enumerate(svcs):
            cols = [o_v + t for t, (s, _) in enumerate(vpairs) if s == svc]
            b.add(np.full(len(cols), i), np.array(cols), np.ones(len(cols)))
        b.close(len(svcs), m.min_domains[svcs].astype(np.float64), INF, "domains")
    if budget_per_hour is not None:
        b.add(np.zeros(n_l, np.int64), o_u + np.arange(n_l), obj.cost_level)
        b.add(np.zeros(n_j, np.int64), o_open + np.arange(n_j), obj.cost_site)
        b.close(1, -INF, float(budget_per_hour), "budget")
    for i, (o, value) in enumerate(caps):  # earlier objectives of a lexicographic solve
        b.add(np.zeros(n_c, np.int64), np.arange(n_c), o.chain)
        b.add(np.zeros(n_l, np.int64), o_u + np.arange(n_l), o.level)
        b.add(np.zeros(n_j, np.int64), o_open + np.arange(n_j), o.site)
        b.close(1, -INF, value, f"objective_{i}")
    if link:  # a chain carries no more than its queues' levels do (tightens the relaxation)
        for c in range(m.chain_queue.shape[1]):
            on = np.flatnonzero(m.chain_queue[:, c] >= 0)
            q = m.chain_queue[on, c]
            cnt = np.diff(m.q_level_ptr)[q]
            r = np.repeat(np.arange(len(on)), cnt)
            lv = np.repeat(m.q_level_ptr[q], cnt) + (
                np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            )
            rate = m.rate[rows[on]]
            b.add(np.arange(len(on)), on, rate)
            b.add(r, o_u + lv, -np.minimum(rate[r], m.level_cap[lv]))
            b.close(len(on), -INF, 0.0, "link")
    mat = coo_matrix(
        (np.concatenate(b.v), (np.concatenate(b.r), np.concatenate(b.c))), shape=(b.n, n_col)
    ).tocsc()
    if groups is not None:
        groups.update(b.groups)
    has_q = np.zeros(n_j, bool)
    has_q[m.q_site] = True
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = b.n
    lp.col_cost_ = np.concatenate([obj.chain, obj.level, obj.site, np.zeros(len(vpairs))])
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.concatenate([np.ones(n_c + n_l), has_q.astype(np.float64), np.ones(len(vpairs))])
    lp.row_lower_ = np.concatenate(b.lo)
    lp.row_upper_ = np.concatenate(b.hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    if integer:
        kinds = [highspy.HighsVarType.kContinuous] * n_c + [highspy.HighsVarType.kInteger] * (n_col - n_c)
        lp.integrality_ = kinds
    return lp


def _increments(m: PlacementModel, n_col: int) -> tuple[Any, I64]:
    """The map ``u = T y`` from incremental level columns to one-hot ones, and the level columns that
    have a next level.

    ``y[q, k] = 1`` means *at least* k replicas at queue q (``y[q, k+1] <= y[q, k]``) and
    ``u[q, k] = y[q, k] - y[q, k+1]``. Both formulations describe the same integer points and the same
    LP relaxation (each is the convex hull of a queue's levels), but branching on ``y[q, k]`` splits
    "fewer than k replicas" from "k or more", which balances the search tree far better.
    """
    n_c, n_l = len(m.chain_latency), len(m.level_cap)
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    nxt = np.flatnonzero(np.r_[lq[1:] == lq[:-1], False]) if n_l else np.zeros(0, np.int64)
    r = np.r_[np.arange(n_col), n_c + nxt]
    c = np.r_[np.arange(n_col), n_c + nxt + 1]
    v = np.r_[np.ones(n_col), -np.ones(len(nxt))]
    return coo_matrix((v, (r, c)), shape=(n_col, n_col)).tocsc(), nxt.astype(np.int64)


def incremental_lp(m: PlacementModel, lp: Any) -> tuple[Any, Any]:
    """The model ``lp`` (one-hot level columns) with incremental level columns (see :func:`_increments`),
    and the map T back to one-hot values (``x = T @ y``)."""
    n, nr = int(lp.num_col_), int(lp.num_row_)
    a_mat = csc_matrix(
        (
            np.asarray(lp.a_matrix_.value_),
            np.asarray(lp.a_matrix_.index_),
            np.asarray(lp.a_matrix_.start_),
        ),
        shape=(nr, n),
    )
    t, nxt = _increments(m, n)
    n_c = len(m.chain_latency)
    k = len(nxt)
    order = coo_matrix(  # y[q, k+1] - y[q, k] <= 0
        (
            np.r_[np.ones(k), -np.ones(k)],
            (np.r_[np.arange(k), np.arange(k)], np.r_[n_c + nxt + 1, n_c + nxt]),
        ),
        shape=(k, n),
    )
    mat = vstack([(a_mat @ t).tocsr(), order.tocsr()]).tocsc()
    mat.eliminate_zeros()
    out = highspy.HighsLp()
    out.num_col_ = n
    out.num_row_ = mat.shape[0]
    out.col_cost_ = np.asarray(t.T @ np.asarray(lp.col_cost_, np.float64), np.float64)
    out.col_lower_ = np.asarray(lp.col_lower_, np.float64)
    out.col_upper_ = np.asarray(lp.col_upper_, np.float64)
    out.row_lower_ = np.r_[np.asarray(lp.row_lower_, np.float64), np.full(k, -INF)]
    out.row_upper_ = np.r_[np.asarray(lp.row_upper_, np.float64), np.zeros(k)]
    out.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    out.a_matrix_.start_ = mat.indptr.astype(np.int32)
    out.a_matrix_.index_ = mat.indices.astype(np.int32)
    out.a_matrix_.value_ = mat.data
    if len(lp.integrality_):
        out.integrality_ = lp.integrality_
    return out, t


def _to_incremental_values(m: PlacementModel, x: F64) -> F64:
    """Incremental level values ``y`` of one-hot values ``x`` (suffix sums within each queue)."""
    n_c, n_l = len(m.chain_latency), len(m.level_cap)
    y = x.copy()
    u = x[n_c : n_c + n_l]
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    total = np.bincount(lq, weights=u, minlength=len(m.q_service))
    before = np.cumsum(u) - u - (np.cumsum(np.r_[0.0, total])[lq])
    y[n_c : n_c + n_l] = total[lq] - before
    return y


def solve(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    integer: bool,
    time_limit_s: float,
    budget_per_hour: float | None,
    link: bool,
    seed: int = 0,
    mip_rel_gap: float = 1e-6,
    start: tuple[F64, I64] | None = None,
    first_solution: bool = False,
    heuristic_effort: float = 0.3,
    caps: tuple[tuple[Objective, float], ...] = (),
    incremental: bool = True,
    min_cores: F64 | None = None,
) -> MilpResult:
    """Solve the MILP (``integer=True``) or its LP relaxation with HiGHS.

    ``start`` (chain shares, replicas per queue) seeds the MILP with a feasible solution;
    ``first_solution`` stops at the first improving solution found. ``incremental`` solves the MILP
    with "at least k replicas" columns (:func:`incremental_lp`; same optimum, better branching).
    ``min_cores`` (per site) restricts the replicas' cores from below (see ``placement._fill_cores``).
    """
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    if integer:
        h.setOptionValue("mip_rel_gap", mip_rel_gap)
    if first_solution:
        h.setOptionValue("mip_max_improving_sols", 1)
    if integer:
        h.setOptionValue("mip_heuristic_effort", heuristic_effort)
    groups: dict[str, tuple[int, int]] = {}
    model = build_lp(
        m,
        a,
        obj,
        integer=integer,
        budget_per_hour=budget_per_hour,
        link=link,
        caps=caps,
        min_cores=min_cores,
        groups=groups,
    )
    t_map = None
    if integer and incremental:
        model, t_map = incremental_lp(m, model)
    h.passModel(model)
    if start is not None and integer:
        sol = highspy.HighsSolution()
        x0 = full_vector(m, a, *start)
        sol.col_value = list(_to_incremental_values(m, x0) if t_map is not None else x0)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    return result_of(h, m, integer=integer, groups=groups, t_map=t_map)


def result_of(
    h: Any,
    m: PlacementModel,
    *,
    integer: bool,
    groups: dict[str, tuple[int, int]],
    t_map: Any = None,
) -> MilpResult:
    """The outcome of the last run of ``h`` on the placement model: status, chain shares (and replicas,
    ``integer``), objective, bound, seconds, and for an optimal LP the row duals of each group in
    ``groups``. ``t_map`` maps incremental level columns back to one-hot ones (:func:`incremental_lp`)."""
    st = h.getModelStatus()
    info = h.getInfo()
    secs = float(h.getRunTime())
    if st == highspy.HighsModelStatus.kInfeasible:
        return MilpResult("infeasible", None, None, math.inf, math.inf, secs)
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    z = kq = None
    value = math.inf
    if has_sol:
        x = np.asarray(h.getSolution().col_value, np.float64)
        if t_map is not None:
            x = np.asarray(t_map @ x, np.float64)
        z = np.clip(x[: len(m.chain_latency)], 0.0, 1.0)
        u = x[len(m.chain_latency) : len(m.chain_latency) + len(m.level_cap)]
        kq = _levels_from(m, u) if integer else None
        value = float(info.objective_function_value)
    if integer:
        bound = (
            float(info.mip_dual_bound) if has_sol or st == highspy.HighsModelStatus.kOptimal else -math.inf
        )
    else:
        bound = value if st == highspy.HighsModelStatus.kOptimal else -math.inf
    if st == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif st in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        status = "time_limit"
    elif has_sol:
        status = "feasible"
    else:
        status = "unknown"
    duals = None
    if not integer and st == highspy.HighsModelStatus.kOptimal:
        y = np.asarray(h.getSolution().row_dual, np.float64)
        duals = {name: y[r0:r1] for name, (r0, r1) in groups.items()}
    return MilpResult(status, z, kq, value, bound, secs, duals)


def route_lp(
    m: PlacementModel, a: SystemArrays, obj: Objective, kq: I64, *, time_limit_s: float
) -> F64 | None:
    """Best chain shares for fixed replicas (an LP); None when the replicas cannot carry the demand."""
    lp = build_lp(m, a, obj, integer=False, budget_per_hour=None, link=False)
    x = full_vector(m, a, np.zeros(len(m.chain_latency)), kq)
    n_c = len(m.chain_latency)
    lo = np.asarray(lp.col_lower_, np.float64)
    hi = np.asarray(lp.col_upper_, np.float64)
    lo[n_c:] = x[n_c:]
    hi[n_c:] = x[n_c:]
    lp.col_lower_, lp.col_upper_ = lo, hi
    h = run_lp(lp, time_limit_s=time_limit_s)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    z: F64 = np.clip(np.asarray(h.getSolution().col_value, np.float64)[:n_c], 0.0, 1.0)
    return z


def full_vector(m: PlacementModel, a: SystemArrays, z: F64, kq: I64) -> F64:
    """All column values of a solution given as chain shares and replicas per queue."""
    n_c, n_l, n_j, vpairs = _layout(m, a)
    x = np.zeros(n_c + n_l + n_j + len(vpairs))
    x[:n_c] = z
    on = np.flatnonzero(kq > 0)
    x[n_c + m.q_level_ptr[on] + kq[on] - 1] = 1.0
    x[n_c + n_l + m.q_site[on]] = 1.0
    for i, (svc, dom) in enumerate(vpairs):
        sel = on[(m.q_service[on] == svc) & (a.site_domain[m.q_site[on]] == dom)]
        x[n_c + n_l + n_j + i] = 1.0 if len(sel) else 0.0
    return x


def _levels_from(m: PlacementModel, u: F64) -> I64:
    """Replicas per queue from the level binaries."""
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    k = np.arange(len(u)) - m.q_level_ptr[lq] + 1
    kq = np.zeros(len(m.q_service), np.int64)
    on = u > 0.5
    np.maximum.at(kq, lq[on], k[on])
    return kq


def cfl_solve(
    f: F64, u: F64, d: F64, c: F64, *, single_source: bool, time_limit_s: float
) -> tuple[NDArray[np.bool_], F64, float, float, str]:
    """Capacitated facility location MILP (see ``placement.capacitated_facility_location``)."""
    n, m = c.shape
    ok = np.isfinite(c)
    ii, jj = np.nonzero(ok)
    nx = len(ii)
    b = _Rows()
    b.add(ii, np.arange(nx), np.ones(nx))
    b.close(n, 1.0, 1.0)
    b.add(jj, np.arange(nx), d[ii])
    b.add(np.arange(m), nx + np.arange(m), -u)
    b.close(m, -INF, 0.0)
    b.add(np.arange(nx), np.arange(nx), np.ones(nx))
    b.add(np.arange(nx), nx + jj, -np.ones(nx))
    b.close(nx, -INF, 0.0)
    mat = coo_matrix(
        (np.concatenate(b.v), (np.concatenate(b.r), np.concatenate(b.c))), shape=(b.n, nx + m)
    ).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nx + m, b.n
    lp.col_cost_ = np.concatenate([c[ii, jj] * d[ii], f])
    lp.col_lower_ = np.zeros(nx + m)
    lp.col_upper_ = np.ones(nx + m)
    lp.row_lower_ = np.concatenate(b.lo)
    lp.row_upper_ = np.concatenate(b.hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    kind = highspy.HighsVarType.kInteger if single_source else highspy.HighsVarType.kContinuous
    lp.integrality_ = [kind] * nx + [highspy.HighsVarType.kInteger] * m
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        from edgescale.errors import InfeasibleError

        raise InfeasibleError(
            "capacity: no assignment fits the capacities (customers reach too little capacity)",
            constraint="capacity",
        )
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value)
    shares = np.zeros((n, m))
    shares[ii, jj] = np.clip(x[:nx], 0.0, 1.0)
    status = "optimal" if st == highspy.HighsModelStatus.kOptimal else "time_limit"
    return x[nx:] > 0.5, shares, float(info.objective_function_value), float(info.mip_dual_bound), status


def lp_feasible(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    budget_per_hour: float | None,
    relax: tuple[str, ...] = (),
    time_limit_s: float = 30.0,
) -> bool:
    """Whether the LP relaxation is feasible with the named constraint groups dropped."""
    groups: dict[str, tuple[int, int]] = {}
    lp = build_lp(m, a, obj, integer=False, budget_per_hour=budget_per_hour, link=False, groups=groups)
    lo = np.asarray(lp.row_lower_, np.float64)
    hi = np.asarray(lp.row_upper_, np.float64)
    for name in relax:
        if name in groups:
            r0, r1 = groups[name]
            lo[r0:r1], hi[r0:r1] = -INF, INF
    lp.row_lower_, lp.row_upper_ = lo, hi
    h = run_lp(lp, time_limit_s=time_limit_s)
    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)
