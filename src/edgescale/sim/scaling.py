"""Autoscaling in the twin: the scenario's :class:`~edgescale.policies.Autoscaler` at every control epoch,
with cold starts.

At each epoch end the view shows, per (service, site), the utilization of its station over the epoch (busy
servers over servers, time-averaged), the requests inside it and the replicas running. For each service the
autoscaler returns a total replica count (``desired_replicas``) from the count of replicas running (the
utilization it sees is theirs). Replicas are added where the plan put the service (stations exist
only there), round-robin from the most utilized station, while the site has cores left and up to the service's
``max_replicas``; replicas already starting count as added. They start serving after a **cold start**: the image pull,
``image_mb * 8 / simulation.image_pull_mbps`` seconds; the runner stops the data plane exactly then. Replicas
are removed at once, starting replicas first, then from the least utilized station, never below one replica
per station (routes keep sending there). A replica is ``max(1, floor(cpu_cores))`` servers of the station.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.policies import Autoscaler
from edgescale.sim.control import SimClusterView
from edgescale.sim.world import World

__all__ = ["Scaler"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Scaler:
    """Applies an autoscaler's decisions to the kernel model's servers, with cold starts.

    Parameters
    ----------
    world : World
        Its model's ``servers`` are changed in place.
    a : SystemArrays
    view : SimClusterView
        Updated at each epoch before the autoscaler is asked.
    autoscaler : Autoscaler
    image_pull_mbps : float
    """

    def __init__(
        self,
        world: World,
        a: SystemArrays,
        view: SimClusterView,
        autoscaler: Autoscaler,
        image_pull_mbps: float,
    ) -> None:
        self.world = world
        self.a = a
        self.view = view
        self.autoscaler = autoscaler
        cores = a.service_cpu_cores[world.station_service]
        self.per_replica = np.maximum(1, np.floor(cores)).astype(np.int32)
        servers = world.model.servers[: world.n_stations]  # the service stations (link stations after them)
        self.active = (servers // self.per_replica).astype(np.int64)  # replicas per station
        self.pull_s = np.asarray(a.service_image_mb, np.float64) * 8.0 / image_pull_mbps  # per service
        self.pending: list[tuple[float, int]] = []  # (ready time, station), one entry per starting replica
        self.busy_prev = np.zeros(world.n_stations)
        self.servers_prev = np.zeros(world.n_stations)

    def restart_window(self) -> None:
        """The kernel's integrals restarted (end of the warm-up)."""
        self.busy_prev[:] = 0.0
        self.servers_prev[:] = 0.0

    def epoch(
        self, now: float, busy_s: F64, servers_s: F64, inside: NDArray[np.int32]
    ) -> list[dict[str, Any]]:
        """Show the last epoch to the autoscaler and start or stop replicas; return events for the log."""
        w = self.world
        d_busy, d_srv = busy_s - self.busy_prev, servers_s - self.servers_prev
        self.busy_prev, self.servers_prev = busy_s.copy(), servers_s.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(d_srv > 0, d_busy / d_srv, 0.0)
        v = self.view
        v.now = now
        v._util[:] = 0.0
        v._queue[:] = 0.0
        v._replicas[:] = 0
        v._util[w.station_service, w.station_site] = util
        v._queue[w.station_service, w.station_site] = inside
        v._replicas[w.station_service, w.station_site] = self.active
        events: list[dict[str, Any]] = []
        for svc in np.unique(w.station_service).tolist():
            stations = np.flatnonzero(w.station_service == svc)
            starting = [k for k, (_, st) in enumerate(self.pending) if w.station_service[st] == svc]
            running = int(self.active[stations].sum())
            want = self.autoscaler.desired_replicas(v, svc, running)
            hi = int(self.a.service_max_replicas[svc])
            want = min(want, hi) if hi > 0 else want
            current = running + len(starting)  # replicas starting count as there
            if want > current:
                added = self._add(want - current, svc, stations, util, now + float(self.pull_s[svc]))
                want = current + added
            elif want < current:
                want = max(want, len(stations))  # one replica per station stays
                self._remove(current - want, stations, starting, util)
            if want != current:
                events.append({"t_s": now, "action": "scale", "service": self.a.service_ids[svc],
                               "from": current, "to": want})  # fmt: skip
        return events

    def _free_cores(self) -> F64:
        """Cores per site not reserved by running or starting replicas."""
        w = self.world
        used = np.zeros(self.a.n_sites)
        cores = self.a.service_cpu_cores[w.station_service]
        np.add.at(used, w.station_site, self.active * cores)
        for _, st in self.pending:
            used[w.station_site[st]] += cores[st]
        free: F64 = self.a.site_cpu_cores - used
        return free

    def _add(self, n: int, svc: int, stations: I64, util: F64, ready: float) -> int:
        """Start up to *n* replicas, busiest station first, where the site has cores left; return how many."""
        free = self._free_cores()
        need = float(self.a.service_cpu_cores[svc])
        order = stations[np.argsort(-util[stations], kind="stable")].tolist()
        added = 0
        while added < n:
            progress = False
            for st in order:
                site = int(self.world.station_site[st])
                if added < n and free[site] >= need - 1e-9:
                    self.pending.append((ready, int(st)))
                    free[site] -= need
                    added += 1
                    progress = True
            if not progress:
                break
        return added

    def _remove(self, n: int, stations: I64, starting: list[int], util: F64) -> None:
        drop = set(starting[len(starting) - min(n, len(starting)) :])
        self.pending = [p for k, p in enumerate(self.pending) if k not in drop]
        n -= len(drop)
        m = self.world.model
        for st in stations[np.argsort(util[stations], kind="stable")].tolist():
            take = min(n, int(self.active[st]) - 1)
            if take > 0:
                self.active[st] -= take
                m.servers[st] = self.active[st] * self.per_replica[st]
                n -= take
            if n == 0:
                break

    def next_ready(self) -> float:
        """When the next starting replica is ready (``inf`` when none)."""
        return min((t for t, _ in self.pending), default=math.inf)

    def start_ready(self, now: float) -> list[dict[str, Any]]:
        """Replicas whose cold start is over begin serving; return events for the log."""
        done = [p for p in self.pending if p[0] <= now]
        if not done:
            return []
        self.pending = [p for p in self.pending if p[0] > now]
        m = self.world.model
        events: list[dict[str, Any]] = []
        for _, st in done:
            self.active[st] += 1
            m.servers[st] = self.active[st] * self.per_replica[st]
            events.append({"t_s": now, "action": "replica_ready",
                           "service": self.a.service_ids[int(self.world.station_service[st])],
                           "site": self.a.site_ids[int(self.world.station_site[st])]})  # fmt: skip
        return events

    def replicas_by_service(self) -> list[int]:
        """Replicas running per service (all services, in order)."""
        out = np.zeros(len(self.a.service_ids), np.int64)
        np.add.at(out, self.world.station_service, self.active)
        return [int(x) for x in out]
