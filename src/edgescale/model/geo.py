"""Geodesy helpers: great-circle distances on a spherical Earth.

Pure numpy, vectorised over any broadcastable array shapes. The sphere is a model: it is within about
0.5 % of the WGS-84 ellipsoid distance, far below the error of the coordinates in real topology data.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_RADIUS_KM", "haversine_km"]

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius in km (IUGG mean radius, 6371.0088 km, rounded)."""


@overload
def haversine_km(
    lat1: float, lon1: float, lat2: float, lon2: float, *, radius_km: float = EARTH_RADIUS_KM
) -> float: ...


@overload
def haversine_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike, *, radius_km: float = EARTH_RADIUS_KM
) -> NDArray[np.float64] | float: ...


def haversine_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike, *, radius_km: float = EARTH_RADIUS_KM
) -> NDArray[np.float64] | float:
    """Great-circle distance between points given in decimal degrees.

    Parameters
    ----------
    lat1, lon1 : array_like
        Latitude and longitude of the first point(s), in degrees.
    lat2, lon2 : array_like
        Latitude and longitude of the second point(s), in degrees. All four broadcast together.
    radius_km : float, optional
        Sphere radius in km (default :data:`EARTH_RADIUS_KM`).

    Returns
    -------
    float or ndarray
        Distance in km; a Python float when every input is a scalar, else an array of the broadcast shape.
        NaN where any coordinate is NaN.

    Notes
    -----
    The haversine formula, with :math:`h = \\sin^2(\\Delta\\varphi/2)
    + \\cos\\varphi_1\\cos\\varphi_2\\sin^2(\\Delta\\lambda/2)` and :math:`d = 2R\\arcsin\\sqrt{h}`,
    is numerically stable for small distances; the argument of ``arcsin`` is clipped to 1 so that
    antipodal points do not give NaN through rounding.

    References
    ----------
    R. W. Sinnott, "Virtues of the Haversine", Sky and Telescope 68(2), 1984.

    Examples
    --------
    A quarter meridian (equator to pole) is :math:`\\pi R / 2`:

    >>> round(haversine_km(0.0, 0.0, 90.0, 0.0), 1)
    10007.5

    One degree of longitude on the equator, vectorised over two pairs:

    >>> haversine_km([0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [1.0, 11.0]).round(3)
    array([111.195, 111.195])

    Longitude wraps around the antimeridian:

    >>> round(haversine_km(0.0, 179.5, 0.0, -179.5), 3)
    111.195
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    l1 = np.radians(np.asarray(lon1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    l2 = np.radians(np.asarray(lon2, dtype=np.float64))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    d: NDArray[np.float64] = 2.0 * radius_km * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    if d.ndim == 0:
        return float(d)
    return d
