"""Large-neighbourhood search for the placement MILP: re-solve the replicas of a few neighbouring sites.

Each step frees the queue levels of a *neighbourhood* (a centre site and the sites that most often
share a demand row with it, plus the *hub* sites that nearly all rows of some application reach, such
as a cloud) and keeps every other queue's replicas; the routing stays free everywhere. HiGHS solves that
restricted MILP (the full model's rows, so every solution it finds is feasible for the whole problem)
from the incumbent under a short time limit, and a better solution becomes the incumbent. Centres are
taken so that each pass covers every site once. The search only improves plans; it proves nothing, so
it never touches a bound.

Melbourne metro (latency, 128 sites; 12 edge sites, both aggregation sites and the cloud per
neighbourhood; CPU seconds at load 1.5): from a 17.242 plan, 17.193 after 89 s (23 neighbourhoods, 5
improving); from 17.169, 17.167 after 58 s. Which neighbourhoods improve is luck: runs with other
centre orders reached 17.141 after 168 s from 17.242 and 17.135 after 40 s from 17.169 (the whole
MILP from the 17.169 plan found 17.113 after 3,175 s, the best known). The whole MILP from the 17.242 plan stayed at 17.240 after 898 s, and fixing the
routing of the rows outside a neighbourhood stalled at 17.174 after 535 s.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_milp import (
    _levels_from,
    _QuietHighs,
    _to_incremental_values,
    build_lp,
    full_vector,
    incremental_lp,
)
from edgescale.optimize._placement_model import Objective, PlacementModel, evaluate

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

NBHD_SITES = 14
"""Sites per neighbourhood (besides the hubs)."""

HUB_SHARE = 0.9
"""A site that at least this share of some application's demand rows can reach is a hub, freed in every
neighbourhood (Melbourne: the two aggregation sites and the cloud; the most-reached edge site has 61 %)."""

SUB_LIMIT_S = 4.0
"""Time limit of one neighbourhood's MILP."""

MIN_SITES = 2 * NBHD_SITES
"""Models with fewer sites hosting queues skip the search (the MILP itself handles them)."""


def co_reach(m: PlacementModel, n_sites: int) -> F64:
    """(n_sites, n_sites): how many demand rows reach both sites (a site's row: its own count)."""
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    on = m.chain_queue >= 0
    pairs = np.unique(
        np.column_stack([np.repeat(rows, m.chain_queue.shape[1])[on.ravel()], m.q_site[m.chain_queue[on]]]),
        axis=0,
    )
    inc = np.zeros((len(m.dem), n_sites))
    inc[pairs[:, 0], pairs[:, 1]] = 1.0
    return np.asarray(inc.T @ inc, np.float64)


def hubs(m: PlacementModel, a: SystemArrays, share: float = HUB_SHARE) -> I64:
    """Sites that at least ``share`` of some application's demand rows reach (at any stage)."""
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    on = m.chain_queue >= 0
    pairs = np.unique(
        np.column_stack([np.repeat(rows, m.chain_queue.shape[1])[on.ravel()], m.q_site[m.chain_queue[on]]]),
        axis=0,
    )
    app = a.group_app[a.demand_group[m.dem]]
    out = [np.zeros(0, np.int64)]
    for x in np.unique(app):
        reach = np.bincount(pairs[app[pairs[:, 0]] == x, 1], minlength=a.n_sites)
        out.append(np.flatnonzero(reach >= share * float((app == x).sum())).astype(np.int64))
    return np.unique(np.concatenate(out))


def applies(m: PlacementModel) -> bool:
    """Whether the model is large enough for the search (see :data:`MIN_SITES`)."""
    return len(np.unique(m.q_site)) >= MIN_SITES


def improve(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    z: F64,
    kq: I64,
    *,
    time_limit_s: float,
    budget_per_hour: float | None,
    link: bool,
    seed: int = 0,
    n_sites: int = NBHD_SITES,
    sub_limit_s: float = SUB_LIMIT_S,
    hub_share: float = HUB_SHARE,
) -> tuple[F64, I64, int, int]:
    """Improve a feasible solution by re-solving neighbourhoods until the time runs out, or until every
    seed site's neighbourhood was solved to optimality without improving it (a local optimum).

    Parameters
    ----------
    m, a, obj : model, compiled scenario and objective
    z, kq : F64, I64
        A feasible solution (chain shares, replicas per queue).
    time_limit_s : float
        Time for the whole search.
    budget_per_hour : float, optional
        The cost cap of the full model (kept in every neighbourhood).
    link : bool
        Whether the neighbourhood MILPs carry the linking rows (tighter, larger).
    seed : int
        Seed of the order in which sites seed neighbourhoods, and of HiGHS.
    n_sites : int
        Sites per neighbourhood besides the hubs.
    sub_limit_s : float
        Time limit of one neighbourhood's MILP.
    hub_share : float
        Share of some application's demand rows that must reach a site for it to be a hub (see
        :data:`HUB_SHARE`).

    Returns
    -------
    z, kq, steps, improved
        The best solution found (the input when none is better), how many neighbourhoods were
        solved and how many of them improved it.
    """
    t_end = time.perf_counter() + time_limit_s
    model, t_map = incremental_lp(
        m, build_lp(m, a, obj, integer=True, budget_per_hour=budget_per_hour, link=link)
    )
    n_c, n_l = len(m.chain_latency), len(m.level_cap)
    lo0 = np.asarray(model.col_lower_, np.float64)
    hi0 = np.asarray(model.col_upper_, np.float64)
    lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
    k = np.arange(n_l) - m.q_level_ptr[lq] + 1
    near = co_reach(m, a.n_sites)
    sites = np.unique(m.q_site)
    hub = np.intersect1d(hubs(m, a, hub_share), sites)
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.setdiff1d(sites, hub))
    if not len(order):  # every site is a hub: each neighbourhood is the whole model
        order = sites
    h = _QuietHighs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.passModel(model)
    best = evaluate(m, obj, z, kq)["objective"]
    steps = improved = stale = 0  # stale: neighbourhoods solved to optimality since the last improvement
    cols = np.arange(len(lo0), dtype=np.int32)
    covered = np.zeros(a.n_sites, bool)
    while stale < len(order) and time.perf_counter() < t_end - 0.1:
        # the next centre not yet in a neighbourhood of this pass: a pass covers every site once
        # with few neighbourhoods (Melbourne: about 10 instead of 125)
        todo = order[~covered[order]]
        if not len(todo):
            covered[:] = False
            order = rng.permutation(order)
            todo = order
        centre = int(todo[0])
        tie = 1e-6 * rng.random(a.n_sites)
        hood = np.union1d(np.argsort(-(near[centre] + tie))[:n_sites], hub)
        covered[hood] = True
        covered[centre] = True
        lo, hi = lo0.copy(), hi0.copy()
        y = (k <= kq[lq]).astype(np.float64)
        fixed_l = ~np.isin(m.q_site, hood)[lq]
        lo[n_c : n_c + n_l][fixed_l] = hi[n_c : n_c + n_l][fixed_l] = y[fixed_l]
        h.changeColsBounds(len(cols), cols, lo, hi)
        sol = highspy.HighsSolution()
        sol.col_value = list(_to_incremental_values(m, full_vector(m, a, z, kq)))
        sol.value_valid = True
        h.setSolution(sol)
        h.setOptionValue("time_limit", max(min(sub_limit_s, t_end - time.perf_counter()), 0.05))
        h.run()
        steps += 1
        solved = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        stale = stale + 1 if solved else 0
        if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            continue
        x = np.asarray(t_map @ np.asarray(h.getSolution().col_value, np.float64), np.float64)
        z2 = np.clip(x[:n_c], 0.0, 1.0)
        kq2 = _levels_from(m, x[n_c : n_c + n_l])
        value = evaluate(m, obj, z2, kq2)["objective"]
        if value < best - 1e-9 * max(1.0, abs(best)) and math.isfinite(value):
            z, kq, best = z2, kq2, value
            improved += 1
            stale = 0
    return z, kq, steps, improved
