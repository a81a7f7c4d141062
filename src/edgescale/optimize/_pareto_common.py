"""Shared pieces of the Pareto solvers: pure objectives, objective vectors, non-dominated filtering, hypervolume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import SystemArrays
from edgescale.optimize._placement_model import Objective, PlacementModel
from edgescale.optimize._placement_model import objective as objective_terms

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

NAMES = ("latency", "energy", "cost")
"""Objectives a front may have: mean latency (ms), power (W), cost per hour."""

VALUE_KEY = {"latency": "mean_latency_ms", "energy": "energy_w", "cost": "cost_per_hour"}
"""The plan's ``objectives`` key of each objective."""

REF_OFFSET = 1.1
"""Hypervolume reference point: 1.1 in every normalised coordinate (ideal 0, nadir 1)."""


def pure_objectives(a: SystemArrays, m: PlacementModel) -> dict[str, Objective]:
    """Each objective alone, with no tie-breaking term: latency, energy, cost."""
    base = objective_terms(a, m, {"cost": 1.0})
    zc, zl, zs = np.zeros_like(base.chain), np.zeros_like(base.level), np.zeros_like(base.site)
    return {
        "latency": replace(base, chain=base.latency_chain, level=zl, site=zs, structural=False),
        "energy": replace(base, chain=base.energy_chain, level=zl, site=base.energy_site, structural=True),
        "cost": replace(base, chain=zc, level=base.cost_level, site=base.cost_site, structural=True),
    }


def combine(objs: Sequence[Objective], weights: Sequence[float] | F64) -> Objective:
    """The weighted sum of objectives."""
    w = [float(x) for x in weights]
    first = objs[0]
    return replace(
        first,
        chain=sum((wi * o.chain for wi, o in zip(w, objs, strict=True)), np.zeros_like(first.chain)),
        level=sum((wi * o.level for wi, o in zip(w, objs, strict=True)), np.zeros_like(first.level)),
        site=sum((wi * o.site for wi, o in zip(w, objs, strict=True)), np.zeros_like(first.site)),
        structural=any(o.structural and wi > 0 for wi, o in zip(w, objs, strict=True)),
    )


def values(m: PlacementModel, objs: Sequence[Objective], z: F64, kq: I64) -> F64:
    """The objective vector of a solution (chain shares, replicas per queue)."""
    on = np.flatnonzero(kq > 0)
    lvl = m.q_level_ptr[on] + kq[on] - 1
    sites = np.unique(m.q_site[on])
    return np.array([float(o.chain @ z + o.level[lvl].sum() + o.site[sites].sum()) for o in objs])


def nondominated(points: F64, rtol: float = 1e-6) -> NDArray[np.int64]:
    """Indices of the non-dominated rows (minimisation), one per distinct vector, sorted lexicographically.

    Values within ``rtol`` of the objective's largest magnitude count as equal: a point is dropped when
    another is no worse in every objective (within that tolerance) and better beyond it in one, or
    equal everywhere and earlier.
    """
    if len(points) == 0:
        return np.zeros(0, np.int64)
    tol = rtol * np.maximum(np.abs(points).max(axis=0), 1e-12)
    no_worse = np.all(points[:, None, :] <= points[None, :, :] + tol, axis=2)  # [i, j]: i no worse than j
    better = np.any(points[:, None, :] < points[None, :, :] - tol, axis=2)
    n = len(points)
    earlier = np.arange(n)[:, None] < np.arange(n)[None, :]
    beats = no_worse & (better | earlier)
    np.fill_diagonal(beats, False)
    keep = np.flatnonzero(~beats.any(axis=0))
    return keep[np.lexsort(points[keep].T[::-1])].astype(np.int64)


def normalise(points: F64, ideal: F64, nadir: F64) -> F64:
    """Objectives scaled so the ideal is 0 and the nadir 1 (a flat objective keeps its offset)."""
    span = np.where(nadir - ideal > 1e-12 * np.maximum(np.abs(nadir), 1.0), nadir - ideal, 1.0)
    return np.asarray((points - ideal) / span, np.float64)


def hypervolume(points: F64, ideal: F64, nadir: F64) -> float:
    """Hypervolume (pymoo's ``HV``) of the points after normalisation, reference point 1.1 per objective.

    The volume of the normalised box is 1.1 ** p at most; a single point at the ideal gets all of it.
    """
    from pymoo.indicators.hv import HV

    if len(points) == 0:
        return 0.0
    norm = normalise(np.atleast_2d(points), ideal, nadir)
    ref = np.full(norm.shape[1], REF_OFFSET)
    inside = np.all(norm < ref, axis=1)
    if not inside.any():
        return 0.0
    return float(HV(ref_point=ref)(norm[inside]))


def knee(points: F64) -> int:
    """The point closest (Euclidean) to the ideal point after normalising by the front's ideal and nadir."""
    ideal, nadir = points.min(axis=0), points.max(axis=0)
    d = np.linalg.norm(normalise(points, ideal, nadir), axis=1)
    return int(np.argmin(d))
