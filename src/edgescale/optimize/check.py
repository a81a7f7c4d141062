"""An independent plan checker: does a plan obey the scenario's rules?

Written from the scenario's rules (not from any solver's matrices), so a solver bug shows up as a
failed check. Every optimizer runs it before returning a plan. The rules:

- the plan was made for this scenario (its SHA-256), and every name in it exists;
- replicas: only on sites of a tier the service allows, with an accelerator where it needs one;
  per site, the replicas' cores and memory fit; per service, the count is within its replica limits
  and, when asked, spans ``min_domains`` failure domains;
- routes: every demand point (device group x access site) routes every service of its application
  with fractions summing to 1, only to sites hosting that service, and no other service;
- every queue (service x site with replicas) has utilization below ``max_utilization`` (1 by
  default: a steady state exists), with analyze's server model;
- latency SLO prefilter: for every combination of the sites a demand point's stages are routed to,
  the fixed latency (access both ways with transmission, minimum-latency paths from the first
  parent's site, transmission on each link, the response path) is within the application's target;
- cost per hour within ``budget_per_hour`` when given.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from edgescale.analysis._paths import PathMetrics
from edgescale.model.arrays import SystemArrays
from edgescale.model.io import matches_scenario_sha256
from edgescale.model.plan import Plan
from edgescale.model.schema import TIERS, Scenario

__all__ = ["check_plan"]

F64 = NDArray[np.float64]

TOL = 1e-6


def _replicas(a: SystemArrays, plan: Plan, out: list[str]) -> dict[tuple[int, int], int]:
    site_pos = {n: i for i, n in enumerate(a.site_ids)}
    svc_pos = {n: i for i, n in enumerate(a.service_ids)}
    rep: dict[tuple[int, int], int] = defaultdict(int)
    for k, r in enumerate(plan.replicas):
        s, j = svc_pos.get(r.service), site_pos.get(r.site)
        if s is None or j is None:
            out.append(
                f"replicas[{k}]: unknown {'service' if s is None else 'site'} (got {r.service}@{r.site})"
            )
            continue
        if not (int(a.service_tier_mask[s]) >> int(a.site_tier[j])) & 1:
            out.append(
                f"replicas[{k}]: service '{r.service}' may not run on tier {TIERS[a.site_tier[j]]} (got site {r.site})"
            )
        if a.service_accelerator[s] and a.site_accelerators[j] <= 0:
            out.append(f"replicas[{k}]: service '{r.service}' needs an accelerator (got site {r.site})")
        rep[(s, j)] += r.count
    return rep


def _capacity(a: SystemArrays, rep: dict[tuple[int, int], int], out: list[str]) -> None:
    cores = np.zeros(a.n_sites)
    mem = np.zeros(a.n_sites)
    per_svc = np.zeros(len(a.service_ids), np.int64)
    for (s, j), n in rep.items():
        cores[j] += n * a.service_cpu_cores[s]
        mem[j] += n * a.service_memory_mb[s]
        per_svc[s] += n
    for jj in np.flatnonzero(cores > a.site_cpu_cores * (1 + TOL) + TOL):
        j = int(jj)
        out.append(
            f"sites[{a.site_ids[j]}]: replicas need more cores than it has (got {cores[j]:g} > {a.site_cpu_cores[j]:g})"
        )
    for jj in np.flatnonzero(mem > a.site_memory_gb * 1024.0 * (1 + TOL) + TOL):
        j = int(jj)
        out.append(
            f"sites[{a.site_ids[j]}]: replicas need more memory than it has "
            f"(got {mem[j]:g} MB > {a.site_memory_gb[j] * 1024:g} MB)"
        )
    for s in range(len(a.service_ids)):
        lo, hi = int(a.service_min_replicas[s]), int(a.service_max_replicas[s])
        if per_svc[s] < lo or (hi > 0 and per_svc[s] > hi):
            out.append(
                f"services[{a.service_ids[s]}]: replicas must be within [{lo}, {hi if hi > 0 else 'inf'}] (got {per_svc[s]})"
            )


def _routes(
    a: SystemArrays, plan: Plan, rep: dict[tuple[int, int], int], out: list[str]
) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """Route shares by (demand point, service); reports unknown names and routes to sites without replicas."""
    site_pos = {n: i for i, n in enumerate(a.site_ids)}
    svc_pos = {n: i for i, n in enumerate(a.service_ids)}
    grp_pos = {n: i for i, n in enumerate(a.group_ids)}
    dpos = {(int(g), int(s)): d for d, (g, s) in enumerate(zip(a.demand_group, a.demand_site, strict=True))}
    shares: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for k, e in enumerate(plan.routes):
        g, acc = grp_pos.get(e.group), site_pos.get(e.access_site)
        s, j = svc_pos.get(e.service), site_pos.get(e.site)
        d = dpos.get((g, acc)) if g is not None and acc is not None else None
        if d is None or s is None or j is None:
            out.append(
                f"routes[{k}]: unknown demand point, service or site (got {e.group}@{e.access_site} {e.service}->{e.site})"
            )
            continue
        if rep.get((s, j), 0) <= 0:
            out.append(f"routes[{k}]: no replica of '{e.service}' runs at the target (got {e.site})")
        shares[(d, s)].append((j, e.fraction))
    return shares


def _app_services(a: SystemArrays, app: int) -> list[int]:
    return [
        int(a.stage_service[st]) for st in range(int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1]))
    ]


def _coverage(
    a: SystemArrays, shares: dict[tuple[int, int], list[tuple[int, float]]], out: list[str]
) -> None:
    need: set[tuple[int, int]] = set()
    for d in range(len(a.demand_group)):
        app = int(a.group_app[a.demand_group[d]])
        if app >= 0:
            need.update((d, s) for s in _app_services(a, app))
    for d, s in sorted(need):
        tot = sum(f for _, f in shares.get((d, s), []))
        if abs(tot - 1.0) > TOL:
            out.append(
                f"routes[{a.group_ids[a.demand_group[d]]}@{a.site_ids[a.demand_site[d]]}]: fractions for "
                f"'{a.service_ids[s]}' must sum to 1 (got {tot:.6g})"
            )
    for d, s in sorted(set(shares) - need):
        out.append(
            f"routes[{a.group_ids[a.demand_group[d]]}@{a.site_ids[a.demand_site[d]]}]: '{a.service_ids[s]}' "
            "is not a stage of this demand point's application (got a route)"
        )


def _utilization(
    a: SystemArrays,
    rep: dict[tuple[int, int], int],
    shares: dict[tuple[int, int], list[tuple[int, float]]],
    limit: float,
    out: list[str],
) -> None:
    lam: dict[tuple[int, int], float] = defaultdict(float)
    for (d, s), lst in shares.items():
        for j, f in lst:
            lam[(s, j)] += float(a.demand_rate_per_s[d]) * f
    for (s, j), rate in lam.items():
        n = rep.get((s, j), 0)
        if n <= 0:
            continue
        cpu = float(a.service_cpu_cores[s])
        servers = n * max(1, math.floor(cpu))
        service_s = float(a.service_work_ms[s]) / 1000.0 / (float(a.site_cpu_speed[j]) * min(1.0, cpu))
        rho = rate * service_s / servers
        if rho >= limit:
            out.append(
                f"queues[{a.service_ids[s]}@{a.site_ids[j]}]: utilization must be below {limit:g} (got {rho:.4g})"
            )


def _slo(a: SystemArrays, shares: dict[tuple[int, int], list[tuple[int, float]]], out: list[str]) -> None:
    """Fixed latency of every routed site combination against the application's target."""
    combos: list[tuple[int, int, tuple[int, ...]]] = []
    for d in range(len(a.demand_group)):
        app = int(a.group_app[a.demand_group[d]])
        if app < 0 or not math.isfinite(a.app_slo_latency_ms[app]):
            continue
        sets = [[j for j, _ in shares.get((d, s), [])] for s in _app_services(a, app)]
        if any(not x for x in sets):
            continue
        combos += [(d, app, c) for c in itertools.product(*sets)]
    if not combos:
        return
    pm = PathMetrics(a)
    fixed = np.zeros(len(combos))
    legs_o: list[int] = []
    legs_t: list[int] = []
    legs_kb: list[float] = []
    legs_i: list[int] = []
    for i, (d, app, sites) in enumerate(combos):
        lo = int(a.app_stage_ptr[app])
        acc = int(a.demand_site[d])
        kb0 = float(a.stage_request_kb[lo] + a.app_response_kb[app])
        fixed[i] = 2.0 * a.demand_access_latency_ms[d] + kb0 * 8.0 / a.demand_access_bandwidth_mbps[d]
        for k, j in enumerate(sites):
            st = lo + k
            p0, p1 = int(a.stage_parent_ptr[st]), int(a.stage_parent_ptr[st + 1])
            origin = acc if p0 == p1 else sites[int(a.stage_parents[p0]) - lo]
            legs_o.append(origin)
            legs_t.append(j)
            legs_kb.append(float(a.stage_request_kb[st]))
            legs_i.append(i)
        legs_o.append(sites[-1])
        legs_t.append(acc)
        legs_kb.append(float(a.app_response_kb[app]))
        legs_i.append(i)
    lat, tx = _pairs_batched(pm, np.array(legs_o, np.int64), np.array(legs_t, np.int64))
    fixed += np.bincount(np.array(legs_i), weights=lat + np.array(legs_kb) * tx, minlength=len(combos))
    for ii in np.flatnonzero(
        [fixed[i] > a.app_slo_latency_ms[c[1]] * (1 + TOL) for i, c in enumerate(combos)]
    ):
        d, app, sites = combos[int(ii)]
        out.append(
            f"routes[{a.group_ids[a.demand_group[d]]}@{a.site_ids[a.demand_site[d]]}]: fixed latency via "
            f"{'/'.join(a.site_ids[j] for j in sites)} exceeds the {a.app_slo_latency_ms[app]:g} ms SLO of "
            f"'{a.app_ids[app]}' (got {fixed[ii]:.3g} ms)"
        )


def _pairs_batched(pm: PathMetrics, o: NDArray[np.int64], t: NDArray[np.int64]) -> tuple[F64, F64]:
    """``PathMetrics.pairs`` over groups of at most 256 origins (bounded memory)."""
    lat = np.zeros(len(o))
    tx = np.zeros(len(o))
    uo = np.unique(o)
    for b in range(0, len(uo), 256):
        idx = np.flatnonzero(np.isin(o, uo[b : b + 256]))
        la, txx, _ = pm.pairs(o[idx], t[idx])
        lat[idx], tx[idx] = la, txx
    return lat, tx


def _domains(
    a: SystemArrays, rep: dict[tuple[int, int], int], min_domains: int | Mapping[str, int], out: list[str]
) -> None:
    doms: dict[int, set[int]] = defaultdict(set)
    for (s, j), n in rep.items():
        if n > 0:
            doms[s].add(int(a.site_domain[j]))
    for s, name in enumerate(a.service_ids):
        need = min_domains if isinstance(min_domains, int) else int(min_domains.get(name, 1))
        if len(doms[s]) < need:
            out.append(f"services[{name}]: replicas must span {need} failure domains (got {len(doms[s])})")


def _cost(a: SystemArrays, rep: dict[tuple[int, int], int]) -> float:
    used = {j for (_, j), n in rep.items() if n > 0}
    per_core = sum(n * a.service_cpu_cores[s] * a.site_cost_per_core_hour[j] for (s, j), n in rep.items())
    return float(per_core + sum(a.site_cost_fixed_per_hour[j] for j in used))


def check_plan(
    scenario: Scenario,
    arrays: SystemArrays,
    plan: Plan,
    *,
    max_utilization: float = 1.0,
    min_domains: int | Mapping[str, int] | None = None,
    budget_per_hour: float | None = None,
) -> list[str]:
    """Every rule of the scenario that *plan* breaks, as ``<where>: <rule> (got <value>)`` lines.

    Parameters
    ----------
    scenario : Scenario
        The scenario the plan is for.
    arrays : SystemArrays
        Its compiled form.
    plan : Plan
        The plan to check.
    max_utilization : float
        Every queue's utilization must stay below this.
    min_domains : int or mapping of service id to int, optional
        Failure domains each service's replicas must span.
    budget_per_hour : float, optional
        Cost cap per hour.

    Returns
    -------
    list of str
        Empty when the plan obeys every rule.

    Examples
    --------
    >>> from edgescale.model.io import load
    >>> from edgescale.model.arrays import compile_scenario
    >>> from edgescale.model.plan import Plan, ScenarioRef
    >>> from edgescale.model.io import scenario_sha256
    >>> s = load("examples/factory-cell.yaml")
    >>> empty = Plan(scenario=ScenarioRef(name=s.name, sha256=scenario_sha256(s)))
    >>> check_plan(s, compile_scenario(s, devices=False), empty)[0]
    'services[frame-filter]: replicas must be within [1, inf] (got 0)'
    """
    out: list[str] = []
    if not matches_scenario_sha256(scenario, plan.scenario.sha256):
        out.append(f"scenario.sha256: plan was made for another scenario (got '{plan.scenario.name}')")
    a = arrays
    rep = _replicas(a, plan, out)
    _capacity(a, rep, out)
    shares = _routes(a, plan, rep, out)
    _coverage(a, shares, out)
    _utilization(a, rep, shares, max_utilization, out)
    _slo(a, shares, out)
    if min_domains is not None:
        _domains(a, rep, min_domains, out)
    if budget_per_hour is not None:
        cost = _cost(a, rep)
        if cost > budget_per_hour * (1 + TOL):
            out.append(f"plan: cost per hour must be within the budget {budget_per_hour:g} (got {cost:.6g})")
    return out
