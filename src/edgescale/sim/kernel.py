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
* **Stations** are FIFO with ``servers`` identical servers (discipline 0: first come, first served) or
  processor sharing among ``servers`` servers (discipline 1: each of ``n`` jobs gets
  ``speed * min(1, servers / n)``). A service time is ``work / speed``, the work drawn when the request
  arrives. ``servers`` may be 0: requests are held until servers are added. Busy servers are counted as
  ``min(n, servers)`` (exact for these work-conserving disciplines, except briefly after servers are removed
  while more requests than servers are in service: those finish, and utilization may read above 1).
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
* **No path**: an infinite link delay (``stage_delay_s`` or ``return_delay_s``) means the path is cut: a
  request sent over it is lost (``drops_down``); a response that cannot come back makes the attempt time
  out, or is dropped when there is no timeout.
* **Arrivals**: Poisson, periodic, MMPP-2, token bucket (Poisson proposals policed by a bucket: the output
  never exceeds ``depth + rate * t`` in any window of length t) and trace replay (see :class:`KernelModel`).
* **Samples**: with ``sample_every`` in :func:`init_state`, every k-th outcome of a counted request is kept
  (bounded buffer) and read with :func:`read_samples`.
* **Caches**: with ``caches`` in :func:`init_state` (``CacheSpec``), a request leaving the station of a stage
  whose ``stage_cache`` >= 0 asks, with probability ``stage_content_share``, for a catalogue item drawn from
  the popularity; if that cache holds it (exact LRU, or a static set) the rest of its route is skipped and its
  response takes ``stage_hit_return_s``. Lookups and hits in the window are counted per cache by lookup time.
* **Link queueing**: a stage with ``stage_link_station`` >= 0 is first crossed through that FIFO station
  (deterministic work ``stage_link_work_s``), then ``stage_delay_s``; the time there counts as link time.
* **Epochs**: between calls the control plane may change any array in place or pass a new model with the
  same numbers of stations, sources and applications and the same disciplines. Changes apply from the
  current time: requests in service keep their service time; at a FIFO station whose servers or speed
  changed, waiting requests are rescheduled in arrival order with the new servers and speed; a source
  whose arrival parameters changed draws its next arrival afresh (exact for Poisson by memorylessness; an
  MMPP source restarts from the phase of its pending arrival); requests in flight follow the current route
  from their current stage number.
* **Accounting times**: a new request is counted as it reaches its first station (the source's event is
  due then), and completed as it leaves its last station (its latency includes the return delay).
  Per-application statistics count the requests *created* inside the measurement window
  ``[reset time, window end)``: a warm-up request that finishes inside the window is not counted, and
  :func:`drain` ends the window and runs on until every request created in it has an outcome, so that
  latencies are not biased towards the short ones by the window's end (counting by completion time
  would be). Station statistics are time integrals over the window, whatever the request.
* Events with equal times are processed in an unspecified but deterministic order. Everything is fixed by
  the seed: the same seed and the same sequence of calls give identical numbers, however the run is split
  into epochs.

Design
------
The compiled part (numba, in ``_kernel_core``) is one event loop over preallocated arrays, with no Python
objects and no allocation. Events sit in a 4-ary min-heap of (time, payload) pairs laid out so that a node's
children share a cache line; stale events (a source whose rate changed, a PS completion superseded) are
skipped by a generation number in the payload. Requests live in a pool of fixed 128-byte rows with a free
list, so memory follows the number of requests alive, not the duration; the heap and the pool double only
when full. FIFO stations keep no queue: the Lindley recursion gives each request its start and departure
on arrival from a min-heap of server free times, so a request costs two events (arrival at the first
station and departure) plus one per further stage. Latencies stream into per-application
:class:`~edgescale.sim.histogram.LogHistogram` buckets (bounded memory, about 1 % relative error on
quantiles) with exact sums for means. A source may stand for a group of devices: merged Poisson sources
(:func:`merged_poisson_rates`) are exact and much cheaper than one source per device.

The compiled entry points are built once ahead of time into an extension module in the compiled-code cache
(:mod:`edgescale.sim._aot`: numba.pycc, on first use, about as long as numba's own cold compile), so that a
process loads the kernel in a millisecond without importing numba; numba's JIT is the fallback
(``EDGESCALE_AOT=0``, no C compiler, arguments of other types) and gives bit-identical numbers.

Examples
--------
An M/M/1 queue (arrival rate 0.5, mean service 1 s) with a warm-up, then a second server added at an epoch:

>>> model = make_model(servers=[1], rate_per_s=[0.5], route_ptr=[0, 1], stage_station=[0],
...                    stage_work_mean_s=[1.0])
>>> state = init_state(model, seed=1)
>>> run_until(model, state, 1_000.0)
>>> reset_metrics(state)
>>> run_until(model, state, 50_000.0)
>>> m = read_metrics(state)
>>> round(float(m.mean_latency_s[0]), 1)  # theory: 1 / (1 - 0.5) = 2
2.0
>>> model.servers[0] = 2
>>> run_until(model, state, 60_000.0)
>>> int(state.in_station[0]) < 20
True
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import SimulationError
from edgescale.sim import _aot
from edgescale.sim import _kernel_core as core
from edgescale.sim._kernel_metrics import KernelMetrics, read_metrics
from edgescale.sim._kernel_model import KernelModel, make_model, merged_poisson_rates
from edgescale.sim._kernel_state import (
    _F64,
    _I32,
    DEFAULT_MAX_LIVE_REQUESTS,
    CacheSpec,
    KernelState,
    _clear_app_metrics,
    _grow_heap,
    _grow_pool,
    init_state,
)
from edgescale.sim._kernel_sync import _check_fits, _load_model

# edgescale.sim (imported first) installed the ahead-of-time kernel, if built: _kernel_core came without numba
_aot.patch_core()

__all__ = [
    "DEFAULT_MAX_LIVE_REQUESTS",
    "CacheSpec",
    "KernelMetrics",
    "KernelModel",
    "KernelState",
    "compile_kernel",
    "drain",
    "init_state",
    "make_model",
    "merged_poisson_rates",
    "read_metrics",
    "read_samples",
    "reset_metrics",
    "run_until",
]


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
        Re-check the model's arrays first (default True). An invalid index that reaches the compiled code is
        not caught there.

    Notes
    -----
    Each call costs O(model size) numpy comparisons to find what changed (about 1 ms for 10,000 sources and
    stations, 25 ms for a million, twice that with ``validate``) plus the work of the events, so control
    epochs should not be much shorter than needed.

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
    changed = _load_model(model, state)
    room = changed.size + model.n_stations + core.HEAP_SLACK  # what the kernel's sync may push
    _grow_heap(state, state.pending_events + room)
    sync = True
    while True:
        status = core.run(state.arrays(), float(t_stop), sync, changed)
        sync = False
        if status == core.OK:
            return
        if status == core.HEAP_FULL:
            _grow_heap(state, 2 * state.heap_capacity)
        else:
            _grow_pool(state)


_STATION_STATS = [
    core.S_AREA_N,
    core.S_AREA_BUSY,
    core.S_SOJOURN_SUM,
    core.S_WAIT_SUM,
    core.S_DEPARTURES,
    core.S_RES_ADJ,
    core.S_DROP_FULL,
    core.S_DROP_DOWN,
    core.S_LOST,
    core.S_AREA_SERVERS,
    core.S_AREA_UP,
]


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
    state.sc.view(_F64)[core.T_WEND] = math.inf
    state.sc[core.I_SAMP_N] = 0
    state.sc[core.I_SAMP_SEEN] = 0


_APP_FIELDS = ("arrivals", "retries", "completions", "drops_full", "drops_down", "timeouts", "failed",
               "orphans_done", "unfinished", "latency", "wait_s_sum", "service_s_sum", "link_s_sum")  # fmt: skip


def drain(
    model: KernelModel, state: KernelState, *, max_s: float, first_step_s: float = 0.05
) -> KernelMetrics:
    """End the measurement window now and run on until every request created in it has an outcome.

    Requests created from now on are not counted. The run continues in growing steps (starting at
    *first_step_s*, doubling) until none of the window's requests is open, or *max_s* has passed (an
    overloaded system): those still open are reported as ``unfinished``.

    Parameters
    ----------
    model : KernelModel
        The system while draining (usually the model of the last epoch).
    state : KernelState
        Advanced in place: its time ends after the drain.
    max_s : float
        Longest drain, seconds (>= 0).
    first_step_s : float, optional
        First step of the drain, seconds (> 0).

    Returns
    -------
    KernelMetrics
        Station statistics over the window (up to the time of this call) and per-application statistics
        of the requests created in the window, after the drain; ``t_end`` is the window's end.

    Raises
    ------
    SimulationError
        If *max_s* or *first_step_s* is out of range.
    """
    if not (max_s >= 0 and math.isfinite(max_s) and first_step_s > 0):
        raise SimulationError(
            f"drain: needs finite max_s >= 0 and first_step_s > 0 (got {max_s!r}, {first_step_s!r})"
        )
    at_end = read_metrics(state)
    end = state.now
    state.sc.view(_F64)[core.T_WEND] = end
    step = first_step_s
    while state.outstanding.any() and state.now < end + max_s:
        run_until(model, state, min(state.now + step, end + max_s), validate=False)
        step *= 2.0
    after = read_metrics(state)
    return replace(at_end, **{name: getattr(after, name) for name in _APP_FIELDS})


SAMPLE_COLUMNS = ("created_s", "latency_s", "wait_s", "service_s", "link_s", "app", "source", "outcome")
OUTCOMES = ("completed", "dropped_full", "dropped_down", "failed")


def read_samples(state: KernelState) -> dict[str, NDArray[Any]]:
    """The per-request samples kept so far (see ``sample_every`` in :func:`init_state`), as columns.

    ``outcome`` indexes :data:`OUTCOMES`; ``latency_s`` is NaN for requests that did not complete; ``wait_s``,
    ``service_s`` and ``link_s`` are those of the last attempt. Counted requests only (created in the
    measurement window).
    """
    n = int(state.sc[core.I_SAMP_N])
    rows = state.samp[:n]
    out: dict[str, NDArray[Any]] = {name: rows[:, k].copy() for k, name in enumerate(SAMPLE_COLUMNS)}
    for name in ("app", "source", "outcome"):
        out[name] = out[name].astype(np.int64)
    return out


def compile_kernel() -> float:
    """Get the kernel ready on a tiny model; return the seconds taken.

    Loads the ahead-of-time compiled kernel, building it on first use (see :mod:`edgescale.sim._aot`), or
    else compiles it with numba's JIT (or loads it from numba's on-disk cache).
    """
    t0 = time.perf_counter()
    _aot.ensure()
    m = make_model(
        servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.5]
    )
    state = init_state(m, 0)
    run_until(m, state, 1.0)
    run_until(replace(m, servers=np.array([2])), state, 2.0)  # also compiles push_events
    return time.perf_counter() - t0
