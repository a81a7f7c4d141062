"""The compiled data plane of the digital twin: an event kernel over numpy arrays.

The kernel knows stations, sources and routes, not sites, devices or services: the world module compiles a
scenario into a :class:`KernelModel`, and the Python control plane advances a :class:`KernelState` epoch by
epoch with :func:`run_until`, changing the model's arrays (``up``, ``servers``, ``speed``, rates, routes) in
between. Metrics stream into counters, time integrals and per-application latency histograms, read with
:func:`read_metrics`.

Semantics
---------
* A **request** is created by a source, crosses stage ``k`` of its route as: link delay
  ``stage_delay_s[k]`` (infinite-server pure delay), then queueing and service at ``stage_station[k]``; after
  the last stage the response takes ``return_delay_s`` back to the device. Its latency is measured from its
  creation to the response's arrival, and is recorded when it leaves its last station.
* **Stations** are FIFO with ``servers`` identical servers (discipline 0) or processor sharing among
  ``servers`` servers (discipline 1: each of ``n`` jobs gets ``speed * min(1, servers / n)``). A service
  time is ``work / speed``, the work drawn when service starts (FIFO) or on arrival (PS). ``servers`` may be
  0 (requests are held until servers are added).
* **Capacity**: a request that reaches a station holding ``capacity`` requests (queued plus in service) is
  dropped (``capacity = -1``: unbounded). A drop is final: no retry.
* **Failures**: a station with ``up = False`` drops every request that reaches it, and when it goes down
  (``up`` changed to False between two calls) every request inside it is lost and counted as dropped
  (crash semantics). Requests on links keep going and are dropped if they reach it while it is down.
* **Timeouts**: with a finite ``timeout_s`` an attempt whose response has not arrived ``timeout_s`` after it
  was sent times out; the source retries at once, up to ``max_retries`` times, and then gives up
  (``failed``). The timed-out attempt keeps using the stations it is queued at (an *orphan*: nobody cancels
  it) and is discarded at the end of its route. Latency of a retried request is measured from its first
  attempt; the wait/service/link decomposition covers the successful attempt.
* **Epochs**: between calls the control plane may change any array in place or pass a new model with the
  same numbers of stations, sources and applications. Changes apply from the current time: in-service
  work keeps its drawn service time; a source whose arrival parameters changed draws its next arrival
  afresh (exact for Poisson by memorylessness; an MMPP source restarts from the phase of its pending
  arrival); requests in flight follow the current route from their current stage number.
* Events with equal times are processed in an unspecified but deterministic order. Everything is fixed by
  the seed: the same seed and the same sequence of calls give identical numbers, however the run is split
  into epochs.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import Issue, ScenarioError, SimulationError
from edgescale.sim import _kernel_core as core
from edgescale.sim.histogram import DEFAULT_HI_S, DEFAULT_LO_S, DEFAULT_RESOLUTION, LogHistogram

__all__ = [
    "DEFAULT_MAX_LIVE_REQUESTS",
    "KernelMetrics",
    "KernelModel",
    "KernelState",
    "compile_kernel",
    "init_state",
    "make_model",
    "merged_poisson_rates",
    "read_metrics",
    "reset_metrics",
    "run_until",
]

DEFAULT_MAX_LIVE_REQUESTS = 1 << 24
"""Default bound on requests alive at once (128 bytes each): beyond it the system is taken as unstable."""

_FLOAT = np.float64
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
    "stage_station": np.int32,
    "stage_delay_s": _FLOAT,
    "stage_work_mean_s": _FLOAT,
    "stage_work_dist": np.int8,
    "stage_work_scv": _FLOAT,
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
        0 Poisson, 1 periodic (period ``1 / rate_per_s``, random phase), 2 MMPP-2.
    rate_per_s : float64 (n_sources,)
        Arrival rate, >= 0 (0: silent source); for MMPP-2 the rate in phase 0.
    mmpp_rate1_per_s, mmpp_switch01_per_s, mmpp_switch10_per_s : float64 (n_sources,)
        MMPP-2 only: rate in phase 1 and the switching rates from phase 0 to 1 and from 1 to 0.
    route_ptr : int64 (n_sources + 1,)
        CSR pointers: the route of source ``c`` is stages ``route_ptr[c]`` to ``route_ptr[c+1] - 1``.
    return_delay_s : float64 (n_sources,)
        Delay of the response path back to the device.
    app_of_source : int32 (n_sources,)
        Application index of each source, for per-application metrics.
    timeout_s : float64 (n_sources,)
        Attempt timeout, > 0; ``inf`` for none.
    max_retries : int32 (n_sources,)
        Retries after a timeout, >= 0.
    stage_station : int32 (n_stages,)
        Station of each stage.
    stage_delay_s : float64 (n_stages,)
        Constant link delay before reaching the station (propagation plus transmission).
    stage_work_mean_s : float64 (n_stages,)
        Mean work (service time at speed 1).
    stage_work_dist : int8 (n_stages,)
        0 exponential, 1 deterministic, 2 gamma, 3 lognormal (2 and 3 with ``stage_work_scv``).
    stage_work_scv : float64 (n_stages,)
        Squared coefficient of variation of the work for distributions 2 and 3.
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
    stage_station: NDArray[np.int32]
    stage_delay_s: NDArray[np.float64]
    stage_work_mean_s: NDArray[np.float64]
    stage_work_dist: NDArray[np.int8]
    stage_work_scv: NDArray[np.float64]

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        for f in fields(self):
            raw = getattr(self, f.name)
            try:
                arr = np.ascontiguousarray(np.asarray(raw).reshape(-1).astype(_DTYPES[f.name], copy=False))
            except (TypeError, ValueError) as e:
                issues.append(Issue(f.name, f"must be convertible to {_DTYPES[f.name].__name__}: {e}", raw))
                continue
            object.__setattr__(self, f.name, arr)
        if issues:
            raise ScenarioError(issues, source="KernelModel")
        self.validate()

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
                    "mmpp_switch10_per_s", "return_delay_s", "app_of_source", "timeout_s", "max_retries"),
        "stages": ("stage_station", "stage_delay_s", "stage_work_mean_s", "stage_work_dist", "stage_work_scv"),
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
    if issues:
        return issues
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
                 "return_delay_s", "stage_delay_s", "stage_work_mean_s", "stage_work_scv"):  # fmt: skip
        finite_ge0(name)
    _first_bad(issues, "servers", m.servers, m.servers < 0, "must be >= 0")
    _first_bad(issues, "discipline", m.discipline, (m.discipline < 0) | (m.discipline > 1), "must be 0 or 1")
    _first_bad(issues, "speed", m.speed, ~(np.isfinite(m.speed) & (m.speed > 0)), "must be finite and > 0")
    _first_bad(issues, "capacity", m.capacity, m.capacity < -1, "must be >= 0, or -1 for unbounded")
    ak = m.arrival_kind
    _first_bad(issues, "arrival_kind", ak, (ak < 0) | (ak > 2), "must be 0, 1 or 2")
    _first_bad(issues, "app_of_source", m.app_of_source, m.app_of_source < 0, "must be >= 0")
    _first_bad(issues, "timeout_s", m.timeout_s, ~(m.timeout_s > 0), "must be > 0 (inf for none)")
    _first_bad(issues, "max_retries", m.max_retries, m.max_retries < 0, "must be >= 0")
    ss = m.stage_station
    _first_bad(
        issues, "stage_station", ss, (ss < 0) | (ss >= m.n_stations), f"must be in [0, {m.n_stations})"
    )
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
    stage_delay_s: ArrayLike | None = None,
    stage_work_dist: ArrayLike | None = None,
    stage_work_scv: ArrayLike | None = None,
) -> KernelModel:
    """Build a :class:`KernelModel`, filling omitted arrays with defaults.

    Defaults: FIFO, speed 1, up, unbounded capacity, Poisson arrivals, no MMPP, no return delay, application
    0, no timeout, no retries, no link delay, exponential work, work SCV 1. Scalars broadcast to the size of
    their group.

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
        stage_station=np.asarray(stage_station),
        stage_delay_s=np.asarray(fill(stage_delay_s, n_stage, 0.0)),
        stage_work_mean_s=np.asarray(stage_work_mean_s),
        stage_work_dist=np.asarray(fill(stage_work_dist, n_stage, 0)),
        stage_work_scv=np.asarray(fill(stage_work_scv, n_stage, 1.0)),
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


def _zeros_rows(rows: int, cols: int) -> NDArray[np.int64]:
    """A zeroed (rows, cols) int64 array whose first row starts on a 64-byte boundary."""
    buf = np.zeros(rows * cols + 8, dtype=np.int64)
    off = (-buf.ctypes.data % 64) // 8
    return buf[off : off + rows * cols].reshape(rows, cols)


_F64 = np.float64
_I32 = np.int32


@dataclass(eq=False)
class KernelState:
    """Mutable simulation state; create it with :func:`init_state`, read it with :func:`read_metrics`.

    The arrays are the kernel's working memory (row layouts in :mod:`edgescale.sim._kernel_core`): a 4-ary
    event heap, a request pool with a free list, rows per station, source, stage and application, the
    latency histograms, the RNG state, the scalars and the FIFO servers' free times. The ``seen_*`` arrays
    remember the model of the last call, to find what the control plane changed. The heap and the pool grow
    by doubling only when full, so memory follows the number of requests alive at once, not the simulated
    duration.
    """

    heap: NDArray[np.int64]
    req: NDArray[np.int64]
    st: NDArray[np.int64]
    src: NDArray[np.int64]
    stg: NDArray[np.int64]
    app: NDArray[np.int64]
    app_hist: NDArray[np.int64]
    rng: NDArray[np.uint64]
    sc: NDArray[np.int64]
    srv: NDArray[np.float64]
    seen_arrival: NDArray[np.float64]
    seen_route_ptr: NDArray[np.int64]
    seen_servers: NDArray[np.int32]
    seen_speed: NDArray[np.float64]
    discipline: NDArray[np.int8]
    histogram_lo_s: float = DEFAULT_LO_S
    histogram_hi_s: float = DEFAULT_HI_S
    histogram_resolution: float = DEFAULT_RESOLUTION
    max_live_requests: int = DEFAULT_MAX_LIVE_REQUESTS

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """The views the compiled kernel takes, in the order of ``STATE_ARRAYS``."""
        req, st, src, stg = self.req, self.st, self.src, self.stg
        return (self.heap, self.heap.view(_F64), req.view(_I32), req.view(_F64), st.view(_I32), st.view(_F64),
                st, src.view(_I32), src.view(_F64), stg.view(_I32), stg.view(_F64), self.app,
                self.app.view(_F64), self.app_hist, self.rng, self.sc, self.sc.view(_F64), self.srv)  # fmt: skip

    @property
    def now(self) -> float:
        """Simulated time reached."""
        return float(self.sc.view(_F64)[core.T_NOW])

    @property
    def metrics_start(self) -> float:
        """Start of the measurement window (time of the last :func:`reset_metrics`, else 0)."""
        return float(self.sc.view(_F64)[core.T_METRICS])

    @property
    def live_requests(self) -> int:
        """Requests alive now (on links, at stations, returning late, or orphans)."""
        return int(self.sc[core.I_N_LIVE])

    @property
    def outstanding(self) -> NDArray[np.int64]:
        """Per application, requests whose outcome is still open (live and not orphaned).

        Since the last :func:`reset_metrics`, ``arrivals == completions + drops_full + drops_down + failed
        + (outstanding now - outstanding at the reset)``.
        """
        rw = self.req.view(_I32)
        state = rw[:, core.R_STATE]
        open_ = (state & core.FL_LIVE != 0) & (state & core.FL_ORPHAN == 0)
        return np.bincount(rw[open_, core.R_APP], minlength=self.app.shape[0]).astype(np.int64)

    @property
    def pool_capacity(self) -> int:
        """Rows allocated in the request pool."""
        return int(self.req.shape[0])

    @property
    def heap_capacity(self) -> int:
        """Entries the event heap can hold before it grows."""
        return int(self.heap.shape[0]) - core.HEAP_OFFSET

    @property
    def pending_events(self) -> int:
        """Events in the heap (including stale ones that will be skipped)."""
        return int(self.sc[core.I_HEAP_N])

    @property
    def in_station(self) -> NDArray[np.int32]:
        """Requests inside each station now (queued or in service)."""
        return self.st.view(_I32)[:, core.W_N].copy()

    @property
    def nbytes(self) -> int:
        """Memory held by the state's arrays, in bytes."""
        parts = (self.heap, self.req, self.st, self.src, self.stg, self.app, self.app_hist, self.rng, self.sc,
                 self.srv, self.seen_arrival, self.seen_route_ptr, self.seen_servers, self.seen_speed)  # fmt: skip
        return sum(a.nbytes for a in parts)


def _seed_words(seed: int | np.random.Generator | None) -> NDArray[np.uint64]:
    words: NDArray[np.uint64]
    if isinstance(seed, np.random.Generator):
        words = seed.integers(0, np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
    else:
        words = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint64).astype(np.uint64)
    if not words.any():  # xoshiro's one forbidden state
        words[0] = np.uint64(1)
    return np.ascontiguousarray(words, dtype=np.uint64)


def _free_rows(first: int, stop: int, then: int) -> NDArray[np.int64]:
    """Request rows ``first..stop-1``, chained as a free list ending in *then*."""
    rows = _zeros_rows(stop - first, core.N_REQ)
    w = rows.view(_I32)
    w[:, core.R_NEXT] = np.arange(first + 1, stop + 1)
    w[-1, core.R_NEXT] = then
    w[:, core.R_LOC] = -1
    return rows


def init_state(
    model: KernelModel,
    seed: int | np.random.Generator | None = None,
    *,
    pool_capacity: int = 1024,
    max_live_requests: int = DEFAULT_MAX_LIVE_REQUESTS,
    histogram_lo_s: float = DEFAULT_LO_S,
    histogram_hi_s: float = DEFAULT_HI_S,
    histogram_resolution: float = DEFAULT_RESOLUTION,
) -> KernelState:
    """Create an empty system at time 0 for *model*.

    Parameters
    ----------
    model : KernelModel
        Fixes the numbers of stations, sources and applications, and each station's discipline, for the life
        of the state.
    seed : int, numpy.random.Generator or None
        Fixes every random draw of the run; None takes fresh entropy.
    pool_capacity : int, optional
        Initial request-pool rows (it doubles when full).
    max_live_requests : int, optional
        Bound on requests alive at once, at most 2**31 - 1; :func:`run_until` raises beyond it (an unstable
        system).
    histogram_lo_s, histogram_hi_s, histogram_resolution : float, optional
        Layout of the latency histograms (see :class:`~edgescale.sim.histogram.LogHistogram`).
    """
    layout = LogHistogram(lo=histogram_lo_s, hi=histogram_hi_s, resolution=histogram_resolution)
    n_st, n_src, n_app = model.n_stations, model.n_sources, model.n_apps
    cap = max(int(pool_capacity), core.POOL_SLACK)
    st = _zeros_rows(n_st, core.N_ST)
    st.view(_I32)[:, [core.W_QHEAD, core.W_QTAIL]] = -1
    st[:, core.S_WAS_UP] = 1
    sc = np.zeros(core.N_SC, dtype=np.int64)
    sc[core.I_N_FREE] = cap
    sc[core.H_N_LOG] = layout.n_log_buckets
    sc.view(_F64)[[core.H_INV_LO, core.H_INV_LOG_G]] = (1 / layout.lo, 1 / math.log1p(layout.resolution))
    state = KernelState(
        heap=_zeros_rows(max(1024, 2 * (n_src + n_st)) + core.HEAP_OFFSET, core.N_HEAP_COLS),
        req=_free_rows(0, cap, -1),
        st=st,
        src=_zeros_rows(n_src, core.N_SRC),
        stg=_zeros_rows(0, core.N_STG),
        app=_zeros_rows(n_app, core.N_APP),
        app_hist=np.zeros((n_app, layout.n_buckets), dtype=np.int64),
        rng=_seed_words(seed),
        sc=sc,
        srv=np.zeros(0),
        seen_arrival=np.full((n_src, 5), np.nan),
        seen_route_ptr=np.full(n_src + 1, -1, dtype=np.int64),
        seen_servers=np.full(n_st, -1, dtype=np.int32),
        seen_speed=np.full(n_st, np.nan),
        discipline=model.discipline.copy(),
        histogram_lo_s=layout.lo,
        histogram_hi_s=layout.hi,
        histogram_resolution=layout.resolution,
        max_live_requests=min(int(max_live_requests), 2**31 - 1),
    )
    _clear_app_metrics(state)
    return state


def _grow_heap(state: KernelState, needed: int) -> None:
    cap = state.heap_capacity
    if needed > cap:
        heap = _zeros_rows(max(2 * cap, needed) + core.HEAP_OFFSET, core.N_HEAP_COLS)
        heap[: state.heap.shape[0]] = state.heap
        state.heap = heap


def _grow_pool(state: KernelState) -> None:
    cap = state.pool_capacity
    if 2 * cap > state.max_live_requests:
        raise SimulationError(
            f"run_until: more than max_live_requests={state.max_live_requests} requests alive at "
            f"t={state.now:g} (got {state.live_requests}); the system is probably unstable (utilization >= 1 "
            "with unbounded capacity); bound station capacity or raise max_live_requests"
        )
    req = _zeros_rows(2 * cap, core.N_REQ)
    req[:cap] = state.req
    req[cap:] = _free_rows(cap, 2 * cap, int(state.sc[core.I_FREE_HEAD]))
    state.req = req
    state.sc[core.I_FREE_HEAD] = cap
    state.sc[core.I_N_FREE] += cap


def run_until(model: KernelModel, state: KernelState, t_stop: float, *, validate: bool = True) -> None:
    """Advance the simulation to *t_stop* (events at exactly *t_stop* included) and return.

    Parameters
    ----------
    model : KernelModel
        The system now: it may differ from the previous call's in values and routes, not in numbers of
        stations, sources or applications, nor in disciplines.
    state : KernelState
        Advanced in place.
    t_stop : float
        Time to stop at, >= ``state.now``.
    validate : bool, optional
        Re-check the model's arrays first (default True; costs O(size) numpy work). An invalid index that
        reaches the compiled code is not caught there.

    Raises
    ------
    ScenarioError
        If *model* is invalid or does not fit *state*.
    SimulationError
        If *t_stop* is before the current time or too many requests are alive at once.
    """
    if not (t_stop >= state.now and math.isfinite(t_stop)):
        raise SimulationError(f"run_until.t_stop: must be finite and >= now={state.now!r} (got {t_stop!r})")
    if validate:
        model.validate()
    _check_fits(model, state)
    _grow_heap(
        state, state.pending_events + model.n_sources + 2 * model.n_stations + 2 * state.live_requests + 16
    )
    _load_model(model, state)
    sync = True
    while True:
        status = core.run(state.arrays(), float(t_stop), sync)
        sync = False
        if status == core.OK:
            return
        if status == core.HEAP_FULL:
            _grow_heap(state, 2 * state.heap_capacity)
        else:
            _grow_pool(state)


def _load_model(m: KernelModel, state: KernelState) -> None:
    """Copy the model into the model fields of the state's rows, and act on what changed since last time."""
    stw, stf = state.st.view(_I32), state.st.view(_F64)
    stw[:, core.W_SERVERS], stw[:, core.W_DISC], stw[:, core.W_UP], stw[:, core.W_CAP] = (
        m.servers,
        m.discipline,
        m.up,
        m.capacity,
    )
    _load_sources(m, state)
    if state.stg.shape[0] != m.n_stages:
        state.stg = _zeros_rows(m.n_stages, core.N_STG)
    gw, gf = state.stg.view(_I32), state.stg.view(_F64)
    gw[:, core.W_STATION], gw[:, core.W_DIST] = m.stage_station, m.stage_work_dist
    gf[:, core.G_DELAY], gf[:, core.G_MEAN], gf[:, core.G_SCV] = (
        m.stage_delay_s,
        m.stage_work_mean_s,
        m.stage_work_scv,
    )
    if not np.array_equal(m.route_ptr, state.seen_route_ptr):  # in-flight requests keep their stage number
        rw = state.req.view(_I32)
        live = (rw[:, core.R_STATE] & core.FL_LIVE) != 0
        owner = rw[live, core.R_SRC]
        stage = rw[live, core.R_G] - state.seen_route_ptr[owner]
        rw[live, core.R_G] = m.route_ptr[owner] + stage
        rw[live, core.R_G_END] = m.route_ptr[owner + 1]
        state.seen_route_ptr = m.route_ptr.copy()
    changed = (m.servers != state.seen_servers) | (m.speed != state.seen_speed)
    stf[:, core.M_SPEED] = m.speed
    if changed.any():
        _reschedule_fifo(m, state, changed)
        state.seen_servers = m.servers.copy()
        state.seen_speed = m.speed.copy()


def _load_sources(m: KernelModel, state: KernelState) -> None:
    cw, cf = state.src.view(_I32), state.src.view(_F64)
    cw[:, core.W_KIND], cw[:, core.W_APP], cw[:, core.W_RETRIES] = (
        m.arrival_kind,
        m.app_of_source,
        m.max_retries,
    )
    cw[:, core.W_R0], cw[:, core.W_R1] = m.route_ptr[:-1], m.route_ptr[1:]
    cf[:, core.M_RATE], cf[:, core.M_RATE1] = m.rate_per_s, m.mmpp_rate1_per_s
    cf[:, core.M_S01], cf[:, core.M_S10] = m.mmpp_switch01_per_s, m.mmpp_switch10_per_s
    cf[:, core.M_RETURN], cf[:, core.M_TIMEOUT] = m.return_delay_s, m.timeout_s
    routed = np.flatnonzero(m.route_ptr[1:] > m.route_ptr[:-1])
    g0 = m.route_ptr[routed]
    cw[routed, core.W_ST0], cw[routed, core.W_DIST0] = m.stage_station[g0], m.stage_work_dist[g0]
    cf[routed, core.M_DELAY0], cf[routed, core.M_MEAN0] = m.stage_delay_s[g0], m.stage_work_mean_s[g0]
    cf[routed, core.M_SCV0] = m.stage_work_scv[g0]
    seen = state.seen_arrival
    changed = np.zeros(m.n_sources, dtype=bool)
    params: tuple[NDArray[Any], ...] = (m.arrival_kind, m.rate_per_s, m.mmpp_rate1_per_s,
                                        m.mmpp_switch01_per_s, m.mmpp_switch10_per_s)  # fmt: skip
    for j, values in enumerate(params):
        changed |= values != seen[:, j]  # NaN (never seen) counts as changed
        seen[:, j] = values
    cw[:, core.W_CHANGED] = changed


def _reschedule_fifo(m: KernelModel, state: KernelState, changed: NDArray[np.bool_]) -> None:
    """Rebuild the FIFO servers' free times after servers or speeds changed; reschedule waiting requests.

    Requests in service keep their departure; with fewer servers than requests in service, a server frees
    only when enough of them have left. Waiting requests (service start after now) are given new start and
    departure times in arrival order.
    """
    now = state.now
    stw = state.st.view(_I32)
    sizes = np.maximum(m.servers.astype(np.int64), 1)
    new_off = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    srv = np.where(np.repeat(m.servers, sizes) > 0, now, math.inf)
    keep = np.flatnonzero(~changed & (m.servers == state.seen_servers))
    if keep.size:  # copy the free times of unchanged stations
        lens = sizes[keep]
        ramp = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        srv[np.repeat(new_off[keep], lens) + ramp] = state.srv[np.repeat(stw[keep, core.W_SRV0], lens) + ramp]
    rw, rf = state.req.view(_I32), state.req.view(_F64)
    loc = rw[:, core.R_LOC]
    inside = ((rw[:, core.R_STATE] & core.FL_LIVE) != 0) & (loc >= 0)
    fifo_changed = changed & (m.discipline == core.FIFO)
    rows = np.flatnonzero(inside & fifo_changed[np.where(loc >= 0, loc, 0)])
    rows = rows[np.lexsort((rows, rf[rows, core.F_ARRIVE], loc[rows]))]
    times: list[float] = []
    payloads: list[int] = []
    for s_rows in np.split(rows, np.flatnonzero(np.diff(loc[rows])) + 1) if rows.size else []:
        s = int(loc[s_rows[0]])
        free = _lindley(rf, s_rows, int(m.servers[s]), float(m.speed[s]), now, times, payloads, rw)
        srv[new_off[s] : new_off[s] + sizes[s]] = free
    stw[:, core.W_SRV0] = new_off
    state.srv = srv
    if times:
        _grow_heap(state, state.pending_events + len(times) + 16)
        core.push_events(state.arrays(), np.array(times), np.array(payloads, dtype=np.int64))


def _lindley(
    rf: NDArray[np.float64],
    rows: NDArray[np.intp],
    servers: int,
    speed: float,
    now: float,
    times: list[float],
    payloads: list[int],
    rw: NDArray[np.int32],
) -> list[float]:
    """Re-run the FIFO schedule of one station from *now*; return its servers' free times (a min-heap)."""
    started = rf[rows, core.F_START] <= now
    ends = np.sort(rf[rows[started], core.F_DEPART])
    if servers == 0:
        free = [math.inf]
    else:
        free = list(ends[-servers:]) + [now] * max(0, servers - ends.size)
        heapq.heapify(free)
    for r in rows[~started]:
        start = max(now, free[0])
        end = start + rf[r, core.F_WORK] / speed
        heapq.heapreplace(free, end)
        rf[r, core.F_START] = start
        if end != rf[r, core.F_DEPART]:
            rf[r, core.F_DEPART] = end
            if end < math.inf:
                times.append(end)
                payloads.append((int(rw[r, core.R_GEN]) << 40) | (int(r) << 3) | core.EV_DEPART)
    return free if servers > 0 else [math.inf]


def _check_fits(model: KernelModel, state: KernelState) -> None:
    issues = []
    for what, m, s in (
        ("n_stations", model.n_stations, state.st.shape[0]),
        ("n_sources", model.n_sources, state.src.shape[0]),
    ):
        if m != s:
            issues.append(Issue(what, f"must equal the state's {s}", m))
    if model.n_apps > state.app.shape[0]:
        issues.append(
            Issue("app_of_source", f"must be < the state's n_apps {state.app.shape[0]}", model.n_apps - 1)
        )
    if not issues and not np.array_equal(model.discipline, state.discipline):
        bad = int(np.flatnonzero(model.discipline != state.discipline)[0])
        issues.append(Issue(f"discipline[{bad}]", "cannot change during a run", int(model.discipline[bad])))
    if issues:
        raise ScenarioError(issues, source="run_until")


def _clear_app_metrics(state: KernelState) -> None:
    state.app[:] = 0
    appf = state.app.view(_F64)
    appf[:, core.A_LAT_MIN] = math.inf
    appf[:, core.A_LAT_MAX] = -math.inf
    state.app_hist[:] = 0


_STATION_STATS = [core.S_AREA_N, core.S_AREA_BUSY, core.S_SOJOURN_SUM, core.S_WAIT_SUM, core.S_DEPARTURES, core.S_RES_ADJ,
                  core.S_DROP_FULL, core.S_DROP_DOWN, core.S_LOST, core.S_AREA_SERVERS, core.S_AREA_UP]  # fmt: skip


def reset_metrics(state: KernelState, t: float | None = None) -> None:
    """Clear every statistic (counters, integrals, histograms) but not the system: the end of a warm-up.

    Parameters
    ----------
    state : KernelState
        Its measurement window restarts at ``state.now``.
    t : float, optional
        If given, must equal ``state.now`` (a guard against resetting at the wrong epoch).

    Raises
    ------
    SimulationError
        If *t* differs from ``state.now``.
    """
    if t is not None and t != state.now:
        raise SimulationError(f"reset_metrics.t: must equal the state's time {state.now!r} (got {t!r})")
    _clear_app_metrics(state)
    state.st[:, _STATION_STATS] = 0  # zero bits are 0.0 in the float fields too
    state.st[:, core.S_N_START] = state.st.view(_I32)[:, core.W_N]
    state.sc.view(_F64)[core.T_METRICS] = state.now


def compile_kernel() -> float:
    """Compile the kernel (or load it from numba's on-disk cache) on a tiny model; return the seconds taken."""
    t0 = time.perf_counter()
    m = make_model(
        servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.5]
    )
    state = init_state(m, 0)
    run_until(m, state, 1.0)
    run_until(replace(m, servers=np.array([2])), state, 2.0)  # also compiles push_events
    return time.perf_counter() - t0


@dataclass(frozen=True, eq=False)
class KernelMetrics:
    """Statistics over the measurement window ``[t_start, t_end]`` (see :func:`read_metrics`).

    Per-application arrays have shape (n_apps,), per-station arrays (n_stations,). Arrays ending in ``_s``
    without ``_sum`` are time integrals over the window (``station_busy_s`` integrates the number of busy
    servers, ``station_in_system_s`` the number of requests inside).

    Notes
    -----
    Little's law holds per station as an identity of the window,
    ``station_in_system_s == station_residence_done_s + station_residence_open_s`` (up to rounding), and in
    the mean as ``mean_in_system ~= throughput_per_s * mean_sojourn_s`` up to boundary effects.
    Requests lost when a station goes down count in ``station_drops_down`` and in ``drops_down``.
    """

    t_start: float
    t_end: float
    arrivals: NDArray[np.int64]
    retries: NDArray[np.int64]
    completions: NDArray[np.int64]
    drops_full: NDArray[np.int64]
    drops_down: NDArray[np.int64]
    timeouts: NDArray[np.int64]
    failed: NDArray[np.int64]
    orphans_done: NDArray[np.int64]
    latency: tuple[LogHistogram, ...]
    wait_s_sum: NDArray[np.float64]
    service_s_sum: NDArray[np.float64]
    link_s_sum: NDArray[np.float64]
    station_arrivals: NDArray[np.int64]
    station_departures: NDArray[np.int64]
    station_drops_full: NDArray[np.int64]
    station_drops_down: NDArray[np.int64]
    station_busy_s: NDArray[np.float64]
    station_in_system_s: NDArray[np.float64]
    station_servers_s: NDArray[np.float64]
    station_up_s: NDArray[np.float64]
    station_sojourn_s_sum: NDArray[np.float64]
    station_wait_s_sum: NDArray[np.float64]
    station_residence_done_s: NDArray[np.float64]
    station_residence_open_s: NDArray[np.float64]

    @property
    def duration(self) -> float:
        """Length of the window."""
        return self.t_end - self.t_start

    @property
    def mean_latency_s(self) -> NDArray[np.float64]:
        """Mean end-to-end latency per application (NaN without completions)."""
        return np.array([h.mean for h in self.latency])

    @property
    def utilization(self) -> NDArray[np.float64]:
        """Busy servers over available servers per station, time-averaged (NaN with no servers)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.station_servers_s > 0, self.station_busy_s / self.station_servers_s, np.nan)

    @property
    def mean_in_system(self) -> NDArray[np.float64]:
        """Time-averaged number of requests in each station."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_in_system_s / self.duration

    @property
    def throughput_per_s(self) -> NDArray[np.float64]:
        """Departures per second from each station."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_departures / self.duration

    @property
    def mean_sojourn_s(self) -> NDArray[np.float64]:
        """Mean time from arrival to departure at each station (NaN without departures)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_sojourn_s_sum / self.station_departures


def read_metrics(state: KernelState) -> KernelMetrics:
    """Snapshot the statistics of the current measurement window (copies; the state is not changed)."""
    ai, af = state.app, state.app.view(_F64)
    si, sw, sf = state.st, state.st.view(_I32), state.st.view(_F64)
    latency = tuple(
        LogHistogram.from_arrays(
            state.app_hist[a],
            total=af[a, core.A_LAT_SUM],
            total_sq=af[a, core.A_LAT_SUMSQ],
            min_value=af[a, core.A_LAT_MIN],
            max_value=af[a, core.A_LAT_MAX],
            lo=state.histogram_lo_s,
            hi=state.histogram_hi_s,
            resolution=state.histogram_resolution,
        )
        for a in range(ai.shape[0])
    )
    admitted = si[:, core.S_DEPARTURES] + si[:, core.S_LOST] + sw[:, core.W_N] - si[:, core.S_N_START]
    return KernelMetrics(
        t_start=state.metrics_start,
        t_end=state.now,
        arrivals=ai[:, core.A_ARRIVALS].copy(),
        retries=ai[:, core.A_RETRIES].copy(),
        completions=ai[:, core.A_COMPLETIONS].copy(),
        drops_full=ai[:, core.A_DROP_FULL].copy(),
        drops_down=ai[:, core.A_DROP_DOWN].copy(),
        timeouts=ai[:, core.A_TIMEOUTS].copy(),
        failed=ai[:, core.A_FAILED].copy(),
        orphans_done=ai[:, core.A_ORPHANS_DONE].copy(),
        latency=latency,
        wait_s_sum=af[:, core.A_WAIT_SUM].copy(),
        service_s_sum=af[:, core.A_SERVICE_SUM].copy(),
        link_s_sum=af[:, core.A_LINK_SUM].copy(),
        station_arrivals=admitted + si[:, core.S_DROP_FULL] + si[:, core.S_DROP_DOWN],
        station_departures=si[:, core.S_DEPARTURES].copy(),
        station_drops_full=si[:, core.S_DROP_FULL].copy(),
        station_drops_down=si[:, core.S_DROP_DOWN] + si[:, core.S_LOST],
        station_busy_s=sf[:, core.S_AREA_BUSY].copy(),
        station_in_system_s=sf[:, core.S_AREA_N].copy(),
        station_servers_s=sf[:, core.S_AREA_SERVERS].copy(),
        station_up_s=sf[:, core.S_AREA_UP].copy(),
        station_sojourn_s_sum=sf[:, core.S_SOJOURN_SUM].copy(),
        station_wait_s_sum=sf[:, core.S_WAIT_SUM].copy(),
        station_residence_done_s=sf[:, core.S_SOJOURN_SUM] + sf[:, core.S_RES_ADJ],
        station_residence_open_s=_open_residence(state),
    )


def _open_residence(state: KernelState) -> NDArray[np.float64]:
    rw, rf = state.req.view(_I32), state.req.view(_F64)
    loc = rw[:, core.R_LOC]
    inside = ((rw[:, core.R_STATE] & core.FL_LIVE) != 0) & (loc >= 0)
    start = np.maximum(rf[inside, core.F_ARRIVE], state.metrics_start)
    out = np.zeros(state.st.shape[0])
    np.add.at(out, loc[inside], state.now - start)
    return out
