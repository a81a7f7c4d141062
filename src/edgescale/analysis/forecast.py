"""Demand forecasting from a request trace: Holt–Winters exponential smoothing (statsmodels).

The trace is binned into request counts per ``bin_s``; an additive Holt–Winters model (trend, and a
season of ``season_bins`` bins when the trace holds at least two seasons) is fitted by maximum
likelihood and forecast over the horizon. The forecast rate feeds capacity planning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import ModelAssumptionError

__all__ = ["RateForecast", "bin_counts", "forecast_rate"]


@dataclass(frozen=True)
class RateForecast:
    """Forecast request rate per bin (req/s), with the fitted history and the method used."""

    bin_s: float
    history_rate_per_s: NDArray[np.float64]
    forecast_rate_per_s: NDArray[np.float64]
    method: str

    @property
    def peak_rate_per_s(self) -> float:
        """Highest forecast rate over the horizon."""
        return float(self.forecast_rate_per_s.max())


def bin_counts(times_s: NDArray[np.float64], bin_s: float) -> NDArray[np.float64]:
    """Number of requests in each bin of width *bin_s* from the first request on.

    Examples
    --------
    >>> bin_counts(np.array([0.0, 0.5, 1.2, 3.9]), 1.0).tolist()
    [2.0, 1.0, 0.0, 1.0]
    """
    if bin_s <= 0:
        raise ModelAssumptionError(f"bin_s: must be > 0 (got {bin_s})")
    t = np.asarray(times_s, dtype=np.float64)
    if t.size == 0:
        return np.zeros(0)
    idx = np.floor((t - t[0]) / bin_s).astype(np.int64)
    return np.bincount(idx).astype(np.float64)


def forecast_rate(
    times_s: NDArray[np.float64], *, bin_s: float, horizon_s: float, season_bins: int | None = None
) -> RateForecast:
    """Fit Holt–Winters to a request trace and forecast the rate over *horizon_s*.

    Parameters
    ----------
    times_s : ndarray
        Request times in seconds, non-decreasing.
    bin_s : float
        Width of a bin; the series is requests per bin.
    horizon_s : float
        How far ahead to forecast.
    season_bins : int, optional
        Season length in bins; used when the history holds at least two seasons.

    Raises
    ------
    ModelAssumptionError
        With fewer than 4 bins of history.

    Examples
    --------
    >>> t = np.arange(0.0, 600.0, 0.5)  # 2 req/s, steady
    >>> f = forecast_rate(t, bin_s=60.0, horizon_s=300.0)
    >>> np.allclose(f.forecast_rate_per_s, 2.0, rtol=0.01)
    True
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    counts = bin_counts(times_s, bin_s)
    if len(counts) < 4:
        raise ModelAssumptionError(f"forecast: needs at least 4 bins of history (got {len(counts)})")
    steps = max(1, int(np.ceil(horizon_s / bin_s)))
    seasonal = season_bins is not None and season_bins >= 2 and len(counts) >= 2 * season_bins
    if np.ptp(counts) == 0:  # constant history: the forecast is that constant
        fc, method = np.full(steps, counts[0]), "constant"
    else:
        model = ExponentialSmoothing(
            counts,
            trend="add",
            damped_trend=True,
            seasonal="add" if seasonal else None,
            seasonal_periods=season_bins if seasonal else None,
            initialization_method="estimated",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter from the optimiser
            fit = model.fit(optimized=True)
        fc = np.asarray(fit.forecast(steps), dtype=np.float64)
        method = "holt-winters additive" + (f", season {season_bins} bins" if seasonal else " (no season)")
    return RateForecast(
        bin_s=bin_s,
        history_rate_per_s=counts / bin_s,
        forecast_rate_per_s=np.maximum(fc, 0.0) / bin_s,
        method=method,
    )
