"""The capacity plan of ``edgescale analyze``: the fewest servers per queue for an even share of each SLO budget.

An application's latency target first pays for what its stations cannot change: per demand point (its full
route, no cache hits), its *reserve*, the latency the analysis's own model gives it at the SLO percentile when
its stations take no time. That is its fixed delays (access, propagation, transmission: a constant) plus the
p-quantile of its link queueing waits, taken as in the SLO verdicts (:mod:`edgescale.analysis.scenario`): a
gamma matched to their mean (Pollaczek-Khinchine) and variance (Takacs), summed over the route's hops as
independent, a point mass where the variance is 0. Without queueing links the reserve is the fixed delay, the
rule before links could queue. The application's budget, ``(SLO latency - largest reserve) / stages``, is
split evenly over its stages, and each stage's queues are inverted as M/M/c at the SLO percentile.

Why the p-quantile of the link waits and not their mean: the stations are budgeted at their p-quantiles, so a
plan that reserved only the links' mean would leave their tail to the stations' share (one M/D/1 link at rho
0.9 waits 22.5 ms on average for 5 ms messages, 70.8 ms at the 95th percentile under the gamma fit, 70.6 ms
exactly) and promise a budget the link already eats. Summing p-quantiles of independent parts is conservative
(the quantile of the sum, which the verdict reports, is smaller for these right-skewed parts), the same
conservatism the even split over stages already has. A link at utilization >= 1 makes the reserve infinite:
no server count can meet the SLO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaincinv

from edgescale.model.arrays import SystemArrays

if TYPE_CHECKING:
    from edgescale.analysis.scenario import AppAnalysis, QueueTable

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

CANNOT_MEET = "cannot meet: fixed delays or service time alone exceed the budget"


@dataclass(frozen=True)
class RouteDelays:
    """Per demand point of one application (its full route): the delays its stations cannot change (ms).

    ``link_wait_ms`` and ``link_var_ms2`` (the mean and variance of its link queueing waits, summed over its
    hops) are ``None`` when the scenario has no queueing links.
    """

    fixed_ms: F64
    link_wait_ms: F64 | None = None
    link_var_ms2: F64 | None = None

    def reserve_ms(self, p: float) -> F64:
        """Per demand point, the latency at probability *p* with stations that take no time (see the module)."""
        if self.link_wait_ms is None or self.link_var_ms2 is None:
            return self.fixed_ms
        m, v = self.link_wait_ms, self.link_var_ms2
        gamma = np.isfinite(m) & (v > 1e-18) & (m > 0)  # as the verdicts' mixture: else a point mass at m
        shape = np.where(gamma, m * m / np.where(gamma, v, 1.0), 1.0)
        scale = np.where(gamma, v / np.where(gamma, m, 1.0), 1.0)
        wait: F64 = np.where(gamma, scale * gammaincinv(shape, p), m)
        return self.fixed_ms + wait


def _erlang_c_vec(servers: I64, load: F64) -> F64:
    """Erlang C for many queues at once (the stable Erlang B recursion, vectorised over queues)."""
    b = np.ones(len(servers))
    for k in range(1, int(servers.max(initial=0)) + 1):
        on = k <= servers
        b = np.where(on, load * b / (k + load * b), b)
    rho = load / servers
    return b / (1.0 - rho * (1.0 - b))


def _mmc_response_quantile_vec(lam: F64, mu: F64, servers: I64, p: float) -> F64:
    """p-quantile of the M/M/c FCFS response time, vectorised (inf where unstable).

    ``P(R > t) = (1 - C) e^{-mu t} + C P(E_theta + E_mu > t)`` with ``theta = c mu - lam``.
    """
    out = np.full(len(lam), np.inf)
    ok = lam < servers * mu
    if not ok.any():
        return out
    lam, mu, c = lam[ok], mu[ok], servers[ok]
    C = _erlang_c_vec(c, lam / mu)
    theta = c * mu - lam
    same = np.isclose(theta, mu)
    denom = np.where(same, 1.0, theta - mu)

    def sf(t: F64) -> F64:
        hypo = np.where(
            same,
            (1.0 + mu * t) * np.exp(-mu * t),
            (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / denom,
        )
        return (1.0 - C) * np.exp(-mu * t) + C * hypo

    lo = np.zeros(len(lam))
    hi = -np.log(1.0 - p) * (1.0 / mu + 1.0 / theta) * 2.0 + 1e-12
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = sf(mid) > 1.0 - p
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out[ok] = hi
    return out


def _min_servers_vec(lam: F64, mu: F64, p: float, budget_s: F64, limit: int = 100_000) -> I64:
    """Smallest c with the M/M/c response-time p-quantile <= budget, per queue (-1 when none can)."""
    n = len(lam)
    lo = np.floor(lam / mu).astype(np.int64)  # unstable at or below this
    feasible = budget_s > -np.log(1.0 - p) / mu  # an idle server's own service time must fit
    hi = np.maximum(lo + 1, 1)
    good = np.zeros(n, bool)
    for _ in range(40):  # grow until the quantile fits
        todo = feasible & ~good & (hi <= limit)
        if not todo.any():
            break
        q = _mmc_response_quantile_vec(lam[todo], mu[todo], hi[todo], p)
        fits = q <= budget_s[todo]
        idx = np.flatnonzero(todo)
        good[idx[fits]] = True
        grow = idx[~fits]
        lo[grow] = hi[grow]
        hi[grow] = hi[grow] * 2
    while True:  # binary search in (lo, hi]
        todo = good & (hi - lo > 1)
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        mid = (lo[idx] + hi[idx]) // 2
        fits = _mmc_response_quantile_vec(lam[idx], mu[idx], mid, p) <= budget_s[idx]
        hi[idx[fits]] = mid[fits]
        lo[idx[~fits]] = mid[~fits]
    return np.where(good, hi, -1)


def _link_note(res: AppAnalysis, link_ms: float, budget0_ms: float) -> str:
    """Why a queue cannot meet its budget when it could without the link queueing waits."""
    if not math.isfinite(link_ms):
        over = ", ".join(s.removeprefix("link ") for s in res.unstable_stations if s.startswith("link "))
        return f"cannot meet: queueing link {over or '?'} on the route is overloaded (utilization >= 1)"
    return (
        f"cannot meet: the link queueing waits take {link_ms:.3g} ms of the SLO latency (p{res.slo_percentile:g});"
        f" without them the budget would be {budget0_ms:.3g} ms"
    )


def capacity_plan(
    a: SystemArrays, q: QueueTable, apps: list[AppAnalysis], routes: list[RouteDelays], app_index: list[int]
) -> list[dict[str, Any]]:
    """Fewest servers per queue so each stage meets an even share of its application's SLO budget.

    Only queues whose server count should change (or that cannot meet the budget) are listed.

    The budget of an application is its latency target minus the largest reserve of its demand points (fixed
    delays plus the SLO-percentile link queueing waits: :meth:`RouteDelays.reserve_ms` and the module notes),
    split evenly over its stages; each queue is then inverted as M/M/c at the SLO percentile (exponential
    service assumed here). With queueing links each row also has ``link_wait_ms``: how much of the SLO latency
    the link waits take (largest reserve minus largest fixed delay), and a queue that could meet the budget
    without them says so in its ``note``.
    """
    rows: list[dict[str, Any]] = []
    for pos, res in enumerate(apps):
        if res.slo_latency_ms is None or res.slo_percentile is None:
            continue
        app = app_index[pos]
        lo, hi = int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1])
        route = routes[pos]
        p = res.slo_percentile / 100.0
        fixed = route.fixed_ms
        budget0_ms = (res.slo_latency_ms - float(np.max(fixed))) / (hi - lo) if len(fixed) else 0.0
        budget_ms, link_ms = budget0_ms, None
        if route.link_wait_ms is not None and len(fixed):
            reserve_ms = float(np.max(route.reserve_ms(p)))
            link_ms = reserve_ms - float(np.max(fixed))
            budget_ms = (res.slo_latency_ms - reserve_ms) / (hi - lo)
        for st in range(lo, hi):
            svc = int(a.stage_service[st])
            ks = np.flatnonzero(q.service == svc)
            if not len(ks):
                continue
            mu = 1.0 / q.service_s[ks]
            need = _min_servers_vec(q.rate_per_s[ks], mu, p, np.full(len(ks), budget_ms / 1000.0))
            need0 = need
            if link_ms is not None and np.any(need < 0):  # would they meet the budget without the links?
                need0 = _min_servers_vec(q.rate_per_s[ks], mu, p, np.full(len(ks), budget0_ms / 1000.0))
            per_replica = max(1, math.floor(a.service_cpu_cores[svc]))
            extra = (need - q.servers[ks]) / per_replica * a.service_cpu_cores[svc]
            cost = extra * a.site_cost_per_core_hour[q.site[ks]]
            for j, k in enumerate(ks):
                if need[j] == q.servers[k]:
                    continue  # only changes are listed
                row: dict[str, Any] = {
                    "application": res.application,
                    "service": a.service_ids[svc],
                    "site": a.site_ids[int(q.site[k])],
                    "servers_now": int(q.servers[k]),
                    "budget_ms": budget_ms,
                    "servers_needed": int(need[j]) if need[j] >= 0 else None,
                }
                if link_ms is not None:
                    row["link_wait_ms"] = link_ms
                if need[j] >= 0:
                    row["extra_cost_per_hour"] = float(cost[j])
                elif link_ms is not None and need0[j] >= 0:
                    row["note"] = _link_note(res, link_ms, budget0_ms)
                else:
                    row["note"] = CANNOT_MEET
                rows.append(row)
    return rows
