"""Content placement over cooperating edge caches.

Site ``s`` sees ``rate_per_s[s, n]`` requests per second for item ``n`` (e.g. a Zipf popularity from
:func:`~edgescale.analysis.caching.zipf_popularity` times the site's request rate). A request is served by the closest copy: the
local cache (``latency_ms[s, s]``), a neighbour cache ``t`` holding the item (``latency_ms[s, t]``),
or the origin (``origin_ms[s]``). Cache ``t`` holds items whose sizes add up to at most
``capacity[t]`` (items, or bytes with ``item_size``).

The latency saved against fetching everything from the origin,
``f(X) = sum_{s,n} rate[s, n] (origin[s] - min(origin[s], min_{t: (t, n) in X} latency[s, t]))``,
is monotone submodular in the set X of (cache, item) placements (a facility-location function), so:

- :func:`cache_greedy` (lazy greedy [M78]_, numba) is within ``1 - 1/e`` of the optimum with one cache
  of unit-size items (a cardinality constraint [NWF78]_) and within ``1/2`` with several caches (a
  partition matroid [FNW78]_); it also reports a data-dependent upper bound (gains of the best
  completion, [LKGFVG07]_), so every answer carries a bound and a gap;
- :func:`cache_optimal` solves the MILP exactly with HiGHS, for small cases.

References
----------
.. [NWF78] G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, "An analysis of approximations for maximizing
   submodular set functions — I", Math. Program. 14, 1978.
.. [FNW78] M. L. Fisher, G. L. Nemhauser, L. A. Wolsey, "... — II", Math. Program. Study 8, 1978.
.. [M78] M. Minoux, "Accelerated greedy algorithms for maximizing submodular set functions", 1978.
.. [LKGFVG07] J. Leskovec et al., "Cost-effective outbreak detection in networks", KDD 2007 (the
   online bound).
.. [SGDMC13] K. Shanmugam et al., "FemtoCaching: wireless content delivery through distributed caching
   helpers", IEEE Trans. Inf. Theory 59(12), 2013 (this model; greedy's 1/2).
.. [BCFPS99] L. Breslau et al., "Web caching and Zipf-like distributions", INFOCOM 1999.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.analysis.caching import generalized_harmonic, zipf_hit_ratio, zipf_popularity
from edgescale.errors import ModelAssumptionError
from edgescale.model.plan import CacheEntry
from edgescale.optimize._cache_greedy import lazy_greedy, online_bound
from edgescale.optimize._cache_milp import check_cache_milp_size, solve_cache_milp
from edgescale.optimize._cache_scenario import ScenarioCache, cache_problem_from_scenario
from edgescale.optimize._offload_common import as_array

__all__ = [
    "CacheProblem",
    "CacheResult",
    "ScenarioCache",
    "cache_greedy",
    "cache_optimal",
    "cache_problem_from_scenario",
    "generalized_harmonic",
    "regional_popularity",
    "zipf_hit_ratio",
    "zipf_popularity",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_W = "CacheProblem"


def regional_popularity(
    n_regions: int,
    n_items: int,
    alpha: float,
    *,
    spread: float = 0.0,
    seed: int | np.random.Generator | None = 0,
) -> F64:
    """Zipf popularity per region ``(n_regions, n_items)``, each region ranking items a little differently.

    Region r ranks items by ``k + spread * N * z_rk`` (``z`` standard normal): ``spread = 0`` gives the
    same ranking everywhere, larger values more local tastes.
    """
    if not spread >= 0:
        raise ModelAssumptionError(f"regional_popularity: spread must be >= 0 (got {spread})")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    base = zipf_popularity(n_items, alpha)
    out = np.empty((n_regions, n_items))
    for r in range(n_regions):
        key = np.arange(n_items) + spread * n_items * rng.standard_normal(n_items)
        out[r, np.argsort(key, kind="stable")] = base
    return out


@dataclass(frozen=True, eq=False)
class CacheProblem:
    """Cooperative caching: see the module docstring. Build with :meth:`build`.

    ``rev_ptr``, ``rev_site``, ``rev_lat`` list, for each cache t, the sites s that fetch from it and
    the latency ``latency_ms[s, t]`` (only where it beats the origin). ``uncached_rate_per_s[s]``
    counts site s's requests for items left out of the problem (e.g. beyond ``max_items``): always
    fetched from the origin, they count in the hit ratios and the mean latency, not in the saving.
    """

    rate_per_s: F64
    item_size: F64
    capacity: F64
    origin_ms: F64
    rev_ptr: I64
    rev_site: I64
    rev_lat: F64
    uncached_rate_per_s: F64

    @classmethod
    def build(
        cls,
        *,
        rate_per_s: ArrayLike,
        capacity: ArrayLike,
        latency_ms: ArrayLike,
        origin_ms: ArrayLike,
        item_size: ArrayLike = 1.0,
        neighbours: int | None = None,
        uncached_rate_per_s: ArrayLike = 0.0,
    ) -> CacheProblem:
        """Check the inputs; ``neighbours`` keeps only the nearest caches of each site (itself included).

        ``uncached_rate_per_s`` (per site): requests for items not in the problem, served by the origin.
        """
        rate = np.atleast_2d(np.asarray(rate_per_s, np.float64))
        s, n = rate.shape
        rate = as_array(_W, "rate_per_s", rate, (s, n), lo=0.0)
        lat = as_array(_W, "latency_ms", latency_ms, (s, s), lo=0.0, allow_inf=True)
        origin = as_array(_W, "origin_ms", origin_ms, (s,), lo=0.0)
        keep = lat < origin[:, None]
        if neighbours is not None:
            if neighbours < 1:
                raise ModelAssumptionError(f"{_W}: neighbours must be >= 1 (got {neighbours})")
            rank = np.argsort(np.argsort(lat, axis=1, kind="stable"), axis=1)
            keep &= rank < neighbours
        t_idx, s_idx = np.nonzero(keep.T)  # grouped by cache t
        ptr = np.zeros(s + 1, np.int64)
        np.cumsum(np.bincount(t_idx, minlength=s), out=ptr[1:])
        return cls(
            rate_per_s=rate,
            item_size=as_array(_W, "item_size", item_size, (n,), lo=0.0, lo_open=True),
            capacity=as_array(_W, "capacity", capacity, (s,), lo=0.0),
            origin_ms=origin,
            rev_ptr=ptr,
            rev_site=s_idx.astype(np.int64),
            rev_lat=lat[s_idx, t_idx].astype(np.float64),
            uncached_rate_per_s=as_array(_W, "uncached_rate_per_s", uncached_rate_per_s, (s,), lo=0.0),
        )

    @property
    def n_sites(self) -> int:
        """Number of caches (sites)."""
        return int(self.rate_per_s.shape[0])

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.rate_per_s.shape[1])

    @property
    def unit_sizes(self) -> bool:
        """Every item has size 1 (capacities count items)."""
        return bool(np.all(self.item_size == 1.0))

    def served_latency(self, placed: NDArray[np.bool_]) -> F64:
        """``(S, N)``: latency of item n at site s under a placement (closest copy or the origin)."""
        cur = np.repeat(self.origin_ms[:, None], self.n_items, axis=1)
        for t in range(self.n_sites):
            have = np.flatnonzero(placed[t])
            if len(have) == 0:
                continue
            for j in range(self.rev_ptr[t], self.rev_ptr[t + 1]):
                s = self.rev_site[j]
                cur[s, have] = np.minimum(cur[s, have], self.rev_lat[j])
        return cur

    def saved(self, placed: ArrayLike) -> float:
        """Latency saved per second (ms/s) by a placement, against the origin for everything."""
        x = self._placement(placed)
        return float((self.rate_per_s * (self.origin_ms[:, None] - self.served_latency(x))).sum())

    def check(self, placed: ArrayLike) -> list[str]:
        """Capacity violations of a placement (empty when feasible)."""
        x = self._placement(placed)
        used = (x * self.item_size[None, :]).sum(axis=1)
        return [
            f"capacity[{t}]: holds {used[t]:g} > {self.capacity[t]:g}"
            for t in np.flatnonzero(used > self.capacity * (1 + 1e-9) + 1e-12)
        ]

    def _placement(self, placed: ArrayLike) -> NDArray[np.bool_]:
        x = np.asarray(placed, bool)
        if x.shape != self.rate_per_s.shape:
            raise ModelAssumptionError(
                f"{_W}: placement must have shape {self.rate_per_s.shape} (got {x.shape})"
            )
        return x


@dataclass(frozen=True, eq=False)
class CacheResult:
    """A cache placement and how good it is.

    Attributes
    ----------
    placed : ndarray of bool, shape (S, N)
        Whether cache s holds item n.
    objective : float
        Latency saved per second (ms/s), against fetching every request from the origin.
    bound : float
        Proven upper bound on the best saving.
    gap : float
        ``(bound - objective) / bound``.
    status : str
        ``"optimal"`` (proven), ``"time_limit"``, ``"feasible"`` or ``"heuristic"``.
    guarantee : float or None
        Worst-case ratio to the optimum the method guarantees (``None``: no constant guarantee).
    mean_latency_ms : float
        Request-weighted mean latency from the requesting site to the copy serving it (``latency_ms``
        or ``origin_ms``), over every request, those for items outside the problem included (at the
        origin). From a scenario: one-way path latency from the device's access site; the access
        link itself, the same whichever copy serves, is left out.
    local_hit, neighbour_hit : float
        Shares of all requests (those for items outside the problem included) served by the local
        cache and by a neighbour.
    """

    placed: NDArray[np.bool_]
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    method: str
    guarantee: float | None
    mean_latency_ms: float
    local_hit: float
    neighbour_hit: float
    evaluations: int = 0

    def plan_entries(self, site_ids: list[str]) -> tuple[CacheEntry, ...]:
        """The plan's ``cache`` section: the items of every non-empty cache."""
        return tuple(
            CacheEntry(site=site_ids[t], items=tuple(int(i) for i in np.flatnonzero(self.placed[t])))
            for t in range(self.placed.shape[0])
            if self.placed[t].any()
        )

    def to_dict(self) -> dict[str, Any]:
        """Summary as JSON-ready values."""
        return {
            "method": self.method,
            "status": self.status,
            "objective_saved_ms_per_s": self.objective,
            "bound": self.bound if math.isfinite(self.bound) else None,
            "gap": self.gap if math.isfinite(self.gap) else None,
            "guarantee": self.guarantee,
            "solve_seconds": self.solve_seconds,
            "mean_latency_ms": self.mean_latency_ms,
            "local_hit": self.local_hit,
            "neighbour_hit": self.neighbour_hit,
            "items_placed": int(self.placed.sum()),
            "evaluations": self.evaluations,
        }


def _result(
    p: CacheProblem,
    placed: NDArray[np.bool_],
    *,
    bound: float,
    status: str,
    t0: float,
    method: str,
    guarantee: float | None,
    evaluations: int = 0,
) -> CacheResult:
    bad = p.check(placed)
    if bad:
        raise RuntimeError(f"cache placement violates capacity: {bad[:3]}")
    cur = p.served_latency(placed)
    rate = p.rate_per_s
    other = p.uncached_rate_per_s  # requests for items outside the problem: from the origin
    total = max(float(rate.sum() + other.sum()), 1e-300)
    objective = float((rate * (p.origin_ms[:, None] - cur)).sum())
    local = float((rate * placed).sum() / total)
    remote = float((rate * (cur < p.origin_ms[:, None]) * ~placed).sum() / total)
    mean_ms = float(((rate * cur).sum() + (other * p.origin_ms).sum()) / total)
    bound = max(bound, objective) + 0.0  # no -0.0
    gap = max(bound - objective, 0.0) / max(abs(bound), 1e-12) + 0.0 if math.isfinite(bound) else math.inf
    return CacheResult(
        placed,
        objective,
        bound,
        gap,
        status,
        time.perf_counter() - t0,
        method,
        guarantee,
        mean_ms,
        local,
        remote,
        evaluations,
    )


def cache_greedy(problem: CacheProblem) -> CacheResult:
    """Lazy greedy placement with its guarantee and a data-dependent upper bound.

    Repeatedly adds the (cache, item) placement of largest latency saving (per unit size when sizes
    differ) that fits, re-evaluating lazily: a stale gain is an upper bound (submodularity), so the
    top of the heap is taken once its fresh gain still beats the next stale one [M78]_.

    Returns
    -------
    CacheResult
        ``guarantee`` 1 - 1/e (one cache, unit sizes), 1/2 (several caches, unit sizes) or ``None``
        (sizes differ: density greedy has no constant guarantee). ``bound`` is the smaller of
        ``objective / guarantee`` and ``f(S) + sum_t`` (best fractional knapsack of marginal gains at
        t); ``status`` is ``"optimal"`` only when the bound meets the objective.

    Examples
    --------
    One cache of 2 items, three items requested 5, 3 and 1 times per second, 10 ms locally and
    50 ms from the origin: the two most requested are cached, saving (5 + 3) * 40 ms per second.

    >>> p = CacheProblem.build(rate_per_s=[[5.0, 3.0, 1.0]], capacity=[2], latency_ms=[[10.0]],
    ...                        origin_ms=[50.0])
    >>> r = cache_greedy(p)
    >>> r.placed.tolist(), r.objective, r.bound, r.status
    ([[True, True, False]], 320.0, 360.0, 'heuristic')

    The bound (320 plus the 40 ms/s item 2 would add) does not prove this placement optimal; the
    MILP does (:func:`cache_optimal`).
    """
    t0 = time.perf_counter()
    p = problem
    cur = np.repeat(p.origin_ms[:, None], p.n_items, axis=1)
    placed = np.zeros((p.n_sites, p.n_items), bool)
    unit = p.unit_sizes
    _, evals = lazy_greedy(
        p.rate_per_s, p.item_size, p.capacity, p.rev_ptr, p.rev_site, p.rev_lat, cur, placed, not unit
    )
    value = p.saved(placed)
    extra = online_bound(p.rate_per_s, p.item_size, p.capacity, p.rev_ptr, p.rev_site, p.rev_lat, cur)
    guarantee = (1.0 - 1.0 / math.e if p.n_sites == 1 else 0.5) if unit else None
    bound = value + extra
    if guarantee is not None:
        bound = min(bound, value / guarantee)
    status = "optimal" if bound - value <= 1e-9 * max(abs(bound), 1.0) else "heuristic"
    return _result(
        p,
        placed,
        bound=bound,
        status=status,
        t0=t0,
        method="lazy_greedy",
        guarantee=guarantee,
        evaluations=int(evals),
    )


def cache_optimal(problem: CacheProblem, *, time_limit_s: float = 60.0) -> CacheResult:
    """The best placement, exactly, as a MILP solved with HiGHS (started from the greedy placement).

    Notes
    -----
    Binary ``x[t, n]`` (cache t holds n), continuous ``y[s, n, j] in [0, 1]`` (requests for n at s
    served by s's j-th useful cache): maximise ``sum rate[s, n] (origin[s] - lat[s, t_j]) y[s, n, j]``
    subject to ``y[s, n, j] <= x[t_j, n]``, ``sum_j y[s, n, j] <= 1`` (the rest from the origin) and
    ``sum_n size[n] x[t, n] <= capacity[t]``. Size: ``S N`` binaries and ``S N d`` continuous
    variables (d useful caches per site): for small cases. Over
    :data:`~edgescale.optimize._offload_common.MAX_MILP_COLUMNS` columns it raises
    :class:`~edgescale.errors.ModelAssumptionError` before building anything.

    Examples
    --------
    Two caches 2 ms apart, each of one item, both sites asking for items 0 and 1 (rates 3 and 2 per
    second); local hits take 1 ms, the origin 20 ms. Caching different items (and fetching the other
    from the neighbour) beats caching item 0 twice:

    >>> p = CacheProblem.build(rate_per_s=[[3.0, 2.0], [3.0, 2.0]], capacity=[1, 1],
    ...                        latency_ms=[[1.0, 2.0], [2.0, 1.0]], origin_ms=[20.0, 20.0])
    >>> r = cache_optimal(p)
    >>> int(r.placed.sum()), sorted(r.placed.argmax(axis=1).tolist()), r.objective, r.status
    (2, [0, 1], 185.0, 'optimal')
    """
    if not time_limit_s > 0:
        raise ModelAssumptionError(f"cache_optimal: time_limit_s must be > 0 (got {time_limit_s!r})")
    check_cache_milp_size(problem)
    t0 = time.perf_counter()
    start = cache_greedy(problem)
    res, placed = solve_cache_milp(problem, time_limit_s=time_limit_s, start=start.placed)
    if placed is None or problem.saved(placed) < start.objective:
        placed = start.placed
    status = {"optimal": "optimal", "time_limit": "time_limit"}.get(res.status, "feasible")
    bound = min(res.bound, start.bound) if math.isfinite(res.bound) else start.bound
    out = _result(problem, placed, bound=bound, status=status, t0=t0, method="milp", guarantee=1.0)
    if out.status == "optimal" and out.gap > 1e-6:
        return _result(problem, placed, bound=bound, status="feasible", t0=t0, method="milp", guarantee=1.0)
    return out
