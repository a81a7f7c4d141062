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
The timeline is drawn once per replication from the replication's seed, before the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.model.arrays import TIER_INDEX, SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["FailureTimeline", "failure_timeline", "failure_units"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

MAX_TRANSITIONS = 2_000_000


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


def _life(rng: np.random.Generator, unit: Unit, size: int) -> F64:
    if unit.weibull_shape is None:
        return rng.exponential(unit.mtbf_s, size)
    k = unit.weibull_shape
    return unit.mtbf_s / math.gamma(1.0 + 1.0 / k) * rng.weibull(k, size)


def failure_timeline(units: tuple[Unit, ...], horizon_s: float, rng: np.random.Generator) -> FailureTimeline:
    """Draw every unit's down and up transitions in ``(0, horizon_s]``.

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
    times: list[F64] = []
    owner: list[I64] = []
    downs: list[NDArray[np.bool_]] = []
    total = 0
    for u_i, u in enumerate(units):
        t = 0.0
        ts: list[float] = []
        is_down: list[bool] = []
        cycle = u.mtbf_s + u.mttr_s
        if u.weibull_shape is None and rng.random() < u.mttr_s / cycle:
            ts.append(0.0)
            is_down.append(True)
            t = rng.exponential(u.mttr_s)
            ts.append(t)
            is_down.append(False)
        batch = max(8, int(2 * horizon_s / cycle) + 8)
        while t <= horizon_s:
            ups = _life(rng, u, batch)
            repairs = rng.exponential(u.mttr_s, batch)
            fail_at = t + np.cumsum(ups + repairs) - repairs
            back_at = fail_at + repairs
            for f, b in zip(fail_at.tolist(), back_at.tolist(), strict=True):
                if f > horizon_s:
                    t = f
                    break
                ts += [f, b]
                is_down += [True, False]
                t = b
            if total + len(ts) > MAX_TRANSITIONS:
                raise ScenarioError(
                    [Issue("failures", f"more than {MAX_TRANSITIONS:,} transitions in {horizon_s:g} s",
                           u.mtbf_s / 3600.0, "MTBF and MTTR are far shorter than the run: lengthen them")]
                )  # fmt: skip
        total += len(ts)
        keep = np.asarray(ts) <= horizon_s
        times.append(np.asarray(ts)[keep])
        owner.append(np.full(int(keep.sum()), u_i, np.int64))
        downs.append(np.asarray(is_down, bool)[keep])
    if not times:
        return FailureTimeline(units, np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool))
    t_all = np.concatenate(times)
    order = np.argsort(t_all, kind="stable")
    return FailureTimeline(units, t_all[order], np.concatenate(owner)[order], np.concatenate(downs)[order])
