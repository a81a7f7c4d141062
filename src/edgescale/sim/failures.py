"""Random failures and repairs of sites: the timeline the twin's control plane applies.

Each failure *unit* alternates between up and down independently of the others:

- every site matched by a ``failures.classes`` entry (by tier or by name) is one unit with that class's
  MTBF and MTTR; time to failure is exponential, or Weibull with ``weibull_shape`` scaled to the same mean
  (``scale = MTBF / Gamma(1 + 1/shape)``); repair times are exponential with mean MTTR;
- every ``failures.correlated`` entry is one unit covering all sites of its region or failure domain: they
  fail and recover together (exponential up and down times).

A site is down while any unit covering it is down. Exponential units start in their stationary state (down
with probability ``MTTR / (MTBF + MTTR)``, residual times exponential by memorylessness), so the fraction
of time a site is up is ``MTBF / (MTBF + MTTR)`` from time 0 on, as
:func:`edgescale.analysis.availability.site_availability` says; Weibull units start up with a fresh life.
Transitions are drawn lazily as the run reaches them (:class:`FailureClock`), each unit from its own
generator spawned from the replication's seed, so memory does not grow with the simulated duration.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import TIER_INDEX, SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["FailureClock", "FailureTimeline", "expected_transitions", "failure_timeline", "failure_units"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Unit:
    """One independently failing thing: the sites it takes down, mean up and down times (s), life shape."""

    sites: I64
    mtbf_s: float
    mttr_s: float
    weibull_shape: float | None  # None: exponential time to failure


@dataclass(frozen=True)
class FailureTimeline:
    """Transitions in time order: at ``t_s[k]`` unit ``unit[k]`` goes down (``down[k]``) or comes back up."""

    units: tuple[Unit, ...]
    t_s: F64
    unit: I64
    down: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.t_s.size)


def failure_units(scenario: Scenario, a: SystemArrays) -> tuple[Unit, ...]:
    """The failure units of a scenario (see the module docstring)."""
    pos = {n: i for i, n in enumerate(a.site_ids)}
    units: list[Unit] = []
    for fc in scenario.failures.classes:
        if fc.tier is not None:
            sites = np.flatnonzero(a.site_tier == TIER_INDEX[fc.tier])
        else:
            sites = np.array([pos[x] for x in fc.sites or ()], dtype=np.int64)
        shape = fc.weibull_shape if fc.distribution == "weibull" else None
        units += [Unit(np.array([s], np.int64), fc.mtbf_h * 3600.0, fc.mttr_h * 3600.0, shape) for s in sites]
    for cf in scenario.failures.correlated:
        if cf.region is not None:
            if cf.region not in a.region_ids:
                continue
            sites = np.flatnonzero(a.site_region == a.region_ids.index(cf.region))
        else:
            if cf.failure_domain not in a.domain_ids:
                continue
            sites = np.flatnonzero(a.site_domain == a.domain_ids.index(str(cf.failure_domain)))
        if sites.size:
            units.append(Unit(sites.astype(np.int64), cf.mtbf_h * 3600.0, cf.mttr_h * 3600.0, None))
    return tuple(units)


def expected_transitions(units: tuple[Unit, ...], horizon_s: float) -> float:
    """Expected number of failure and repair transitions of *units* in *horizon_s* seconds.

    Each unit alternates up (mean ``mtbf_s``) and down (mean ``mttr_s``): a renewal process with two transitions
    per cycle, so about ``2 horizon / (mtbf + mttr)`` of them per unit.

    Examples
    --------
    >>> u = Unit(np.array([0]), mtbf_s=90.0, mttr_s=10.0, weibull_shape=None)
    >>> expected_transitions((u, u), 1000.0)
    40.0
    """
    return float(sum(2.0 * horizon_s / (u.mtbf_s + u.mttr_s) for u in units))


def _life(rng: np.random.Generator, unit: Unit) -> float:
    if unit.weibull_shape is None:
        return float(rng.exponential(unit.mtbf_s))
    k = unit.weibull_shape
    return unit.mtbf_s / math.gamma(1.0 + 1.0 / k) * float(rng.weibull(k))


class FailureClock:
    """Every unit's down and up transitions, drawn lazily in time order: one pending transition per unit.

    Memory is ``O(len(units))`` whatever the simulated duration. Each unit draws from its own generator
    (spawned from *rng* in unit order), one up time then one repair time per cycle, so a unit's transitions
    do not depend on the horizon nor on the other units: the timeline of a run of duration ``T`` is the
    prefix of that of a longer run with the same seed.

    Parameters
    ----------
    units : tuple of Unit
        From :func:`failure_units`.
    rng : numpy.random.Generator
        The replication's generator for failures (only used to spawn the units' generators).
    """

    def __init__(self, units: tuple[Unit, ...], rng: np.random.Generator) -> None:
        self.units = units
        self._rngs = rng.spawn(len(units)) if units else []
        self._heap: list[tuple[float, int, bool]] = []
        for u_i, (u, g) in enumerate(zip(units, self._rngs, strict=True)):
            if u.weibull_shape is None and g.random() < u.mttr_s / (u.mtbf_s + u.mttr_s):
                self._heap.append((0.0, u_i, True))  # stationary start: down at 0, up after a residual repair
            else:
                self._heap.append((_life(g, u), u_i, True))
        heapq.heapify(self._heap)

    def peek(self) -> float:
        """Time of the next transition (``inf`` without units)."""
        return self._heap[0][0] if self._heap else math.inf

    def pop(self) -> tuple[float, int, bool]:
        """The next transition ``(t_s, unit, down)``; the unit's following one is drawn."""
        t, u_i, down = self._heap[0]
        u, g = self.units[u_i], self._rngs[u_i]
        nxt = t + (float(g.exponential(u.mttr_s)) if down else _life(g, u))
        heapq.heapreplace(self._heap, (nxt, u_i, not down))
        return t, u_i, down

    def pop_until(self, t_s: float) -> list[tuple[float, int, bool]]:
        """Every transition at or before *t_s*, in time order."""
        out = []
        while self._heap and self._heap[0][0] <= t_s:
            out.append(self.pop())
        return out


def failure_timeline(units: tuple[Unit, ...], horizon_s: float, rng: np.random.Generator) -> FailureTimeline:
    """Every unit's down and up transitions in ``[0, horizon_s]``, as arrays (the twin itself uses
    :class:`FailureClock`, which does not hold them).

    Parameters
    ----------
    units : tuple of Unit
        From :func:`failure_units`.
    horizon_s : float
        End of the run, seconds.
    rng : numpy.random.Generator
        The replication's generator for failures.

    Returns
    -------
    FailureTimeline
        A unit that starts down (stationary start) has a ``down`` transition at time 0.
    """
    rows = FailureClock(units, rng).pop_until(horizon_s)
    t = np.array([r[0] for r in rows], np.float64)
    return FailureTimeline(
        units, t, np.array([r[1] for r in rows], np.int64), np.array([r[2] for r in rows], bool)
    )
