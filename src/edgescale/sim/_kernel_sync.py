"""Between epochs: copy the model into the kernel's rows and act on what the control plane changed."""

from __future__ import annotations

import heapq
import math

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.sim import _kernel_core as core
from edgescale.sim._kernel_model import KernelModel
from edgescale.sim._kernel_state import _F64, _I32, KernelState, _grow_heap, _zeros_rows

Rows = NDArray[np.intp] | slice
_ALL = slice(None)
_NONE: NDArray[np.intp] = np.zeros(0, np.intp)


def _diff(m: KernelModel, state: KernelState, name: str) -> Rows:
    """Rows where the model's array *name* changed since the last call (all rows the first time)."""
    new = getattr(m, name)
    old = state.seen.get(name)
    if old is None or old.shape != new.shape:
        state.seen[name] = new.copy()
        return _ALL
    ne = new != old
    if not ne.any():  # the usual case at a stop: skip the index arrays and the writes
        return _NONE
    state.seen[name] = new.copy()  # replaced, not updated in place: a caller may hold the old values
    return np.flatnonzero(ne)


def _any(rows: Rows) -> bool:
    return isinstance(rows, slice) or rows.size > 0


def _load_model(m: KernelModel, state: KernelState) -> NDArray[np.int64]:
    """Copy what changed in the model into the state's rows; return the sources whose arrivals changed.

    The cost is O(model size) numpy comparisons plus O(changes) writes, so an epoch that changes little is
    cheap even with a million sources.
    """
    stw, stf = state.st.view(_I32), state.st.view(_F64)
    changed = np.zeros(m.n_stations, dtype=bool)  # servers or speed
    for name, col in (("servers", core.W_SERVERS), ("discipline", core.W_DISC), ("up", core.W_UP),
                      ("capacity", core.W_CAP)):  # fmt: skip
        rows = _diff(m, state, name)
        if _any(rows):
            stw[rows, col] = getattr(m, name)[rows]
            if name == "servers":
                changed[rows] = True
    rows = _diff(m, state, "speed")
    if _any(rows):
        stf[rows, core.M_SPEED] = m.speed[rows]
        changed[rows] = True
    state.st[:, core.S_RESYNC] = changed  # the kernel reschedules PS completions of these stations
    old_ptr = state.seen.get("route_ptr")  # the pointers requests in flight were placed with
    route_rows = _diff(m, state, "route_ptr")
    stage_changed = False
    if state.stg.shape[0] != m.n_stages:
        state.stg = _zeros_rows(m.n_stages, core.N_STG)
    gw, gf = state.stg.view(_I32), state.stg.view(_F64)
    for name, view, col in (("stage_station", gw, core.W_STATION), ("stage_work_dist", gw, core.W_DIST),
                            ("stage_delay_s", gf, core.G_DELAY), ("stage_work_mean_s", gf, core.G_MEAN),
                            ("stage_work_scv", gf, core.G_SCV), ("stage_cache", gw, core.W_CACHE),
                            ("stage_content_share", gf, core.G_SHARE),
                            ("stage_hit_return_s", gf, core.G_HIT_RETURN),
                            ("stage_link_station", gw, core.W_LINK),
                            ("stage_link_work_s", gf, core.G_LINK_WORK)):  # fmt: skip
        rows = _diff(m, state, name)
        if _any(rows):
            view[rows, col] = getattr(m, name)[rows]
            stage_changed = True
    if old_ptr is not None and _any(route_rows):
        _remap_routes(m, state, old_ptr)
    arrivals = _load_sources(m, state, first_stages=stage_changed or _any(route_rows))
    if changed.any():
        _reschedule_fifo(m, state, changed)
    return arrivals


def _remap_routes(m: KernelModel, state: KernelState, old_ptr: NDArray[np.int64]) -> None:
    """Requests in flight keep their stage number on their source's new route."""
    rw = state.req.view(_I32)
    live = (rw[:, core.R_STATE] & core.FL_LIVE) != 0
    owner = rw[live, core.R_SRC]
    stage = rw[live, core.R_G] - old_ptr[owner]
    rw[live, core.R_G] = m.route_ptr[owner] + stage
    rw[live, core.R_G_END] = m.route_ptr[owner + 1]


_SOURCE_INTS = (("arrival_kind", core.W_KIND), ("app_of_source", core.W_APP), ("max_retries", core.W_RETRIES))
_SOURCE_FLOATS = (("rate_per_s", core.M_RATE), ("mmpp_switch01_per_s", core.M_S01),
                  ("mmpp_switch10_per_s", core.M_S10), ("return_delay_s", core.M_RETURN),
                  ("timeout_s", core.M_TIMEOUT))  # fmt: skip
_SECOND_PARAM = ("mmpp_rate1_per_s", "token_depth", "trace_period_s")  # share one slot by arrival kind
_ARRIVAL_PARAMS = {
    "arrival_kind",
    "rate_per_s",
    "mmpp_rate1_per_s",
    "token_depth",
    "trace_period_s",
    "mmpp_switch01_per_s",
    "mmpp_switch10_per_s",
}


def _load_sources(m: KernelModel, state: KernelState, *, first_stages: bool) -> NDArray[np.int64]:
    cw, cf = state.src.view(_I32), state.src.view(_F64)
    arrivals = np.zeros(m.n_sources, dtype=bool)
    kind_rows: Rows = _ALL
    for name, view, col in [(n, cw, c) for n, c in _SOURCE_INTS] + [(n, cf, c) for n, c in _SOURCE_FLOATS]:
        rows = _diff(m, state, name)
        if name == "arrival_kind":
            kind_rows = rows
        if _any(rows):
            view[rows, col] = getattr(m, name)[rows]
            if name in _ARRIVAL_PARAMS:
                arrivals[rows] = True
    second = _any(kind_rows)
    for name in _SECOND_PARAM:
        rows = _diff(m, state, name)
        if _any(rows):
            arrivals[rows] = True
            second = True
    if second:
        k = m.arrival_kind
        cf[:, core.M_RATE1] = np.where(k == core.TOKEN_BUCKET, m.token_depth,
                                       np.where(k == core.TRACE, m.trace_period_s, m.mmpp_rate1_per_s))  # fmt: skip
    trace_rows = _diff(m, state, "trace_ptr")
    if _any(trace_rows) or state.trace_t.size != m.trace_t.size or _any(_diff(m, state, "trace_t")):
        state.trace_t = m.trace_t.copy()
        cw[:, core.W_TR0], cw[:, core.W_TR1] = m.trace_ptr[:-1], m.trace_ptr[1:]
        cw[:, core.W_TRCUR] = 0
        arrivals[m.arrival_kind == core.TRACE] = True
    if first_stages:  # copy each route's first stage into its source's row
        cw[:, core.W_R0], cw[:, core.W_R1] = m.route_ptr[:-1], m.route_ptr[1:]
        routed = np.flatnonzero(m.route_ptr[1:] > m.route_ptr[:-1])
        g0 = m.route_ptr[routed]
        cw[routed, core.W_ST0], cw[routed, core.W_DIST0] = m.stage_station[g0], m.stage_work_dist[g0]
        # a first stage with a link station is not folded into the arrival event (inf: see core.run)
        delay0 = np.where(m.stage_link_station[g0] >= 0, np.inf, m.stage_delay_s[g0])
        cf[routed, core.M_DELAY0], cf[routed, core.M_MEAN0] = delay0, m.stage_work_mean_s[g0]
        cf[routed, core.M_SCV0] = m.stage_work_scv[g0]
    return np.flatnonzero(arrivals).astype(np.int64)


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
    keep = np.flatnonzero(~changed)
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
            _reissue(rf, rw, int(r), end, times, payloads)
    return free if servers > 0 else [math.inf]


def _reissue(
    rf: NDArray[np.float64],
    rw: NDArray[np.int32],
    r: int,
    depart: float,
    times: list[float],
    payloads: list[int],
) -> None:
    """Give waiting request *r* a new departure: a new generation voids its pending events; re-issue them."""
    gen = (int(rw[r, core.R_GEN]) + 1) & core.GEN_MASK
    rw[r, core.R_GEN] = gen
    rf[r, core.F_DEPART] = depart
    if depart < math.inf:
        times.append(depart)
        payloads.append((gen << 40) | (r << 3) | core.EV_DEPART)
    deadline = float(rf[r, core.F_DEADLINE])
    if deadline < math.inf and not rw[r, core.R_STATE] & core.FL_ORPHAN:  # its timeout is still pending
        times.append(deadline)
        payloads.append((gen << 40) | (r << 3) | core.EV_TIMEOUT)


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
    n_caches = state.cache.shape[0]
    if model.stage_cache.size and int(model.stage_cache.max()) >= n_caches:
        bad = int(np.flatnonzero(model.stage_cache >= n_caches)[0])
        issues.append(Issue(f"stage_cache[{bad}]", f"must be < the state's {n_caches} caches (init_state caches=)",
                            int(model.stage_cache[bad])))  # fmt: skip
    if not issues and not np.array_equal(model.discipline, state.discipline):
        bad = int(np.flatnonzero(model.discipline != state.discipline)[0])
        issues.append(Issue(f"discipline[{bad}]", "cannot change during a run", int(model.discipline[bad])))
    if issues:
        raise ScenarioError(issues, source="run_until")
