"""Mobility in the twin: devices move, attach to other access sites, and stateful services migrate.

For each device group with ``mobility`` (``random_waypoint`` or ``trace``) the control plane keeps every
device's position (numpy arrays, one row per device) and advances it at each control stop:

- **random waypoint**: each device walks in a straight line at a speed drawn uniformly from ``speed_mps``
  to a waypoint drawn uniformly in the group's area (the bounding box of its access sites, widened by the
  placement radius), pauses ``pause_s``, and draws the next (Camp, Boleng and Davies, 2002);
- **trace**: positions are replayed from the CSV (``t_s, device, lat, lon``; a device keeps its last
  position, and devices the trace never names stay where they were placed).

A device attaches to the nearest of its group's access sites (the demand points the plan routes); when that
changes it is a **handover**. The rates of the group's sources follow the number of devices attached to each
demand point (the superposition of the Poisson devices attached to a site is Poisson, so merged sources stay
exact between stops; attachments change at stops). A handover of a device whose application has a stateful
service moves that service's state (``state_mb``) from the site serving the old demand point to the one
serving the new, when they differ: a **migration**, costing the path latency plus the transfer time of the
state over the path's bottleneck (``PathMetrics`` transmission time per kB). Handovers and migrations are
counted and their cost summed in the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.model._csv import read_table
from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import Scenario
from edgescale.sim.world import World

if TYPE_CHECKING:  # scipy.sparse is slow to import: only when paths are needed
    pass

__all__ = ["Mobility", "mobile_groups"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
KM_PER_DEG_LAT = 110.574


def _xy_km(lat: F64, lon: F64, lat0: float) -> tuple[F64, F64]:
    """Equirectangular projection in km around latitude *lat0* (good to 0.1 % over a metro area)."""
    return lon * 111.320 * math.cos(math.radians(lat0)), lat * KM_PER_DEG_LAT


@dataclass
class _Group:
    g: int
    demands: I64  # the group's demand points
    sites_xy: F64  # (n_demands, 2) km
    x: F64
    y: F64
    attach: I64  # index into demands per device
    model: str
    lo: F64 = field(default_factory=lambda: np.zeros(2))
    hi: F64 = field(default_factory=lambda: np.zeros(2))
    speed: tuple[float, float] = (0.5, 1.5)
    pause_s: float = 0.0
    wx: F64 = field(default_factory=lambda: np.zeros(0))
    wy: F64 = field(default_factory=lambda: np.zeros(0))
    v: F64 = field(default_factory=lambda: np.zeros(0))
    pause_left: F64 = field(default_factory=lambda: np.zeros(0))
    trace_t: F64 = field(default_factory=lambda: np.zeros(0))
    trace_dev: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    trace_x: F64 = field(default_factory=lambda: np.zeros(0))
    trace_y: F64 = field(default_factory=lambda: np.zeros(0))
    trace_pos: int = 0
    stateful_stage: int = -1  # route stage index of the first stateful service, -1 none
    state_mb: float = 0.0
    serving: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # stateful stage's site per demand


def mobile_groups(scenario: Scenario) -> list[int]:
    """Indices of device groups that move."""
    return [
        g
        for g, grp in enumerate(scenario.device_groups)
        if grp.mobility is not None and grp.mobility.model != "static"
    ]


class Mobility:
    """Positions, attachments, handovers and migrations of the mobile groups of one replication.

    Parameters
    ----------
    world : World
        Its model's ``rate_per_s`` is rewritten for the mobile groups' sources.
    a : SystemArrays
    scenario : Scenario
    rng : numpy.random.Generator
        The replication's generator for movement.
    """

    def __init__(self, world: World, a: SystemArrays, scenario: Scenario, rng: np.random.Generator) -> None:
        self.world = world
        self.a = a
        self.rng = rng
        from edgescale.analysis._paths import PathMetrics

        self.paths = PathMetrics(a)
        self.groups: list[_Group] = []
        self.handovers = 0
        self.migrations = 0
        self.migrated_mb = 0.0
        self.migration_s = 0.0
        self.t = 0.0
        lat0 = float(np.nanmean(a.site_lat)) if np.isfinite(a.site_lat).any() else 0.0
        self.lat0 = lat0 if math.isfinite(lat0) else 0.0
        for g in mobile_groups(scenario):
            self.groups.append(self._group(scenario, g))
        self.base_per_device = np.zeros(world.model.n_sources)
        self.sources: dict[int, I64] = {}
        for grp in self.groups:
            grp.serving = np.full(grp.demands.size, -1, np.int64)
            for k, d in enumerate(grp.demands.tolist()):
                src = np.flatnonzero(world.source_demand == d)
                self.sources[d] = src
                self.base_per_device[src] = world.source_base_rate_per_s[src] / max(
                    int(a.demand_devices[d]), 1
                )
                if src.size and grp.stateful_stage >= 0:  # the demand point's main route serves the state
                    best = src[int(np.argmax(world.source_base_rate_per_s[src]))]
                    grp.serving[k] = int(
                        world.stage_site[int(world.model.route_ptr[best]) + grp.stateful_stage]
                    )

    def _group(self, scenario: Scenario, g: int) -> _Group:
        a, grp = self.a, scenario.device_groups[g]
        mob = grp.mobility
        assert mob is not None
        demands = np.flatnonzero(a.demand_group == g).astype(np.int64)
        if demands.size == 0:
            raise ScenarioError(
                [Issue(f"device_groups[{grp.id}].mobility", "the group reaches no site", mob.model)]
            )
        dsite = a.demand_site[demands]
        sx, sy = _xy_km(a.site_lat[dsite], a.site_lon[dsite], self.lat0)
        sites_xy = np.column_stack([sx, sy])
        counts = a.demand_devices[demands].astype(np.int64)
        attach = np.repeat(np.arange(demands.size), counts)
        n = attach.size
        radius = 1.0
        pl = grp.placement
        if pl.around is not None:
            radius = pl.around.radius_km
        elif pl.area is not None:
            radius = float(getattr(pl.area, "radius_km", 1.0) or 1.0)
        ang = self.rng.uniform(0, 2 * math.pi, n)
        rad = radius * np.sqrt(self.rng.uniform(0, 1, n))
        x = sx[attach] + rad * np.cos(ang)
        y = sy[attach] + rad * np.sin(ang)
        out = _Group(g, demands, sites_xy, x, y, attach, mob.model)
        out.lo = np.array([sx.min() - radius, sy.min() - radius])
        out.hi = np.array([sx.max() + radius, sy.max() + radius])
        out.speed = (float(mob.speed_mps[0]), float(mob.speed_mps[1]))
        out.pause_s = float(mob.pause_s)
        out.wx, out.wy = self._waypoints(out, n)
        out.v = self.rng.uniform(out.speed[0], out.speed[1], n) / 1000.0  # km/s
        out.pause_left = np.zeros(n)
        if mob.model == "trace":
            self._load_trace(scenario, grp.id, mob.trace, out)
        app = int(a.group_app[g])
        if app >= 0:
            stages = range(int(a.app_stage_ptr[app]), int(a.app_stage_ptr[app + 1]))
            for k, st in enumerate(stages):
                svc = int(a.stage_service[st])
                if a.service_stateful[svc]:
                    out.stateful_stage, out.state_mb = k, float(a.service_state_mb[svc])
                    break
        return out

    def _waypoints(self, grp: _Group, n: int) -> tuple[F64, F64]:
        return self.rng.uniform(grp.lo[0], grp.hi[0], n), self.rng.uniform(grp.lo[1], grp.hi[1], n)

    def _load_trace(self, scenario: Scenario, gid: str, path: str | None, grp: _Group) -> None:
        where = f"device_groups[{gid}].mobility.trace"
        if path is None:
            raise ScenarioError([Issue(where, "is required for the 'trace' model", None)])
        header, rows = read_table(scenario.base_dir / path, where)
        cols = [h.lower() for h in header]
        need = ("t_s", "device", "lat", "lon")
        if any(c not in cols for c in need):
            raise ScenarioError([Issue(where, "needs columns t_s, device, lat, lon", list(header))])
        idx = [cols.index(c) for c in need]
        try:
            data = np.array([[float(r[i]) for i in idx] for r in rows], dtype=np.float64)
        except (ValueError, IndexError) as e:
            raise ScenarioError([Issue(where, "values must be numbers", str(e))]) from e
        data = data[np.argsort(data[:, 0], kind="stable")]
        dev = data[:, 1].astype(np.int64)
        keep = (dev >= 0) & (dev < grp.x.size)
        grp.trace_t = data[keep, 0]
        grp.trace_dev = dev[keep]
        grp.trace_x, grp.trace_y = _xy_km(data[keep, 2], data[keep, 3], self.lat0)

    def advance(self, now: float) -> None:
        """Move every device to its position at *now*, re-attach, count handovers, set the sources' rates."""
        dt = now - self.t
        self.t = now
        for grp in self.groups:
            if grp.model == "random_waypoint" and dt > 0:
                self._walk(grp, dt)
            elif grp.model == "trace":
                end = int(np.searchsorted(grp.trace_t, now, side="right"))
                sl = slice(grp.trace_pos, end)
                grp.x[grp.trace_dev[sl]] = grp.trace_x[sl]  # later rows overwrite earlier ones
                grp.y[grp.trace_dev[sl]] = grp.trace_y[sl]
                grp.trace_pos = end
            self._attach(grp)

    def _walk(self, grp: _Group, dt: float) -> None:
        left = np.full(grp.x.size, float(dt))
        for _ in range(1000):  # legs within one step; a device finishes at most a few per step
            active = np.flatnonzero(left > 1e-12)
            if active.size == 0:
                break
            p = np.minimum(grp.pause_left[active], left[active])
            grp.pause_left[active] -= p
            left[active] -= p
            moving = active[(left[active] > 1e-12) & (grp.pause_left[active] <= 0)]
            dx, dy = grp.wx[moving] - grp.x[moving], grp.wy[moving] - grp.y[moving]
            dist = np.hypot(dx, dy)
            need = dist / grp.v[moving]
            go = np.minimum(need, left[moving])
            frac = np.where(dist > 0, go * grp.v[moving] / np.maximum(dist, 1e-300), 1.0)
            grp.x[moving] += dx * frac
            grp.y[moving] += dy * frac
            left[moving] -= go
            arrived = moving[need <= go + 1e-12]
            if arrived.size:  # new waypoint and speed after the pause
                grp.wx[arrived], grp.wy[arrived] = self._waypoints(grp, arrived.size)
                grp.v[arrived] = self.rng.uniform(grp.speed[0], grp.speed[1], arrived.size) / 1000.0
                grp.pause_left[arrived] = grp.pause_s

    def _attach(self, grp: _Group) -> None:
        from scipy.spatial import cKDTree

        _, new = cKDTree(grp.sites_xy).query(np.column_stack([grp.x, grp.y]))
        new = np.asarray(new, np.int64)
        moved = np.flatnonzero(new != grp.attach)
        if moved.size:
            self.handovers += int(moved.size)
            if grp.stateful_stage >= 0 and grp.state_mb > 0:
                self._migrate(grp, grp.attach[moved], new[moved])
            grp.attach = new
        counts = np.bincount(grp.attach, minlength=grp.demands.size)
        m, w = self.world.model, self.world
        for k, d in enumerate(grp.demands.tolist()):
            src = self.sources[d]
            m.rate_per_s[src] = self.base_per_device[src] * counts[k]
            w.source_base_rate_per_s[src] = m.rate_per_s[src]

    def _migrate(self, grp: _Group, old: I64, new: I64) -> None:
        """State moves between the sites serving the stateful stage for the old and new demand points."""
        a_site, b_site = grp.serving[old], grp.serving[new]
        move = (a_site >= 0) & (b_site >= 0) & (a_site != b_site)
        if not move.any():
            return
        lat, tx, _ = self.paths.pairs(a_site[move], b_site[move])
        self.migrations += int(move.sum())
        self.migrated_mb += grp.state_mb * float(move.sum())
        self.migration_s += float(np.sum(lat + grp.state_mb * 1024.0 * tx)) / 1000.0

    def summary(self) -> dict[str, float | int]:
        """Counters for the results."""
        return {
            "handovers": self.handovers,
            "migrations": self.migrations,
            "migrated_mb": self.migrated_mb,
            "migration_s_total": self.migration_s,
            "mean_migration_s": self.migration_s / self.migrations if self.migrations else 0.0,
        }
