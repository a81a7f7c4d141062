"""Compiled core of the event kernel: event loop, handlers, heap, RNG and samplers (numba).

Everything compiled lives in this one module on purpose: numba's on-disk cache (``cache=True``) checks only
the source file of the function it loads, so a jitted helper in another module could change without the
cached event loop that inlined it being recompiled.

Memory layout (built by :mod:`edgescale.sim.kernel`). Each kind of row (heap entry, request, station, source,
stage, application, scalars) lives in one 64-byte-aligned buffer that the compiled code reads through
several views of the same memory: int32 (``*_w``, columns ``W_*``), float64 (``*_f``) and for stations int64
(``st_i``). A row's fields of different types thus share cache lines, and the fields one event needs are
packed into the row's first line: at a million devices the kernel is bound by cache misses, not arithmetic.
While an event is handled, the rows of the next event are prefetched.

FIFO stations need no queue: with first-come first-served service, a request's start and departure times
follow at its arrival from the Lindley recursion ``start = max(arrival, earliest server free time)``, kept as
a small min-heap of server free times per station (array ``srv``). So a request costs two events: the
arrival at its first station (the source's event fires after the first link delay) and the departure.

The compiled code sees the tuple ``S`` of views in the order of ``STATE_ARRAYS``. Choices that keep it
fast and quick to compile: no reference counting (``_nrt=False``: nothing is allocated, and with NRT every
array taken out of ``S`` would cost an atomic increment); every helper inlined into ``run`` by LLVM
(``forceinline``: a call would pass the whole tuple, dozens of machine words); no Python wrappers on
helpers; few, coarse helpers, since numba's compile time is mostly per function. ``run`` releases the GIL,
so replications can run in threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba.core import cgutils, types
from numba.extending import intrinsic

_F = TypeVar("_F", bound=Callable[..., Any])
Tup = tuple[Any, ...]

Int = int | np.integer[Any]  # an integer argument; np.int64(k) avoids numba's per-literal specialisation

_ENTRY: dict[str, Any] = {"cache": True, "error_model": "numpy", "_nrt": False, "nogil": True}
# NOTE: forceinline makes LLVM inline every helper into run(): a call would pass the whole tuple of views.
_HELPER: dict[str, Any] = {
    **_ENTRY,
    "forceinline": True,
    "no_cpython_wrapper": True,
    "no_cfunc_wrapper": True,
}


def _jit(fn: _F) -> _F:
    """A compiled helper: on-disk cache, numpy float errors (x/0 is inf), no refcounts, inlined, no wrapper."""
    return cast(_F, numba.njit(**_HELPER)(fn))


def _entry(fn: _F) -> _F:
    """A compiled function callable from Python."""
    return cast(_F, numba.njit(**_ENTRY)(fn))


STATE_ARRAYS = ("heap_i", "heap_f", "req_w", "req_f", "st_w", "st_f", "st_i", "src_w", "src_f", "stg_w",
                "stg_f", "app_i", "app_f", "app_hist", "rng", "sc_i", "sc_f", "srv", "trace_t", "samp",
                "cache_i", "cache_node", "cache_pos", "zipf_cdf")  # fmt: skip
_HI, _HF, _RW, _RF, _SW, _SF, _SI, _CW, _CF, _GW, _GF, _AI, _AF, _AH, _RNG, _SCI, _SCF, _SRV, _TR, _SMP = (
    range(20)
)
_KI, _KN, _KP, _ZC = range(20, 24)

# ---- status codes returned by run() ----
OK = 0
HEAP_FULL = 1
POOL_FULL = 2
HEAP_SLACK = 4  # most events pushed while handling one event, plus one
POOL_SLACK = 2  # most requests allocated while handling one event, plus one

# ---- event heap: 4-ary, entry k in row k + HEAP_OFFSET so that each node's 4 children share a cache line ----
HEAP_OFFSET = 3
H_TIME = 0  # float
H_PAYLOAD = 1  # int64: gen << 40 | id << 3 | kind
N_HEAP_COLS = 2
EV_ARRIVAL = 0  # id = source, gen = source generation: a new request reaches its first station
EV_REACH = 1  # id = request: it reaches the station of its current stage
EV_DEPART = 2  # id = request: FIFO service completion
EV_PS = 3  # id = station, gen = station PS generation: next processor-sharing completion
EV_TIMEOUT = 4  # id = request: its attempt times out
GEN_MASK = (1 << 23) - 1
ID_MASK = (1 << 37) - 1

# ---- model codes ----
FIFO = 0
PS = 1
POISSON = 0
PERIODIC = 1
MMPP2 = 2
TOKEN_BUCKET = 3
TRACE = 4
WORK_EXP = 0
WORK_DET = 1
WORK_GAMMA = 2
WORK_LOGNORMAL = 3

# ---- scalars (int64 and float64 views of one row) ----
I_HEAP_N = 0
I_FREE_HEAD = 1
I_N_FREE = 2
I_N_LIVE = 3
T_NOW = 4
T_METRICS = 5  # start of the measurement window
T_EPOCH = 6  # time the last call started (servers and up are constant since)
H_INV_LO = 7  # latency histogram layout: 1/lo, 1/ln(g), and (int) the number of log buckets
H_INV_LOG_G = 8
H_N_LOG = 9
T_WEND = 10  # end of the measurement window: requests created from then on are not counted (inf: open)
I_SAMP_N = 11  # per-request samples written to samp
I_SAMP_EVERY = 12  # sample every k-th outcome of a counted request (0: none)
I_SAMP_SEEN = 13  # outcomes of counted requests so far
I_N_CACHES = 14  # content caches (0: no stage looks one up, and departures skip the test)
N_SC = 16

# ---- content caches: rows of cache_i (int64); nodes (item, prev, next) in cache_node; cache_pos maps
# (cache, item) to the item's node (LRU) or 0 (static), -1 when not cached; zipf_cdf: catalogue popularity
C_KIND = 0  # CACHE_LRU or CACHE_STATIC
C_CAP = 1  # items it holds
C_HEAD = 2  # LRU: most recently used node, -1 when empty
C_TAIL = 3  # LRU: least recently used node
C_COUNT = 4  # LRU: nodes in use
C_NODE0 = 5  # first node of this cache in cache_node
C_POS0 = 6  # offset of this cache's items in cache_pos (cache * catalogue size)
C_REQ = 7  # content requests looked up in the measurement window (by lookup time)
C_HITS = 8  # hits among them
N_CACHE = 9
CACHE_LRU = 0
CACHE_STATIC = 1
K_ITEM, K_PREV, K_NEXT = 0, 1, 2

# ---- per-request samples (rows of samp, float64) ----
P_CREATED, P_LATENCY, P_WAIT, P_SERVICE, P_LINK, P_APP, P_SOURCE, P_OUTCOME = range(8)
N_SAMP = 8
OUT_DONE, OUT_DROP_FULL, OUT_DROP_DOWN, OUT_FAILED = 0, 1, 2, 3

# ---- request pool: 16 slots (128 bytes) per request; line 1 = slots 0-7 ----
R_SRC = 0  # int32 columns 0-7 (slots 0-3)
R_G = 1  # absolute index of the current stage
R_G_END = 2  # end of the route's stages
R_GEN = 3
R_NEXT = 4  # free-list link, or PS sorted-list link
R_LOC = 5  # station the request is in, else -1
R_STATE = 6  # flags | attempt << ATTEMPT_SHIFT
R_APP = 7
F_CREATED = 4  # float slots
F_DEADLINE = 5  # attempt start + timeout
F_ARRIVE = 6  # arrival time at the current station
F_DEPART = 7  # FIFO: scheduled departure
F_START = 8  # FIFO: service start
F_WORK = 9  # work at the current station
F_TAG = 10  # PS finish tag, in work units
F_WAIT = 11
F_SERVICE = 12
F_LINK = 13
F_RETURN = 14  # return delay of the source when the attempt was sent
N_REQ = 16
FL_LIVE = 1
FL_ORPHAN = 2  # its attempt timed out; it still runs but nobody waits for it
FL_RETURNING = 4  # left its last station; its response will arrive after the timeout
FL_ON_LINK = 8  # in the link station of its current stage (queued or transmitting), not yet at the stage's
ATTEMPT_SHIFT = 4

# ---- stations: 24 slots; line 1 = what admitting a request needs ----
W_SERVERS = 0  # int32 columns 0-7
W_DISC = 1
W_UP = 2
W_N = 3  # requests inside
W_SRV0 = 4  # offset of the station's server free times in srv (FIFO)
W_QHEAD = 5  # PS job list, sorted by finish tag
W_QTAIL = 6
W_CAP = 7  # most requests inside, -1 unbounded
M_SPEED = 4  # float slots
S_LAST_T = 5
S_AREA_N = 6
S_AREA_BUSY = 7
S_PS_V = 8  # PS virtual time, in work units
S_SOJOURN_SUM = 9
S_WAIT_SUM = 10
S_DEPARTURES = 11  # int64 slots use the view st_i
S_RES_ADJ = 12  # residence in the window = sojourn sum + this adjustment
S_DROP_FULL = 13
S_DROP_DOWN = 14  # refused while down
S_LOST = 15  # inside when the station went down
S_WAS_UP = 16
S_PS_GEN = 17
S_N_START = 18  # requests inside at the window start
S_AREA_SERVERS = 19
S_AREA_UP = 20
S_RESYNC = 21  # set by Python when servers or speed changed: reschedule the PS completion
N_ST = 24

# ---- sources: 16 slots; line 1 = what an arrival needs, line 2 = first stage and MMPP ----
W_KIND = 0  # int32 columns 0-7
W_APP = 1
W_GEN = 2
W_R0 = 3  # route: stages R0 .. R1 - 1
W_R1 = 4
W_RETRIES = 5
W_PHASE = 6
M_RATE = 4  # float slots
M_TIMEOUT = 5
M_RETURN = 6
M_DELAY0 = 7  # first stage (copied from the stage row): link delay, then below station, work
W_ST0 = 16  # int32 columns 16-17 (slot 8)
W_DIST0 = 17
M_MEAN0 = 9
M_SCV0 = 10
M_RATE1 = 11
M_S01 = 12
M_S10 = 13
M_TB_DEFICIT = 14  # token bucket: depth minus tokens at M_TB_LAST (0 at start: a full bucket)
M_TB_LAST = 15
W_TR0 = 28  # trace: its times are trace_t[W_TR0 .. W_TR1 - 1]; int32 columns 28-30 (slots 14-15)
W_TR1 = 29
W_TRCUR = 30  # next entry, counted across loops (entry k: time trace_t[W_TR0 + k % n] + (k // n) * period)
N_SRC = 16

# ---- stages: 8 slots ----
W_STATION = 0  # int32 columns 0-1 (slot 0)
W_DIST = 1
G_DELAY = 1  # float slots
G_MEAN = 2
G_SCV = 3
W_CACHE = 8  # int32 column 8 (slot 4): content cache looked up after service here, -1 none
G_SHARE = 5  # share of the requests that ask for catalogue content (the others always go on)
G_HIT_RETURN = 6  # return delay to the device of a request served from the cache here
W_LINK = 9  # int32 column 9: FIFO link station crossed before the stage's delay (link queueing), -1 none
G_LINK_WORK = 7  # transmission time in that link station (deterministic work)
N_STG = 8

# ---- applications: int64 counters, then floats ----
A_ARRIVALS = 0
A_RETRIES = 1
A_COMPLETIONS = 2
A_DROP_FULL = 3
A_DROP_DOWN = 4
A_TIMEOUTS = 5
A_FAILED = 6
A_ORPHANS_DONE = 7
A_LAT_SUM = 8
A_LAT_SUMSQ = 9
A_LAT_MIN = 10
A_LAT_MAX = 11
A_WAIT_SUM = 12
A_SERVICE_SUM = 13
A_LINK_SUM = 14
N_APP = 16

_U5 = np.uint64(5)
_U7 = np.uint64(7)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U64 = np.uint64(64)
_TWO_POW_M53 = 1.0 / 9007199254740992.0


def _prefetch_intrinsic(typingctx: Any, arr: Any, row: Any, col: Any) -> Any:
    """Start loading the cache line of ``arr[row, col]`` (LLVM ``prefetch``; no effect on any value)."""
    sig = types.void(arr, row, col)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        inds = [
            context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:], strict=True)
        ]
        ptr = _cg.get_item_pointer(context, builder, aryty, ary, inds)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = _cg.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, high locality, data cache
        return context.get_dummy_value()

    return sig, codegen


_cg: Any = cgutils
_prefetch: Any = intrinsic(_prefetch_intrinsic)


@_jit
def _in_window(sc_f: Any, created: float) -> bool:
    """Whether a request created at *created* counts: it was created inside the measurement window."""
    return bool(sc_f[T_METRICS] <= created < sc_f[T_WEND])


@_jit
def _record(S: Tup, r: int, latency: float, outcome: Int) -> None:
    """Count the outcome of counted request *r*; write every ``I_SAMP_EVERY``-th into the sample buffer."""
    sc_i = S[_SCI]
    every = sc_i[I_SAMP_EVERY]
    if every <= 0:
        return
    sc_i[I_SAMP_SEEN] += 1
    n = sc_i[I_SAMP_N]
    samp = S[_SMP]
    if sc_i[I_SAMP_SEEN] % every == 0 and n < samp.shape[0]:
        req_w, req_f = S[_RW], S[_RF]
        samp[n, P_CREATED] = req_f[r, F_CREATED]
        samp[n, P_LATENCY] = latency
        samp[n, P_WAIT] = req_f[r, F_WAIT]
        samp[n, P_SERVICE] = req_f[r, F_SERVICE]
        samp[n, P_LINK] = req_f[r, F_LINK]
        samp[n, P_APP] = req_w[r, R_APP]
        samp[n, P_SOURCE] = req_w[r, R_SRC]
        samp[n, P_OUTCOME] = outcome
        sc_i[I_SAMP_N] = n + 1


# ======================================================================= RNG: xoshiro256** and samplers
@_jit
def _uniform(rng: Any) -> float:
    """A double in [0, 1) from the top 53 bits of the next xoshiro256** output (Blackman and Vigna, 2018)."""
    s0, s1, s2, s3 = rng[0], rng[1], rng[2], rng[3]
    x = s1 * _U5
    result = ((x << _U7) | (x >> (_U64 - _U7))) * _U9
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    rng[0], rng[1], rng[2], rng[3] = s0, s1, s2, (s3 << _U45) | (s3 >> (_U64 - _U45))
    return float(result >> _U11) * _TWO_POW_M53


@_jit
def _sample(rng: Any, dist: Int, mean: float, scv: float) -> float:
    """One work sample with the given mean and squared coefficient of variation (SCV).

    Exponential by inversion; gamma (shape 1/SCV) by Marsaglia and Tsang (2000), boosted for shape < 1;
    lognormal from a Box-Muller normal.
    """
    if dist == WORK_EXP:
        return -mean * math.log(1.0 - _uniform(rng))
    if dist == WORK_DET or scv <= 0.0:
        return mean
    if dist == WORK_LOGNORMAL:
        z = math.sqrt(-2.0 * math.log(1.0 - _uniform(rng))) * math.cos(2.0 * math.pi * _uniform(rng))
        s2 = math.log1p(scv)
        return mean * math.exp(math.sqrt(s2) * z - 0.5 * s2)
    shape = 1.0 / scv
    boost = 1.0
    if shape < 1.0:
        boost = (1.0 - _uniform(rng)) ** scv
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = math.sqrt(-2.0 * math.log(1.0 - _uniform(rng))) * math.cos(2.0 * math.pi * _uniform(rng))
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - _uniform(rng)
        if u < 1.0 - 0.0331 * x**4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost * mean * scv


@_entry
def draw(rng: Any, dist: int, mean: float, scv: float, out: Any) -> None:
    """Fill *out* with work samples (to test the samplers from Python)."""
    for i in range(out.shape[0]):
        out[i] = _sample(rng, dist, mean, scv)


# ======================================================================= 4-ary heap of (time, payload)
@_jit
def _push(S: Tup, t: float, p: int) -> None:
    heap_i, heap_f, sc_i = S[_HI], S[_HF], S[_SCI]
    k = sc_i[I_HEAP_N]
    sc_i[I_HEAP_N] = k + 1
    while k > 0:
        parent = (k - 1) >> 2
        if heap_f[parent + HEAP_OFFSET, H_TIME] <= t:
            break
        heap_f[k + HEAP_OFFSET, H_TIME] = heap_f[parent + HEAP_OFFSET, H_TIME]
        heap_i[k + HEAP_OFFSET, H_PAYLOAD] = heap_i[parent + HEAP_OFFSET, H_PAYLOAD]
        k = parent
    heap_f[k + HEAP_OFFSET, H_TIME] = t
    heap_i[k + HEAP_OFFSET, H_PAYLOAD] = p


@_jit
def _pop(S: Tup) -> None:
    heap_i, heap_f, sc_i = S[_HI], S[_HF], S[_SCI]
    n = sc_i[I_HEAP_N] - 1
    sc_i[I_HEAP_N] = n
    t = heap_f[n + HEAP_OFFSET, H_TIME]
    p = heap_i[n + HEAP_OFFSET, H_PAYLOAD]
    k = 0
    while True:
        first = 4 * k + 1
        if first >= n:
            break
        best = first
        tb = heap_f[first + HEAP_OFFSET, H_TIME]
        for j in range(first + 1, min(first + 4, n)):
            tj = heap_f[j + HEAP_OFFSET, H_TIME]
            if tj < tb:
                best = j
                tb = tj
        if tb >= t:
            break
        heap_f[k + HEAP_OFFSET, H_TIME] = tb
        heap_i[k + HEAP_OFFSET, H_PAYLOAD] = heap_i[best + HEAP_OFFSET, H_PAYLOAD]
        k = best
    heap_f[k + HEAP_OFFSET, H_TIME] = t
    heap_i[k + HEAP_OFFSET, H_PAYLOAD] = p


@_entry
def push_events(S: Tup, times: Any, payloads: Any) -> None:
    """Push events from Python (the caller has made room in the heap)."""
    for k in range(times.shape[0]):
        _push(S, times[k], payloads[k])


# ======================================================================= requests and stations
@_jit
def _free(S: Tup, r: int, drop_col: int) -> None:
    """Return request *r* to the pool; count it in application column *drop_col* unless that is -1."""
    req_w, req_f, app_i, sc_i = S[_RW], S[_RF], S[_AI], S[_SCI]
    if drop_col >= 0 and not req_w[r, R_STATE] & FL_ORPHAN and _in_window(S[_SCF], req_f[r, F_CREATED]):
        app_i[req_w[r, R_APP], drop_col] += 1
        _record(S, r, math.nan, np.int64(OUT_DROP_FULL if drop_col == A_DROP_FULL else OUT_DROP_DOWN))
    req_w[r, R_GEN] = (req_w[r, R_GEN] + 1) & GEN_MASK
    req_w[r, R_STATE] = 0
    req_w[r, R_LOC] = -1
    req_w[r, R_NEXT] = sc_i[I_FREE_HEAD]
    sc_i[I_FREE_HEAD] = r
    sc_i[I_N_FREE] += 1
    sc_i[I_N_LIVE] -= 1


@_jit
def _touch(S: Tup, s: int, t: float) -> None:
    """Advance station *s*'s time integrals (and PS virtual time) to *t*; busy servers are min(n, servers)."""
    st_w, st_f = S[_SW], S[_SF]
    dt = t - st_f[s, S_LAST_T]
    if dt > 0.0:
        n = st_w[s, W_N]
        c = st_w[s, W_SERVERS]
        st_f[s, S_AREA_N] += n * dt
        st_f[s, S_AREA_BUSY] += min(n, c) * dt
        if st_w[s, W_DISC] == PS and n > 0:
            st_f[s, S_PS_V] += st_f[s, M_SPEED] * min(1.0, c / n) * dt
        st_f[s, S_LAST_T] = t


@_jit
def _ps_reschedule(S: Tup, s: int, t: float) -> None:
    """PS station *s*: invalidate the pending completion and schedule the head job's."""
    req_f, st_w, st_f, st_i = S[_RF], S[_SW], S[_SF], S[_SI]
    st_i[s, S_PS_GEN] += 1
    n = st_w[s, W_N]
    rate = st_f[s, M_SPEED] * min(1.0, st_w[s, W_SERVERS] / n) if n > 0 else 0.0
    if rate > 0.0:
        dt = max(0.0, (req_f[st_w[s, W_QHEAD], F_TAG] - st_f[s, S_PS_V]) / rate)
        _push(S, t + dt, ((st_i[s, S_PS_GEN] & GEN_MASK) << 40) | (s << 3) | EV_PS)


@_jit
def _enter(S: Tup, r: int, s: int, t: float, dist: Int, mean: float, scv: float) -> None:
    """Request *r* reaches station *s* at *t*: drop it, or admit it with work drawn from (dist, mean, scv)."""
    req_w, req_f, st_w, st_f, st_i, srv = S[_RW], S[_RF], S[_SW], S[_SF], S[_SI], S[_SRV]
    if not st_w[s, W_UP]:
        st_i[s, S_DROP_DOWN] += 1
        _free(S, r, A_DROP_DOWN)
        return
    if 0 <= st_w[s, W_CAP] <= st_w[s, W_N]:
        st_i[s, S_DROP_FULL] += 1
        _free(S, r, A_DROP_FULL)
        return
    _touch(S, s, t)
    st_w[s, W_N] += 1
    req_w[r, R_LOC] = s
    req_f[r, F_ARRIVE] = t
    w = _sample(S[_RNG], dist, mean, scv)
    req_f[r, F_WORK] = w
    if st_w[s, W_DISC] == FIFO:  # Lindley: take the server that frees first (a min-heap in srv)
        off = st_w[s, W_SRV0]
        c = max(st_w[s, W_SERVERS], 1)
        start = max(t, srv[off])
        end = start + w / st_f[s, M_SPEED]
        k = 0
        while True:
            child = 2 * k + 1
            if child >= c:
                break
            if child + 1 < c and srv[off + child + 1] < srv[off + child]:
                child += 1
            if srv[off + child] >= end:
                break
            srv[off + k] = srv[off + child]
            k = child
        srv[off + k] = end
        req_f[r, F_START] = start
        req_f[r, F_DEPART] = end
        if end < math.inf:  # servers = 0 keeps the request until servers are added
            _push(S, end, ((req_w[r, R_GEN] & GEN_MASK) << 40) | (r << 3) | EV_DEPART)
        return
    tag = st_f[s, S_PS_V] + w
    req_f[r, F_TAG] = tag
    prev = -1
    cur = st_w[s, W_QHEAD]
    while cur >= 0 and req_f[cur, F_TAG] <= tag:  # PS jobs sorted by finish tag, FIFO among equals
        prev = cur
        cur = req_w[cur, R_NEXT]
    req_w[r, R_NEXT] = cur
    if prev < 0:
        st_w[s, W_QHEAD] = r
    else:
        req_w[prev, R_NEXT] = r
    if cur < 0:
        st_w[s, W_QTAIL] = r
    _ps_reschedule(S, s, t)


@_jit
def _finish_route(S: Tup, r: int, t: float) -> None:
    """Request *r* left its last station at *t*: record it (its response arrives after the return delay)."""
    req_w, req_f, app_i, app_f, app_hist, sc_i, sc_f = (
        S[_RW],
        S[_RF],
        S[_AI],
        S[_AF],
        S[_AH],
        S[_SCI],
        S[_SCF],
    )
    a = req_w[r, R_APP]
    counted = _in_window(sc_f, req_f[r, F_CREATED])
    if req_w[r, R_STATE] & FL_ORPHAN:
        if counted:
            app_i[a, A_ORPHANS_DONE] += 1
        _free(S, r, -1)
        return
    if req_f[r, F_RETURN] == math.inf and req_f[r, F_DEADLINE] == math.inf:  # no path back, no timeout
        _free(S, r, A_DROP_DOWN)
        return
    done = t + req_f[r, F_RETURN]
    req_f[r, F_LINK] += req_f[r, F_RETURN]
    if done > req_f[r, F_DEADLINE]:
        req_w[r, R_STATE] |= FL_RETURNING  # its timeout event comes first and frees it
        return
    if not counted:  # created before the window (warm-up) or after it (while draining)
        _free(S, r, -1)
        return
    lat = done - req_f[r, F_CREATED]
    app_i[a, A_COMPLETIONS] += 1
    app_f[a, A_LAT_SUM] += lat
    app_f[a, A_LAT_SUMSQ] += lat * lat
    app_f[a, A_LAT_MIN] = min(app_f[a, A_LAT_MIN], lat)
    app_f[a, A_LAT_MAX] = max(app_f[a, A_LAT_MAX], lat)
    app_f[a, A_WAIT_SUM] += req_f[r, F_WAIT]
    app_f[a, A_SERVICE_SUM] += req_f[r, F_SERVICE]
    app_f[a, A_LINK_SUM] += req_f[r, F_LINK]
    x = lat * sc_f[H_INV_LO]
    b = 0
    if x >= 1.0:  # the bucket rule of LogHistogram.bucket_index
        b = min(math.floor(math.log(x) * sc_f[H_INV_LOG_G]) + 1, sc_i[H_N_LOG] + 1)
    app_hist[a, b] += 1
    _record(S, r, lat, np.int64(OUT_DONE))
    _free(S, r, -1)


@_jit
def _reach(S: Tup, r: int, t: float) -> None:
    """Request *r* reaches the station of its current stage ``R_G`` (or its link station, see _next_stage)."""
    req_w, stg_w, stg_f = S[_RW], S[_GW], S[_GF]
    g = req_w[r, R_G]
    if g >= req_w[r, R_G_END]:  # the route was shortened while the request was on a link
        req_w[r, R_STATE] &= ~FL_ON_LINK
        _finish_route(S, r, t)
        return
    s, dist, mean, scv = stg_w[g, W_STATION], stg_w[g, W_DIST], stg_f[g, G_MEAN], stg_f[g, G_SCV]
    if req_w[r, R_STATE] & FL_ON_LINK:
        s, dist, mean, scv = stg_w[g, W_LINK], WORK_DET, stg_f[g, G_LINK_WORK], 0.0
        if s < 0:  # the route changed meanwhile: no link any more; take the stage's delay (as _cross)
            req_w[r, R_STATE] &= ~FL_ON_LINK
            d = stg_f[g, G_DELAY]
            if d == math.inf:
                _free(S, r, A_DROP_DOWN)
                return
            S[_RF][r, F_LINK] += d
            _push(S, t + d, ((req_w[r, R_GEN] & GEN_MASK) << 40) | (r << 3) | EV_REACH)
            return
    _enter(S, r, s, t, dist, mean, scv)


@_jit
def _next_stage(S: Tup, r: int, t: float) -> None:
    """Send request *r* over the link to the stage in ``R_G`` (first through its link station, if it has
    one), or finish its route."""
    req_w, stg_w = S[_RW], S[_GW]
    g = req_w[r, R_G]
    if g >= req_w[r, R_G_END]:
        _finish_route(S, r, t)
        return
    if stg_w[g, W_LINK] >= 0:  # queue for the link, be transmitted, then propagate (see _reach, _depart)
        req_w[r, R_STATE] |= FL_ON_LINK
        # NOTE: via an event, so that _enter has one call site in _reach (it is inlined: compile time)
        _push(S, t, ((req_w[r, R_GEN] & GEN_MASK) << 40) | (r << 3) | EV_REACH)
        return
    _cross(S, r, t)


@_jit
def _cross(S: Tup, r: int, t: float) -> None:
    """Request *r* takes the delay of its stage ``R_G`` and reaches the stage's station."""
    req_w, req_f, stg_f = S[_RW], S[_RF], S[_GF]
    g = req_w[r, R_G]
    d = stg_f[g, G_DELAY]
    if d == math.inf:  # no path to the station: lost on the way
        _free(S, r, A_DROP_DOWN)
        return
    req_f[r, F_LINK] += d
    if d > 0.0:
        _push(S, t + d, ((req_w[r, R_GEN] & GEN_MASK) << 40) | (r << 3) | EV_REACH)
    else:
        _reach(S, r, t)


@_jit
def _new_attempt(S: Tup, c: int, created: float, attempt: Int, t: float, folded: Int) -> None:
    """Allocate a request of source *c* for attempt number *attempt* (0 first) and send it at *t*.

    NOTE: inlined event, for speed. With *folded*, the source's arrival event fired when its new request
    reaches its first station (after the first link delay; see ``_schedule_arrival``): the request was
    sent at ``t - delay`` and enters the station now. This saves a heap push and pop per request.
    """
    req_w, req_f, src_w, src_f, sc_i = S[_RW], S[_RF], S[_CW], S[_CF], S[_SCI]
    r = sc_i[I_FREE_HEAD]
    sc_i[I_FREE_HEAD] = req_w[r, R_NEXT]
    sc_i[I_N_FREE] -= 1
    sc_i[I_N_LIVE] += 1
    req_w[r, R_STATE] = FL_LIVE | (attempt << ATTEMPT_SHIFT)
    req_w[r, R_LOC] = -1
    req_w[r, R_SRC] = c
    req_w[r, R_APP] = src_w[c, W_APP]
    req_w[r, R_G] = src_w[c, W_R0]
    req_w[r, R_G_END] = src_w[c, W_R1]
    routed = src_w[c, W_R0] < src_w[c, W_R1]
    d0 = src_f[c, M_DELAY0] if folded and routed else 0.0
    deadline = t - d0 + src_f[c, M_TIMEOUT]
    req_f[r, F_CREATED] = created
    req_f[r, F_DEADLINE] = deadline
    req_f[r, F_RETURN] = src_f[c, M_RETURN]
    req_f[r, F_WAIT] = 0.0
    req_f[r, F_SERVICE] = 0.0
    req_f[r, F_LINK] = d0
    if deadline < math.inf:
        _push(S, max(deadline, t), ((req_w[r, R_GEN] & GEN_MASK) << 40) | (r << 3) | EV_TIMEOUT)
    if folded and routed:
        _enter(S, r, src_w[c, W_ST0], t, src_w[c, W_DIST0], src_f[c, M_MEAN0], src_f[c, M_SCV0])
    else:
        _next_stage(S, r, t)


@_jit
def _schedule_arrival(S: Tup, c: int, t: float, first: Int) -> None:
    """Schedule source *c*'s next request after *t*, if any (*first*: a periodic source draws its phase, a
    trace skips entries before *t*).

    The event is due when the request reaches its first station, one first-stage link delay later. A token
    bucket source (rate r, depth ``M_RATE1``) proposes requests as a Poisson process at rate r and sends those
    that find a token (a policer: the bucket refills at r up to its depth), so its output never exceeds
    ``depth + r * t`` requests in any interval of length t. A trace source replays its times, looping with
    period ``M_RATE1`` when that is > 0.
    """
    src_w, src_f, rng = S[_CW], S[_CF], S[_RNG]
    k = src_w[c, W_KIND]
    rate = src_f[c, M_RATE]
    tn = math.inf
    if k == POISSON and rate > 0.0:
        tn = t - math.log(1.0 - _uniform(rng)) / rate
    elif k == PERIODIC and rate > 0.0:
        tn = t + (_uniform(rng) if first else 1.0) / rate
    elif k == MMPP2:  # simulate phase changes until the next arrival
        ph = src_w[c, W_PHASE]
        while rate > 0.0 or src_f[c, M_RATE1] > 0.0:
            lam = rate if ph == 0 else src_f[c, M_RATE1]
            tot = lam + (src_f[c, M_S01] if ph == 0 else src_f[c, M_S10])
            if tot <= 0.0:
                break
            t -= math.log(1.0 - _uniform(rng)) / tot
            if _uniform(rng) * tot < lam:
                src_w[c, W_PHASE] = ph
                tn = t
                break
            ph = 1 - ph
    elif k == TOKEN_BUCKET and rate > 0.0 and src_f[c, M_RATE1] >= 1.0:
        depth = src_f[c, M_RATE1]
        while True:
            t -= math.log(1.0 - _uniform(rng)) / rate
            tokens = min(depth, depth - src_f[c, M_TB_DEFICIT] + rate * (t - src_f[c, M_TB_LAST]))
            src_f[c, M_TB_LAST] = t
            if tokens >= 1.0:
                src_f[c, M_TB_DEFICIT] = depth - (tokens - 1.0)
                tn = t
                break
            src_f[c, M_TB_DEFICIT] = depth - tokens
    elif k == TRACE:
        start = src_w[c, W_TR0]
        n = src_w[c, W_TR1] - start
        period = src_f[c, M_RATE1]
        trace_t = S[_TR]
        while n > 0:
            cur = src_w[c, W_TRCUR]
            if period <= 0.0 and cur >= n:
                break
            at = trace_t[start + cur % n] + (cur // n) * period
            src_w[c, W_TRCUR] = cur + 1
            if not first or at >= t:
                tn = at
                break
    if tn < math.inf:
        if src_w[c, W_R0] < src_w[c, W_R1] and src_f[c, M_DELAY0] < math.inf:
            tn += src_f[c, M_DELAY0]
        _push(S, tn, ((src_w[c, W_GEN] & GEN_MASK) << 40) | (c << 3) | EV_ARRIVAL)


@_jit
def _cache_hit(S: Tup, c: int, share: float, t: float) -> bool:
    """A request leaves a stage with cache *c*: with probability *share* it asks for a catalogue item (drawn
    from the popularity in ``zipf_cdf``); return whether cache *c* holds it, updating the LRU order.

    LRU is exact: a doubly linked list of the cached items' nodes, most recent at the head, with the item ->
    node map ``cache_pos``; a hit moves the node to the head, a miss puts the item at the head and evicts
    the tail when full (every request for an item admits it). A static cache only tests membership.
    """
    cache_i, node, pos, cdf, rng, sc_f = S[_KI], S[_KN], S[_KP], S[_ZC], S[_RNG], S[_SCF]
    u = _uniform(rng)
    if u >= share:
        return False
    x = u / share * cdf[cdf.shape[0] - 1]
    lo, hi = 0, cdf.shape[0] - 1
    while lo < hi:  # first item whose cumulative popularity exceeds x
        mid = (lo + hi) >> 1
        if cdf[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    item = lo
    counted = sc_f[T_METRICS] <= t < sc_f[T_WEND]
    if counted:
        cache_i[c, C_REQ] += 1
    slot = cache_i[c, C_POS0] + item
    k = pos[slot]
    if cache_i[c, C_KIND] == CACHE_STATIC:
        if k >= 0 and counted:
            cache_i[c, C_HITS] += 1
        return bool(k >= 0)
    cap = cache_i[c, C_CAP]
    if cap <= 0:
        return False
    head = cache_i[c, C_HEAD]
    if k >= 0:
        if counted:
            cache_i[c, C_HITS] += 1
        if k != head:  # unlink k (it has a predecessor), push it to the front
            p, n = node[k, K_PREV], node[k, K_NEXT]
            node[p, K_NEXT] = n
            if n >= 0:
                node[n, K_PREV] = p
            else:
                cache_i[c, C_TAIL] = p
            node[k, K_PREV] = -1
            node[k, K_NEXT] = head
            node[head, K_PREV] = k
            cache_i[c, C_HEAD] = k
        return True
    if cache_i[c, C_COUNT] < cap:
        k = cache_i[c, C_NODE0] + cache_i[c, C_COUNT]
        cache_i[c, C_COUNT] += 1
    else:  # evict the least recently used
        k = cache_i[c, C_TAIL]
        pos[cache_i[c, C_POS0] + node[k, K_ITEM]] = -1
        p = node[k, K_PREV]
        cache_i[c, C_TAIL] = p
        if p >= 0:
            node[p, K_NEXT] = -1
        else:  # it was the only node
            head = -1
    node[k, K_ITEM] = item
    pos[slot] = k
    node[k, K_PREV] = -1
    node[k, K_NEXT] = head
    if head >= 0:
        node[head, K_PREV] = k
    else:
        cache_i[c, C_TAIL] = k
    cache_i[c, C_HEAD] = k
    return False


@_jit
def _depart(S: Tup, fifo: Int, s: int, t: float) -> None:
    """Request *fifo* completes service at FIFO station *s*, or (*fifo* < 0) PS station *s*'s head job does."""
    req_w, req_f, st_w, st_f, st_i, sc_f = S[_RW], S[_RF], S[_SW], S[_SF], S[_SI], S[_SCF]
    _touch(S, s, t)
    st_w[s, W_N] -= 1
    if fifo >= 0:
        r = int(fifo)
        arrive = req_f[r, F_ARRIVE]
        service = t - req_f[r, F_START]
    else:
        r = int(st_w[s, W_QHEAD])
        st_w[s, W_QHEAD] = req_w[r, R_NEXT]
        if st_w[s, W_QHEAD] < 0:
            st_w[s, W_QTAIL] = -1
        _ps_reschedule(S, s, t)
        arrive = req_f[r, F_ARRIVE]
        service = min(t - arrive, req_f[r, F_WORK] / st_f[s, M_SPEED])
    sojourn = t - arrive
    wait = sojourn - service
    st_i[s, S_DEPARTURES] += 1
    st_f[s, S_SOJOURN_SUM] += sojourn
    st_f[s, S_WAIT_SUM] += wait
    if arrive < sc_f[T_METRICS]:  # arrived before the window: only its time inside the window counts
        st_f[s, S_RES_ADJ] -= sc_f[T_METRICS] - arrive
    req_w[r, R_LOC] = -1
    if req_w[r, R_STATE] & FL_ON_LINK:  # transmitted over its stage's link: on to the stage's delay
        req_w[r, R_STATE] &= ~FL_ON_LINK
        req_f[r, F_LINK] += sojourn
        _cross(S, r, t)
        return
    req_f[r, F_WAIT] += wait
    req_f[r, F_SERVICE] += service
    g = req_w[r, R_G]
    req_w[r, R_G] = g + 1
    if S[_SCI][I_N_CACHES] > 0:  # NOTE: one test of a hot scalar when no scenario cache exists
        stg_w, stg_f = S[_GW], S[_GF]
        c = stg_w[g, W_CACHE]
        if c >= 0 and _cache_hit(S, c, stg_f[g, G_SHARE], t):  # served here: skip the rest of the route
            req_w[r, R_G] = req_w[r, R_G_END]
            req_f[r, F_RETURN] = stg_f[g, G_HIT_RETURN]
    _next_stage(S, r, t)


@_jit
def _timeout(S: Tup, r: int, t: float) -> None:
    """The attempt of request *r* timed out: retry at once or give up; *r* itself becomes an orphan."""
    req_w, req_f, src_w, app_i = S[_RW], S[_RF], S[_CW], S[_AI]
    c = req_w[r, R_SRC]
    a = req_w[r, R_APP]
    attempt = req_w[r, R_STATE] >> ATTEMPT_SHIFT
    counted = np.int64(1) if _in_window(S[_SCF], req_f[r, F_CREATED]) else np.int64(0)
    app_i[a, A_TIMEOUTS] += counted
    if attempt < src_w[c, W_RETRIES]:
        app_i[a, A_RETRIES] += counted
        _new_attempt(S, c, req_f[r, F_CREATED], attempt + 1, t, np.int64(0))
    else:
        app_i[a, A_FAILED] += counted
        if counted:
            _record(S, r, math.nan, np.int64(OUT_FAILED))
    if req_w[r, R_STATE] & FL_RETURNING:
        _free(S, r, -1)
    else:
        req_w[r, R_STATE] |= FL_ORPHAN


# ======================================================================= epochs
@_jit
def _sync(S: Tup, t: float, changed: Any) -> None:
    """Apply control-plane changes made between epochs: failures, PS servers and speeds, arrival rates.

    A station that went down loses every request inside it (crash) and its servers are free. Each source in
    *changed* (its arrival parameters changed) draws its next arrival afresh from *t*. FIFO schedules after a
    change of servers or speed are recomputed by the caller.
    """
    req_w, req_f, st_w, st_f, st_i, src_w, sc_f, srv = (
        S[_RW],
        S[_RF],
        S[_SW],
        S[_SF],
        S[_SI],
        S[_CW],
        S[_SCF],
        S[_SRV],
    )
    any_down = False
    for s in range(st_w.shape[0]):
        if st_w[s, W_UP]:
            st_i[s, S_WAS_UP] = 1
        elif st_i[s, S_WAS_UP]:
            st_i[s, S_WAS_UP] = 0
            any_down = True
    for r in range(req_w.shape[0] if any_down else 0):
        s = req_w[r, R_LOC]
        if req_w[r, R_STATE] & FL_LIVE and s >= 0 and not st_w[s, W_UP]:
            st_w[s, W_N] -= 1
            st_i[s, S_LOST] += 1
            st_f[s, S_RES_ADJ] += t - max(req_f[r, F_ARRIVE], sc_f[T_METRICS])
            _free(S, r, A_DROP_DOWN)
    for s in range(st_w.shape[0]):
        if not st_w[s, W_UP]:
            st_w[s, W_QHEAD] = -1
            st_w[s, W_QTAIL] = -1
            st_i[s, S_PS_GEN] += 1
            for k in range(max(st_w[s, W_SERVERS], 1)):
                srv[st_w[s, W_SRV0] + k] = t if st_w[s, W_SERVERS] > 0 else math.inf
        elif st_i[s, S_RESYNC] and st_w[s, W_DISC] == PS and st_w[s, W_N] > 0:
            _ps_reschedule(S, s, t)
        st_i[s, S_RESYNC] = 0
    for k in range(changed.shape[0]):
        c = changed[k]
        src_w[c, W_GEN] = (src_w[c, W_GEN] + 1) & GEN_MASK
        _schedule_arrival(S, c, t, np.int64(1))


@_entry
def run(S: Tup, t_stop: float, sync: bool, changed: Any) -> int:
    """Process events up to and including *t_stop*; return OK, or HEAP_FULL / POOL_FULL to be grown.

    With *sync* (the first call of an epoch), first apply the control plane's changes (*changed*: the
    sources whose arrival parameters changed).
    """
    heap_i, heap_f, req_w, req_f, st_w, st_f, src_w, src_f = (
        S[_HI],
        S[_HF],
        S[_RW],
        S[_RF],
        S[_SW],
        S[_SF],
        S[_CW],
        S[_CF],
    )
    st_i, app_i, sc_i, sc_f = S[_SI], S[_AI], S[_SCI], S[_SCF]
    if sync:
        sc_f[T_EPOCH] = sc_f[T_NOW]
        _sync(S, sc_f[T_NOW], changed)
    capacity = heap_i.shape[0] - HEAP_OFFSET
    while sc_i[I_HEAP_N] > 0:
        t = heap_f[HEAP_OFFSET, H_TIME]
        if t > t_stop:
            break
        if sc_i[I_HEAP_N] + HEAP_SLACK > capacity:
            return HEAP_FULL
        if sc_i[I_N_FREE] < POOL_SLACK:
            return POOL_FULL
        p = heap_i[HEAP_OFFSET, H_PAYLOAD]
        _pop(S)
        if sc_i[I_HEAP_N] > 0:  # NOTE: prefetch the rows of the next event while this one is handled
            q = heap_i[HEAP_OFFSET, H_PAYLOAD]
            q_id = (q >> 3) & ID_MASK
            if q & 7 == EV_ARRIVAL:
                _prefetch(src_f, q_id, 0)
                _prefetch(src_f, q_id, 8)
            elif q & 7 == EV_PS:
                _prefetch(st_f, q_id, 0)
            else:
                _prefetch(req_f, q_id, 0)
                _prefetch(req_f, q_id, 8)
        sc_f[T_NOW] = t
        kind = p & 7
        ident = (p >> 3) & ID_MASK
        gen = p >> 40
        if kind == EV_ARRIVAL:
            if gen == src_w[ident, W_GEN]:
                fold = src_w[ident, W_R0] < src_w[ident, W_R1] and src_f[ident, M_DELAY0] < math.inf
                sent = t - src_f[ident, M_DELAY0] if fold else t
                if _in_window(sc_f, sent):
                    app_i[src_w[ident, W_APP], A_ARRIVALS] += 1
                _new_attempt(
                    S, ident, sent, np.int64(0), t, np.int64(1 if fold else 0)
                )  # np.int64: no literal specialisation
                _schedule_arrival(S, ident, sent, np.int64(0))
        else:
            # NOTE: one call site of _depart (it is inlined with everything it calls: compile time)
            fifo, where = np.int64(-1), np.int64(-1)
            if kind == EV_PS:
                if gen == st_i[ident, S_PS_GEN] & GEN_MASK:
                    where = np.int64(ident)
            elif gen == req_w[ident, R_GEN]:
                if kind == EV_REACH:
                    _reach(S, ident, t)
                elif kind == EV_DEPART:
                    fifo, where = np.int64(ident), np.int64(req_w[ident, R_LOC])
                else:
                    _timeout(S, ident, t)
            if where >= 0:
                _depart(S, fifo, int(where), t)
    span = t_stop - sc_f[T_EPOCH]
    for s in range(st_w.shape[0]):
        _touch(S, s, t_stop)
        st_f[s, S_AREA_SERVERS] += st_w[s, W_SERVERS] * span
        if st_w[s, W_UP]:
            st_f[s, S_AREA_UP] += span
    sc_f[T_EPOCH] = t_stop
    sc_f[T_NOW] = t_stop
    return OK
