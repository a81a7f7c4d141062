"""Large-scale placement: regret-ordered greedy construction, then local search (shift demand, close queues).

The state is the chain shares ``z``, replicas per queue ``kq``, the load per queue and the cores and
memory used per site. Capacity levels come from the model, so every state kept here is feasible for
the MILP's constraints except replica minimums and failure domains, which :func:`repair` adds.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import InfeasibleError
from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_model import Objective, PlacementModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
EPS = 1e-9


class _State:
    """Mutable solution with the bookkeeping for feasibility checks."""

    def __init__(self, m: PlacementModel, a: SystemArrays, obj: Objective) -> None:
        self.m, self.a, self.obj = m, a, obj
        self.z = np.zeros(len(m.chain_latency))
        self.kq = np.zeros(len(m.q_service), np.int64)
        self.load = np.zeros(len(m.q_service))
        self.cores = np.zeros(a.n_sites)
        self.mem = np.zeros(a.n_sites)
        self.kmax = np.diff(m.q_level_ptr)
        self.cpu = a.service_cpu_cores[m.q_service]
        self.mb = a.service_memory_mb[m.q_service] / 1024.0
        self.site_q = np.zeros(a.n_sites, np.int64)  # queues with replicas at each site
        self.per_svc = np.zeros(len(a.service_ids), np.int64)
        mx = a.service_max_replicas.astype(np.int64)
        self.svc_max = np.where(mx > 0, mx, np.int64(1) << 40)

    def cap(self, q: int, k: int) -> float:
        return 0.0 if k <= 0 else float(self.m.level_cap[self.m.q_level_ptr[q] + k - 1])

    def level_for(self, q: int, load: float, extra_cores: float = 0.0, extra_mem: float = 0.0) -> int:
        """Least level >= current that carries ``load`` within the site's free cores; -1 if none."""
        j = int(self.m.q_site[q])
        k = int(self.kq[q])
        svc = int(self.m.q_service[q])
        while k <= self.kmax[q]:
            if k > 0 and self.cap(q, k) >= load - EPS:
                return k
            k += 1
            if self.per_svc[svc] + k - self.kq[q] > self.svc_max[svc]:
                return -1
            add = (k - self.kq[q]) * self.cpu[q]
            if self.cores[j] + extra_cores + add > self.a.site_cpu_cores[j] + EPS:
                return -1
            if self.mem[j] + extra_mem + (k - self.kq[q]) * self.mb[q] > self.a.site_memory_gb[j] + EPS:
                return -1
        return -1

    def set_level(self, q: int, k: int) -> None:
        j = int(self.m.q_site[q])
        d = k - int(self.kq[q])
        self.cores[j] += d * self.cpu[q]
        self.mem[j] += d * self.mb[q]
        self.site_q[j] += int(k > 0) - int(self.kq[q] > 0)
        self.per_svc[int(self.m.q_service[q])] += d
        self.kq[q] = k

    def level_cost(self, q: int, k: int) -> float:
        if k <= 0:
            return 0.0
        return float(self.obj.level[self.m.q_level_ptr[q] + k - 1])

    def try_chain(self, c: int, frac: float, rate: float) -> tuple[float, list[tuple[int, int]]] | None:
        """Marginal objective of sending ``frac`` of a row to chain c, and the level changes; None if it does not fit."""
        ups: list[tuple[int, int]] = []
        delta = float(self.obj.chain[c]) * frac
        extra: dict[int, tuple[float, float]] = {}
        for q in self.m.chain_queue[c]:
            if q < 0:
                break
            qi = int(q)
            j = int(self.m.q_site[qi])
            ec, em = extra.get(j, (0.0, 0.0))
            k = self.level_for(qi, self.load[qi] + frac * rate, ec, em)
            if k < 0:
                return None
            if k != self.kq[qi]:
                ups.append((qi, k))
                delta += self.level_cost(qi, k) - self.level_cost(qi, int(self.kq[qi]))
                if self.site_q[j] == 0 and j not in extra:
                    delta += float(self.obj.site[j])
                extra[j] = (ec + (k - self.kq[qi]) * self.cpu[qi], em + (k - self.kq[qi]) * self.mb[qi])
        return delta, ups

    def assign(self, c: int, frac: float, rate: float, ups: list[tuple[int, int]]) -> None:
        for q, k in ups:
            self.set_level(q, k)
        for q in self.m.chain_queue[c]:
            if q < 0:
                break
            self.load[int(q)] += frac * rate
        self.z[c] += frac

    def max_frac(self, c: int, rate: float) -> float:
        """Largest share of a row that chain c takes at the highest levels its sites allow."""
        best = 1.0
        for q in self.m.chain_queue[c]:
            if q < 0:
                break
            qi = int(q)
            j = int(self.m.q_site[qi])
            free = (self.a.site_cpu_cores[j] - self.cores[j]) / self.cpu[qi]
            free_m = (self.a.site_memory_gb[j] - self.mem[j]) / self.mb[qi]
            k = int(min(self.kmax[qi], self.kq[qi] + np.floor(min(free, free_m) + EPS)))
            best = min(best, (self.cap(qi, k) - self.load[qi]) / max(rate, 1e-300))
        return max(best, 0.0)


def greedy(m: PlacementModel, a: SystemArrays, obj: Objective, guide: F64 | None = None) -> _State:
    """Regret-ordered greedy: rows whose best chain beats their second best by most go first.

    With ``guide`` (chain shares of the LP relaxation), each row first takes the shares the LP gives it.
    """
    st = _State(m, a, obj)
    if guide is not None:
        for r in np.argsort(-m.rate, kind="stable"):
            _follow(st, int(r), guide)
    n = len(m.dem)
    regret = np.zeros(n)
    for r in range(n):
        cs = np.sort(obj.chain[m.chain_ptr[r] : m.chain_ptr[r + 1]])
        regret[r] = (cs[1] - cs[0]) if len(cs) > 1 else np.inf
    order = np.lexsort((-m.rate, -regret))
    for r in order:
        _route_row(st, int(r))
    return st


def _follow(st: _State, r: int, guide: F64) -> None:
    m = st.m
    rate = float(m.rate[r])
    for c in range(int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])):
        f = float(guide[c])
        if f > 1e-6:
            got = st.try_chain(c, f, rate)
            if got is not None:
                st.assign(c, f, rate, got[1])


def _route_row(st: _State, r: int) -> None:
    m = st.m
    rate = float(m.rate[r])
    left = 1.0 - float(st.z[m.chain_ptr[r] : m.chain_ptr[r + 1]].sum())
    chains = range(int(m.chain_ptr[r]), int(m.chain_ptr[r + 1]))
    while left > EPS:
        best: tuple[float, int, list[tuple[int, int]]] | None = None
        for c in chains:
            got = st.try_chain(c, left, rate)
            if got is not None and (best is None or got[0] < best[0]):
                best = (got[0], c, got[1])
        if best is not None:
            st.assign(best[1], left, rate, best[2])
            return
        fr = [(st.max_frac(c, rate), c) for c in chains]
        f, c = max(fr) if fr else (0.0, -1)
        f = min(f, left) * (1.0 - 1e-9)
        if f <= 1e-6:
            raise InfeasibleError(
                f"capacity: demand point {int(m.dem[r])} finds no capacity within its latency budget "
                f"({left:.0%} of {rate:g} req/s left unrouted)",
                constraint="capacity",
                excess=left,
            )
        got = st.try_chain(c, f, rate)
        assert got is not None
        st.assign(c, f, rate, got[1])
        left -= f


def right_size(st: _State, queues: I64 | None = None) -> None:
    """Lower every queue (or those given) to the least level that still carries its load."""
    qs = np.flatnonzero(st.kq > 0) if queues is None else queues[st.kq[queues] > 0]
    for q in qs:
        k = int(st.kq[q])
        while k > 1 and st.cap(int(q), k - 1) >= st.load[q] - EPS:
            k -= 1
        if st.load[q] <= EPS and k == 1:
            k = 0
        st.set_level(int(q), k)


def repair(st: _State) -> None:
    """Add replicas for replica minimums and failure domains at the cheapest allowed queues."""
    m, a = st.m, st.a
    for svc in range(len(a.service_ids)):
        qs = np.flatnonzero(m.q_service == svc)
        need_dom = int(m.min_domains[svc])
        while True:
            on = qs[st.kq[qs] > 0]
            doms = set(a.site_domain[m.q_site[on]].tolist())
            short_rep = st.kq[qs].sum() < a.service_min_replicas[svc]
            short_dom = len(doms) < need_dom
            if not (short_rep or short_dom):
                break
            cands = [int(q) for q in qs if not short_dom or int(a.site_domain[m.q_site[q]]) not in doms]
            best = None
            for q in cands:
                k = int(st.kq[q]) + 1
                if k > st.kmax[q] or st.level_for(q, st.cap(q, k)) != k:
                    continue
                j = int(m.q_site[q])
                cost = (
                    st.level_cost(q, k)
                    - st.level_cost(q, k - 1)
                    + (st.obj.site[j] if st.site_q[j] == 0 else 0.0)
                )
                if best is None or cost < best[0]:
                    best = (cost, q, k)
            if best is None:
                what = "failure domains" if short_dom else "replicas"
                raise InfeasibleError(
                    f"services[{a.service_ids[svc]}]: cannot place the required {what} "
                    f"(need {need_dom if short_dom else int(a.service_min_replicas[svc])})",
                    constraint="domains" if short_dom else "replicas",
                )
            st.set_level(best[1], best[2])


def shift(st: _State, deadline: float) -> int:
    """Move whole rows to cheaper chains while capacity allows; returns the number of moves."""
    m = st.m
    moves = 0
    for r in range(len(m.dem)):
        if time.perf_counter() > deadline:
            break
        lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
        zs = st.z[lo:hi].copy()
        cur = float(st.obj.chain[lo:hi] @ zs)
        best_c = lo + int(np.argmin(st.obj.chain[lo:hi]))
        if st.obj.chain[best_c] >= cur - 1e-12 or zs[best_c - lo] >= 1.0 - EPS:
            continue
        rate = float(m.rate[r])
        _unassign_row(st, r)
        got = st.try_chain(best_c, 1.0, rate)
        if got is not None and got[0] < cur - 1e-12:
            st.assign(best_c, 1.0, rate, got[1])
            moves += 1
        else:
            for c in range(lo, hi):
                if zs[c - lo] > 0:
                    g = st.try_chain(c, float(zs[c - lo]), rate)
                    assert g is not None
                    st.assign(c, float(zs[c - lo]), rate, g[1])
    return moves


def _unassign_row(st: _State, r: int) -> None:
    m = st.m
    lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
    rate = float(m.rate[r])
    for c in range(lo, hi):
        f = st.z[c]
        if f <= 0:
            continue
        for q in m.chain_queue[c]:
            if q < 0:
                break
            st.load[int(q)] -= f * rate
        st.z[c] = 0.0


def close_queues(st: _State, deadline: float) -> int:
    """Try to empty the least-loaded queues into the remaining ones (helps cost and energy)."""
    m = st.m
    rows_of = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    ptr, by_q = _chains_by_queue(m)
    closed = 0
    on = np.flatnonzero(st.kq > 0)
    for q in on[np.argsort(st.load[on])]:
        if time.perf_counter() > deadline:
            break
        qi = int(q)
        if st.kq[qi] == 0:
            continue
        users = by_q[ptr[qi] : ptr[qi + 1]]
        rows = np.unique(rows_of[users[st.z[users] > 0]])
        all_c = (
            np.concatenate([np.arange(m.chain_ptr[r], m.chain_ptr[r + 1]) for r in rows])
            if len(rows)
            else users[:0]
        )
        touched = np.unique(np.r_[m.chain_queue[all_c].ravel(), qi])
        touched = touched[touched >= 0]
        sites = np.unique(m.q_site[touched])
        saved = (
            st.z.copy(),
            st.kq.copy(),
            st.load.copy(),
            st.cores.copy(),
            st.mem.copy(),
            st.site_q.copy(),
            st.per_svc.copy(),
        )
        before = _part(st, all_c, touched, sites)
        ok = True
        for r in rows:
            _unassign_row(st, int(r))
        st.set_level(qi, 0)
        for r in rows:
            lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
            rate = float(m.rate[r])
            best = None
            for c in range(lo, hi):
                if (m.chain_queue[c] == qi).any():
                    continue
                g = st.try_chain(c, 1.0, rate)
                if g is not None and (best is None or g[0] < best[0]):
                    best = (g[0], c, g[1])
            if best is None:
                ok = False
                break
            st.assign(best[1], 1.0, rate, best[2])
        if ok:
            right_size(st, touched)
        if not ok or _part(st, all_c, touched, sites) >= before - 1e-9:
            st.z, st.kq, st.load, st.cores, st.mem, st.site_q, st.per_svc = saved
        else:
            closed += 1
    return closed


def _chains_by_queue(m: PlacementModel) -> tuple[I64, I64]:
    """CSR of the chains through each queue: chains ``idx[ptr[q]:ptr[q + 1]]``."""
    n_st = m.chain_queue.shape[1]
    flat = m.chain_queue.ravel()
    chain = np.arange(len(flat), dtype=np.int64) // n_st
    on = flat >= 0
    order = np.argsort(flat[on], kind="stable")
    qq = flat[on][order]
    return np.searchsorted(qq, np.arange(len(m.q_service) + 1)).astype(np.int64), chain[on][order]


def _reroute(st: _State, r: int, banned: int) -> bool:
    """Route row r (unrouted) over chains avoiding site ``banned``, whole where one chain fits, else
    split over the chains with most room; False when it does not fit."""
    m = st.m
    rate = float(m.rate[r])
    lo, hi = int(m.chain_ptr[r]), int(m.chain_ptr[r + 1])
    qs = m.chain_queue[lo:hi]
    ok = ~((qs >= 0) & (m.q_site[np.maximum(qs, 0)] == banned)).any(axis=1)
    chains = lo + np.flatnonzero(ok)
    left = 1.0
    while left > EPS:
        best: tuple[float, int, list[tuple[int, int]]] | None = None
        for c in chains:
            got = st.try_chain(int(c), left, rate)
            if got is not None and (best is None or got[0] < best[0]):
                best = (got[0], int(c), got[1])
        if best is not None:
            st.assign(best[1], left, rate, best[2])
            return True
        fr = [(st.max_frac(int(c), rate), int(c)) for c in chains]
        f, pick = max(fr) if fr else (0.0, -1)
        f = min(f, left) * (1.0 - 1e-9)
        if f <= 1e-6:
            return False
        got = st.try_chain(pick, f, rate)
        if got is None:
            return False
        st.assign(pick, f, rate, got[1])
        left -= f
    return True


def close_sites(st: _State, deadline: float) -> int:
    """Facility-location drop moves: empty whole sites (every queue there) into the other sites'
    queues, least loaded per unit of fixed cost first; kept when the objective falls. Returns the
    number of sites closed."""
    m, a, obj = st.m, st.a, st.obj
    ptr, by_q = _chains_by_queue(m)
    rows_of = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    q_order = np.argsort(m.q_site, kind="stable")
    s_ptr = np.searchsorted(m.q_site[q_order], np.arange(a.n_sites + 1))
    site_load = np.bincount(m.q_site, weights=st.load, minlength=a.n_sites)
    open_sites = np.flatnonzero(st.site_q > 0)
    worth = (
        obj.site[open_sites]
        + np.bincount(
            m.q_site,
            weights=np.where(st.kq > 0, obj.level[m.q_level_ptr[:-1] + np.maximum(st.kq, 1) - 1], 0.0),
            minlength=a.n_sites,
        )[open_sites]
    )
    closed = 0
    for j in open_sites[np.argsort(site_load[open_sites] / np.maximum(worth, 1e-300), kind="stable")]:
        if time.perf_counter() > deadline:
            break
        qs = q_order[s_ptr[j] : s_ptr[j + 1]]
        qs = qs[st.kq[qs] > 0]
        if not len(qs):
            continue
        chains = np.concatenate([by_q[ptr[q] : ptr[q + 1]] for q in qs])
        rows = np.unique(rows_of[chains[st.z[chains] > 0]])
        rows = rows[np.argsort(-m.rate[rows], kind="stable")]
        all_c = (
            np.concatenate([np.arange(m.chain_ptr[r], m.chain_ptr[r + 1]) for r in rows])
            if len(rows)
            else qs[:0]
        )
        touched = np.unique(np.concatenate([m.chain_queue[all_c].ravel(), qs]))
        touched = touched[touched >= 0]
        sites = np.unique(m.q_site[touched])
        saved = (
            st.z[all_c].copy(),
            st.kq[touched].copy(),
            st.load[touched].copy(),
            st.cores[sites].copy(),
            st.mem[sites].copy(),
            st.site_q[sites].copy(),
            st.per_svc.copy(),
        )
        before = _part(st, all_c, touched, sites)
        for r in rows:
            _unassign_row(st, int(r))
        for q in qs:
            st.set_level(int(q), 0)
            st.load[q] = 0.0
        ok = all(_reroute(st, int(r), int(j)) for r in rows)
        if ok:
            right_size(st, touched)
        if ok and _part(st, all_c, touched, sites) < before - 1e-9:
            closed += 1
            continue
        st.z[all_c], st.kq[touched], st.load[touched] = saved[0], saved[1], saved[2]
        st.cores[sites], st.mem[sites], st.site_q[sites], st.per_svc = saved[3], saved[4], saved[5], saved[6]
    return closed


def _part(st: _State, chains: I64, queues: I64, sites: I64) -> float:
    """The objective terms of some chains, queues and sites (all that a move changes)."""
    on = queues[st.kq[queues] > 0]
    lvl = st.m.q_level_ptr[on] + st.kq[on] - 1
    return float(
        st.obj.chain[chains] @ st.z[chains]
        + st.obj.level[lvl].sum()
        + st.obj.site[sites[st.site_q[sites] > 0]].sum()
    )


def _total(st: _State) -> float:
    on = np.flatnonzero(st.kq > 0)
    lvl = st.m.q_level_ptr[on] + st.kq[on] - 1
    sites = np.flatnonzero(st.site_q > 0)
    return float(st.obj.chain @ st.z + st.obj.level[lvl].sum() + st.obj.site[sites].sum())


def state_from(m: PlacementModel, a: SystemArrays, obj: Objective, z: F64, kq: I64) -> _State:
    """A state holding a given solution."""
    st = _State(m, a, obj)
    for q in np.flatnonzero(kq > 0):
        st.set_level(int(q), int(kq[q]))
    st.z = z.copy()
    rows = np.repeat(np.arange(len(m.dem)), np.diff(m.chain_ptr))
    for c in range(m.chain_queue.shape[1]):
        on = m.chain_queue[:, c] >= 0
        st.load += np.bincount(m.chain_queue[on, c], weights=m.rate[rows[on]] * z[on], minlength=len(st.load))
    return st


def improve(st: _State, deadline: float) -> None:
    """Local search: shift rows to better chains, right-size, close sites and queues; then repair."""
    right_size(st)
    for _ in range(3):
        moved = shift(st, deadline)
        right_size(st)
        closed = close_sites(st, deadline) + close_queues(st, deadline) if st.obj.structural else 0
        if moved + closed == 0 or time.perf_counter() > deadline:
            break
    repair(st)


def heuristic(
    m: PlacementModel,
    a: SystemArrays,
    obj: Objective,
    *,
    time_limit_s: float,
    guide: F64 | None = None,
    start: tuple[F64, I64] | None = None,
) -> tuple[F64, I64]:
    """Greedy (or ``start``), then local search until the time limit; chain shares and replicas per queue."""
    deadline = time.perf_counter() + time_limit_s
    if start is not None:
        st = state_from(m, a, obj, *start)
    else:
        try:
            st = greedy(m, a, obj, guide)
        except InfeasibleError:
            if guide is None:
                raise
            st = greedy(m, a, obj)
    improve(st, deadline)
    return st.z, st.kq
