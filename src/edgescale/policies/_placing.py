"""Shared placement helpers: which sites a service may use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.model.schema import TIERS
from edgescale.policies._checks import ParamError, frozen
from edgescale.policies.base import ClusterView

EPS_CORES = 1e-9


def check_tier_mask(value: ArrayLike | None) -> NDArray[np.uint8] | None:
    """Validate a per-service tier bit mask argument."""
    if value is None:
        return None
    a = np.asarray(value)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer) or (a < 0).any() or (a >= 1 << len(TIERS)).any():
        raise ParamError("tier_mask", f"must be one integer bit mask < {1 << len(TIERS)} per service", value)
    return frozen(a.astype(np.uint8))


def check_tiers(value: Sequence[str] | None) -> tuple[str, ...] | None:
    """Validate a list of tier names."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(t in TIERS for t in value):
        raise ParamError("tiers", f"must be a list of tier names from {', '.join(TIERS)}", value)
    return tuple(value)


def allowed_sites(
    view: ClusterView, tier_mask: NDArray[np.uint8] | None = None, tiers: tuple[str, ...] | None = None
) -> NDArray[np.bool_]:
    """(n_services, n_sites) mask: the site is up and of a tier the service allows (and in *tiers*)."""
    mask = view.service_tier_mask if tier_mask is None else tier_mask
    if len(mask) != view.n_services:
        raise ValueError(f"tier_mask has {len(mask)} entries for {view.n_services} services")
    tier_bit = np.left_shift(1, view.site_tier.astype(np.int64))
    ok: NDArray[np.bool_] = (mask.astype(np.int64)[:, None] & tier_bit[None, :]) > 0
    if tiers is not None:
        ok = ok & np.isin(view.site_tier, [TIERS.index(t) for t in tiers])[None, :]
    up: NDArray[np.bool_] = np.asarray(view.site_up, bool)
    return ok & up[None, :]


def as_counts(view: ClusterView, replicas: Any, what: str) -> NDArray[np.int64]:
    """A fresh (n_services, n_sites) int64 copy of *replicas*, checked against *view*."""
    rep = np.array(replicas, np.int64)
    if rep.shape != (view.n_services, view.n_sites):
        raise ValueError(f"{what} has shape {rep.shape}; the view has {(view.n_services, view.n_sites)}")
    return rep
