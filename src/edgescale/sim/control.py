"""The twin's control plane for failures: heartbeats, a failure detector, and rerouting around suspects.

Every site that hosts a station sends a heartbeat every ``heartbeat_interval_s`` (at multiples of it) while
it is up. The control plane feeds them to the scenario's :class:`~edgescale.policies.FailureDetector`
(``policies.failure_detection``; heartbeat timeout of 5 s when none is chosen) and asks it when each
silent site becomes suspected (:meth:`~edgescale.policies.FailureDetector.suspect_at`): the runner stops
the data plane exactly then. Until a failed site is suspected, requests routed to it are lost (dropped at
the station, as the kernel does for a station that is down). Once it is suspected, every route stage
planned at a suspected site is sent to the site the :class:`~edgescale.policies.LoadBalancer`
(``policies.balancing``; nearest when none is chosen) picks among the sites that run the stage's service
and are not suspected, from the previous hop; link delays (and, with link queueing, the link station each
stage queues at) are recomputed for the new path. When the detector no longer suspects a site (its heartbeats
resume at the first tick after the repair), its routes come back to the plan's.

Links are watched the same way when the scenario gives them failures (``failures.link_mtbf_h``): each
link that is up sends a heartbeat every ``heartbeat_interval_s`` to a second instance of the same failure
detector (keyed by link index). Routes follow minimum-latency paths over the links the control plane
*believes* up (not suspected). A failed link that is not yet suspected still carries the paths laid over
it, and every request or response sent over such a path is lost (the kernel's infinite link delay); once
the detector suspects the link, paths are recomputed without it, exactly at the detector's deadline. A
repaired link carries traffic again from its first heartbeat after the repair (when it is trusted again,
paths may come back to it).

The policies see the system through :class:`SimClusterView`, whose latencies are minimum-latency paths
over the believed links, computed on demand (no dense all-pairs matrix, so it scales to many sites).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario
from edgescale.policies import FailureDetector, HeartbeatTimeout, LoadBalancer, Nearest, make_policy
from edgescale.sim.caching import cache_columns
from edgescale.sim.world import PathPairs, World, route_delays, route_stages

if TYPE_CHECKING:
    from edgescale.analysis._paths import PathMetrics

__all__ = ["ControlPlane", "SimClusterView"]

KEEP_PATH_BYTES = 1 << 25  # Dijkstra rows (distances, predecessors) kept by the route paths: 32 MiB
HEARTBEAT_BATCH = 100_000  # heartbeats given to a failure detector per call

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def link_name(a: SystemArrays, link: int) -> str:
    """A link's name in the event log, ``"<src>-<dst>"`` by site id."""
    return f"{a.site_ids[int(a.link_src[link])]}-{a.site_ids[int(a.link_dst[link])]}"


class _Deadlines:
    """A failure detector's deadlines (:meth:`~edgescale.policies.FailureDetector.suspect_ats`) for some ids,
    asked again only after the detector heard heartbeats (:meth:`stale`): a stop without new heartbeats
    compares times instead of asking once per id."""

    def __init__(self, detector: FailureDetector, ids: I64) -> None:
        self.detector, self.ids = detector, ids
        self._at: F64 | None = None

    def stale(self) -> None:
        """The detector heard something: ask again next time."""
        self._at = None

    def at(self) -> F64:
        """``suspect_at`` of each id, in the order of ``ids``."""
        if self._at is None:
            self._at = self.detector.suspect_ats(self.ids)
        return self._at


class SimClusterView:
    """The twin's :class:`~edgescale.policies.ClusterView`: read-only arrays plus on-demand path latencies."""

    def __init__(self, a: SystemArrays, paths: PathMetrics, replicas: I64) -> None:
        self._a = a
        self.paths = paths  # replaced when links are suspected or trusted
        self.now = 0.0
        self.n_sites = a.n_sites
        self.n_services = len(a.service_ids)
        self.site_ids: Sequence[str] = a.site_ids
        self.service_ids: Sequence[str] = a.service_ids
        self.site_tier = _ro(a.site_tier)
        self.site_cpu_cores = _ro(a.site_cpu_cores)
        self.site_cpu_speed = _ro(a.site_cpu_speed)
        self.site_region = _ro(a.site_region)
        self.site_domain = _ro(a.site_domain)
        self.service_cpu_cores = _ro(a.service_cpu_cores)
        self.service_tier_mask = _ro(a.service_tier_mask)
        self._up = np.ones(a.n_sites, bool)
        self._replicas = np.asarray(replicas, np.int64).copy()
        self._load = np.zeros(a.n_sites)
        self._queue = np.zeros(self._replicas.shape)
        self._util = np.zeros(self._replicas.shape)

    @property
    def site_up(self) -> NDArray[np.bool_]:
        """Sites not suspected by the failure detector."""
        return _ro(self._up)

    @property
    def replicas(self) -> I64:
        """Replicas per (service, site)."""
        return _ro(self._replicas)

    @property
    def site_load(self) -> F64:
        """Utilization per site over the last epoch."""
        return _ro(self._load)

    @property
    def queue_len(self) -> F64:
        """Requests inside per (service, site)."""
        return _ro(self._queue)

    @property
    def utilization(self) -> F64:
        """Busy fraction of the replicas per (service, site)."""
        return _ro(self._util)

    def latency_ms(self, src: int, dst: int) -> float:
        """One-way minimum-path latency between two sites."""
        return float(self.latencies([src], [dst])[0, 0])

    def latencies(self, src: ArrayLike, dst: ArrayLike) -> F64:
        """Latency block, shape ``(len(src), len(dst))``.

        The same numbers, bit for bit, as :meth:`PathMetrics.pairs` of every (src, dst) pair: Dijkstra runs
        from whichever side has fewer distinct sites (a path's latency summed from the other end may differ in
        the last bit), through :meth:`PathMetrics.distances_from`, whose rows the paths keep (``keep_bytes``),
        so a balancer asking again from the same origin reads a row instead of searching paths again.
        """
        s = np.atleast_1d(np.asarray(src, np.int64))
        d = np.atleast_1d(np.asarray(dst, np.int64))
        if s.size == 1:  # one origin: never run from the targets (pairs swaps only for fewer distinct ones)
            out: F64 = self.paths.distances_from(s)[0][d][None, :]
            return out
        o, t = np.repeat(s, len(d)), np.tile(d, len(s))
        todo = o != t
        uo, ut = np.unique(o[todo]), np.unique(t[todo])
        lat = np.zeros(len(o))
        if len(ut) < len(uo):
            lat[todo] = self.paths.distances_from(ut)[np.searchsorted(ut, t[todo]), o[todo]]
        elif len(uo):
            lat[todo] = self.paths.distances_from(uo)[np.searchsorted(uo, o[todo]), t[todo]]
        return lat.reshape(len(s), len(d))


def _ro(x: Any) -> NDArray[Any]:
    v: NDArray[Any] = np.asarray(x).view()
    v.flags.writeable = False
    return v


def _policy(choice: Any, kind: str, default: Any) -> Any:
    if choice is None:
        return default
    return make_policy(kind, choice.name, dict(choice.params))


class CutPaths:
    """Paths chosen on the believed links, with ``inf`` latency where they cross a link that is really down.

    Wraps a :class:`~edgescale.analysis._paths.PathMetrics` built with the believed latencies (suspected
    links removed) and, as link availability, ``exp(-1)`` for the links that are really down and 1 for
    the others: the path's log-availability then counts the down links it crosses, on the very path the
    latencies were taken from.
    """

    def __init__(self, a: SystemArrays, believed_down: NDArray[np.bool_], down: NDArray[np.bool_]) -> None:
        from dataclasses import replace

        from edgescale.analysis._paths import PathMetrics

        lat = np.where(believed_down, np.inf, a.link_latency_ms)
        self.believed = PathMetrics(replace(a, link_latency_ms=lat), keep_bytes=KEEP_PATH_BYTES)
        self._marked = PathMetrics(
            replace(a, link_latency_ms=lat, link_availability=np.where(down, math.exp(-1.0), 1.0)),
            keep_bytes=KEEP_PATH_BYTES,
        )
        self._any_down = bool(np.any(down & ~believed_down))

    def pairs(self, origin: I64, target: I64) -> tuple[F64, F64, F64]:
        """As :meth:`PathMetrics.pairs`, with ``inf`` latency for paths that cross a link really down."""
        if not self._any_down:
            return self.believed.pairs(origin, target)
        lat, tx, marks = self._marked.pairs(origin, target)
        return np.where(marks < -0.5, np.inf, lat), tx, marks

    def bottlenecks(
        self, origin: I64, target: I64, queue_of_link: I64, queue_tx_ms_per_kb: F64
    ) -> tuple[F64, F64, F64, I64, F64]:
        """As :meth:`PathMetrics.bottlenecks`, with ``inf`` latency for paths that cross a link really down."""
        if not self._any_down:
            return self.believed.bottlenecks(origin, target, queue_of_link, queue_tx_ms_per_kb)
        lat, tx, marks, direction, q_tx = self._marked.bottlenecks(origin, target, queue_of_link,
                                                                   queue_tx_ms_per_kb)  # fmt: skip
        return np.where(marks < -0.5, np.inf, lat), tx, marks, direction, q_tx


class ControlPlane:
    """Heartbeats, failure detection and rerouting for one replication (see the module docstring).

    Parameters
    ----------
    world : World
        Its model's ``stage_station``, ``stage_delay_s``, ``return_delay_s`` and (link queueing)
        ``stage_link_station`` and ``stage_link_work_s`` are rewritten in place.
    a : SystemArrays
    scenario : Scenario
    replicas : ndarray, shape (n_services, n_sites)
        The plan's replicas.
    heartbeat_interval_s : float
    """

    def __init__(
        self, world: World, a: SystemArrays, scenario: Scenario, replicas: I64, heartbeat_interval_s: float
    ) -> None:
        self.world = world
        self.a = a
        self.interval = float(heartbeat_interval_s)
        from edgescale.analysis._paths import PathMetrics

        planned = PathMetrics(a, keep_bytes=KEEP_PATH_BYTES)
        self.paths: PathPairs = planned
        self.view = SimClusterView(a, planned, replicas)
        self.detector: FailureDetector = _policy(
            scenario.policies.failure_detection, "failure_detection", HeartbeatTimeout(timeout_s=5.0)
        )
        bal = _policy(scenario.policies.balancing, "balancing", Nearest())
        self.balancer: LoadBalancer = bal
        self.nodes = np.unique(world.station_site).astype(np.int64)
        self.is_node = np.zeros(a.n_sites, bool)  # sites with stations (the detector watches these)
        self.is_node[self.nodes] = True
        self.site_up = np.ones(a.n_sites, bool)  # the truth (the data plane's)
        self.suspected = np.zeros(a.n_sites, bool)  # what the control plane believes
        self.last_tick = -math.inf
        m = world.model
        self.orig_station = m.stage_station.copy()
        self.orig_delay = m.stage_delay_s.copy()
        self.orig_return = m.return_delay_s.copy()
        self.orig_link = (m.stage_link_station.copy(), m.stage_link_work_s.copy())  # link queueing
        self.orig_cache: tuple[NDArray[Any], ...] = (
            m.stage_cache.copy(), m.stage_content_share.copy(), m.stage_hit_return_s.copy())  # fmt: skip
        self.rerouted = np.zeros(0, np.int64)  # sources whose routes differ from the plan's
        self.candidates = {
            svc: np.flatnonzero(np.asarray(replicas)[svc] > 0).astype(np.int64)
            for svc in range(len(a.service_ids))
        }
        n_links = len(a.link_src)
        self.links = np.arange(n_links, dtype=np.int64)
        self.watch_links = scenario.failures.link_mtbf_h is not None and n_links > 0
        self.link_detector: FailureDetector = _policy(
            scenario.policies.failure_detection, "failure_detection", HeartbeatTimeout(timeout_s=5.0)
        )
        self.link_down = np.zeros(n_links, bool)  # the truth
        self.node_deadlines = _Deadlines(self.detector, self.nodes)
        self.link_deadlines = _Deadlines(self.link_detector, self.links)
        self.link_suspected = np.zeros(n_links, bool)  # what the control plane believes

    def set_links(self, link_down: NDArray[np.bool_]) -> None:
        """Links failed or were repaired (the truth): routes stay where the control plane laid them, and those
        crossing a failed link lose their requests until the detector suspects it (see the module)."""
        self.link_down = np.asarray(link_down, bool).copy()
        self._relay()

    def _relay(self) -> None:
        """Lay every route again on the believed links' paths (cut where a link is really down), around
        suspected sites as before."""
        cut = CutPaths(self.a, self.link_suspected, self.link_down)
        self.paths = cut
        self.view.paths = cut.believed
        m, w = self.world.model, self.world
        every = np.arange(m.n_sources, dtype=np.int64)
        d, r, ls, lw = route_delays(w, self.a, self.paths, every, w.stage_site)
        self.orig_delay[:] = d
        self.orig_return[:] = r
        self.orig_link[0][:], self.orig_link[1][:] = ls, lw
        m.stage_station[:] = self.orig_station
        m.stage_delay_s[:] = d
        m.return_delay_s[:] = r
        m.stage_link_station[:], m.stage_link_work_s[:] = ls, lw
        if w.caches is not None:
            cols = cache_columns(w, self.a, self.paths, np.arange(m.n_sources, dtype=np.int64), w.stage_site)
            for orig, new in zip(self.orig_cache, cols, strict=True):
                orig[:] = new
            self._set_cache(slice(None), *cols)
        self.rerouted = np.zeros(0, np.int64)
        self.reroute()

    def feed_heartbeats(self, now: float) -> None:
        """Heartbeats of up sites at every tick in (last tick, now]: sites up since the last stop send them."""
        first = math.floor(self.last_tick / self.interval) + 1 if math.isfinite(self.last_tick) else 0
        last = math.floor(now / self.interval + 1e-12)
        up_nodes = self.nodes[self.site_up[self.nodes]]
        up_links = self.links[~self.link_down] if self.watch_links else self.links[:0]
        if last < first:
            return
        # NOTE: many ticks per call (tick-major, so each node's beats stay in time order), in chunks of
        # about HEARTBEAT_BATCH beats: one detector call per chunk instead of one per tick
        per_tick = max(int(up_nodes.size), int(up_links.size), 1)
        step = max(1, HEARTBEAT_BATCH // per_tick)
        for k0 in range(first, last + 1, step):
            ticks = np.arange(k0, min(k0 + step, last + 1), dtype=np.float64) * self.interval
            for det, ids in ((self.detector, up_nodes), (self.link_detector, up_links)):
                if ids.size:
                    det.heartbeats(np.tile(ids, ticks.size), np.repeat(ticks, ids.size))
                    self.node_deadlines.stale()  # both: the two detectors may be one object
                    self.link_deadlines.stale()
            self.last_tick = float(ticks[-1])

    def next_wakeup(self, now: float) -> float:
        """The next time the control plane must look: a down site becomes suspected, or an up suspect's
        heartbeat arrives (``inf`` when none)."""
        down = ~self.site_up[self.nodes] & ~self.suspected[self.nodes]
        t = float(np.min(self.node_deadlines.at()[down], initial=math.inf))
        if self.watch_links:
            t = min(t, float(np.min(self.link_deadlines.at()[self.link_down & ~self.link_suspected],
                                    initial=math.inf)))  # fmt: skip
        if (self.suspected & self.site_up).any() or (self.link_suspected & ~self.link_down).any():
            t = min(t, (math.floor(now / self.interval + 1e-12) + 1) * self.interval)
        return t

    def _update_links(self, now: float) -> list[dict[str, Any]]:
        """Ask the link detector who is suspected at *now*; lay the routes again if that changed."""
        if not self.watch_links:
            return []
        sus = np.zeros(self.links.size, bool)
        sus[list(self.link_detector.suspected(now))] = True
        sus |= self.link_deadlines.at() <= now  # the detector's own deadline, exactly
        if np.array_equal(sus, self.link_suspected):
            return []
        events: list[dict[str, Any]] = []
        for link in np.flatnonzero(sus != self.link_suspected).tolist():
            events.append({"t_s": now, "action": "link_suspect" if sus[link] else "link_trust",
                           "link": link_name(self.a, link)})  # fmt: skip
        self.link_suspected = sus
        self._relay()
        events.append({"t_s": now, "action": "reroute", "sources": int(self.world.model.n_sources)})
        return events

    def update(self, now: float) -> list[dict[str, Any]]:
        """Ask the detectors who is suspected at *now*; reroute if that changed. Returns events for the log."""
        self.view.now = now
        link_events = self._update_links(now)
        sus = np.zeros(self.a.n_sites, bool)
        sus[list(self.detector.suspected(now))] = True
        sus[self.nodes[self.node_deadlines.at() <= now]] = True  # the detector's own deadline, exactly
        sus &= self.is_node
        if np.array_equal(sus, self.suspected):
            return link_events
        events: list[dict[str, Any]] = link_events
        for site in np.flatnonzero(sus & ~self.suspected).tolist():
            events.append({"t_s": now, "action": "suspect", "site": self.a.site_ids[site]})
        for site in np.flatnonzero(~sus & self.suspected).tolist():
            events.append({"t_s": now, "action": "trust", "site": self.a.site_ids[site]})
        self.suspected = sus
        self.view._up = ~sus
        n = self.reroute()
        events.append({"t_s": now, "action": "reroute", "sources": n})
        return events

    def reroute(self) -> int:
        """Rewrite routes: plan's routes, with stages at suspected sites moved; return sources changed."""
        w, m = self.world, self.world.model
        back = self.rerouted
        if back.size:  # restore the plan's routes first
            st = route_stages(m.route_ptr, back)
            m.stage_station[st] = self.orig_station[st]
            m.stage_delay_s[st] = self.orig_delay[st]
            m.return_delay_s[back] = self.orig_return[back]
            m.stage_link_station[st], m.stage_link_work_s[st] = self.orig_link[0][st], self.orig_link[1][st]
            self._set_cache(st, *(orig[st] for orig in self.orig_cache))
        bad_stage = self.suspected[w.stage_site]
        if not bad_stage.any():
            self.rerouted = np.zeros(0, np.int64)
            return int(back.size)
        owner = np.searchsorted(m.route_ptr, np.arange(m.n_stages), side="right") - 1
        sources = np.unique(owner[bad_stage]).astype(np.int64)
        new_site = w.stage_site.copy()
        if self.balancer.ORDER_FREE:
            self._move_by_level(sources, new_site)
        else:
            self._move_in_order(sources, new_site)
        st = route_stages(m.route_ptr, sources)
        moved = new_site[st] != w.stage_site[st]
        delays, ret, link_st, link_work = route_delays(w, self.a, self.paths, sources, new_site)
        m.stage_station[st[moved]] = [
            w.station_index[(int(w.stage_service[g]), int(new_site[g]))] for g in st[moved]
        ]
        m.stage_delay_s[st] = delays
        m.return_delay_s[sources] = ret
        m.stage_link_station[st], m.stage_link_work_s[st] = link_st, link_work
        if w.caches is not None:
            self._set_cache(st, *cache_columns(w, self.a, self.paths, sources, new_site))
        self.rerouted = sources
        return int(np.union1d(back, sources).size)

    def _move_in_order(self, sources: I64, new_site: I64) -> None:
        """Move the stages of *sources* at suspected sites in *new_site* where the balancer sends them from the
        stage before (in route order; the first from the access site), source after source, stage after stage:
        the order a randomised balancer draws in. One choice per (service, origin)."""
        w, rp = self.world, self.world.model.route_ptr
        choice: dict[tuple[int, int], int] = {}
        for src in sources.tolist():
            prev = int(self.a.demand_site[w.source_demand[src]])
            for g in range(int(rp[src]), int(rp[src + 1])):
                site = int(new_site[g])
                if self.suspected[site]:
                    svc = int(w.stage_service[g])
                    key = (svc, prev)
                    if key not in choice:
                        choice[key] = self.balancer.choose(self.view, svc, prev, self.candidates[svc])
                    if choice[key] >= 0:
                        site = choice[key]
                        new_site[g] = site
                prev = site

    def _move_by_level(self, sources: I64, new_site: I64) -> None:
        """As :meth:`_move_in_order`, for an order-free balancer (the same sites): the k-th stages of all
        sources at once, one :meth:`~edgescale.policies.LoadBalancer.choose_many` per service and level."""
        w, rp = self.world, self.world.model.route_ptr
        lens = rp[sources + 1] - rp[sources]
        access = self.a.demand_site[w.source_demand[sources]].astype(np.int64)
        choice: dict[tuple[int, int], int] = {}
        for k in range(int(lens.max(initial=0))):
            live = lens > k
            g = rp[sources[live]] + k
            prev = access[live] if k == 0 else new_site[g - 1]
            bad = self.suspected[new_site[g]]
            g, prev, svc = g[bad], prev[bad], w.stage_service[g[bad]]
            for service in np.unique(svc).tolist():
                mine = svc == service
                origins = prev[mine].tolist()
                ask = [o for o in dict.fromkeys(origins) if (service, o) not in choice]
                if ask:
                    got = self.balancer.choose_many(self.view, service, ask, self.candidates[service])
                    choice.update(zip(((service, o) for o in ask), got.tolist(), strict=True))
                picked = np.array([choice[(service, o)] for o in origins], np.int64)
                new_site[g[mine][picked >= 0]] = picked[picked >= 0]


    def _set_cache(self, st: Any, cache: Any, share: Any, hit_return: Any) -> None:
        """Write the cache columns of stages *st* (the cache of the site each stage is now at)."""
        m = self.world.model
        m.stage_cache[st] = cache
        m.stage_content_share[st] = share
        m.stage_hit_return_s[st] = hit_return
