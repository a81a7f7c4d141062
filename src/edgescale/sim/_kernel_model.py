"""Input of the event kernel: :class:`KernelModel`, its validation, and builders (public via ``kernel``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import Issue, ScenarioError

__all__ = ["KernelModel", "make_model", "merged_poisson_rates"]

_FLOAT = np.float64
_NO_CACHE = {"stage_cache": -1, "stage_content_share": 0.0, "stage_hit_return_s": 0.0, "stage_link_station": -1,
             "stage_link_work_s": 0.0}  # fmt: skip
_INT32_MAX = 2**31 - 1  # stations, sources, stages and capacities are int32 in the kernel's rows
_DTYPES: dict[str, type[np.generic]] = {
    "servers": np.int32,
    "discipline": np.int8,
    "speed": _FLOAT,
    "up": np.bool_,
    "capacity": np.int64,
    "arrival_kind": np.int8,
    "rate_per_s": _FLOAT,
    "mmpp_rate1_per_s": _FLOAT,
    "mmpp_switch01_per_s": _FLOAT,
    "mmpp_switch10_per_s": _FLOAT,
    "route_ptr": np.int64,
    "return_delay_s": _FLOAT,
    "app_of_source": np.int32,
    "timeout_s": _FLOAT,
    "max_retries": np.int32,
    "token_depth": _FLOAT,
    "trace_period_s": _FLOAT,
    "trace_ptr": np.int64,
    "trace_t": _FLOAT,
    "stage_station": np.int32,
    "stage_delay_s": _FLOAT,
    "stage_work_mean_s": _FLOAT,
    "stage_work_dist": np.int8,
    "stage_work_scv": _FLOAT,
    "stage_cache": np.int32,
    "stage_content_share": _FLOAT,
    "stage_hit_return_s": _FLOAT,
    "stage_link_station": np.int32,
    "stage_link_work_s": _FLOAT,
}


@dataclass(frozen=True, eq=False)
class KernelModel:
    """What the kernel simulates, as arrays (build it with :func:`make_model`).

    Arrays are converted to the dtypes below on construction and validated. The control plane may change
    their values in place between calls to :func:`run_until` (which validates again by default).

    Attributes
    ----------
    servers : int32 (n_stations,)
        Number of servers, >= 0.
    discipline : int8 (n_stations,)
        0 FIFO multi-server, 1 processor sharing.
    speed : float64 (n_stations,)
        Service time divisor, > 0 (service time = work / speed).
    up : bool (n_stations,)
        False: the station is down (see the module notes).
    capacity : int64 (n_stations,)
        Most requests in the station (queued plus in service); -1 unbounded.
    arrival_kind : int8 (n_sources,)
        0 Poisson, 1 periodic (period ``1 / rate_per_s``, random phase), 2 MMPP-2, 3 token bucket (Poisson
        proposals at ``rate_per_s`` sent when a token is left; the bucket refills at ``rate_per_s`` up to
        ``token_depth``), 4 trace replay (the times ``trace_t[trace_ptr[c]:trace_ptr[c+1]]``).
    rate_per_s : float64 (n_sources,)
        Arrival rate, >= 0 (0: silent source); for MMPP-2 the rate in phase 0.
    mmpp_rate1_per_s, mmpp_switch01_per_s, mmpp_switch10_per_s : float64 (n_sources,)
        MMPP-2 only: rate in phase 1 and the switching rates from phase 0 to 1 and from 1 to 0.
    route_ptr : int64 (n_sources + 1,)
        CSR pointers: the route of source ``c`` is stages ``route_ptr[c]`` to ``route_ptr[c+1] - 1``.
    return_delay_s : float64 (n_sources,)
        Delay of the response path back to the device; ``inf``: no path (responses are lost: the attempt
        times out, or without a timeout the request counts as dropped).
    app_of_source : int32 (n_sources,)
        Application index of each source, for per-application metrics.
    timeout_s : float64 (n_sources,)
        Attempt timeout, > 0; ``inf`` for none.
    max_retries : int32 (n_sources,)
        Retries after a timeout, >= 0.
    token_depth : float64 (n_sources,)
        Token bucket only: depth in requests, >= 1 (the bucket starts full).
    trace_period_s : float64 (n_sources,)
        Trace only: the replay loops with this period (0: it plays once).
    trace_ptr : int64 (n_sources + 1,)
        CSR pointers into ``trace_t`` (empty ranges for sources that are not traces).
    trace_t : float64 (n_trace,)
        Request times of trace sources, non-decreasing within each source.
    stage_station : int32 (n_stages,)
        Station of each stage.
    stage_delay_s : float64 (n_stages,)
        Constant link delay before reaching the station (propagation plus transmission); ``inf``: no path
        (requests sent over it are lost, counted in ``drops_down``).
    stage_work_mean_s : float64 (n_stages,)
        Mean work (service time at speed 1).
    stage_work_dist : int8 (n_stages,)
        0 exponential, 1 deterministic, 2 gamma, 3 lognormal (2 and 3 with ``stage_work_scv``).
    stage_work_scv : float64 (n_stages,)
        Squared coefficient of variation of the work for distributions 2 and 3.
    stage_cache : int32 (n_stages,)
        Content cache looked up when a request leaves this stage's station, -1 for none; caches are given
        to :func:`~edgescale.sim.kernel.init_state` (``caches``). A hit ends the route there.
    stage_content_share : float64 (n_stages,)
        Share of the requests leaving this stage that ask for a catalogue item (the others always go on).
    stage_hit_return_s : float64 (n_stages,)
        Return delay to the device of a request served from this stage's cache (``inf``: no path).
    stage_link_station : int32 (n_stages,)
        Link queueing: a station (FIFO, typically one server at speed 1) the request crosses first, before
        ``stage_delay_s`` (then only propagation); -1 for none. Its time there counts as link time.
    stage_link_work_s : float64 (n_stages,)
        Transmission time at that link station (deterministic work), seconds.
    """

    servers: NDArray[np.int32]
    discipline: NDArray[np.int8]
    speed: NDArray[np.float64]
    up: NDArray[np.bool_]
    capacity: NDArray[np.int64]
    arrival_kind: NDArray[np.int8]
    rate_per_s: NDArray[np.float64]
    mmpp_rate1_per_s: NDArray[np.float64]
    mmpp_switch01_per_s: NDArray[np.float64]
    mmpp_switch10_per_s: NDArray[np.float64]
    route_ptr: NDArray[np.int64]
    return_delay_s: NDArray[np.float64]
    app_of_source: NDArray[np.int32]
    timeout_s: NDArray[np.float64]
    max_retries: NDArray[np.int32]
    token_depth: NDArray[np.float64]
    trace_period_s: NDArray[np.float64]
    trace_ptr: NDArray[np.int64]
    trace_t: NDArray[np.float64]
    stage_station: NDArray[np.int32]
    stage_delay_s: NDArray[np.float64]
    stage_work_mean_s: NDArray[np.float64]
    stage_work_dist: NDArray[np.int8]
    stage_work_scv: NDArray[np.float64]
    stage_cache: NDArray[np.int32]
    stage_content_share: NDArray[np.float64]
    stage_hit_return_s: NDArray[np.float64]
    stage_link_station: NDArray[np.int32]
    stage_link_work_s: NDArray[np.float64]

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        converted = True
        for f in fields(self):
            raw = getattr(self, f.name)
            dtype = _DTYPES[f.name]
            try:
                given = np.asarray(raw).reshape(-1)
                arr = np.ascontiguousarray(given.astype(dtype, copy=False))
            except (TypeError, ValueError) as e:
                issues.append(Issue(f.name, f"must be convertible to {dtype.__name__}: {e}", raw))
                converted = False
                continue
            if given.dtype.kind == "f" and dtype is not _FLOAT:
                _first_bad(issues, f.name, given, given != np.round(given), "must be a whole number")
            object.__setattr__(self, f.name, arr)
        if converted:
            self._resize_no_cache()
            issues += _validate(self)
        if issues:
            raise ScenarioError(issues, source="KernelModel")

    def _resize_no_cache(self) -> None:
        """Cache columns left at their no-cache defaults follow a change in the number of stages (so that
        ``dataclasses.replace`` with new routes need not repeat them)."""
        n = self.stage_station.size
        for name, default in _NO_CACHE.items():
            v = getattr(self, name)
            if v.size != n and np.all(v == default):
                object.__setattr__(self, name, np.full(n, default, dtype=_DTYPES[name]))

    @property
    def n_stations(self) -> int:
        """Number of stations."""
        return int(self.servers.size)

    @property
    def n_sources(self) -> int:
        """Number of sources."""
        return int(self.rate_per_s.size)

    @property
    def n_stages(self) -> int:
        """Total number of route stages."""
        return int(self.stage_station.size)

    @property
    def n_apps(self) -> int:
        """Number of applications, ``max(app_of_source) + 1`` (at least 1)."""
        return int(self.app_of_source.max()) + 1 if self.app_of_source.size else 1

    def validate(self) -> None:
        """Check shapes and ranges of every array.

        Raises
        ------
        ScenarioError
            Listing every broken rule with the first offending index.
        """
        issues = _validate(self)
        if issues:
            raise ScenarioError(issues, source="KernelModel")

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """The arrays in field order, as the compiled kernel takes them."""
        return tuple(getattr(self, f.name) for f in fields(self))


def _first_bad(
    issues: list[Issue], name: str, values: NDArray[Any], bad: NDArray[np.bool_], rule: str
) -> None:
    if bad.any():
        idx = np.flatnonzero(bad)
        more = f"{idx.size - 1} more entries break this rule" if idx.size > 1 else ""
        issues.append(Issue(f"{name}[{idx[0]}]", rule, values[idx[0]].item(), more))


def _validate(m: KernelModel) -> list[Issue]:
    issues: list[Issue] = []
    sizes = {"stations": m.n_stations, "sources": m.n_sources, "stages": m.n_stages}
    groups = {
        "stations": ("servers", "discipline", "speed", "up", "capacity"),
        "sources": ("arrival_kind", "rate_per_s", "mmpp_rate1_per_s", "mmpp_switch01_per_s",
                    "mmpp_switch10_per_s", "return_delay_s", "app_of_source", "timeout_s", "max_retries",
                    "token_depth", "trace_period_s"),
        "stages": ("stage_station", "stage_delay_s", "stage_work_mean_s", "stage_work_dist", "stage_work_scv",
                   "stage_cache", "stage_content_share", "stage_hit_return_s", "stage_link_station",
                   "stage_link_work_s"),
    }  # fmt: skip
    for group, names in groups.items():
        for name in names:
            size = getattr(m, name).size
            if size != sizes[group]:
                issues.append(
                    Issue(name, f"must have one entry per {group[:-1]}, {sizes[group]}", f"{size} entries")
                )
    if m.route_ptr.size != m.n_sources + 1:
        issues.append(
            Issue("route_ptr", f"must have n_sources + 1 = {m.n_sources + 1} entries", m.route_ptr.size)
        )
    if m.trace_ptr.size != m.n_sources + 1:
        issues.append(
            Issue("trace_ptr", f"must have n_sources + 1 = {m.n_sources + 1} entries", m.trace_ptr.size)
        )
    if issues:
        return issues
    tp = m.trace_ptr
    if tp[0] != 0 or tp[-1] != m.trace_t.size:
        issues.append(Issue("trace_ptr", f"must start at 0 and end at {m.trace_t.size}", (tp[0], tp[-1])))
        return issues
    _first_bad(issues, "trace_ptr", tp, np.diff(tp, prepend=0) < 0, "must be non-decreasing")
    tt = m.trace_t
    _first_bad(issues, "trace_t", tt, ~(np.isfinite(tt) & (tt >= 0)), "must be finite and >= 0")
    if tt.size > 1:
        back = np.diff(tt) < 0
        back[tp[1:-1][(tp[1:-1] > 0) & (tp[1:-1] < tt.size)] - 1] = False  # a new source may start lower
        _first_bad(issues, "trace_t", tt[1:], back, "must be non-decreasing within each source")
    rp = m.route_ptr
    if rp[0] != 0 or rp[-1] != m.n_stages:
        issues.append(
            Issue("route_ptr", f"must start at 0 and end at n_stages = {m.n_stages}", (rp[0], rp[-1]))
        )
    _first_bad(issues, "route_ptr", rp, np.diff(rp, prepend=0) < 0, "must be non-decreasing")

    def finite_ge0(name: str) -> None:
        v = getattr(m, name)
        _first_bad(issues, name, v, ~(np.isfinite(v) & (v >= 0)), "must be finite and >= 0")

    for name in ("rate_per_s", "mmpp_rate1_per_s", "mmpp_switch01_per_s", "mmpp_switch10_per_s",
                 "stage_work_mean_s", "stage_work_scv", "token_depth", "trace_period_s"):  # fmt: skip
        finite_ge0(name)
    for name in ("return_delay_s", "stage_delay_s"):  # inf: no path, requests are lost there
        v = getattr(m, name)
        _first_bad(issues, name, v, ~(v >= 0), "must be >= 0 (inf: no path)")
    _first_bad(issues, "servers", m.servers, m.servers < 0, "must be >= 0")
    _first_bad(issues, "discipline", m.discipline, (m.discipline < 0) | (m.discipline > 1), "must be 0 or 1")
    _first_bad(issues, "speed", m.speed, ~(np.isfinite(m.speed) & (m.speed > 0)), "must be finite and > 0")
    _first_bad(issues, "capacity", m.capacity, (m.capacity < -1) | (m.capacity > _INT32_MAX),
               f"must be in [0, {_INT32_MAX}], or -1 for unbounded")  # fmt: skip
    for name, size in (("n_stations", m.n_stations), ("n_sources", m.n_sources), ("n_stages", m.n_stages)):
        if size > _INT32_MAX:
            issues.append(Issue(name, f"must be <= {_INT32_MAX}", size))
    ak = m.arrival_kind
    _first_bad(issues, "arrival_kind", ak, (ak < 0) | (ak > 4), "must be 0, 1, 2, 3 or 4")
    _first_bad(issues, "token_depth", m.token_depth, (ak == 3) & ~(m.token_depth >= 1),
               "must be >= 1 for a token bucket source")  # fmt: skip
    _first_bad(issues, "app_of_source", m.app_of_source, m.app_of_source < 0, "must be >= 0")
    _first_bad(issues, "timeout_s", m.timeout_s, ~(m.timeout_s > 0), "must be > 0 (inf for none)")
    _first_bad(issues, "max_retries", m.max_retries, m.max_retries < 0, "must be >= 0")
    ss = m.stage_station
    _first_bad(
        issues, "stage_station", ss, (ss < 0) | (ss >= m.n_stations), f"must be in [0, {m.n_stations})"
    )
    _first_bad(issues, "stage_cache", m.stage_cache, m.stage_cache < -1, "must be >= -1 (-1: no cache)")
    cs = m.stage_content_share
    _first_bad(issues, "stage_content_share", cs, ~((cs >= 0) & (cs <= 1)), "must be in [0, 1]")
    _first_bad(issues, "stage_hit_return_s", m.stage_hit_return_s, ~(m.stage_hit_return_s >= 0),
               "must be >= 0 (inf: no path)")  # fmt: skip
    ls = m.stage_link_station
    _first_bad(issues, "stage_link_station", ls, (ls < -1) | (ls >= m.n_stations),
               f"must be in [0, {m.n_stations}), or -1 for none")  # fmt: skip
    lw = m.stage_link_work_s
    _first_bad(issues, "stage_link_work_s", lw, ~(np.isfinite(lw) & (lw >= 0)), "must be finite and >= 0")
    wd = m.stage_work_dist
    _first_bad(issues, "stage_work_dist", wd, (wd < 0) | (wd > 3), "must be 0, 1, 2 or 3")
    return issues


def make_model(
    *,
    servers: ArrayLike,
    rate_per_s: ArrayLike,
    route_ptr: ArrayLike,
    stage_station: ArrayLike,
    stage_work_mean_s: ArrayLike,
    discipline: ArrayLike | None = None,
    speed: ArrayLike | None = None,
    up: ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    arrival_kind: ArrayLike | None = None,
    mmpp_rate1_per_s: ArrayLike | None = None,
    mmpp_switch01_per_s: ArrayLike | None = None,
    mmpp_switch10_per_s: ArrayLike | None = None,
    return_delay_s: ArrayLike | None = None,
    app_of_source: ArrayLike | None = None,
    timeout_s: ArrayLike | None = None,
    max_retries: ArrayLike | None = None,
    token_depth: ArrayLike | None = None,
    trace_period_s: ArrayLike | None = None,
    trace_ptr: ArrayLike | None = None,
    trace_t: ArrayLike | None = None,
    stage_delay_s: ArrayLike | None = None,
    stage_work_dist: ArrayLike | None = None,
    stage_work_scv: ArrayLike | None = None,
    stage_cache: ArrayLike | None = None,
    stage_content_share: ArrayLike | None = None,
    stage_hit_return_s: ArrayLike | None = None,
    stage_link_station: ArrayLike | None = None,
    stage_link_work_s: ArrayLike | None = None,
) -> KernelModel:
    """Build a :class:`KernelModel`, filling omitted arrays with defaults.

    Defaults: FIFO, speed 1, up, unbounded capacity, Poisson arrivals, no MMPP, token depth 1, no trace, no
    return delay, application 0, no timeout, no retries, no link delay, exponential work, work SCV 1, no
    content cache, no link queueing. Scalars broadcast to the size of their group.

    Raises
    ------
    ScenarioError
        If any array has the wrong size or a value out of range.

    Examples
    --------
    An M/M/1 queue with arrival rate 0.5 and mean service time 1:

    >>> m = make_model(servers=[1], rate_per_s=[0.5], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0])
    >>> m.n_stations, m.n_sources, m.n_stages
    (1, 1, 1)
    """
    n_st = np.asarray(servers).size
    n_src = np.asarray(rate_per_s).size
    n_stage = np.asarray(stage_station).size

    def fill(x: ArrayLike | None, n: int, default: float | bool) -> ArrayLike:
        return (
            np.full(n, default)
            if x is None
            else np.broadcast_to(np.asarray(x), (n,))
            if np.ndim(x) == 0
            else x
        )

    return KernelModel(
        servers=np.asarray(servers),
        discipline=np.asarray(fill(discipline, n_st, 0)),
        speed=np.asarray(fill(speed, n_st, 1.0)),
        up=np.asarray(fill(up, n_st, True)),
        capacity=np.asarray(fill(capacity, n_st, -1)),
        arrival_kind=np.asarray(fill(arrival_kind, n_src, 0)),
        rate_per_s=np.asarray(rate_per_s),
        mmpp_rate1_per_s=np.asarray(fill(mmpp_rate1_per_s, n_src, 0.0)),
        mmpp_switch01_per_s=np.asarray(fill(mmpp_switch01_per_s, n_src, 0.0)),
        mmpp_switch10_per_s=np.asarray(fill(mmpp_switch10_per_s, n_src, 0.0)),
        route_ptr=np.asarray(route_ptr),
        return_delay_s=np.asarray(fill(return_delay_s, n_src, 0.0)),
        app_of_source=np.asarray(fill(app_of_source, n_src, 0)),
        timeout_s=np.asarray(fill(timeout_s, n_src, math.inf)),
        max_retries=np.asarray(fill(max_retries, n_src, 0)),
        token_depth=np.asarray(fill(token_depth, n_src, 1.0)),
        trace_period_s=np.asarray(fill(trace_period_s, n_src, 0.0)),
        trace_ptr=np.asarray(np.zeros(n_src + 1, np.int64) if trace_ptr is None else trace_ptr),
        trace_t=np.asarray(np.zeros(0) if trace_t is None else trace_t),
        stage_station=np.asarray(stage_station),
        stage_delay_s=np.asarray(fill(stage_delay_s, n_stage, 0.0)),
        stage_work_mean_s=np.asarray(stage_work_mean_s),
        stage_work_dist=np.asarray(fill(stage_work_dist, n_stage, 0)),
        stage_work_scv=np.asarray(fill(stage_work_scv, n_stage, 1.0)),
        stage_cache=np.asarray(fill(stage_cache, n_stage, -1)),
        stage_content_share=np.asarray(fill(stage_content_share, n_stage, 0.0)),
        stage_hit_return_s=np.asarray(fill(stage_hit_return_s, n_stage, 0.0)),
        stage_link_station=np.asarray(fill(stage_link_station, n_stage, -1)),
        stage_link_work_s=np.asarray(fill(stage_link_work_s, n_stage, 0.0)),
    )


def merged_poisson_rates(device_count: ArrayLike, rate_per_device_per_s: ArrayLike) -> NDArray[np.float64]:
    """Rates of sources that each stand for a group of devices with independent Poisson arrivals.

    The superposition of independent Poisson streams is a Poisson stream with the summed rate, so a group
    of ``n`` devices at rate ``r`` is exactly one Poisson source at ``n * r``. Do not merge MMPP or periodic
    devices: their superposition is not a source of the same kind (each modulated source keeps its phase).

    Parameters
    ----------
    device_count : array_like of int
        Devices per group, >= 0.
    rate_per_device_per_s : array_like of float
        Poisson rate of one device in each group, >= 0 (broadcasts against ``device_count``).

    Returns
    -------
    ndarray of float64
        ``device_count * rate_per_device_per_s``, one source rate per group.

    Raises
    ------
    ScenarioError
        If a count or a rate is negative or not finite.

    Examples
    --------
    >>> merged_poisson_rates([100, 250], 0.1)
    array([10., 25.])
    """
    n = np.asarray(device_count)
    r = np.asarray(rate_per_device_per_s, dtype=np.float64)
    issues: list[Issue] = []
    n_flat, r_flat = np.atleast_1d(n), np.atleast_1d(r)
    _first_bad(issues, "device_count", n_flat, ~np.isfinite(n_flat) | (n_flat < 0) | (n_flat != np.round(n_flat)),
               "must be a whole number >= 0")  # fmt: skip
    _first_bad(issues, "rate_per_device_per_s", r_flat, ~(np.isfinite(r_flat) & (r_flat >= 0)),
               "must be finite and >= 0")  # fmt: skip
    if issues:
        raise ScenarioError(issues, source="merged_poisson_rates")
    return np.atleast_1d(n * r).astype(np.float64)
