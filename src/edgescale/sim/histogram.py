"""Streaming histogram with log-spaced buckets: bounded memory, quantiles within a known relative error.

A :class:`LogHistogram` keeps a fixed array of counts over geometric buckets from ``lo`` to ``hi`` (plus one
underflow and one overflow bucket), and the exact count, sum, sum of squares, minimum and maximum of what
it saw. Memory does not depend on how many values are added, so the event kernel can stream millions of
latencies per second into one histogram per application, and histograms from replications or processes
can be merged exactly by adding counts.

The kernel (:mod:`edgescale.sim.kernel`) fills the same bucket layout from compiled code; use
:meth:`LogHistogram.from_arrays` to wrap its arrays.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DEFAULT_HI_S", "DEFAULT_LO_S", "DEFAULT_RESOLUTION", "LogHistogram"]

DEFAULT_LO_S = 1e-6
"""Lower edge of the first log bucket (1 µs)."""
DEFAULT_HI_S = 1e4
"""Values at or above about this (10^4 s) go to the overflow bucket."""
DEFAULT_RESOLUTION = 0.02
"""Relative width of a bucket: each bucket's upper edge is ``1 + resolution`` times its lower edge."""


class LogHistogram:
    """Histogram over geometric buckets with exact count, sum, sum of squares, min and max.

    Parameters
    ----------
    lo : float, optional
        Lower edge of the first log bucket, > 0 (default 1e-6). Smaller values (and negative ones) go to
        the underflow bucket.
    hi : float, optional
        The log buckets reach at least ``hi`` (default 1e4); larger values go to the overflow bucket.
    resolution : float, optional
        Relative bucket width ``g - 1`` where ``g`` is the ratio of consecutive edges, in (0, 1]
        (default 0.02, giving 1,163 log buckets from 1 µs to 10^4 s).

    Raises
    ------
    ValueError
        If ``lo <= 0``, ``hi <= lo`` or ``resolution`` is outside (0, 1].

    Notes
    -----
    Bucket 0 holds values below ``lo``; bucket ``i`` in ``1..m`` holds ``[lo g^(i-1), lo g^i)``; bucket
    ``m + 1`` holds values from ``lo g^m >= hi`` up, with ``m = ceil(ln(hi/lo) / ln g)``.

    :meth:`quantile` returns the *inverted-CDF* quantile (the order statistic of rank ``ceil(q n)``, as
    ``numpy.quantile(..., method="inverted_cdf")``) estimated by the geometric midpoint of its bucket and
    clipped to ``[min, max]``. Inside ``[lo, hi)`` the relative error is at most ``sqrt(g) - 1`` (about
    ``resolution / 2``), up to floating-point rounding at bucket edges. The mean is exact (from the sum).

    Examples
    --------
    >>> h = LogHistogram()
    >>> h.add([0.1, 0.2, 0.3, 0.4])
    >>> h.count, round(h.mean, 6)
    (4, 0.25)
    >>> abs(h.quantile(0.5) / 0.2 - 1) <= 0.01
    True
    >>> merged = h.merge(h)
    >>> merged.count, merged.max
    (8, 0.4)
    """

    __slots__ = ("_counts", "_inv_log_growth", "_max", "_min", "_sum", "_sumsq", "hi", "lo", "resolution")

    def __init__(
        self, *, lo: float = DEFAULT_LO_S, hi: float = DEFAULT_HI_S, resolution: float = DEFAULT_RESOLUTION
    ) -> None:
        if not (lo > 0 and math.isfinite(lo)):
            raise ValueError(f"LogHistogram.lo: must be a finite number > 0 (got {lo!r})")
        if not (hi > lo and math.isfinite(hi)):
            raise ValueError(f"LogHistogram.hi: must be finite and > lo={lo!r} (got {hi!r})")
        if not 0 < resolution <= 1:
            raise ValueError(f"LogHistogram.resolution: must be in (0, 1] (got {resolution!r})")
        self.lo = float(lo)
        self.hi = float(hi)
        self.resolution = float(resolution)
        self._inv_log_growth = 1.0 / math.log1p(self.resolution)
        self._counts = np.zeros(self.n_log_buckets + 2, dtype=np.int64)
        self._sum = 0.0
        self._sumsq = 0.0
        self._min = math.inf
        self._max = -math.inf

    @classmethod
    def from_arrays(
        cls,
        counts: ArrayLike,
        *,
        total: float,
        total_sq: float,
        min_value: float,
        max_value: float,
        lo: float = DEFAULT_LO_S,
        hi: float = DEFAULT_HI_S,
        resolution: float = DEFAULT_RESOLUTION,
    ) -> LogHistogram:
        """Build a histogram from bucket counts and moments (a copy is taken).

        Raises
        ------
        ValueError
            If ``counts`` does not have ``n_buckets`` non-negative entries for this layout.
        """
        h = cls(lo=lo, hi=hi, resolution=resolution)
        arr = np.array(counts, dtype=np.int64).reshape(-1)
        if arr.shape != h._counts.shape:
            raise ValueError(f"LogHistogram.counts: must have {h._counts.size} entries (got {arr.size})")
        if (arr < 0).any():
            raise ValueError("LogHistogram.counts: must be >= 0 (got a negative count)")
        h._counts = arr
        h._sum, h._sumsq = float(total), float(total_sq)
        h._min, h._max = (float(min_value), float(max_value)) if arr.any() else (math.inf, -math.inf)
        return h

    @property
    def n_log_buckets(self) -> int:
        """Number of log buckets ``m`` between the underflow and the overflow bucket."""
        return math.ceil(math.log(self.hi / self.lo) * self._inv_log_growth)

    @property
    def n_buckets(self) -> int:
        """Total number of buckets, ``m + 2``."""
        return self.n_log_buckets + 2

    @property
    def growth(self) -> float:
        """Ratio ``g = 1 + resolution`` of consecutive bucket edges."""
        return 1.0 + self.resolution

    @property
    def counts(self) -> NDArray[np.int64]:
        """Bucket counts (a read-only view), underflow first and overflow last."""
        view = self._counts.view()
        view.flags.writeable = False
        return view

    @property
    def edges(self) -> NDArray[np.float64]:
        """The ``n_buckets + 1`` bucket edges, from ``-inf`` to ``inf``."""
        inner = self.lo * self.growth ** np.arange(self.n_log_buckets + 1, dtype=np.float64)
        return np.concatenate(([-math.inf], inner, [math.inf]))

    @property
    def count(self) -> int:
        """Number of values added."""
        return int(self._counts.sum())

    @property
    def sum(self) -> float:
        """Exact sum of the values added."""
        return self._sum

    @property
    def mean(self) -> float:
        """Exact mean, NaN when empty."""
        n = self.count
        return self._sum / n if n else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (``n - 1`` in the denominator) from the running sums, NaN below two values."""
        n = self.count
        if n < 2:
            return math.nan
        return max(0.0, (self._sumsq - self._sum * self._sum / n) / (n - 1))

    @property
    def min(self) -> float:
        """Smallest value added (``inf`` when empty)."""
        return self._min

    @property
    def max(self) -> float:
        """Largest value added (``-inf`` when empty)."""
        return self._max

    def bucket_index(self, values: ArrayLike) -> NDArray[np.int64]:
        """Bucket of each value: 0 below ``lo``, ``m + 1`` from the overflow edge up."""
        x = np.asarray(values, dtype=np.float64)
        out = np.zeros(x.shape, dtype=np.int64)
        above = x >= self.lo
        idx = np.floor(np.log(x[above] * (1.0 / self.lo)) * self._inv_log_growth) + 1.0
        out[above] = np.minimum(idx, self.n_log_buckets + 1).astype(np.int64)
        return out

    def add(self, values: ArrayLike) -> None:
        """Add values (a scalar or an array of any shape).

        Raises
        ------
        ValueError
            If a value is NaN.
        """
        x = np.asarray(values, dtype=np.float64).reshape(-1)
        if x.size == 0:
            return
        if np.isnan(x).any():
            raise ValueError("LogHistogram.add: values must not be NaN (got NaN)")
        np.add.at(self._counts, self.bucket_index(x), 1)
        self._sum += float(x.sum())
        self._sumsq += float(np.dot(x, x))
        self._min = min(self._min, float(x.min()))
        self._max = max(self._max, float(x.max()))

    def merge(self, other: LogHistogram) -> LogHistogram:
        """Return a new histogram holding the values of both.

        Raises
        ------
        ValueError
            If the two histograms do not have the same ``lo``, ``hi`` and ``resolution``.
        """
        if (self.lo, self.hi, self.resolution) != (other.lo, other.hi, other.resolution):
            raise ValueError(f"LogHistogram.merge: layouts differ (got {self!r} and {other!r})")
        return LogHistogram.from_arrays(
            self._counts + other._counts,
            total=self._sum + other._sum,
            total_sq=self._sumsq + other._sumsq,
            min_value=min(self._min, other._min),
            max_value=max(self._max, other._max),
            lo=self.lo,
            hi=self.hi,
            resolution=self.resolution,
        )

    @overload
    def quantile(self, q: float) -> float: ...

    @overload
    def quantile(self, q: ArrayLike) -> NDArray[np.float64] | float: ...

    def quantile(self, q: ArrayLike) -> NDArray[np.float64] | float:
        """Estimate the inverted-CDF quantile(s) ``q`` in [0, 1]; NaN when empty.

        Raises
        ------
        ValueError
            If a ``q`` is outside [0, 1].
        """
        qs = np.asarray(q, dtype=np.float64)
        if ((qs < 0) | (qs > 1) | np.isnan(qs)).any():
            raise ValueError(f"LogHistogram.quantile: q must be in [0, 1] (got {q!r})")
        n = self.count
        if n == 0:
            out = np.full(qs.shape, math.nan)
        else:
            # Same rank rule as numpy's "inverted_cdf": 0-based index ceil(n q - 1), clipped to [0, n-1].
            v = n * qs - 1.0
            fl = np.floor(v)
            rank0 = np.clip(np.where(v == fl, fl, fl + 1.0), 0, n - 1).astype(np.int64)
            bucket = np.searchsorted(np.cumsum(self._counts), rank0 + 1, side="left")
            mid = self.lo * self.growth ** (bucket.astype(np.float64) - 0.5)
            out = np.clip(mid, self._min, self._max)
            out = np.where(bucket == 0, self._min, out)
            out = np.where(bucket == self.n_log_buckets + 1, self._max, out)
            out = np.where(qs == 0.0, self._min, np.where(qs == 1.0, self._max, out))
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        return f"LogHistogram(lo={self.lo!r}, hi={self.hi!r}, resolution={self.resolution!r}, count={self.count})"
