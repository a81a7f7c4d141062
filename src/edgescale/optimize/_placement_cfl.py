"""Replica levels for a consolidating start: one facility-location LP per service, rounded.

For each service, every demand row must send its stage at that service to one of the queues its
candidate chains use there (shares ``x[r, q]``); queue q at level k carries ``cap[q, k]`` at the
level's cost; a queue is used only where its site is open (``x[r, q] <= open[q]``, the linking rows
that make fixed costs bite) and the site's fixed cost is paid per service. The LP of this capacitated
facility location problem is nearly integral on fleets of small sites (national example: 1053 of
1128 opened sites at 1), so rounding ``open >= 1/2`` to the least level carrying the LP's load gives
replicas that, routed greedily, consolidate demand on few sites. Only a start: chains, cores, memory
and the sharing of sites between services are left to the routing and local search that follow.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_milp import INF, run_lp
from edgescale.optimize._placement_model import Objective, PlacementModel

__all__ = ["cfl_levels", "entry_services"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _service_levels(m: PlacementModel, obj: Objective, svc: int, time_limit_s: float) -> dict[int, int]:
    """Rounded levels of one service's facility-location LP: {queue: replicas}."""
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    parts = []
    for stage in range(m.chain_queue.shape[1]):
        cq = m.chain_queue[:, stage]
        on = (cq >= 0) & (m.q_service[np.maximum(cq, 0)] == svc)
        parts.append(np.column_stack([rows[on], cq[on]]))
    pairs = np.unique(np.concatenate(parts), axis=0) if parts else np.zeros((0, 2), np.int64)
    if not len(pairs):
        return {}
    ur, ri = np.unique(pairs[:, 0], return_inverse=True)
    uq, qi = np.unique(pairs[:, 1], return_inverse=True)
    nx, nq = len(pairs), len(uq)
    cnt = np.diff(m.q_level_ptr)[uq]
    lq = np.repeat(np.arange(nq), cnt)
    lv = np.repeat(m.q_level_ptr[uq], cnt) + (
        np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    )
    nl = len(lv)
    rate = m.rate[pairs[:, 0]]
    o_u, o_open = nx, nx + nl
    rr = [ri, len(ur) + qi, len(ur) + lq, len(ur) + nq + lq, len(ur) + nq + np.arange(nq)]
    cc = [np.arange(nx), np.arange(nx), o_u + np.arange(nl), o_u + np.arange(nl), o_open + np.arange(nq)]
    vv = [np.ones(nx), rate, -m.level_cap[lv], np.ones(nl), -np.ones(nq)]
    base = len(ur) + 2 * nq
    rr += [base + np.arange(nx), base + np.arange(nx)]
    cc += [np.arange(nx), o_open + qi]
    vv += [np.ones(nx), -np.ones(nx)]
    n_row = base + nx
    mat = coo_matrix(
        (np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))), shape=(n_row, nx + nl + nq)
    ).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nx + nl + nq, n_row
    lp.col_cost_ = np.concatenate([np.zeros(nx), obj.level[lv], obj.site[m.q_site[uq]]])
    lp.col_lower_ = np.zeros(nx + nl + nq)
    lp.col_upper_ = np.ones(nx + nl + nq)
    lp.row_lower_ = np.concatenate([np.ones(len(ur)), np.full(n_row - len(ur), -INF)])
    lp.row_upper_ = np.concatenate([np.ones(len(ur)), np.zeros(n_row - len(ur))])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    h = run_lp(lp, time_limit_s=time_limit_s)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return {}
    x = np.asarray(h.getSolution().col_value, np.float64)
    load = np.bincount(qi, weights=rate * x[:nx], minlength=nq)
    out: dict[int, int] = {}
    for i in np.flatnonzero(x[o_open:] >= 0.5):
        qq = int(uq[i])
        caps = m.level_cap[m.q_level_ptr[qq] : m.q_level_ptr[qq + 1]]
        out[qq] = min(int(np.searchsorted(caps, load[i] - 1e-9)) + 1, len(caps))
    return out


def entry_services(m: PlacementModel, a: SystemArrays) -> I64:
    """Services at the first stage of some application with demand (where access locality binds)."""
    first = m.chain_queue[:, 0]
    return np.unique(m.q_service[first[first >= 0]]).astype(np.int64)


def cfl_levels(
    m: PlacementModel, a: SystemArrays, obj: Objective, kq0: I64, services: I64, *, time_limit_s: float
) -> I64:
    """``kq0`` with the queues of ``services`` set from each one's rounded facility-location LP (see the
    module docstring); a service whose LP does not finish in time keeps its levels from ``kq0``."""
    deadline = time.perf_counter() + time_limit_s
    kq = kq0.copy()
    for i, svc in enumerate(services):
        left = (deadline - time.perf_counter()) / (len(services) - i)
        if left <= 0.05:
            break
        levels = _service_levels(m, obj, int(svc), left)
        if levels:
            kq[m.q_service == svc] = 0
            for q, k in levels.items():
                kq[q] = k
    return kq
