"""Service placement and demand assignment: where replicas run and which sites serve each demand point.

Model (assumptions, stated so results can be checked):

- Decisions: integer replicas ``x[s, j]`` of service s at site j, and the share of each demand
  point's requests sent along each candidate *chain* (one site per stage of its application). The
  plan stores the per-stage marginals as route fractions.
- A (service, site) pair is one queue of ``x * max(1, floor(cpu_cores))`` servers, as in
  :func:`edgescale.analysis.scenario.analyze_scenario`. Its load may not exceed the largest rate that
  x replicas serve with the response-time quantile (wait plus service, analyze's gamma model) within
  the stage's queueing budget; services whose applications have no latency SLO are held at
  ``rho_max`` utilization instead.
- Latency SLO of an application: candidate chains have fixed latency (access both ways,
  minimum-latency paths, transmission) within a fixed budget: the nearest chain of its worst-placed
  demand point plus 10 % of the SLO, at most half the SLO. The rest of the SLO is the queueing budget,
  split over the stages in proportion to each stage's zero-load response quantile. Each demand
  point then meets the percentile target on its own, so the application's mixture does too.
  Candidates per stage: the 12 nearest allowed sites within the budget plus the 2 nearest of each
  allowed tier; at most 24 chains per demand point.
- Availability: a service needs replicas in two failure domains when no single domain (its
  availability times the chance some allowed site in it is up) meets the application's target to the
  power ``1 / n_stages``; ``min_domains`` overrides this for every service.
- Objectives: rate-weighted mean latency (fixed latency plus mean processing; queueing is bounded by
  the SLO constraint, not counted), cost per hour (fixed cost of every site hosting a replica plus
  per-core cost of the replicas), energy (idle power of used sites plus ``(peak - idle)`` times CPU
  utilization). ``"weighted"`` sums them with ``weights``. With no weight on cost, a cost term
  of weight 1e-6 breaks ties so no replica is placed for nothing.
- Multi-stage applications: the model picks chains, the plan keeps per-stage marginals; analyze
  recombines them independently, so a demand point split over several chains is evaluated (and
  checked against the SLO) over every combination of its stages' sites.

Solvers:

1. The LP relaxation (HiGHS) gives a lower bound and guides the construction.
2. Construction: LP-guided, regret-ordered greedy; when it gets stuck (tight capacity), HiGHS's
   first feasible solution of the model with a zero objective, or, before a latency MILP, nothing:
   that MILP finds its own first solution. For cost or energy on models too large for
   the linking rows (heuristic only), the LP relaxation gets the linking rows its solution violates
   most, in rounds (:mod:`._placement_cuts`), and a Lagrangian relaxation (:mod:`._placement_lagrange`)
   runs after it: their bounds join; the start follows the last LP (replicas carrying its loads, its
   chain shares, then greedy routing and local search). When that fails, the start is the Lagrangian
   subproblem's replicas, with those of the entry services (first stage of an application) from
   rounded per-service facility-location LPs with linking rows (:mod:`._placement_cfl`), routed
   greedily (they consolidate sites).
3. ``"milp"``: HiGHS branch and bound from that start, with a time limit, on the model with
   incremental level columns ("at least k replicas", same optimum as the one-hot levels, better
   branching); status ``"optimal"`` only when HiGHS proves it (relative gap 1e-6), otherwise
   ``"time_limit"`` with its dual bound; replicas the solution does not need are dropped. With
   latency the only weighed objective, two phases first solve the MILP over *full* sites (as many
   replicas as fit: same least latency, far fewer choices), without and then with linking rows; their
   solution starts the MILP proper, and their bound, less the most the tie-breaking cost can add, also
   bounds it. On large models with time left after the phases (limits of about 100 s and more), a
   neighbourhood search (:mod:`._placement_nbhd`: re-solve the replicas of a few neighbouring sites
   at a time) improves their solution before the MILP proper.
   ``"heuristic"``: local search from the construction (shift demand to better chains, right-size,
   close whole sites and single queues, repair replica minimums and domains), then the best
   routing for the chosen replicas (an LP); the bound is the LP relaxation. ``"auto"`` uses the
   MILP up to :data:`MILP_MAX_COLUMNS` columns.
4. :func:`edgescale.optimize.check.check_plan` checks the plan before it is returned.

Infeasible input raises :class:`~edgescale.errors.InfeasibleError` naming the constraint: a service
no site can host, demand points with no site within the latency budget, total or local capacity
short of the demand (by how much), or, from LP relaxations with each constraint group dropped,
budget, memory, failure domains, replica limits or capacity (the share of demand that fits).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.io import scenario_sha256
from edgescale.model.plan import Plan, ReplicaEntry, RouteEntry, ScenarioRef
from edgescale.model.schema import Scenario
from edgescale.optimize._placement_cfl import cfl_levels, entry_services
from edgescale.optimize._placement_cuts import cut_bound, lp_start
from edgescale.optimize._placement_heuristic import heuristic
from edgescale.optimize._placement_lagrange import lagrangian_bound, lagrangian_start
from edgescale.optimize._placement_milp import lp_feasible, route_lp, solve
from edgescale.optimize._placement_model import (
    ModelOptions,
    Objective,
    PlacementModel,
    build_model,
    evaluate,
)
from edgescale.optimize._placement_model import objective as objective_terms
from edgescale.optimize._placement_nbhd import SUB_LIMIT_S
from edgescale.optimize._placement_nbhd import applies as nbhd_applies
from edgescale.optimize._placement_nbhd import improve as nbhd_improve

__all__ = ["MILP_MAX_COLUMNS", "capacitated_facility_location", "optimize_placement"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MILP_MAX_COLUMNS = 50_000
"""``method="auto"`` solves the MILP when chains plus queue levels are at most this many."""

FULL_SITES_SHARE = (0.4, 0.8)
"""Shares of the time left that the two phases of the latency MILP over full sites (:func:`_full_sites`)
may take; the MILP proper has the rest."""

NBHD_SHARE = 0.7
"""Share of the time left after the phases over full sites that the neighbourhood search
(:mod:`._placement_nbhd`) may take on large models, when that is at least two of its steps (time limits
of about 100 s and more); the MILP proper has the rest. Melbourne, by itself: 17.169 -> 17.135 in 40 s with
one order of centre sites, 17.167 in 58 s with another; at 120 s in the solver its three neighbourhoods did not
improve 17.169 (helper measurements, 2026-11-27, under load 1.2-1.7)."""

LINK_MAX_CHAINS = 50_000
"""Models with more chains leave out the linking rows (faster LP bound, weaker for cost and energy)."""

CUTS_SHARE = 0.5
"""Share of the time left that the LP relaxation of large cost or energy models may take, weak LP and
rounds of violated linking rows (:mod:`._placement_cuts`) together; the loop stops earlier when a round
gains under 0.5 % (national fleet, cost and energy: after the first round)."""

LAGRANGE_SHARE = 0.3
"""Share of the time left that the Lagrangian relaxation (:mod:`._placement_lagrange`) takes after the
cutting planes on large cost or energy models."""

OBJECTIVES = ("latency", "cost", "energy", "weighted")


def _weights(objective_name: str, weights: Mapping[str, float] | None) -> tuple[dict[str, float], list[str]]:
    """Weights of the objective, and the order of a lexicographic one (empty otherwise)."""
    names = [x.strip() for x in objective_name.split(",")]
    if len(names) > 1:
        bad = [x for x in names if x not in ("latency", "cost", "energy")]
        if bad or len(set(names)) != len(names):
            raise ValueError(
                f"lexicographic objective: distinct names of latency, cost, energy (got {objective_name!r})"
            )
        return {x: 10.0 ** (-3 * i) for i, x in enumerate(names)}, names
    if objective_name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective_name!r})")
    if objective_name != "weighted":
        return {objective_name: 1.0}, []
    w = dict(weights or {"latency": 1.0, "cost": 1.0, "energy": 0.0})
    bad = sorted(set(w) - {"latency", "cost", "energy"})
    if bad:
        raise ValueError(f"weights: unknown objective {bad[0]!r}; use latency, cost, energy")
    return w, []


def _prechecks(a: SystemArrays, m: PlacementModel, budget_per_hour: float | None) -> None:
    """Name the constraint that makes the problem infeasible, with by how much, where it is simple to see."""
    _hostable(a)
    rows_with = np.diff(m.chain_ptr) > 0
    if not rows_with.all():
        r = int(np.flatnonzero(~rows_with)[0])
        d = int(m.dem[r])
        app = int(a.group_app[a.demand_group[d]])
        raise InfeasibleError(
            f"latency SLO: demand of application '{a.app_ids[app]}' at site '{a.site_ids[a.demand_site[d]]}' "
            f"reaches no allowed site within its {a.app_slo_latency_ms[app]:g} ms SLO "
            f"({int((~rows_with).sum())} demand points without a candidate)",
            constraint="latency_slo",
            excess=math.inf,
        )
    # cores: each service's load at the best capacity per core it can get anywhere
    top = m.q_level_ptr[1:] - 1
    per_core = m.level_cap[top] / (np.diff(m.q_level_ptr) * a.service_cpu_cores[m.q_service])
    need = 0.0
    for svc in range(len(a.service_ids)):
        qs = np.flatnonzero(m.q_service == svc)
        if not len(qs):
            continue
        users = np.flatnonzero(np.isin(m.chain_queue, qs).any(axis=1))
        rows = np.unique(np.searchsorted(m.chain_ptr, users, side="right") - 1)
        load = float(m.rate[rows].sum())
        best = float(per_core[qs].max())
        need += load / best if best > 0 else (math.inf if load > 0 else 0.0)
    sites = np.unique(m.q_site)
    have = float(a.site_cpu_cores[sites].sum())
    if need > have * (1 + 1e-9):
        raise InfeasibleError(
            f"capacity: total cores needed {need:.1f} exceed the {have:.1f} cores available to the services "
            f"by {need / have - 1:.0%} (within the SLO headroom)",
            constraint="capacity",
            excess=need / have - 1,
        )
    if budget_per_hour is not None:
        cheapest = _min_cost(a, m)
        if cheapest > budget_per_hour:
            raise InfeasibleError(
                f"budget: the cheapest replicas cost at least {cheapest:.3g} per hour, over the budget "
                f"of {budget_per_hour:g} by {cheapest / max(budget_per_hour, 1e-300) - 1:.0%}",
                constraint="budget",
                excess=cheapest / max(budget_per_hour, 1e-300) - 1,
            )


def _hostable(a: SystemArrays) -> None:
    """Every service that has demand needs some site that can host one replica."""
    tier_bit = (1 << a.site_tier.astype(np.int64)).astype(np.uint8)
    tier_ok = (a.service_tier_mask[:, None] & tier_bit[None, :]) > 0
    cores_ok = a.site_cpu_cores[None, :] >= a.service_cpu_cores[:, None] - 1e-9
    mem_ok = a.site_memory_gb[None, :] * 1024.0 >= a.service_memory_mb[:, None] - 1e-9
    acc_ok = ~a.service_accelerator[:, None] | (a.site_accelerators[None, :] > 0)
    for s in range(len(a.service_ids)):
        steps = [
            ("tiers", tier_ok[s]),
            ("cores", cores_ok[s]),
            ("memory", mem_ok[s]),
            ("accelerator", acc_ok[s]),
        ]
        ok = np.ones(a.n_sites, bool)
        for name, cond in steps:
            if (ok & cond).any() or not ok.any():
                ok &= cond
                continue
            need = {
                "tiers": "its tiers",
                "cores": f"{a.service_cpu_cores[s]:g} cores",
                "memory": f"{a.service_memory_mb[s]:g} MB of memory",
                "accelerator": "an accelerator",
            }[name]
            best = {
                "cores": float(a.site_cpu_cores[ok].max()),
                "memory": float(a.site_memory_gb[ok].max()) * 1024.0,
            }.get(name)
            over = (
                float(a.service_cpu_cores[s] if name == "cores" else a.service_memory_mb[s]) / best - 1
                if best
                else None
            )
            raise InfeasibleError(
                f"services[{a.service_ids[s]}]: no site offers {need} for one replica"
                + (
                    f" (the largest has {best:g}, short by {over:.0%})"
                    if best is not None and over is not None
                    else ""
                ),
                constraint="capacity" if name == "cores" else name,
                excess=over,
            )


def _min_cost(a: SystemArrays, m: PlacementModel) -> float:
    """A lower bound on cost: each service's replica minimum at its cheapest per-core price."""
    total = 0.0
    for svc in range(len(a.service_ids)):
        qs = np.flatnonzero(m.q_service == svc)
        if len(qs):
            price = float(a.site_cost_per_core_hour[m.q_site[qs]].min())
            total += max(1, int(a.service_min_replicas[svc])) * float(a.service_cpu_cores[svc]) * price
    return total


def _diagnose(
    a: SystemArrays, m: PlacementModel, obj: Objective, budget_per_hour: float | None
) -> InfeasibleError:
    """An error naming the constraint group whose removal makes the LP relaxation feasible, and by how much."""

    def feasible(relax: tuple[str, ...], model: PlacementModel = m) -> bool:
        return lp_feasible(model, a, obj, budget_per_hour=budget_per_hour, relax=relax)

    if budget_per_hour is not None and feasible(("budget",)):
        cheapest = solve(
            m,
            a,
            objective_terms(a, m, {"cost": 1.0}),
            integer=False,
            time_limit_s=30.0,
            budget_per_hour=None,
            link=True,
        ).objective
        over = cheapest / max(budget_per_hour, 1e-300) - 1.0
        return InfeasibleError(
            f"budget: every feasible placement costs at least {cheapest:.4g} per hour (LP bound), over the "
            f"budget of {budget_per_hour:g} by {over:.0%}",
            constraint="budget",
            excess=over,
        )
    if feasible(("memory",)):
        return InfeasibleError(
            "memory: the replicas needed do not fit the sites' memory; add memory or allow more sites",
            constraint="memory",
        )
    if feasible(("domains", "domain_hosts")):
        need = {a.service_ids[i]: int(v) for i, v in enumerate(m.min_domains) if v > 1}
        return InfeasibleError(
            f"domains: replicas cannot span the failure domains required ({need}) within the other constraints",
            constraint="domains",
        )
    if feasible(("replicas",)):
        return InfeasibleError(
            "replicas: the services' replica limits (min/max) cannot be met with the capacity needed",
            constraint="replicas",
        )
    if feasible(("load", "cores", "memory")):
        lo, hi = 0.0, 1.0  # the largest share of the demand that fits
        for _ in range(8):
            mid = 0.5 * (lo + hi)
            if feasible((), replace(m, rate=m.rate * mid)):
                lo = mid
            else:
                hi = mid
        over = 1.0 / max(lo, 1e-9) - 1.0
        return InfeasibleError(
            f"capacity: demand exceeds the capacity reachable within the latency SLOs by about {over:.0%} "
            f"(only {lo:.0%} of it can be served with the queueing headroom the SLOs need)",
            constraint="capacity",
            excess=over,
        )
    return InfeasibleError(
        "no placement meets all constraints together (capacity within the latency budgets, replica "
        "limits, failure domains"
        + (f", budget {budget_per_hour:g}/h" if budget_per_hour is not None else "")
        + "); relax the SLOs, add capacity or raise the budget",
        constraint="combined",
    )


def _local_capacity(a: SystemArrays, m: PlacementModel) -> None:
    """Each demand point's load must fit the capacity of the sites within its latency budget."""
    top = m.level_cap[m.q_level_ptr[1:] - 1]
    for r in range(len(m.dem)):
        lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
        for c in range(int(m.n_stages[r])):
            qs = np.unique(m.chain_queue[lo:hi, c])
            reach = float(top[qs].sum())
            if m.rate[r] > reach * (1 + 1e-9):
                d = int(m.dem[r])
                app = int(a.group_app[a.demand_group[d]])
                over = float(m.rate[r]) / max(reach, 1e-300) - 1.0
                raise InfeasibleError(
                    f"capacity: demand of application '{a.app_ids[app]}' at site "
                    f"'{a.site_ids[a.demand_site[d]]}' exceeds the capacity of "
                    f"'{a.service_ids[int(m.q_service[qs[0]])]}' reachable within its "
                    f"{a.app_slo_latency_ms[app]:g} ms SLO by {over:.0%}",
                    constraint="capacity",
                    excess=over,
                )


def _construct(
    a: SystemArrays,
    m: PlacementModel,
    obj: Objective,
    guide: F64 | None,
    budget_per_hour: float | None,
    left: Callable[[float], float],
    notes: list[str],
    seed: int,
    milp_next: bool = False,
) -> tuple[F64, I64] | None:
    """A first feasible solution: LP-guided greedy, else HiGHS's first solution with a cost objective.

    With ``milp_next`` (a latency MILP runs after this) a failed greedy returns None: the MILP's own
    search finds a first solution about as fast as a separate feasibility run and keeps its tree
    (Melbourne: 17.26 in 30 s instead of 17.36 after a 6-8 s feasibility run).
    """
    try:
        z, kq = heuristic(m, a, obj, time_limit_s=left(0.2), guide=guide)
        if budget_per_hour is None or evaluate(m, obj, z, kq)["cost_per_hour"] <= budget_per_hour:
            return z, kq
    except InfeasibleError as e:
        if milp_next:
            notes.append(f"greedy construction failed ({e}); the MILP starts without a solution")
            return None
        notes.append(f"greedy construction failed ({e}); first feasible solution from HiGHS")
    feasibility = objective_terms(a, m, {})  # only the tie-breaking cost term: any feasible point
    res = solve(
        m,
        a,
        feasibility,
        integer=True,
        time_limit_s=left(0.8),  # without a start the MILP after it rarely finds one (Melbourne: 8-20 s)
        budget_per_hour=budget_per_hour,
        link=False,
        seed=seed,
        first_solution=True,
    )
    if res.status == "infeasible":
        raise _diagnose(a, m, obj, budget_per_hour)
    if res.z is None or res.kq is None:
        return None
    routed = route_lp(m, a, obj, res.kq, time_limit_s=left(0.5))
    return (routed if routed is not None else res.z), res.kq


def _fill_cores(
    a: SystemArrays, m: PlacementModel, w: Mapping[str, float], budget_per_hour: float | None
) -> F64 | None:
    """Least cores of each site's replicas in a MILP over *full* sites, or None where none applies.

    With latency the only weighed objective, more replicas never raise the latency (a level's
    capacity does not fall with k), and the constraints they could break are ruled out per site: no
    replica maximum, memory that holds every queue's top level at once, and queues of one core size
    ``c`` (so the cores fill exactly, to ``c * floor(min(cores, sum kmax * c) / c)``). So the MILP
    over full sites has the same least latency, with far fewer idle choices to search (Melbourne,
    30 s: 17.242 against 17.265); only its tie-breaking cost differs, so its solution (tidied) is a
    start for the MILP proper, which alone gives the bound and the status.
    """
    if budget_per_hour is not None or any(float(w.get(x, 0.0)) > 0 for x in ("cost", "energy")):
        return None
    lo = np.full(a.n_sites, -np.inf)
    kmax = np.diff(m.q_level_ptr)
    cpu = a.service_cpu_cores[m.q_service]
    mem = a.service_memory_mb[m.q_service] / 1024.0
    for j in np.unique(m.q_site):
        qs = np.flatnonzero(m.q_site == j)
        caps_rise = all(
            bool((np.diff(m.level_cap[m.q_level_ptr[q] : m.q_level_ptr[q + 1]]) >= -1e-9).all()) for q in qs
        )
        if (
            (a.service_max_replicas[m.q_service[qs]] > 0).any()
            or not caps_rise
            or float(kmax[qs] @ mem[qs]) > float(a.site_memory_gb[j]) + 1e-9
            or np.ptp(cpu[qs]) > 1e-12
        ):
            continue
        c = float(cpu[qs[0]])
        lo[j] = c * math.floor(min(float(a.site_cpu_cores[j]), float(kmax[qs].sum()) * c) / c + 1e-9) - 1e-9
    return lo if np.isfinite(lo).any() else None


def _full_sites(
    a: SystemArrays,
    m: PlacementModel,
    obj: Objective,
    min_cores: F64,
    start: tuple[F64, I64] | None,
    link: bool,
    seed: int,
    left: Callable[[float], float],
    notes: list[str],
) -> tuple[tuple[F64, I64] | None, float]:
    """The latency MILP over full sites (:func:`_fill_cores`): a first solution without linking rows,
    then one improved with them (Melbourne, 30 s in all: 17.242, then 17.169). Returns the better of
    ``start`` and its solution (tidied), and a bound of the MILP proper: the restricted MILP's bound
    less the most its tie-breaking cost terms can add (a filled optimal solution is feasible there with
    the same latency, so its optimum exceeds the true one by at most that)."""
    bound = -math.inf
    top = m.q_level_ptr[1:] - 1
    slack = float(obj.level[top].sum() + obj.site[np.unique(m.q_site)].sum())
    sol: tuple[F64, I64] | None = None
    kw = {"integer": True, "budget_per_hour": None, "seed": seed, "min_cores": min_cores}
    for phase, (share, linked) in enumerate(((FULL_SITES_SHARE[0], link), (FULL_SITES_SHARE[1], True)), 1):
        if phase == 2 and (sol is None or len(m.chain_latency) > LINK_MAX_CHAINS):
            break
        res = solve(m, a, obj, time_limit_s=left(share), link=linked, start=sol, **kw)  # type: ignore[arg-type]
        notes.append(
            f"sites full ({int(np.isfinite(min_cores).sum())} sites), phase {phase}: "
            + (
                f"{res.objective:.6g}, bound {res.bound:.6g} ({res.status})"
                if res.z is not None
                else "no solution"
            )
        )
        if res.z is not None and res.kq is not None:
            sol = (res.z, res.kq)
            bound = max(bound, res.bound - slack)
    if sol is not None:
        cand = _tidy(a, m, obj, *sol)
        if start is None or _value(m, obj, cand) < _value(m, obj, start):
            start = cand
    return start, bound


def _neighbourhoods(
    a: SystemArrays,
    m: PlacementModel,
    obj: Objective,
    start: tuple[F64, I64],
    link: bool,
    seed: int,
    time_limit_s: float,
    notes: list[str],
) -> tuple[F64, I64]:
    """The neighbourhood search (:func:`._placement_nbhd.improve`) from ``start``, its result tidied."""
    before = _value(m, obj, start)
    z, kq, steps, better = nbhd_improve(
        m,
        a,
        obj,
        *start,
        time_limit_s=time_limit_s,
        budget_per_hour=None,
        link=link or len(m.chain_latency) <= LINK_MAX_CHAINS,
        seed=seed,
    )
    out = _tidy(a, m, obj, z, kq) if better else start
    notes.append(
        f"neighbourhood search: {steps} neighbourhoods, {better} improved the plan "
        f"({before:.6g} -> {_value(m, obj, out):.6g})"
    )
    return out


def _tidy(a: SystemArrays, m: PlacementModel, obj: Objective, z: F64, kq: I64) -> tuple[F64, I64]:
    """Drop replicas a MILP solution does not need (HiGHS stops within its gap tolerance, which can
    exceed the tie-breaking cost of idle replicas): the least level carrying each queue's load, then
    replica minimums and failure domains restored; kept only when the objective does not rise."""
    from edgescale.optimize._placement_heuristic import repair, right_size, state_from

    st = state_from(m, a, obj, z, kq)
    right_size(st)
    try:
        repair(st)
    except InfeasibleError:
        return z, kq
    if _value(m, obj, (st.z, st.kq)) <= _value(m, obj, (z, kq)):
        return st.z, st.kq
    return z, kq


def _value(m: PlacementModel, obj: Objective, sol: tuple[F64, I64]) -> float:
    return evaluate(m, obj, sol[0], sol[1])["objective"]


def _lexicographic(
    a: SystemArrays,
    m: PlacementModel,
    names: list[str],
    start: tuple[F64, I64] | None,
    budget_per_hour: float | None,
    left: Callable[[float], float],
    seed: int,
) -> tuple[tuple[F64, I64, float, str, str] | None, Objective]:
    """Minimise the objectives in turn, each within the optimum (or best value found) of those before."""
    caps: tuple[tuple[Objective, float], ...] = ()
    parts: tuple[F64, I64, float, str, str] | None = None
    all_optimal = True
    best = objective_terms(a, m, {names[0]: 1.0})
    for i, name in enumerate(names):
        obj = objective_terms(a, m, {name: 1.0})
        res = solve(
            m,
            a,
            obj,
            integer=True,
            time_limit_s=left(1.0 / (len(names) - i)),
            budget_per_hour=budget_per_hour,
            link=name != "latency",
            seed=seed,
            start=start,
            caps=caps,
        )
        if res.status == "infeasible":
            raise _diagnose(a, m, obj, budget_per_hour)
        if res.z is None or res.kq is None:
            break
        all_optimal &= res.status == "optimal"
        start = (res.z, res.kq)
        value = evaluate(m, obj, res.z, res.kq)["objective"]
        caps = (*caps, (obj, value * (1 + 1e-7) + 1e-9))
        parts = (res.z, res.kq, res.bound, "optimal" if all_optimal else "time_limit", "optimize:milp")
        best = obj
    return parts, best


def _to_plan(
    scenario: Scenario,
    a: SystemArrays,
    m: PlacementModel,
    z: F64,
    kq: I64,
    values: dict[str, float],
    *,
    bound: float,
    status: str,
    seconds: float,
    created_by: str,
    notes: tuple[str, ...],
) -> Plan:
    replicas = [
        ReplicaEntry(
            service=a.service_ids[int(m.q_service[q])], site=a.site_ids[int(m.q_site[q])], count=int(kq[q])
        )
        for q in np.flatnonzero(kq > 0)
    ]
    routes: list[RouteEntry] = []
    for r in range(len(m.dem)):
        d = int(m.dem[r])
        lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
        zs = z[lo:hi]
        for st in range(int(m.n_stages[r])):
            share: dict[int, float] = {}
            for c in np.flatnonzero(zs > 1e-9):
                q = int(m.chain_queue[lo + c, st])
                share[q] = share.get(q, 0.0) + float(zs[c])
            tot = sum(share.values())
            for q, f in sorted(share.items(), key=lambda t: int(m.q_site[t[0]])):
                routes.append(
                    RouteEntry(
                        group=a.group_ids[a.demand_group[d]],
                        access_site=a.site_ids[a.demand_site[d]],
                        service=a.service_ids[int(m.q_service[q])],
                        site=a.site_ids[int(m.q_site[q])],
                        fraction=min(1.0, f / tot),
                    )
                )
    obj = values["objective"]
    gap = max(0.0, (obj - bound) / abs(obj)) if math.isfinite(bound) and obj != 0 else None
    objectives = dict(values)
    objectives.update(
        {
            "bound": bound if math.isfinite(bound) else float("nan"),
            "gap": gap if gap is not None else float("nan"),
            "solve_seconds": seconds,
        }
    )
    return Plan(
        scenario=ScenarioRef(name=scenario.name, sha256=scenario_sha256(scenario)),
        created_by=created_by,
        replicas=tuple(replicas),
        routes=tuple(routes),
        objectives=objectives,
        bound=bound if math.isfinite(bound) else None,
        gap=gap,
        status=status,
        solve_seconds=seconds,
        notes=notes,
    )


def optimize_placement(
    scenario: Scenario,
    *,
    arrays: SystemArrays | None = None,
    objective: str = "latency",
    weights: Mapping[str, float] | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    rho_max: float = 0.8,
    budget_per_hour: float | None = None,
    min_domains: int | None = None,
    seed: int = 0,
) -> Plan:
    """Place service replicas and assign demand so the SLOs hold and the objective is least.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    arrays : SystemArrays, optional
        The compiled scenario, if already at hand.
    objective : {"latency", "cost", "energy", "weighted"} or a comma-separated order
        What to minimise: rate-weighted mean latency (ms), cost per hour, power (W), or a weighted sum.
        A comma-separated list such as ``"latency,cost"`` is lexicographic: each objective is minimised
        within the optimum (or best value found) of those before it (MILP; the heuristic approximates
        it with weights 1, 1e-3, 1e-6). The plan's ``objective`` value, bound and gap are those of
        the last objective.
    weights : mapping, optional
        For ``"weighted"``: weights of ``latency``, ``cost`` and ``energy`` (default 1, 1, 0).
    method : {"auto", "milp", "heuristic"}
        ``"milp"``: exact with HiGHS. ``"heuristic"``: LP-guided regret greedy plus local search, with
        the LP relaxation as lower bound. ``"auto"`` (the default, which may change) uses the MILP
        when chains plus queue levels number at most :data:`MILP_MAX_COLUMNS`, the heuristic
        otherwise, and the heuristic when the MILP finds no solution in time.
    time_limit_s : float
        Time limit of the solver (the model build comes on top).
    rho_max : float
        Utilization cap of queues whose applications have no latency SLO.
    budget_per_hour : float, optional
        Cost cap per hour.
    min_domains : int, optional
        Failure domains every service must span (default: derived from the availability SLOs).
    seed : int
        Seed of the solver.

    Returns
    -------
    Plan
        Replicas, routes, ``objectives`` (``objective``, ``mean_latency_ms``, ``cost_per_hour``,
        ``energy_w``, ``bound``, ``gap``, ``solve_seconds``), ``bound``, ``gap``, ``status``
        (``"optimal"`` only when HiGHS proved it), ``solve_seconds`` and ``created_by``. The plan has
        passed :func:`edgescale.optimize.check.check_plan`.

    Raises
    ------
    InfeasibleError
        When no placement meets the constraints; ``constraint`` names which and ``excess`` by how much.

    Examples
    --------
    >>> from edgescale.model.io import load
    >>> plan = optimize_placement(load("examples/factory-cell.yaml"), method="milp")
    >>> plan.status, plan.created_by
    ('optimal', 'optimize:milp')
    """
    from edgescale.optimize.check import check_plan

    if method not in ("auto", "milp", "heuristic"):
        raise ValueError(f"method must be auto, milp or heuristic (got {method!r})")
    t0 = time.perf_counter()
    a = arrays if arrays is not None else compile_scenario(scenario, devices=False)
    w, lex = _weights(objective, weights)
    opt = ModelOptions(rho_max=rho_max, min_domains=min_domains)
    m = build_model(scenario, a, opt)
    _prechecks(a, m, budget_per_hour)
    _local_capacity(a, m)
    obj = objective_terms(a, m, w)
    size = len(m.chain_latency) + len(m.level_cap)
    # linking rows (a chain only where its queues have replicas) tighten cost and energy bounds,
    # but make the LP of large models too slow
    link = (w.get("cost", 0.0) > 0 or w.get("energy", 0.0) > 0) and len(m.chain_latency) <= LINK_MAX_CHAINS
    use_milp = method == "milp" or (method == "auto" and size <= MILP_MAX_COLUMNS)
    notes = [f"model: {len(m.chain_latency)} chains, {len(m.level_cap)} queue levels, objective {w}"]
    deadline = t0 + time_limit_s

    def left(share: float = 1.0) -> float:
        return max((deadline - time.perf_counter()) * share, 1.0)

    cut_value = -math.inf
    lp_x: F64 | None = None
    large_structural = obj.structural and not link and not use_milp and budget_per_hour is None
    if large_structural:  # the weak LP, then linking rows it violates (see _placement_cuts)
        cuts = cut_bound(m, a, obj, time_limit_s=left(CUTS_SHARE), weak_time_limit_s=left(0.5), stall=True)
        lp, cut_value, lp_x = cuts.lp, cuts.bound, cuts.x
        notes.append(
            f"cutting planes: LP bound {cuts.weak:.6g} -> {cuts.bound:.6g} with {cuts.rows_added} linking rows "
            f"in {cuts.rounds} rounds ({cuts.seconds:.1f} s)"
        )
    else:
        lp = solve(
            m, a, obj, integer=False, time_limit_s=left(0.5), budget_per_hour=budget_per_hour, link=link
        )
    if lp.status == "infeasible":
        raise _diagnose(a, m, obj, budget_per_hour)
    lag_bound = -math.inf
    start: tuple[F64, I64] | None = None
    if large_structural:
        # large model, cost or energy: the cut LP above gives a bound and a start to follow; a Lagrangian
        # relaxation gives another bound and, from its subproblem's replicas, a fallback start
        lag = lagrangian_bound(
            m, a, obj, upper=math.inf, time_limit_s=left(LAGRANGE_SHARE), lp_duals=lp.duals
        )
        lag_bound, kq0, how = lag.bound, lag.kq.copy(), ""
        lag_note = f"Lagrangian relaxation: bound {lag.bound:.6g} after {lag.iterations} iterations ({lag.seconds:.1f} s)"
        if lp_x is not None:  # follow the (cut) LP: its loads give the replicas, its shares the routes
            start = lp_start(m, a, obj, lp_x, time_limit_s=left(0.4))
            how = "the LP's loads and shares"
        if start is None:  # the entry services' from their facility-location LPs (they consolidate)
            kq0 = cfl_levels(m, a, obj, kq0, entry_services(m, a), time_limit_s=left(0.3))
            start = lagrangian_start(m, a, obj, kq0, time_limit_s=left(0.4))
            how = "its replicas (entry services: rounded facility-location LPs)"
        notes.append(
            f"{lag_note}; start from {how}: " + ("found" if start is not None else "failed, greedy instead")
        )
    if start is None:
        # a latency MILP finds its first solution on its own; with cost or energy (linking rows) it
        # needs the feasibility run (Melbourne, 30 s: none without it, 52.2 against 50.96 with it)
        milp_next = use_milp and not obj.structural
        start = _construct(a, m, obj, lp.z, budget_per_hour, left, notes, seed, milp_next=milp_next)
    if start is not None:  # local search and best routing: the heuristic's plan, and the MILP's start
        z0, kq0 = heuristic(m, a, obj, time_limit_s=left(0.3 if use_milp else 0.8), start=start)
        routed = route_lp(m, a, obj, kq0, time_limit_s=left(0.5))
        better = (routed if routed is not None else z0), kq0
        over = budget_per_hour is not None and evaluate(m, obj, *better)["cost_per_hour"] > budget_per_hour
        start = start if over else better
    plan_parts: tuple[F64, I64, float, str, str] | None = None
    if use_milp and lex:
        plan_parts, obj = _lexicographic(a, m, lex, start, budget_per_hour, left, seed)
    elif use_milp:
        full_bound = -math.inf
        min_cores = _fill_cores(a, m, w, budget_per_hour)
        if min_cores is not None:
            start, full_bound = _full_sites(a, m, obj, min_cores, start, link, seed, left, notes)
            if start is not None and nbhd_applies(m) and left(NBHD_SHARE) >= 2 * SUB_LIMIT_S:
                start = _neighbourhoods(a, m, obj, start, link, seed, left(NBHD_SHARE), notes)
        # with a start, linking rows cost the latency MILP nothing in finding a solution (Melbourne:
        # bound 16.9998 against 16.9986 without them)
        link2 = link or (start is not None and len(m.chain_latency) <= LINK_MAX_CHAINS)
        res = solve(
            m,
            a,
            obj,
            integer=True,
            time_limit_s=left(),
            budget_per_hour=budget_per_hour,
            link=link2,
            seed=seed,
            start=start,
        )
        if res.status == "infeasible":
            raise _diagnose(a, m, obj, budget_per_hour)
        if res.z is not None and res.kq is not None:
            status = "optimal" if res.status == "optimal" else "time_limit"
            z, kq = _tidy(a, m, obj, res.z, res.kq)
            if status != "optimal":
                polished = route_lp(m, a, obj, kq, time_limit_s=left())
                z = polished if polished is not None else z
                if start is not None and _value(m, obj, start) < _value(m, obj, (z, kq)):
                    z, kq = start
            plan_parts = (z, kq, max(res.bound, full_bound), status, "optimize:milp")
    if plan_parts is None:
        if start is None:
            raise InfeasibleError(
                f"no feasible placement found within {time_limit_s:g} s (the LP relaxation is feasible); "
                "raise the time limit",
                constraint="time_limit",
            )
        plan_parts = (
            start[0],
            start[1],
            max(lp.bound, lag_bound, cut_value),
            "heuristic",
            "optimize:heuristic",
        )
    z, kq, bound, status, by = plan_parts
    values = evaluate(m, obj, z, kq)
    plan = _to_plan(
        scenario,
        a,
        m,
        z,
        kq,
        values,
        bound=bound,
        status=status,
        seconds=time.perf_counter() - t0,
        created_by=by,
        notes=tuple(notes),
    )
    need = {a.service_ids[i]: int(v) for i, v in enumerate(m.min_domains)}
    problems = check_plan(scenario, a, plan, min_domains=need, budget_per_hour=budget_per_hour)
    if problems:
        raise RuntimeError("optimizer bug: the plan fails the checker:\n  " + "\n  ".join(problems[:10]))
    return plan


def capacitated_facility_location(
    fixed_cost: F64,
    capacity: F64,
    demand: F64,
    assign_cost: F64,
    *,
    single_source: bool = False,
    time_limit_s: float = 60.0,
) -> tuple[NDArray[np.bool_], F64, float, float, str]:
    """Capacitated facility location with HiGHS: open facilities and assign demand at least cost.

    ``min sum_j f_j y_j + sum_ij c_ij d_i x_ij`` subject to ``sum_j x_ij = 1``,
    ``sum_i d_i x_ij <= u_j y_j``, ``x_ij <= y_j``, y binary, x in [0, 1] (binary when
    ``single_source``).

    Parameters
    ----------
    fixed_cost : array (m,)
        Opening cost of each facility.
    capacity : array (m,)
        Capacity of each facility.
    demand : array (n,)
        Demand of each customer.
    assign_cost : array (n, m)
        Cost per unit of demand of customer i served by facility j (``inf``: not allowed).
    single_source : bool
        Serve each customer from one facility.
    time_limit_s : float
        HiGHS time limit.

    Returns
    -------
    open, shares, objective, bound, status
        Which facilities open, the (n, m) shares, the objective, HiGHS's dual bound and
        ``"optimal"`` or ``"time_limit"``.

    Raises
    ------
    InfeasibleError
        When total demand exceeds the capacity reachable by the customers.

    Examples
    --------
    >>> import numpy as np
    >>> op, x, cost, bound, status = capacitated_facility_location(
    ...     np.array([10.0, 12.0]), np.array([10.0, 10.0]), np.array([3.0, 3.0]),
    ...     np.array([[1.0, 2.0], [2.0, 1.0]]))
    >>> op.tolist(), round(cost, 6), status
    ([True, False], 19.0, 'optimal')
    """
    from edgescale.optimize._placement_milp import cfl_solve

    f = np.asarray(fixed_cost, np.float64)
    u = np.asarray(capacity, np.float64)
    d = np.asarray(demand, np.float64)
    c = np.asarray(assign_cost, np.float64)
    if float(d.sum()) > float(u.sum()) * (1 + 1e-12):
        raise InfeasibleError(
            f"capacity: total demand {d.sum():g} exceeds total capacity {u.sum():g} by {d.sum() / u.sum() - 1:.0%}",
            constraint="capacity",
            excess=float(d.sum() / u.sum() - 1),
        )
    return cfl_solve(f, u, d, c, single_source=single_source, time_limit_s=time_limit_s)
