"""A cutting-plane lower bound for large placement models: the LP relaxation tightened by linking rows.

Models with more than ``LINK_MAX_CHAINS`` chains leave the linking rows out of their LP (with all of
them it is too slow). Without them a site opens in the LP only in proportion to its utilization, so
fixed site costs are hardly counted (the weak facility-location relaxation). This loop starts from that
weak LP, adds the linking rows its solution violates most, re-solves warm (dual simplex from the last
basis, same HiGHS object) and repeats until no row is violated by more than a tolerance or the time is
up. Each added row is valid for the MILP, so every optimal LP value on the way is a valid lower bound.

The rows, for a demand row r (rate ``rate_r``), a queue q (levels k with capacity ``cap[q, k]``) and
a site j:

``A[r, q]``: ``sum(z[c] for c of r using q at any stage) <= sum_k min(1, cap[q, k] / rate_r) * u[q, k]``

``B[r, j]``: ``sum(z[c] for c of r using site j at any stage) <= open[j]``

Validity (for every integer solution of the MILP). At most one level of q is chosen
(``sum_k u[q, k] <= open[j] <= 1``). If none is, the load row of q (``sum rate * z <= sum_k cap u``)
forces every chain through q to carry nothing, and both sides of ``A`` are 0. If level k is chosen, the
load row gives ``rate_r * sum(z[c] for c of r using q) <= load of q <= cap[q, k]`` (a chain that uses q
at two stages loads it twice, which only helps), and the demand row of r gives that sum ``<= 1``;
so the sum is at most ``min(1, cap[q, k] / rate_r)``, the right-hand side. For ``B``: a site that is
not open hosts no level (``sum_k u[q, k] <= open[j]``), so no chain through it carries anything, and
the demand row bounds the sum by 1 where it is open.

Strength. ``A[r, q]`` sums the per-chain linking rows of :func:`._placement_milp.build_lp`
(``z[c] <= sum_k min(1, cap[q, k] / rate_r) u[q, k]``) over the row's chains through q, with the same
right-hand side: it implies each of them, so the LP with all ``A`` rows is at least as tight as the LP
with all linking rows (the strong facility-location form ``sum_c x[r, c] <= y[q]``). ``B[r, j]`` is
implied by ``A`` and the level rows where the row's chains through j use one queue there (every
single-stage application), so it is a candidate only where they use two or more (a multi-stage
application with two stages at one site).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_milp import INF, MilpResult, _layout, _QuietHighs, build_lp, result_of
from edgescale.optimize._placement_model import Objective, PlacementModel, queue_load

__all__ = ["Candidates", "CutResult", "candidates", "cut_bound", "lp_levels", "lp_start"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BATCH_ROWS = 4000
"""Most violated rows added per round."""

VIOLATION_TOL = 1e-6
"""Rows violated by less than this are not added (and the loop has converged when none is)."""

STALL_GAIN = 5e-3
"""The loop stops when a round raises the bound by less than this share of it (``stall=True``).

National fleet, cost: rounds of 4,000 rows raise the weak LP's 613.31 by 0.13 %, 0.35 %, 0.42 % (8-27 s of
dual simplex each, 5-8 pivots per row); all 50,000 rows of the entry service at once: 613.75 (24 s CPU);
energy: 0.18 % in two rounds (49 s). The Lagrangian bound climbs faster there (cost 616-621, energy
158,527 in 15 s), so that time goes to it. Two-stage test models gain tens of percent a round."""


@dataclass(frozen=True)
class Candidates:
    """All candidate rows as ``lhs @ x <= 0`` over the LP's columns (CSR), and their kinds (0: A, 1: B)."""

    mat: csr_matrix
    kind: NDArray[np.int8]


@dataclass(frozen=True)
class CutResult:
    """Outcome of the cutting-plane loop.

    ``bound`` is the last optimal LP value (a valid lower bound), ``weak`` the first one (the LP
    without linking rows, :func:`._placement_milp.solve` with ``link=False``), whose result ``lp``
    (solution and row duals by group) it also returns. ``x`` is the last optimal LP solution (all
    columns); ``max_violation`` the largest violation of a candidate row by it.
    """

    bound: float
    weak: float
    lp: MilpResult
    x: F64 | None
    rounds: int
    rows_added: int
    max_violation: float
    converged: bool
    seconds: float
    history: tuple[tuple[float, float], ...]  # (seconds, bound) after each optimal LP
    duals: dict[str, F64] | None = None  # row duals of the model's own rows in the last optimal LP


def candidates(m: PlacementModel, a: SystemArrays) -> Candidates:
    """Every ``A[r, q]`` row and the ``B[r, j]`` rows not implied by them (see the module docstring)."""
    n_c, n_l, n_j, vpairs = _layout(m, a)
    n_q = len(m.q_service)
    row_of = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr)).astype(np.int64)
    cs, qs = [], []
    for s in range(m.chain_queue.shape[1]):
        on = np.flatnonzero(m.chain_queue[:, s] >= 0)
        cs.append(on)
        qs.append(m.chain_queue[on, s])
    cq = np.unique(np.concatenate(cs) * n_q + np.concatenate(qs))  # distinct (chain, queue)
    c, q = cq // n_q, cq % n_q
    # A rows: key (row, queue)
    key_a, ia = np.unique(row_of[c] * n_q + q, return_inverse=True)
    ra, qa = key_a // n_q, key_a % n_q
    cnt = np.diff(m.q_level_ptr)[qa]
    lv = np.repeat(m.q_level_ptr[qa], cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    la = np.repeat(np.arange(len(key_a)), cnt)
    coef = np.minimum(1.0, m.level_cap[lv] / m.rate[np.repeat(ra, cnt)])
    # B rows: key (row, site), only where two or more queues of the site serve the row
    j = m.q_site[q]
    cj = np.unique(c * n_j + j)
    key_b_all, ib_all = np.unique(row_of[cj // n_j] * n_j + cj % n_j, return_inverse=True)
    # distinct (row, site, queue), as row * n_j + site
    rq_per = np.unique(row_of[c] * (n_j * n_q) + j * n_q + q) // n_q
    multi_keys, multi_cnt = np.unique(rq_per, return_counts=True)
    multi = np.isin(key_b_all, multi_keys[multi_cnt >= 2])
    new_id = np.cumsum(multi) - 1
    take = multi[ib_all]
    n_a, n_b = len(key_a), int(multi.sum())
    rows = np.concatenate([ia, la, n_a + new_id[ib_all[take]], n_a + np.arange(n_b)])
    cols = np.concatenate([c, n_c + lv, (cj // n_j)[take], n_c + n_l + key_b_all[multi] % n_j])
    vals = np.concatenate([np.ones(len(c)), -coef, np.ones(int(take.sum())), -np.ones(n_b)])
    n_col = int(n_c + n_l + n_j)
    mat = csr_matrix((vals, (rows, cols)), shape=(n_a + n_b, n_col + len(vpairs)))  # + domain columns
    mat.sum_duplicates()
    kind = np.r_[np.zeros(n_a, np.int8), np.ones(n_b, np.int8)]
    return Candidates(mat, kind)


def _pick(viol: F64, tol: float, batch: int) -> I64:
    """Indices of the ``batch`` most violated rows above ``tol``, most violated first."""
    over = np.flatnonzero(viol > tol)
    if len(over) > batch:
        over = over[np.argpartition(-viol[over], batch - 1)[:batch]]
    return over[np.argsort(-viol[over], kind="stable")].astype(np.int64)


def cut_bound(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    time_limit_s: float,
    weak_time_limit_s: float | None = None,
    batch: int = BATCH_ROWS,
    tol: float = VIOLATION_TOL,
    max_rounds: int = 10_000,
    stall: bool = False,
) -> CutResult:
    """Solve the weak LP, then add violated ``A`` / ``B`` rows in rounds until none is violated by more
    than ``tol`` or ``time_limit_s`` (for the whole loop, weak LP included) is up; with ``stall``, also
    when a round gains less than :data:`STALL_GAIN` of the bound.

    ``weak_time_limit_s`` caps the first LP alone (default: the whole limit). Only optimal LPs give
    bounds; when the first is not optimal in time, ``bound`` is ``-inf``.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    groups: dict[str, tuple[int, int]] = {}
    lp = build_lp(m, a, obj, integer=False, budget_per_hour=None, link=False, groups=groups)
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    first = time_limit_s if weak_time_limit_s is None else min(time_limit_s, weak_time_limit_s)
    h.setOptionValue("time_limit", max(first, 0.01))
    h.passModel(lp)
    h.run()
    weak = result_of(h, m, integer=False, groups=groups)
    history: list[tuple[float, float]] = []
    if weak.status != "optimal":
        return CutResult(
            -math.inf, -math.inf, weak, None, 0, 0, math.inf, False, time.perf_counter() - t0, ()
        )
    x = np.asarray(h.getSolution().col_value, np.float64)
    bound = weak.objective
    history.append((time.perf_counter() - t0, bound))
    duals = weak.duals
    cand = candidates(m, a)
    added = np.zeros(cand.mat.shape[0], bool)
    rounds = rows_added = 0
    converged = False
    viol_max = math.inf
    h.setOptionValue("simplex_strategy", 1)  # dual simplex: the basis stays dual feasible after new rows
    while rounds < max_rounds:
        viol = np.asarray(cand.mat @ x, np.float64)
        viol[added] = np.minimum(viol[added], 0.0)  # added rows hold to HiGHS's tolerance
        viol_max = float(viol.max(initial=0.0))
        pick = _pick(viol, tol, batch)
        if not len(pick):
            converged = True
            break
        rest = deadline - time.perf_counter()
        if rest <= 0.05:
            break
        sub = cand.mat[pick]
        h.addRows(
            len(pick),
            np.full(len(pick), -INF),
            np.zeros(len(pick)),
            sub.nnz,
            sub.indptr[:-1].astype(np.int32),
            sub.indices.astype(np.int32),
            sub.data,
        )
        added[pick] = True
        rows_added += len(pick)
        rounds += 1
        h.setOptionValue("time_limit", max(rest, 0.01) + float(h.getRunTime()))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        x = np.asarray(h.getSolution().col_value, np.float64)
        res = result_of(h, m, integer=False, groups=groups)
        duals, value = res.duals, res.objective
        gain = value - bound
        bound = max(bound, value)
        history.append((time.perf_counter() - t0, bound))
        if stall and gain < STALL_GAIN * max(abs(bound), 1e-9):
            break
    return CutResult(
        bound,
        weak.objective,
        weak,
        x,
        rounds,
        rows_added,
        viol_max,
        converged,
        time.perf_counter() - t0,
        tuple(history),
        duals,
    )


def lp_levels(m: PlacementModel, a: SystemArrays, x: F64, services: I64, *, min_open: float = 0.001) -> I64:
    """Replicas per queue from an LP solution ``x`` (all columns), for the queues of ``services``: at
    sites the LP opens by at least ``min_open``, the least level that carries the queue's LP load
    (0 elsewhere and for other services). A start for :func:`._placement_lagrange.lagrangian_start`,
    which routes every row greedily from these replicas and adds where needed.

    National fleet, cost, from the weak LP (helper measurements 2026-11-28, standalone): with
    :func:`lp_start`, 711/h after 30 s of local search (1,220 edge and 46 aggregation sites); routed by
    :func:`._placement_lagrange.lagrangian_start` instead (greedy, not following the LP), 881/h (1,641
    and 43); the entry service from its rounded facility-location LP and the others this way, 923/h;
    the Lagrangian subproblem's levels, 1,017/h (2,021 and 40). ``min_open`` 0.5 leaves rows without
    capacity (no start).
    """
    n_c, n_l = len(m.chain_latency), len(m.level_cap)
    op = x[n_c + n_l : n_c + n_l + a.n_sites]
    load = queue_load(m, x[:n_c])
    kq = np.zeros(len(m.q_service), np.int64)
    pick = np.isin(m.q_service, services) & (op[m.q_site] >= min_open) & (load > 1e-9)
    for q in np.flatnonzero(pick):
        caps = m.level_cap[m.q_level_ptr[q] : m.q_level_ptr[q + 1]]
        kq[q] = min(int(np.searchsorted(caps, load[q] - 1e-9)) + 1, len(caps))
    return kq


def lp_start(
    m: PlacementModel, a: SystemArrays, obj: Objective, x: F64, *, time_limit_s: float
) -> tuple[F64, I64] | None:
    """A feasible solution that follows an LP solution ``x`` (all columns): replicas from
    :func:`lp_levels` (within site cores, memory and replica limits), each demand row (largest rate
    first) sent along the LP's chain shares where they fit, the rest routed greedily (adding replicas
    where needed), then the heuristic's local search; None when some row finds no capacity."""
    from edgescale.errors import InfeasibleError
    from edgescale.optimize._placement_heuristic import _follow, _route_row, _State, improve

    deadline = time.perf_counter() + time_limit_s
    kq0 = lp_levels(m, a, x, np.unique(m.q_service))
    st = _State(m, a, obj)
    kmax = np.diff(m.q_level_ptr)
    for q in np.flatnonzero(kq0 > 0):
        qi = int(q)
        j, svc = int(m.q_site[qi]), int(m.q_service[qi])
        k = min(int(kq0[qi]), int(kmax[qi]), int((a.site_cpu_cores[j] - st.cores[j] + 1e-9) // st.cpu[qi]))
        if st.mb[qi] > 0:
            k = min(k, int((a.site_memory_gb[j] - st.mem[j] + 1e-9) // st.mb[qi]))
        k = min(k, int(st.svc_max[svc] - st.per_svc[svc]))
        if k > 0:
            st.set_level(qi, k)
    z = x[: len(m.chain_latency)]
    order = np.argsort(-m.rate, kind="stable")
    try:
        for r in order:
            _follow(st, int(r), z)
        for r in order:
            _route_row(st, int(r))
        improve(st, deadline)
    except InfeasibleError:
        return None
    return st.z, st.kq
