"""Working memory of the event kernel: :class:`KernelState`, its creation and growth (public via ``kernel``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import SimulationError
from edgescale.sim import _kernel_core as core
from edgescale.sim._kernel_model import KernelModel
from edgescale.sim.histogram import DEFAULT_HI_S, DEFAULT_LO_S, DEFAULT_RESOLUTION, LogHistogram

__all__ = ["DEFAULT_MAX_LIVE_REQUESTS", "CacheSpec", "KernelState", "init_state"]

DEFAULT_MAX_LIVE_REQUESTS = 1 << 24
"""Default bound on requests alive at once (128 bytes each): beyond it the system is taken as unstable."""


def _zeros_rows(rows: int, cols: int) -> NDArray[np.int64]:
    """A zeroed (rows, cols) int64 array whose first row starts on a 64-byte boundary."""
    buf = np.zeros(rows * cols + 8, dtype=np.int64)
    off = (-buf.ctypes.data % 64) // 8
    return buf[off : off + rows * cols].reshape(rows, cols)


_F64 = np.float64
_I32 = np.int32
MAX_CACHE_SLOTS = 1 << 28
"""Most (cache, catalogue item) pairs: the item -> node map takes 4 bytes per pair (1 GiB at this bound)."""


@dataclass(frozen=True, eq=False)
class CacheSpec:
    """Content caches the kernel looks up (stages name them in ``KernelModel.stage_cache``).

    Parameters
    ----------
    popularity : array_like of float, shape (n_items,)
        Request probability of each catalogue item (normalised here), e.g.
        :func:`~edgescale.optimize.caching.zipf_popularity`. Requests are independent draws (the independent
        reference model).
    kind : array_like of str, shape (n_caches,)
        ``"lru"`` (exact least recently used, every requested item admitted) or ``"static"`` (a fixed set).
    capacity_items : array_like of int, shape (n_caches,)
        Items each cache holds.
    static_items : sequence of array_like of int, optional
        Per cache, the items of a static cache (default: its ``capacity_items`` most popular items); ignored
        for LRU caches.

    Examples
    --------
    >>> spec = CacheSpec([0.5, 0.3, 0.2], kind=["lru", "static"], capacity_items=[1, 2])
    >>> spec.n_caches, spec.static_sets()[1].tolist()
    (2, [0, 1])
    """

    popularity: NDArray[np.float64]
    kind: tuple[str, ...]
    capacity_items: NDArray[np.int64]
    static_items: tuple[NDArray[np.int64], ...] = ()

    def __init__(
        self,
        popularity: Any,
        *,
        kind: Any,
        capacity_items: Any,
        static_items: Any = (),
    ) -> None:
        pop = np.asarray(popularity, dtype=np.float64).reshape(-1)
        kinds = tuple(str(k) for k in np.atleast_1d(np.asarray(kind, dtype=object)))
        cap = np.asarray(capacity_items).reshape(-1)
        problems = []
        if pop.size < 1 or not np.all(np.isfinite(pop) & (pop >= 0)) or pop.sum() <= 0:
            problems.append("popularity: needs >= 1 finite value >= 0 with a positive sum")
        if bad := [k for k in kinds if k not in ("lru", "static")]:
            problems.append(f"kind: each must be 'lru' or 'static' (got {bad[0]!r})")
        if cap.size != len(kinds) or not np.all(cap == np.round(cap)) or np.any(cap < 0):
            problems.append(f"capacity_items: needs one whole number >= 0 per cache ({len(kinds)})")
        sets = tuple(np.asarray(x, dtype=np.int64).reshape(-1) for x in static_items)
        if sets and len(sets) != len(kinds):
            problems.append(f"static_items: needs one list per cache ({len(kinds)}), got {len(sets)}")
        if any(x.size and (x.min() < 0 or x.max() >= pop.size) for x in sets):
            problems.append(f"static_items: items must be in [0, {pop.size})")
        if len(kinds) * pop.size > MAX_CACHE_SLOTS:
            problems.append(f"caches x catalogue items = {len(kinds) * pop.size} exceeds {MAX_CACHE_SLOTS}; "
                            "use fewer caching sites or a smaller catalogue")  # fmt: skip
        if problems:
            raise SimulationError("CacheSpec." + "; ".join(problems))
        object.__setattr__(self, "popularity", pop / pop.sum())
        object.__setattr__(self, "kind", kinds)
        object.__setattr__(self, "capacity_items", np.minimum(cap.astype(np.int64), pop.size))
        object.__setattr__(self, "static_items", sets)

    @property
    def n_caches(self) -> int:
        """Number of caches."""
        return len(self.kind)

    def static_sets(self) -> list[NDArray[np.int64]]:
        """Items held by each cache if it were static (given, else its most popular items)."""
        top = np.argsort(-self.popularity, kind="stable")
        if self.static_items:
            return [np.unique(x) for x in self.static_items]
        return [top[: int(c)].astype(np.int64) for c in self.capacity_items]

    def exact_static_hit_ratio(self) -> NDArray[np.float64]:
        """Hit ratio of each cache if static: the summed popularity of its items (exact under IRM)."""
        if not self.static_items:  # the most popular items: a prefix sum of the sorted popularity
            top = np.concatenate(([0.0], np.cumsum(np.sort(self.popularity)[::-1])))
            out: NDArray[np.float64] = top[self.capacity_items]
            return out
        return np.array([float(self.popularity[x].sum()) for x in self.static_sets()])


def _cache_arrays(
    spec: CacheSpec | None,
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """The kernel's cache arrays (see ``C_*`` in the core): rows, nodes, item -> node map, popularity CDF."""
    if spec is None or spec.n_caches == 0:
        return (np.zeros((0, core.N_CACHE), np.int64), np.zeros((0, 3), np.int32), np.zeros(0, np.int32),
                np.ones(1))  # fmt: skip
    n, k = spec.popularity.size, spec.n_caches
    rows = np.zeros((k, core.N_CACHE), np.int64)
    pos = np.full(k * n, -1, np.int32)
    lru = np.array([x == "lru" for x in spec.kind])
    sizes = np.where(lru, spec.capacity_items, 0)
    rows[:, core.C_KIND] = np.where(lru, core.CACHE_LRU, core.CACHE_STATIC)
    rows[:, core.C_CAP] = spec.capacity_items
    rows[:, core.C_HEAD] = -1
    rows[:, core.C_TAIL] = -1
    rows[:, core.C_NODE0] = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rows[:, core.C_POS0] = np.arange(k, dtype=np.int64) * n
    if not lru.all():
        for c, items in enumerate(spec.static_sets()):
            if not lru[c]:
                pos[c * n + items] = 0
    nodes = np.full((int(sizes.sum()), 3), -1, np.int32)
    return rows, nodes, pos, np.cumsum(spec.popularity)


@dataclass(eq=False)
class KernelState:
    """Mutable simulation state; create it with :func:`init_state`, read it with :func:`read_metrics`.

    The arrays are the kernel's working memory (row layouts in :mod:`edgescale.sim._kernel_core`): a 4-ary
    event heap, a request pool with a free list, rows per station, source, stage and application, the
    latency histograms, the RNG state, the scalars and the FIFO servers' free times. ``seen`` keeps a copy of
    the model of the last call, to find what the control plane changed. The heap and the pool grow
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
    discipline: NDArray[np.int8]
    seen: dict[str, NDArray[Any]] = field(default_factory=dict)
    trace_t: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    samp: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, core.N_SAMP)))
    histogram_lo_s: float = DEFAULT_LO_S
    histogram_hi_s: float = DEFAULT_HI_S
    histogram_resolution: float = DEFAULT_RESOLUTION
    max_live_requests: int = DEFAULT_MAX_LIVE_REQUESTS
    cache: NDArray[np.int64] = field(default_factory=lambda: _cache_arrays(None)[0])
    cache_node: NDArray[np.int32] = field(default_factory=lambda: _cache_arrays(None)[1])
    cache_pos: NDArray[np.int32] = field(default_factory=lambda: _cache_arrays(None)[2])
    zipf_cdf: NDArray[np.float64] = field(default_factory=lambda: _cache_arrays(None)[3])

    def arrays(self) -> tuple[NDArray[Any], ...]:
        """The views the compiled kernel takes, in the order of ``STATE_ARRAYS``."""
        req, st, src, stg = self.req, self.st, self.src, self.stg
        return (self.heap, self.heap.view(_F64), req.view(_I32), req.view(_F64), st.view(_I32), st.view(_F64),
                st, src.view(_I32), src.view(_F64), stg.view(_I32), stg.view(_F64), self.app,
                self.app.view(_F64), self.app_hist, self.rng, self.sc, self.sc.view(_F64), self.srv,
                self.trace_t, self.samp, self.cache, self.cache_node, self.cache_pos, self.zipf_cdf)  # fmt: skip

    @property
    def now(self) -> float:
        """Simulated time reached."""
        return float(self.sc.view(_F64)[core.T_NOW])

    @property
    def metrics_start(self) -> float:
        """Start of the measurement window (time of the last :func:`reset_metrics`, else 0)."""
        return float(self.sc.view(_F64)[core.T_METRICS])

    @property
    def metrics_end(self) -> float:
        """End of the measurement window (``inf`` while it is open; set by :func:`~edgescale.sim.kernel.drain`)."""
        return float(self.sc.view(_F64)[core.T_WEND])

    @property
    def live_requests(self) -> int:
        """Requests alive now (on links, at stations, returning late, or orphans)."""
        return int(self.sc[core.I_N_LIVE])

    @property
    def outstanding(self) -> NDArray[np.int64]:
        """Per application, requests created in the measurement window whose outcome is still open.

        Requests are counted by creation time: since the last :func:`reset_metrics`, ``arrivals ==
        completions + drops_full + drops_down + failed + outstanding``.
        """
        rw, rf = self.req.view(_I32), self.req.view(_F64)
        state = rw[:, core.R_STATE]
        created = rf[:, core.F_CREATED]
        in_window = (created >= self.metrics_start) & (created < self.metrics_end)
        open_ = (state & core.FL_LIVE != 0) & (state & core.FL_ORPHAN == 0) & in_window
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
        parts: tuple[NDArray[Any], ...] = (
            self.heap, self.req, self.st, self.src, self.stg, self.app, self.app_hist, self.rng, self.sc, self.srv,
            self.trace_t, self.samp, self.cache, self.cache_node, self.cache_pos, self.zipf_cdf,
            *self.seen.values())  # fmt: skip
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
    sample_every: int = 0,
    sample_capacity: int = 0,
    caches: CacheSpec | None = None,
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
    sample_every, sample_capacity : int, optional
        Keep every ``sample_every``-th outcome of a counted request (completion, drop or failure) as a
        per-request sample, up to ``sample_capacity`` rows (bounded memory; read with
        :func:`~edgescale.sim.kernel.read_samples`). 0: none.
    caches : CacheSpec, optional
        Content caches that the model's ``stage_cache`` refers to (none by default). Each starts empty
        (LRU) or filled (static); their lookups and hits are counted in the measurement window by lookup
        time (``KernelMetrics.cache_requests`` and ``cache_hits``).
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
    sc.view(_F64)[core.T_WEND] = math.inf
    sc[core.I_SAMP_EVERY] = max(int(sample_every), 0) if sample_capacity > 0 else 0
    cache, cache_node, cache_pos, zipf_cdf = _cache_arrays(caches)
    sc[core.I_N_CACHES] = cache.shape[0]
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
        discipline=model.discipline.copy(),
        histogram_lo_s=layout.lo,
        histogram_hi_s=layout.hi,
        histogram_resolution=layout.resolution,
        max_live_requests=min(int(max_live_requests), 2**31 - 1),
        samp=np.zeros((max(int(sample_capacity), 0), core.N_SAMP)),
        cache=cache,
        cache_node=cache_node,
        cache_pos=cache_pos,
        zipf_cdf=zipf_cdf,
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
    new = min(2 * cap, state.max_live_requests)
    if new <= cap:
        raise SimulationError(
            f"run_until: more than max_live_requests={state.max_live_requests} requests alive at "
            f"t={state.now:g}; the system is probably unstable (utilization >= 1 with unbounded capacity); "
            "bound station capacity or raise max_live_requests"
        )
    req = _zeros_rows(new, core.N_REQ)
    req[:cap] = state.req
    req[cap:] = _free_rows(cap, new, int(state.sc[core.I_FREE_HEAD]))
    state.req = req
    state.sc[core.I_FREE_HEAD] = cap
    state.sc[core.I_N_FREE] += new - cap


def _clear_app_metrics(state: KernelState) -> None:
    state.app[:] = 0
    appf = state.app.view(_F64)
    appf[:, core.A_LAT_MIN] = math.inf
    appf[:, core.A_LAT_MAX] = -math.inf
    state.app_hist[:] = 0
    state.cache[:, [core.C_REQ, core.C_HITS]] = 0
