"""Compiled GAP heuristics (minimisation form): regret greedy, descent and ejection-chain search.

Every kernel works on plain arrays: ``c`` costs (m, n), ``a`` weights (m, n), ``b`` capacities (m,),
all float64, and an assignment ``asg`` (n,) int64 of agent indices.

The metaheuristic is a weighted local search in the style of Yagiura, Ibaraki and Glover's ejection
chain tabu search: capacity overflow is allowed at a price ``w_i`` per unit on agent ``i``; the local
search moves along ejection chains (a job enters an agent and ejects another, up to ``depth`` jobs,
ending in a cycle or an insertion, so shifts and swaps are the chains of length one and two); at each
local optimum the prices of overloaded agents rise, or all prices fall when the local optimum is no
better than the incumbent (strategic oscillation between feasible and infeasible regions).
The driver ``ejection_chain_search`` runs the kernel in chunks so that it can watch the clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["SearchOutcome", "descent", "ejection_chain_search", "greedy_starts", "loads_of", "regret_greedy"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TOL = 1e-9
_BIG = 1e300


@njit(cache=True)
def regret_greedy(a: FloatArray, b: FloatArray, f: FloatArray) -> IntArray:  # pragma: no cover - compiled
    """Martello–Toth regret construction on desirability ``f`` (smaller is better).

    A job that fits no agent any more goes to the agent it overloads least, so the result may be
    infeasible; the search repairs it.
    """
    m, n = f.shape
    asg = np.full(n, -1, np.int64)
    load = np.zeros(m)
    for _ in range(n):
        best_j, best_i, best_r = -1, -1, -np.inf
        for j in range(n):
            if asg[j] >= 0:
                continue
            f1, f2, i1 = np.inf, np.inf, -1
            for i in range(m):
                if load[i] + a[i, j] <= b[i] + TOL:
                    v = f[i, j]
                    if v < f1:
                        f2, f1, i1 = f1, v, i
                    elif v < f2:
                        f2 = v
            if i1 < 0:
                r = np.inf
                over = np.inf
                for i in range(m):
                    o = load[i] + a[i, j] - b[i]
                    if o < over:
                        over, i1 = o, i
            else:
                r = f2 - f1
            if best_j < 0 or r > best_r:
                best_j, best_i, best_r = j, i1, r
        asg[best_j] = best_i
        load[best_i] += a[best_i, best_j]
    return asg


@njit(cache=True)
def loads_of(a: FloatArray, asg: IntArray, m: int) -> FloatArray:  # pragma: no cover - compiled
    """Load of each agent under ``asg``."""
    load = np.zeros(m)
    for j in range(asg.shape[0]):
        load[asg[j]] += a[asg[j], j]
    return load


@njit(cache=True)
def descent(c: FloatArray, a: FloatArray, b: FloatArray, asg: IntArray) -> IntArray:  # pragma: no cover
    """First-improvement shift then swap descent that keeps a feasible ``asg`` feasible."""
    m, n = c.shape
    asg = asg.copy()
    load = loads_of(a, asg, m)
    improved = True
    while improved:
        improved = False
        for j in range(n):
            i = asg[j]
            for k in range(m):
                if k != i and c[k, j] < c[i, j] - TOL and load[k] + a[k, j] <= b[k] + TOL:
                    load[i] -= a[i, j]
                    load[k] += a[k, j]
                    asg[j] = k
                    i = k
                    improved = True
        for j1 in range(n):
            for j2 in range(j1 + 1, n):
                i1, i2 = asg[j1], asg[j2]
                if i1 == i2:
                    continue
                d = c[i1, j2] + c[i2, j1] - c[i1, j1] - c[i2, j2]
                if d >= -TOL:
                    continue
                l1 = load[i1] - a[i1, j1] + a[i1, j2]
                l2 = load[i2] - a[i2, j2] + a[i2, j1]
                if l1 <= b[i1] + TOL and l2 <= b[i2] + TOL:
                    load[i1], load[i2] = l1, l2
                    asg[j1], asg[j2] = i2, i1
                    improved = True
    return asg


@njit(cache=True)
def _excess(load: float, cap: float) -> float:  # pragma: no cover - compiled
    return load - cap if load > cap + TOL else 0.0


@njit(cache=True)
def _has(mask: NDArray[np.uint64], i: int) -> bool:  # pragma: no cover - compiled
    return bool((mask[i >> 6] >> np.uint64(i & 63)) & np.uint64(1))


@njit(cache=True)
def _chain_search(  # pragma: no cover - compiled
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    w: FloatArray,
    asg: IntArray,
    load: FloatArray,
    ex: FloatArray,
    state: FloatArray,
    lab: FloatArray,
    pred: IntArray,
    mask: NDArray[np.uint64],
    out: IntArray,
) -> int:
    """Best ejection chain by a label-correcting search over chain lengths 1..depth.

    A label (k, j) is the best chain of k jobs found so far whose last job ``j`` has been ejected and
    waits for a place; ``lab[0]`` holds its weighted delta, ``lab[1]`` its cost delta, ``lab[2]`` its
    excess delta, ``pred`` its previous job and first job, ``mask`` the agents it touched. Only
    labels with a negative weighted delta are extended (every improving cycle has such a rotation).
    ``state`` is [cost, total excess, incumbent]. Writes the move to ``out`` = [length, last job,
    destination (-1 closes the cycle), jobs...] and returns 2 if the move yields a feasible
    assignment cheaper than the incumbent, 1 if it only improves the weighted cost, 0 if none.
    """
    depth = pred.shape[1] - 1
    m, n = c.shape
    cost, total_ex, incumbent = state[0], state[1], state[2]
    lab[0, :, :] = _BIG
    best_d, bk, bj, bdest = -TOL, -1, -1, -2
    feas, fk, fj, fdest = incumbent - TOL, -1, -1, -2
    for j in range(n):
        i = asg[j]
        e = _excess(load[i] - a[i, j], b[i]) - ex[i]
        lab[0, 1, j], lab[1, 1, j], lab[2, 1, j] = w[i] * e, 0.0, e
        pred[0, 1, j], pred[1, 1, j] = -1, j
        mask[1, j, :] = 0
        mask[1, j, i >> 6] |= np.uint64(1) << np.uint64(i & 63)
    for k in range(1, depth + 1):
        for j in range(n):
            dj = lab[0, k, j]
            if dj >= _BIG or (k > 1 and dj >= -TOL):
                continue
            ij, s = asg[j], pred[1, k, j]
            for t in range(m):  # close by inserting j into an untouched agent
                if _has(mask[k, j], t):
                    continue
                e = _excess(load[t] + a[t, j], b[t]) - ex[t]
                dc = c[t, j] - c[ij, j]
                tot = dj + dc + w[t] * e
                if tot < best_d:
                    best_d, bk, bj, bdest = tot, k, j, t
                if cost + lab[1, k, j] + dc < feas and total_ex + lab[2, k, j] + e <= TOL:
                    feas, fk, fj, fdest = cost + lab[1, k, j] + dc, k, j, t
            if k >= 2:  # close the cycle: j takes the place of the first job s
                i_s = asg[s]
                e0 = _excess(load[i_s] - a[i_s, s], b[i_s]) - ex[i_s]
                e = _excess(load[i_s] - a[i_s, s] + a[i_s, j], b[i_s]) - ex[i_s]
                dc = c[i_s, j] - c[ij, j]
                tot = dj + dc + w[i_s] * (e - e0)
                if tot < best_d:
                    best_d, bk, bj, bdest = tot, k, j, -1
                if cost + lab[1, k, j] + dc < feas and total_ex + lab[2, k, j] + e - e0 <= TOL:
                    feas, fk, fj, fdest = cost + lab[1, k, j] + dc, k, j, -1
            if k == depth:
                continue
            for j2 in range(n):  # extend: j enters the agent of j2 and ejects it
                i2 = asg[j2]
                if _has(mask[k, j], i2):
                    continue
                e = _excess(load[i2] - a[i2, j2] + a[i2, j], b[i2]) - ex[i2]
                dc = c[i2, j] - c[ij, j]
                nd = dj + dc + w[i2] * e
                if nd < lab[0, k + 1, j2] and nd < -TOL:
                    lab[0, k + 1, j2] = nd
                    lab[1, k + 1, j2] = lab[1, k, j] + dc
                    lab[2, k + 1, j2] = lab[2, k, j] + e
                    pred[0, k + 1, j2], pred[1, k + 1, j2] = j, s
                    mask[k + 1, j2, :] = mask[k, j, :]
                    mask[k + 1, j2, i2 >> 6] |= np.uint64(1) << np.uint64(i2 & 63)
    kind = 2 if fk > 0 else (1 if bk > 0 else 0)
    if kind == 2:
        bk, bj, bdest = fk, fj, fdest
    if kind > 0:
        out[0], out[1], out[2] = bk, bj, bdest
        jj = bj
        for k in range(bk, 0, -1):
            out[2 + k] = jj
            jj = pred[0, k, jj]
    return kind


@njit(cache=True)
def _apply_chain(a: FloatArray, asg: IntArray, load: FloatArray, out: IntArray) -> None:  # pragma: no cover
    """Apply the chain in ``out``: each job enters the agent of the next; the last one goes to dest."""
    k, dest = out[0], out[2]
    first_agent = asg[out[3]]
    for q in range(k):
        j = out[3 + q]
        src = asg[j]
        dst = asg[out[4 + q]] if q + 1 < k else (first_agent if dest < 0 else dest)
        load[src] -= a[src, j]
        load[dst] += a[dst, j]
    targets = np.empty(k, np.int64)
    for q in range(k):
        targets[q] = asg[out[4 + q]] if q + 1 < k else (first_agent if dest < 0 else dest)
    for q in range(k):
        asg[out[3 + q]] = targets[q]


@njit(cache=True)
def _search_rounds(  # pragma: no cover - compiled
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    asg: IntArray,
    w: FloatArray,
    best_asg: IntArray,
    fs: FloatArray,
    its: IntArray,
    rounds: int,
    depth: int,
) -> None:
    """Run ``rounds`` local searches, each followed by a price update.

    ``fs`` is [incumbent cost, price increase ratio, price decrease ratio, minimum price]; ``its`` is
    [rounds done, round of the last improvement]. ``asg``, ``w``, ``best_asg``, ``fs`` and ``its``
    are updated in place.
    """
    m, n = c.shape
    load = loads_of(a, asg, m)
    ex = np.zeros(m)
    state = np.zeros(3)
    lab = np.empty((3, depth + 1, n))
    pred = np.empty((2, depth + 1, n), np.int64)
    mask = np.zeros((depth + 1, n, (m + 63) // 64), np.uint64)
    out = np.zeros(3 + depth, np.int64)
    inc, dec, w_min = fs[1], fs[2], fs[3]
    for _ in range(rounds):
        its[0] += 1
        cost = 0.0
        for j in range(n):
            cost += c[asg[j], j]
        while True:
            total = 0.0
            for i in range(m):
                ex[i] = _excess(load[i], b[i])
                total += ex[i]
            state[0], state[1], state[2] = cost, total, fs[0]
            kind = _chain_search(c, a, b, w, asg, load, ex, state, lab, pred, mask, out)
            if kind == 0:
                break
            _apply_chain(a, asg, load, out)
            cost = 0.0
            for j in range(n):
                cost += c[asg[j], j]
            if kind == 2:
                fs[0] = cost
                best_asg[:] = asg
                its[1] = its[0]
        penalty, worst = 0.0, 0.0
        for i in range(m):
            ex[i] = _excess(load[i], b[i])
            penalty += w[i] * ex[i]
            worst = max(worst, ex[i])
        if cost + penalty >= fs[0] - TOL or worst <= 0.0:
            for i in range(m):
                w[i] = max(w_min, w[i] * (1.0 - dec))
        else:
            for i in range(m):
                w[i] *= 1.0 + inc * ex[i] / worst


@dataclass(frozen=True)
class SearchOutcome:
    """Best feasible assignment found (``None`` if none), its cost and the local searches run."""

    assignment: IntArray | None
    cost: float
    rounds: int


def greedy_starts(c: FloatArray, a: FloatArray, b: FloatArray, extra: list[FloatArray]) -> list[IntArray]:
    """Regret-greedy assignments for the classic desirabilities plus any ``extra`` ones."""
    rel = a / np.maximum(b, TOL)[:, None]
    measures = [c, a, rel, c * rel, *extra]
    return [regret_greedy(a, b, np.ascontiguousarray(f, dtype=np.float64)) for f in measures]


def ejection_chain_search(
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    start: IntArray,
    *,
    deadline: float,
    target: float,
    patience: int,
    depth: int = 4,
    incumbent: float = np.inf,
    price_steps: tuple[float, float] = (0.1, 0.05),
) -> SearchOutcome:
    """Weighted ejection-chain search from ``start`` (feasible or not).

    Stops at ``deadline`` (``time.perf_counter`` seconds), once the incumbent reaches ``target``, or
    when the local searches since the last improvement number both ``patience`` and half of all
    so far. ``incumbent`` is the cost of a known feasible assignment: only cheaper ones are
    reported. ``price_steps`` are the relative increase and decrease of the overflow prices.
    """
    m, n = c.shape
    asg = np.ascontiguousarray(start, dtype=np.int64).copy()
    best_asg = asg.copy()
    spread = float(np.ptp(c)) if c.size else 1.0
    w = np.full(m, max(spread, 1.0))
    fs = np.array([incumbent, *price_steps, max(spread, 1.0) * 1e-4])
    its = np.zeros(2, np.int64)
    chunk = max(1, min(200, 400_000 // max(n * n, 1)))
    while time.perf_counter() < deadline and fs[0] > target + TOL:
        _search_rounds(c, a, b, asg, w, best_asg, fs, its, chunk, depth)
        if its[0] - its[1] >= max(patience, its[0] // 2):
            break
    if not fs[0] < incumbent:
        return SearchOutcome(None, float(incumbent), int(its[0]))
    return SearchOutcome(best_asg, float(fs[0]), int(its[0]))
