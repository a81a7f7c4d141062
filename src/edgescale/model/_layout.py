"""Geometric helpers for generators: points in disks, nearest neighbours on the sphere."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edgescale.model.geo import EARTH_RADIUS_KM

KM_PER_DEG_LAT = np.pi * EARTH_RADIUS_KM / 180.0

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def points_in_disks(
    center_lat: FloatArray, center_lon: FloatArray, radius_km: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """One uniform random point in each disk (equirectangular, fine for radii up to a few 100 km)."""
    n = len(center_lat)
    r = radius_km * np.sqrt(rng.random(n))
    theta = rng.random(n) * (2.0 * np.pi)
    dlat = r * np.cos(theta) / KM_PER_DEG_LAT
    coslat = np.maximum(np.cos(np.radians(center_lat)), 1e-6)
    dlon = r * np.sin(theta) / (KM_PER_DEG_LAT * coslat)
    lat = np.clip(center_lat + dlat, -90.0, 90.0)
    lon = (center_lon + dlon + 180.0) % 360.0 - 180.0
    return lat, lon


def unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points on the unit sphere: chord distance is monotone in great-circle distance."""
    la, lo = np.radians(lat), np.radians(lon)
    c = np.cos(la)
    return np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la)))


def chord_to_km(chord: FloatArray) -> FloatArray:
    """Great-circle distance (km) from chord length on the unit sphere."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def nearest(
    target_lat: FloatArray, target_lon: FloatArray, query_lat: FloatArray, query_lon: FloatArray, k: int = 1
) -> tuple[FloatArray, IntArray]:
    """For each query point, the *k* nearest targets: distances (km) and target indices.

    Ties break by target index (KD-tree order on equal distances is by index for exact duplicates).
    """
    from scipy.spatial import cKDTree  # imported here: scipy.spatial is slow to import

    tree = cKDTree(unit_vectors(target_lat, target_lon))
    k = min(k, len(target_lat))
    dist, idx = tree.query(unit_vectors(query_lat, query_lon), k=k)
    idx_arr: IntArray = np.asarray(idx, dtype=np.int64)
    return chord_to_km(np.asarray(dist, dtype=np.float64)), idx_arr


def split_counts(total: int, weights: FloatArray) -> IntArray:
    """Split *total* into integer parts proportional to *weights* (largest remainder; ties by index)."""
    w = np.asarray(weights, dtype=np.float64)
    share = total * w / w.sum()
    base: IntArray = np.floor(share).astype(np.int64)
    rest = total - int(base.sum())
    if rest:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:rest]] += 1
    return base
