"""Energy and load distribution: DVFS frequency per site under a latency bound, balancing weights.

DVFS (:func:`dvfs_levels`, :func:`dvfs_continuous`): a site with ``servers`` cores receives Poisson
requests at ``arrival_rate_per_s``, each needing ``work_ms`` of a speed-1 core at the nominal
frequency. At frequency ``f`` the service rate is ``mu(f) = 1000 cpu_speed / work_ms * f / f_nom``
and the utilization ``rho(f) = lambda / (c mu(f))``; the site's power is the linear model of
:class:`~edgescale.model.schema.PowerModel` at that level, ``idle_w + (peak_w(f) - idle_w) rho(f)``,
with ``peak_w(f)`` from the site's :class:`~edgescale.model.schema.DvfsLevel` or, continuously,
``idle_w + (peak_w - idle_w) (f / f_nom)**3`` (dynamic power ``C V**2 f`` with ``V`` proportional to
``f``, [BB96]_). The response time is that of an M/M/c queue
(:func:`edgescale.analysis.queueing.mmc`), its mean or a percentile.

Load distribution (:func:`optimal_split`, :func:`balancing_weights`): the split of a Poisson stream
over heterogeneous M/M/1 servers (plus a network delay each) that minimises the mean response time —
a convex separable problem solved by water-filling on its KKT conditions [TT85]_ [BS83]_ — and the
per-(service, site) weights a plan's routes imply.

References
----------
.. [BB96] T. D. Burd, R. W. Brodersen, "Processor design for portable systems", J. VLSI Signal
   Process. 13, 1996.
.. [TT85] A. N. Tantawi, D. Towsley, "Optimal static load balancing in distributed computer systems",
   J. ACM 32(2), 1985.
.. [BS83] C. H. Bell, S. Stidham, "Individual versus social optimization in the allocation of
   customers to alternative servers", Management Sci. 29(7), 1983.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from edgescale.analysis.queueing import mmc, mmc_response_time_percentile
from edgescale.errors import InfeasibleError, Issue, ModelAssumptionError, ScenarioError
from edgescale.model.plan import DvfsEntry, Plan, WeightEntry, plan_to_arrays
from edgescale.optimize._offload_common import as_array, as_int_array

__all__ = [
    "DvfsResult",
    "SplitResult",
    "balancing_weights",
    "dvfs_continuous",
    "dvfs_for_plan",
    "dvfs_levels",
    "optimal_split",
    "response_time_ms",
    "site_load",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def response_time_ms(
    arrival_rate_per_s: float, service_rate_per_s: float, servers: int, percentile: float | None = None
) -> float:
    """M/M/c response time in ms: the mean, or the ``percentile`` (in (0, 100)); ``inf`` if unstable.

    Examples
    --------
    >>> response_time_ms(80.0, 100.0, 1)   # M/M/1: 1 / (mu - lambda)
    50.0
    >>> round(response_time_ms(80.0, 100.0, 1, 95.0), 2)   # -ln(0.05) / (mu - lambda)
    149.79
    """
    if arrival_rate_per_s >= servers * service_rate_per_s:
        return math.inf
    if percentile is None:
        return 1e3 * mmc(arrival_rate_per_s, service_rate_per_s, servers).mean_response_time_s
    return 1e3 * mmc_response_time_percentile(
        arrival_rate_per_s, service_rate_per_s, servers, percentile / 100.0
    )


@dataclass(frozen=True, eq=False)
class DvfsResult:
    """Frequency per site and what it costs.

    Attributes
    ----------
    level : ndarray of int64, shape (S,)
        Chosen level per site (-1 for the continuous method).
    frequency_ghz, power_w, response_ms, utilization : ndarray, shape (S,)
    objective : float
        Total power, W.
    bound : float
        Proven lower bound on the least total power (equal to ``objective``: both methods are exact).
    gap : float
    status : str
        ``"optimal"``.
    solve_seconds : float
    method : str
        ``"enumeration"`` or ``"continuous"``.
    """

    level: I64
    frequency_ghz: F64
    power_w: F64
    response_ms: F64
    utilization: F64
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    method: str
    site_ids: tuple[str, ...] = ()

    def plan_entries(self, site_ids: Sequence[str] | None = None) -> tuple[DvfsEntry, ...]:
        """The plan's ``dvfs`` section (names default to ``self.site_ids``)."""
        site_ids = self.site_ids if site_ids is None else site_ids
        return tuple(
            DvfsEntry(site=s, frequency_ghz=float(f))
            for s, f in zip(site_ids, self.frequency_ghz, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "method": self.method,
            "status": self.status,
            "objective_w": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solve_seconds": self.solve_seconds,
            "frequency_ghz": self.frequency_ghz.tolist(),
            "power_w": self.power_w.tolist(),
            "response_ms": self.response_ms.tolist(),
        }


def _levels_table(levels: Sequence[Sequence[Any]], n: int) -> tuple[F64, F64]:
    """Per-site levels (``DvfsLevel`` or ``(frequency_ghz, peak_w)``) as NaN-padded (S, L) arrays."""
    if len(levels) != n:
        raise ModelAssumptionError(
            f"dvfs_levels: levels must list the levels of {n} sites (got {len(levels)})"
        )
    width = max((len(x) for x in levels), default=0)
    f = np.full((n, max(width, 1)), np.nan)
    w = np.full((n, max(width, 1)), np.nan)
    for s, site in enumerate(levels):
        if len(site) == 0:
            raise ModelAssumptionError(f"dvfs_levels: levels[{s}] must have at least one level (got [])")
        for k, lv in enumerate(site):
            fg, pw = (lv.frequency_ghz, lv.peak_w) if hasattr(lv, "frequency_ghz") else lv
            if not (fg > 0 and pw >= 0):
                raise ModelAssumptionError(
                    f"dvfs_levels: levels[{s}][{k}] needs frequency_ghz > 0 and peak_w >= 0 (got {lv!r})"
                )
            f[s, k], w[s, k] = float(fg), float(pw)
    return f, w


def dvfs_levels(
    arrival_rate_per_s: ArrayLike,
    work_ms: ArrayLike,
    levels: Sequence[Sequence[Any]],
    latency_bound_ms: ArrayLike,
    *,
    servers: ArrayLike = 1,
    idle_w: ArrayLike = 0.0,
    cpu_speed: ArrayLike = 1.0,
    nominal_ghz: ArrayLike | None = None,
    percentile: float | None = None,
    site_ids: Sequence[str] | None = None,
) -> DvfsResult:
    """Per site, the DVFS level of least power whose response time meets the bound (exact, by enumeration).

    Parameters
    ----------
    arrival_rate_per_s, work_ms : array_like, shape (S,)
        Load per site and mean work per request (ms on a speed-1 core at ``nominal_ghz``).
    levels : sequence of sequences
        Per site, its :class:`~edgescale.model.schema.DvfsLevel` s (or ``(frequency_ghz, peak_w)``).
    latency_bound_ms : array_like, shape (S,)
        Bound on the mean response time, or on its ``percentile``.
    servers, idle_w, cpu_speed : array_like, shape (S,)
        Cores, idle power and core speed per site.
    nominal_ghz : array_like, optional
        Frequency at which ``work_ms`` holds (default: each site's highest level).
    percentile : float, optional
        Bound the given percentile (e.g. 95) instead of the mean.
    site_ids : sequence of str, optional
        Names used in error messages.

    Returns
    -------
    DvfsResult

    Raises
    ------
    InfeasibleError
        At some site not even the fastest level meets the bound; says by how much.

    Notes
    -----
    Levels are independent across sites, so enumerating every level of every site is exact:
    ``O(S L)`` queueing evaluations. Ties go to the lower frequency.

    Examples
    --------
    40 requests/s of 10 ms at 2 GHz on one core; levels 1.0, 1.5, 2.0 GHz drawing 80, 110, 150 W at
    full load and 50 W idle; mean response time at most 50 ms. At 1.0 GHz (mu = 50/s) the mean is
    100 ms; at 1.5 GHz (mu = 75/s) 28.6 ms for ``50 + 60 * 40/75 = 82`` W; at 2.0 GHz 16.7 ms for 90 W:

    >>> r = dvfs_levels([40.0], [10.0], [[(1.0, 80.0), (1.5, 110.0), (2.0, 150.0)]], 50.0, idle_w=50.0)
    >>> r.frequency_ghz.tolist(), r.power_w.tolist(), r.status
    ([1.5], [82.0], 'optimal')
    """
    t0 = time.perf_counter()
    w = "dvfs_levels"
    lam = as_array(
        w, "arrival_rate_per_s", np.ravel(arrival_rate_per_s), (np.size(arrival_rate_per_s),), lo=0.0
    )
    n = len(lam)
    freq, peak = _levels_table(levels, n)
    work = as_array(w, "work_ms", work_ms, (n,), lo=0.0, lo_open=True)
    bound = as_array(w, "latency_bound_ms", latency_bound_ms, (n,), lo=0.0, lo_open=True, allow_inf=True)
    c = as_int_array(w, "servers", servers, (n,), lo=1)
    idle = as_array(w, "idle_w", idle_w, (n,), lo=0.0)
    speed = as_array(w, "cpu_speed", cpu_speed, (n,), lo=0.0, lo_open=True)
    nom = (
        np.nanmax(freq, axis=1)
        if nominal_ghz is None
        else as_array(w, "nominal_ghz", nominal_ghz, (n,), lo=0.0, lo_open=True)
    )
    names = list(site_ids) if site_ids is not None else [str(s) for s in range(n)]
    mu = 1e3 * speed[:, None] / work[:, None] * freq / nom[:, None]
    level = np.empty(n, np.int64)
    resp = np.empty(n)
    for s in range(n):
        times = np.array(
            [
                response_time_ms(lam[s], mu[s, k], int(c[s]), percentile)
                if np.isfinite(mu[s, k])
                else math.inf
                for k in range(freq.shape[1])
            ]
        )
        power = idle[s] + (peak[s] - idle[s]) * lam[s] / (c[s] * mu[s])
        ok = np.isfinite(freq[s]) & (times <= bound[s] * (1 + 1e-12))
        if not ok.any():
            raise _dvfs_error(names[s], lam[s], mu[s], int(c[s]), times, bound[s], percentile)
        key = np.where(ok, power, np.inf)
        best = np.flatnonzero(key == key.min())
        k = int(best[np.argmin(freq[s, best])])
        level[s], resp[s] = k, times[k]
    rows = np.arange(n)
    f = freq[rows, level]
    rho = lam / (c * mu[rows, level])
    pw = idle + (peak[rows, level] - idle) * rho
    total = float(pw.sum())
    return DvfsResult(
        level,
        f,
        pw,
        resp,
        rho,
        total,
        total,
        0.0,
        "optimal",
        time.perf_counter() - t0,
        "enumeration",
        tuple(names) if site_ids is not None else (),
    )


def _dvfs_error(
    name: str, lam: float, mu: F64, c: int, times: F64, bound: float, percentile: float | None
) -> InfeasibleError:
    k = int(np.nanargmax(mu))
    what = "mean response time" if percentile is None else f"p{percentile:g} response time"
    if not math.isfinite(times[k]):
        rho = lam / (c * mu[k])
        return InfeasibleError(
            f"sites[{name}].utilization: at the highest frequency utilization is {rho:.3g} >= 1 "
            f"(over by {rho - 1:.3g}); the site needs more servers or less load",
            constraint="utilization",
            excess=rho - 1.0,
        )
    return InfeasibleError(
        f"sites[{name}].latency_bound_ms: at the highest frequency the {what} is {times[k]:.4g} ms, over the "
        f"{bound:g} ms bound by {times[k] - bound:.4g} ms",
        constraint="latency_bound",
        excess=float(times[k] - bound),
    )


def dvfs_continuous(
    arrival_rate_per_s: ArrayLike,
    work_ms: ArrayLike,
    latency_bound_ms: ArrayLike,
    *,
    min_ghz: ArrayLike,
    max_ghz: ArrayLike,
    peak_w: ArrayLike,
    idle_w: ArrayLike = 0.0,
    servers: ArrayLike = 1,
    cpu_speed: ArrayLike = 1.0,
    nominal_ghz: ArrayLike | None = None,
    percentile: float | None = None,
) -> DvfsResult:
    """Per site, the continuous frequency in ``[min_ghz, max_ghz]`` of least power meeting the bound.

    Power at full load is ``idle_w + (peak_w - idle_w) (f / f_nom)**3`` (``peak_w`` at ``nominal_ghz``,
    default ``max_ghz``), so the site draws ``idle_w + (peak_w - idle_w) rho_nom (f / f_nom)**2``:
    increasing in ``f`` (``peak_w >= idle_w`` is required: :class:`ModelAssumptionError` otherwise).
    The optimum is thus the least frequency whose response time (decreasing in ``f``) meets the
    bound, found by root finding (exact to 1e-12 relative).

    Examples
    --------
    M/M/1, 80 requests/s of 10 ms at 2 GHz (mu = 100/s at 2 GHz): a 100 ms mean needs mu >= 90/s,
    so f = 1.8 GHz and the power is ``50 + 100 * 0.8 * 0.9**2 = 114.8`` W:

    >>> r = dvfs_continuous([80.0], [10.0], 100.0, min_ghz=0.5, max_ghz=2.0, peak_w=150.0, idle_w=50.0)
    >>> round(float(r.frequency_ghz[0]), 9), round(float(r.power_w[0]), 6), round(float(r.response_ms[0]), 6)
    (1.8, 114.8, 100.0)
    """
    t0 = time.perf_counter()
    w = "dvfs_continuous"
    lam = as_array(
        w, "arrival_rate_per_s", np.ravel(arrival_rate_per_s), (np.size(arrival_rate_per_s),), lo=0.0
    )
    n = len(lam)
    work = as_array(w, "work_ms", work_ms, (n,), lo=0.0, lo_open=True)
    bound = as_array(w, "latency_bound_ms", latency_bound_ms, (n,), lo=0.0, lo_open=True, allow_inf=True)
    fmin = as_array(w, "min_ghz", min_ghz, (n,), lo=0.0, lo_open=True)
    fmax = as_array(w, "max_ghz", max_ghz, (n,), lo=0.0, lo_open=True)
    if (fmax < fmin).any():
        s = int(np.flatnonzero(fmax < fmin)[0])
        raise ModelAssumptionError(f"{w}: max_ghz[{s}] must be >= min_ghz[{s}] (got {fmax[s]} < {fmin[s]})")
    peak = as_array(w, "peak_w", peak_w, (n,), lo=0.0)
    idle = as_array(w, "idle_w", idle_w, (n,), lo=0.0)
    if (peak < idle).any():
        s = int(np.flatnonzero(peak < idle)[0])
        raise ModelAssumptionError(
            f"{w}: peak_w[{s}] must be >= idle_w[{s}] (got {peak[s]:g} < {idle[s]:g}): the power must "
            "grow with the frequency for the least feasible frequency to be the optimum; check the power model"
        )
    c = as_int_array(w, "servers", servers, (n,), lo=1)
    speed = as_array(w, "cpu_speed", cpu_speed, (n,), lo=0.0, lo_open=True)
    nom = fmax if nominal_ghz is None else as_array(w, "nominal_ghz", nominal_ghz, (n,), lo=0.0, lo_open=True)
    mu_per_ghz = 1e3 * speed / work / nom
    f = np.empty(n)
    for s in range(n):
        f[s] = _least_frequency(
            lam[s], mu_per_ghz[s], int(c[s]), bound[s], fmin[s], fmax[s], percentile, str(s)
        )
    mu = mu_per_ghz * f
    rho = lam / (c * mu)
    pw = idle + (peak - idle) * (f / nom) ** 3 * rho
    resp = np.array([response_time_ms(lam[s], mu[s], int(c[s]), percentile) for s in range(n)])
    total = float(pw.sum())
    level = np.full(n, -1, np.int64)
    return DvfsResult(
        level, f, pw, resp, rho, total, total, 0.0, "optimal", time.perf_counter() - t0, "continuous"
    )


def _least_frequency(
    lam: float,
    mu_per_ghz: float,
    c: int,
    bound: float,
    fmin: float,
    fmax: float,
    pct: float | None,
    name: str,
) -> float:
    def excess(f: float) -> float:
        return response_time_ms(lam, mu_per_ghz * f, c, pct) - bound

    if excess(fmin) <= 0:
        return fmin
    top = excess(fmax)
    if top > 0:
        times = np.array([top + bound])
        raise _dvfs_error(name, lam, np.array([mu_per_ghz * fmax]), c, times, bound, pct)
    lo = max(fmin, lam / (c * mu_per_ghz) * (1 + 1e-12))
    while math.isinf(excess(lo)):
        lo = lo + (fmax - lo) * 1e-6 + 1e-300
    if excess(lo) <= 0:
        return lo
    return float(brentq(excess, lo, fmax, xtol=1e-15, rtol=1e-13))


@dataclass(frozen=True, eq=False)
class SplitResult:
    """A split of one Poisson stream over parallel servers.

    Attributes
    ----------
    rate_per_s, fraction : ndarray, shape (n,)
        Load and share per server.
    objective : float
        Mean response time, ms (network delay plus M/M/1 sojourn).
    bound : float
        Lagrangian dual bound: no split has a lower mean.
    gap : float
    status : str
        ``"optimal"`` when the gap is below 1e-9.
    solve_seconds : float
    multiplier : float
        The KKT multiplier ``nu`` (marginal response time per request, s).
    """

    rate_per_s: F64
    fraction: F64
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    multiplier: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "fraction": self.fraction.tolist(),
            "objective_ms": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status,
            "solve_seconds": self.solve_seconds,
        }


def _rates_at(nu: float, mu: F64, d: F64) -> F64:
    """Minimiser of ``x (d + 1 / (mu - x)) - nu x`` over ``0 <= x < mu`` per server."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = mu - np.sqrt(mu / (nu - d))
    return np.asarray(np.where(nu - d > 1.0 / mu, x, 0.0))


def _cost(x: F64, mu: F64, d: F64) -> F64:
    return np.asarray(x * (d + 1.0 / (mu - x)))


def optimal_split(
    arrival_rate_per_s: float, service_rate_per_s: ArrayLike, *, delay_ms: ArrayLike = 0.0
) -> SplitResult:
    """Split a Poisson stream over M/M/1 servers to minimise the mean response time (water-filling).

    Parameters
    ----------
    arrival_rate_per_s : float
        Total rate ``lambda``.
    service_rate_per_s : array_like, shape (n,)
        Service rate ``mu_i`` of each server.
    delay_ms : array_like, shape (n,)
        Network delay to each server, added to its response time.

    Returns
    -------
    SplitResult

    Raises
    ------
    InfeasibleError
        ``lambda >= sum mu_i``.

    Notes
    -----
    Minimise ``sum_i x_i (d_i + 1 / (mu_i - x_i))`` subject to ``sum_i x_i = lambda``, ``x_i >= 0``:
    convex and separable. KKT: ``d_i + mu_i / (mu_i - x_i)**2 = nu`` where ``x_i > 0``, so
    ``x_i = max(0, mu_i - sqrt(mu_i / (nu - d_i)))`` (servers with ``d_i + 1/mu_i >= nu`` get nothing);
    ``nu`` is found by bisection so the loads add up to ``lambda`` [TT85]_. Without delays it has the
    closed form ``x_i = mu_i - sqrt(mu_i) (sum_A mu - lambda) / sum_A sqrt(mu)`` over the active set
    A [BS83]_. The Lagrangian dual at ``nu`` gives the bound.

    Examples
    --------
    Two servers of 10 and 5 per second sharing 6 per second: the closed form gives the fast one
    ``10 - sqrt(10) * 9 / (sqrt(10) + sqrt(5))`` = 4.73 per second:

    >>> r = optimal_split(6.0, [10.0, 5.0])
    >>> [round(x, 4) for x in r.rate_per_s.tolist()], r.status
    ([4.7279, 1.2721], 'optimal')
    """
    t0 = time.perf_counter()
    w = "optimal_split"
    lam = float(as_array(w, "arrival_rate_per_s", arrival_rate_per_s, (), lo=0.0, lo_open=True))
    mu = as_array(
        w,
        "service_rate_per_s",
        np.ravel(service_rate_per_s),
        (np.size(service_rate_per_s),),
        lo=0.0,
        lo_open=True,
    )
    d = as_array(w, "delay_ms", delay_ms, mu.shape, lo=0.0) / 1e3
    if lam >= mu.sum():
        raise InfeasibleError(
            f"capacity: arrival rate {lam:g}/s is not below the total service rate {mu.sum():g}/s "
            f"(over by {lam - mu.sum():.4g}/s)",
            constraint="capacity",
            excess=lam - float(mu.sum()),
        )
    lo, hi = float((d + 1.0 / mu).min()), float((d + 1.0 / mu).max()) + 1.0
    while _rates_at(hi, mu, d).sum() < lam:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _rates_at(mid, mu, d).sum() < lam:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    x_lo, x_hi = _rates_at(lo, mu, d), _rates_at(hi, mu, d)
    s_lo, s_hi = x_lo.sum(), x_hi.sum()
    t = 0.0 if s_hi <= s_lo else (lam - s_lo) / (s_hi - s_lo)
    x = np.minimum((1 - t) * x_lo + t * x_hi, mu * (1 - 1e-15))
    nu = hi
    primal = float(_cost(x, mu, d).sum())
    xd = _rates_at(nu, mu, d)
    dual = float((_cost(xd, mu, d) - nu * xd).sum() + nu * lam)
    objective, bound = 1e3 * primal / lam, min(1e3 * dual / lam, 1e3 * primal / lam)
    gap = (objective - bound) / objective
    return SplitResult(
        x,
        x / lam,
        objective,
        bound,
        gap,
        "optimal" if gap <= 1e-9 else "feasible",
        time.perf_counter() - t0,
        nu,
    )


def balancing_weights(plan: Plan, arrays: Any) -> tuple[F64, tuple[WeightEntry, ...]]:
    """Balancing weights per (service, site) implied by a plan's routes: each site's share of the load.

    The load a route sends is its demand point's request rate times its fraction (every request
    of an application visits each of its services once); a service's weights are its sites' loads
    over its total. These are the weights :class:`edgescale.policies.PlanWeights` takes.

    Returns
    -------
    weights : ndarray, shape (n_services, n_sites)
    entries : tuple of WeightEntry
        The plan's ``balancing`` section (sites with weight > 0).
    """
    pa = plan_to_arrays(plan, arrays)
    n_svc, n_sites = len(arrays.service_ids), len(arrays.site_ids)
    load = np.zeros((n_svc, n_sites))
    np.add.at(
        load, (pa.route_service, pa.route_site), arrays.demand_rate_per_s[pa.route_demand] * pa.route_fraction
    )
    total = load.sum(axis=1, keepdims=True)
    weights = np.divide(load, total, out=np.zeros_like(load), where=total > 0)
    entries = tuple(
        WeightEntry(service=arrays.service_ids[i], site=arrays.site_ids[j], weight=float(weights[i, j]))
        for i, j in zip(*np.nonzero(weights > 0), strict=True)
    )
    return weights, entries


def site_load(plan: Plan, arrays: Any) -> tuple[F64, F64]:
    """Request rate per site and its rate-weighted mean work (ms) under a plan's routes."""
    pa = plan_to_arrays(plan, arrays)
    rate = arrays.demand_rate_per_s[pa.route_demand] * pa.route_fraction
    lam = np.bincount(pa.route_site, weights=rate, minlength=arrays.n_sites)
    work = np.bincount(
        pa.route_site, weights=rate * arrays.service_work_ms[pa.route_service], minlength=arrays.n_sites
    )
    mean = np.divide(work, lam, out=np.ones_like(work), where=lam > 0)
    return np.asarray(lam, np.float64), np.asarray(mean, np.float64)


def dvfs_for_plan(
    scenario: Any, arrays: Any, plan: Plan, latency_bound_ms: float, *, percentile: float | None = None
) -> DvfsResult:
    """DVFS levels for every site with ``dvfs_levels``, under the load a plan's routes put on it.

    Each site is one M/M/c queue: ``c = floor(cpu_cores)`` (at least 1), Poisson arrivals at the
    sum of the routed rates, exponential service of the rate-weighted mean ``work_ms`` at the
    site's ``cpu_speed`` (at its highest level); its idle power from its power model (0 if none).

    Raises
    ------
    ScenarioError
        No site has DVFS levels.
    InfeasibleError
        A site cannot meet the bound at any level.
    """
    levels = [
        (
            scenario.sites[j] if arrays.site_group[j] < 0 else scenario.site_groups[arrays.site_group[j]]
        ).dvfs_levels
        for j in range(arrays.n_sites)
    ]
    sites = [j for j, lv in enumerate(levels) if lv]
    if not sites:
        raise ScenarioError([Issue("sites[].dvfs_levels", "no site has DVFS levels", None, has_value=False)])
    lam, work = site_load(plan, arrays)
    idx = np.array(sites)
    return dvfs_levels(
        lam[idx],
        work[idx],
        [levels[j] for j in sites],
        latency_bound_ms,
        servers=np.maximum(np.floor(arrays.site_cpu_cores[idx]), 1),
        idle_w=np.nan_to_num(arrays.site_idle_w[idx]),
        cpu_speed=arrays.site_cpu_speed[idx],
        percentile=percentile,
        site_ids=[arrays.site_ids[j] for j in sites],
    )
