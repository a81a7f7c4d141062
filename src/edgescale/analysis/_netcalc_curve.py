"""Piecewise-linear curves and min-plus operations (private; import from ``netcalc``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from itertools import pairwise
from typing import Any, Generic, cast

import numpy as np
import numpy.typing as npt

from edgescale.analysis import _netcalc_pl as pl
from edgescale.analysis._netcalc_pl import N
from edgescale.errors import ModelAssumptionError

#: Relative tolerance used in float mode to absorb rounding (never used for Fractions).
FLOAT_TOLERANCE = 1e-9


def as_numbers(where: str, values: Sequence[object]) -> list[Any]:
    """Convert to all-``Fraction`` (exact) or, if any value is a float, all-``float``."""
    for v in values:
        if not isinstance(v, numbers.Real):
            raise ModelAssumptionError(f"{where}: must be a real number (got {v!r})")
        if not isinstance(v, numbers.Rational) and not math.isfinite(float(v)):
            raise ModelAssumptionError(f"{where}: must be finite (got {v!r})")
    if all(isinstance(v, numbers.Rational) for v in values):
        return [Fraction(cast(numbers.Rational, v)) for v in values]
    return [float(cast(float, v)) for v in values]


def check_nonnegative(where: str, value: N) -> None:
    """Raise ModelAssumptionError unless ``value >= 0``."""
    if value < 0:
        raise ModelAssumptionError(f"{where}: must be >= 0 (got {value})")


@dataclass(frozen=True, init=False)
class Curve(Generic[N]):
    """A wide-sense increasing, left-continuous piecewise-linear function on ``t >= 0``.

    On the open interval ``(breakpoints[i], breakpoints[i+1])`` (the last one unbounded)
    the curve is ``values[i] + slopes[i] * (t - breakpoints[i])``. So ``values[i]`` is the
    right limit at ``breakpoints[i]``, the value at a breakpoint ``> 0`` is the left limit
    (cumulative functions are left-continuous), and ``value_at_zero`` is the value at 0
    itself, which may lie below ``values[0]``: that jump is the burst of a token bucket.
    Jumps at later breakpoints are allowed too (the FIFO left-over curves have one).

    All numbers are ``fractions.Fraction`` (exact mode: every result is reproducible to the
    last digit; ints are accepted and converted) or all are ``float`` (float mode). Mixing
    a float in makes the whole curve float. The stored form is canonical: breakpoints where
    neither slope nor value changes are dropped, so two exact curves are equal if and only
    if they are the same function.

    Parameters
    ----------
    breakpoints : iterable of numbers
        ``0 = t_0 < t_1 < ...``.
    values : iterable of numbers
        Right limits ``f(t_i+)``, one per breakpoint.
    slopes : iterable of numbers
        Slope after each breakpoint; ``slopes[-1]`` is the final (long-term) slope.
    value_at_zero : number
        ``f(0) <= values[0]``.

    Attributes
    ----------
    breakpoints, values, slopes : tuple
        The canonical form of the parameters (all ``Fraction`` or all ``float``).
    value_at_zero : Fraction or float
        ``f(0)``.

    Raises
    ------
    ModelAssumptionError
        If the arrays disagree in length, the breakpoints do not start at 0 or do not
        increase, a slope is negative, the curve jumps down, or a number is not finite.

    Notes
    -----
    This is the class of functions of [LT01]_ (wide-sense increasing, ``f(t) = 0`` for
    ``t < 0``) restricted to finitely many affine pieces and finite values. In float mode,
    jumps and negative slopes no larger than ``FLOAT_TOLERANCE`` (relative) are taken as
    rounding and removed.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Sections 1.1 and 3.1.

    Examples
    --------
    A token bucket with rate 2 and burst 3, evaluated exactly:

    >>> from fractions import Fraction
    >>> from edgescale.analysis.netcalc import Curve
    >>> c = Curve(breakpoints=(0,), values=(3,), slopes=(2,), value_at_zero=0)
    >>> c(0), c(Fraction(1, 2))
    (Fraction(0, 1), Fraction(4, 1))
    >>> c.evaluate([0.0, 0.5, 1.0])
    array([0., 4., 5.])
    """

    breakpoints: tuple[N, ...]
    values: tuple[N, ...]
    slopes: tuple[N, ...]
    value_at_zero: N

    def __init__(
        self,
        breakpoints: Iterable[N | int],
        values: Iterable[N | int],
        slopes: Iterable[N | int],
        value_at_zero: N | int,
    ) -> None:
        xs: tuple[object, ...] = tuple(breakpoints)
        ys: tuple[object, ...] = tuple(values)
        ss: tuple[object, ...] = tuple(slopes)
        lengths = (len(xs), len(ys), len(ss))
        if lengths[0] == 0 or len(set(lengths)) != 1:
            raise ModelAssumptionError(
                "Curve: breakpoints, values and slopes must be non-empty and of equal length "
                f"(got {lengths[0]}, {lengths[1]}, {lengths[2]})"
            )
        n = lengths[0]
        flat = [*xs, *ys, *ss, value_at_zero]
        nums = as_numbers("Curve", flat)
        raw = pl.PL(nums[-1], tuple(nums[:n]), tuple(nums[n : 2 * n]), tuple(nums[2 * n : 3 * n]))
        raw = _validated(raw)
        object.__setattr__(self, "breakpoints", raw.xs)
        object.__setattr__(self, "values", raw.ys)
        object.__setattr__(self, "slopes", raw.ss)
        object.__setattr__(self, "value_at_zero", raw.zero)

    @classmethod
    def _from_raw(cls, raw: pl.PL[N]) -> Curve[N]:
        """Wrap a raw kernel function (validated again)."""
        return cls(raw.xs, raw.ys, raw.ss, raw.zero)

    @property
    def _raw(self) -> pl.PL[N]:
        return pl.PL(self.value_at_zero, self.breakpoints, self.values, self.slopes)

    @property
    def final_slope(self) -> N:
        """The long-term rate: the slope after the last breakpoint."""
        return self.slopes[-1]

    @property
    def is_exact(self) -> bool:
        """True in exact (``Fraction``) mode."""
        return isinstance(self.value_at_zero, Fraction)

    @property
    def is_concave(self) -> bool:
        """Concave on ``[0, inf)``: no jump after 0 and non-increasing slopes."""
        s = self.slopes
        return pl.jump_free(self._raw) and all(a >= b for a, b in pairwise(s))

    @property
    def is_convex(self) -> bool:
        """Convex on ``[0, inf)``: no jump at all and non-decreasing slopes."""
        s = self.slopes
        continuous = self.value_at_zero == self.values[0] and pl.jump_free(self._raw)
        return continuous and all(a <= b for a, b in pairwise(s))

    def __call__(self, t: N | int) -> N:
        """Value at ``t >= 0`` (the left limit at a breakpoint), exact in exact mode.

        A float ``t`` on an exact curve is converted exactly (``Fraction(t)``).
        Raises ModelAssumptionError for a negative or non-finite ``t``.
        """
        (x,) = as_numbers("Curve(t)", [t])
        arg = cast(N, Fraction(x) if self.is_exact else float(x))
        check_nonnegative("Curve(t): t", arg)
        return pl.value(self._raw, arg)

    def evaluate(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised float evaluation.

        Parameters
        ----------
        t : array_like
            Times, all finite and ``>= 0``.

        Returns
        -------
        numpy.ndarray
            ``f(t)`` as float64, same shape as ``t`` (left limits at breakpoints).

        Raises
        ------
        ModelAssumptionError
            If a time is negative or not finite.

        Examples
        --------
        >>> from edgescale.analysis.netcalc import rate_latency
        >>> rate_latency(2, 1).evaluate([[0.0, 1.0], [2.0, 3.5]])
        array([[0., 0.],
               [2., 5.]])
        """
        ts = np.asarray(t, dtype=np.float64)
        if np.any(ts < 0) or not np.all(np.isfinite(ts)):
            raise ModelAssumptionError("Curve.evaluate: t must be finite and >= 0 (got a bad entry)")
        xs = np.array([float(x) for x in self.breakpoints])
        ys = np.array([float(y) for y in self.values])
        ss = np.array([float(s) for s in self.slopes])
        i = np.maximum(np.searchsorted(xs, ts, side="left") - 1, 0)
        out = ys[i] + ss[i] * (ts - xs[i])
        return np.where(ts == 0, float(self.value_at_zero), out)

    def to_float(self) -> Curve[float]:
        """The same curve in float mode.

        Returns
        -------
        Curve
            Every number converted with ``float``.

        Examples
        --------
        >>> from edgescale.analysis.netcalc import token_bucket
        >>> token_bucket(1, 2).to_float().values
        (2.0,)
        """
        conv = [float(v) for v in (*self.breakpoints, *self.values, *self.slopes)]
        n = len(self.breakpoints)
        return Curve(tuple(conv[:n]), tuple(conv[n : 2 * n]), tuple(conv[2 * n :]), float(self.value_at_zero))


def _validated(raw: pl.PL[N]) -> pl.PL[N]:
    """Check the curve rules; in float mode snap rounding-sized violations first."""
    if raw.xs[0] != 0:
        raise ModelAssumptionError(f"Curve.breakpoints: must start at 0 (got {raw.xs[0]})")
    if any(b <= a for a, b in zip(raw.xs, raw.xs[1:], strict=False)):
        raise ModelAssumptionError(f"Curve.breakpoints: must be strictly increasing (got {raw.xs})")
    if isinstance(raw.zero, float):
        raw = _snapped(raw)
    for i, s in enumerate(raw.ss):
        if s < 0:
            raise ModelAssumptionError(f"Curve.slopes[{i}]: must be >= 0 (got {s})")
    if raw.zero > raw.ys[0]:
        raise ModelAssumptionError(
            f"Curve.value_at_zero: must be <= values[0] (got {raw.zero} > {raw.ys[0]})"
        )
    for i in range(1, len(raw.xs)):
        if raw.ys[i] < pl.left_limit(raw, i):
            raise ModelAssumptionError(
                f"Curve.values[{i}]: must not jump down (got {raw.ys[i]} after {pl.left_limit(raw, i)} "
                f"at t={raw.xs[i]}); curves must be wide-sense increasing"
            )
    return pl.make(raw.zero, list(zip(raw.xs, raw.ys, raw.ss, strict=True)))


def _snapped(raw: pl.PL[N]) -> pl.PL[N]:
    """Float mode: zero tiny negative slopes and close rounding-sized jumps."""

    def tol(v: N) -> float:
        return FLOAT_TOLERANCE * max(1.0, abs(float(v)))

    ss = tuple(s - s if -tol(s) <= s < 0 else s for s in raw.ss)
    ys = list(raw.ys)
    for i in range(1, len(ys)):
        before = ys[i - 1] + ss[i - 1] * (raw.xs[i] - raw.xs[i - 1])
        if abs(ys[i] - before) <= tol(before):
            ys[i] = before
    zero = ys[0] if 0 < raw.zero - ys[0] <= tol(ys[0]) else raw.zero
    return pl.PL(zero, raw.xs, tuple(ys), ss)


def aligned(*curves: Curve[N]) -> list[Curve[N]]:
    """Bring curves to one number mode (float wins if any curve is float)."""
    if all(c.is_exact for c in curves) or not any(c.is_exact for c in curves):
        return list(curves)
    converted: list[Any] = [c.to_float() for c in curves]
    return converted


# --------------------------------------------------------------------------- constructors


def token_bucket(rate: N | int, burst: N | int) -> Curve[N]:
    r"""Token-bucket (affine) arrival curve :math:`\gamma_{r,b}`.

    Parameters
    ----------
    rate : Fraction, int or float
        Sustained rate ``r >= 0`` (data per time unit).
    burst : Fraction, int or float
        Burst tolerance ``b >= 0`` (data).

    Returns
    -------
    Curve
        :math:`\gamma_{r,b}(t) = b + r t` for ``t > 0`` and ``0`` at ``t = 0``.

    Raises
    ------
    ModelAssumptionError
        If ``rate`` or ``burst`` is negative or not finite.

    Notes
    -----
    A flow whose cumulative arrivals satisfy ``A(t) - A(s) <= b + r (t - s)`` is exactly
    the output of a leaky-bucket controller with rate ``r`` and bucket size ``b``.

    References
    ----------
    .. [LT01] J.-Y. Le Boudec, P. Thiran, *Network Calculus*, Springer LNCS 2050, 2001,
       Section 1.2.2.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import token_bucket
    >>> g = token_bucket(2, 3)
    >>> g(0), g(1)
    (Fraction(0, 1), Fraction(5, 1))
    >>> token_bucket(2.0, 3).final_slope
    2.0
    """
    r, b = as_numbers("token_bucket", [rate, burst])
    check_nonnegative("token_bucket: rate", r)
    check_nonnegative("token_bucket: burst", b)
    return Curve((r - r,), (b,), (r,), r - r)


def concave_arrival(buckets: Iterable[tuple[N | int, N | int]]) -> Curve[N]:
    r"""Concave piecewise-linear arrival curve :math:`\min_i \gamma_{r_i, b_i}`.

    Parameters
    ----------
    buckets : iterable of (rate, burst)
        One or more token buckets, e.g. ``[(peak, max_packet), (sustained, burst)]`` for
        an IntServ T-SPEC.

    Returns
    -------
    Curve
        The pointwise minimum: concave, ``0`` at ``t = 0``.

    Raises
    ------
    ModelAssumptionError
        If ``buckets`` is empty or a rate or burst is negative.

    Notes
    -----
    Every concave piecewise-linear function with ``f(0) = 0`` on ``t > 0`` is such a
    minimum; buckets that never attain the minimum are dropped from the canonical form.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 1.2 (T-SPEC arrival curves).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import concave_arrival
    >>> a = concave_arrival([(10, 1), (1, 10)])   # peak 10, packet 1; rate 1, burst 10
    >>> a.breakpoints, a.values, a.slopes
    ((Fraction(0, 1), Fraction(1, 1)), (Fraction(1, 1), Fraction(11, 1)), (Fraction(10, 1), Fraction(1, 1)))
    """
    items = list(buckets)
    if not items:
        raise ModelAssumptionError("concave_arrival: buckets must not be empty (got [])")
    nums = as_numbers("concave_arrival", [x for pair in items for x in pair])
    curves = [token_bucket(nums[2 * i], nums[2 * i + 1]) for i in range(len(items))]
    return pointwise_min(*curves)


def rate_latency(rate: N | int, latency: N | int) -> Curve[N]:
    r"""Rate-latency service curve :math:`\beta_{R,T}(t) = R [t - T]^+`.

    Parameters
    ----------
    rate : Fraction, int or float
        Service rate ``R >= 0``.
    latency : Fraction, int or float
        Latency ``T >= 0``.

    Returns
    -------
    Curve
        Convex, ``0`` on ``[0, T]`` then slope ``R``.

    Raises
    ------
    ModelAssumptionError
        If ``rate`` or ``latency`` is negative or not finite.

    Notes
    -----
    A GPS or guaranteed-rate scheduler with rate ``R`` and latency ``T`` offers this curve;
    rate-latency curves are strict for a constant-rate server with vacations of length ``T``.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 1.3.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import rate_latency
    >>> b = rate_latency(3, 4)
    >>> b(4), b(6)
    (Fraction(0, 1), Fraction(6, 1))
    """
    r, t = as_numbers("rate_latency", [rate, latency])
    check_nonnegative("rate_latency: rate", r)
    check_nonnegative("rate_latency: latency", t)
    zero = r - r
    if t == 0:
        return Curve((zero,), (zero,), (r,), zero)
    return Curve((zero, t), (zero, zero), (zero, r), zero)


def convex_service(pairs: Iterable[tuple[N | int, N | int]]) -> Curve[N]:
    r"""Convex piecewise-linear service curve :math:`\max_i \beta_{R_i, T_i}`.

    Parameters
    ----------
    pairs : iterable of (rate, latency)
        One or more rate-latency curves.

    Returns
    -------
    Curve
        The pointwise maximum: convex, ``0`` at ``t = 0``.

    Raises
    ------
    ModelAssumptionError
        If ``pairs`` is empty or a rate or latency is negative.

    Notes
    -----
    Every convex piecewise-linear function with ``f(0) = 0`` that is ``0`` on an initial
    interval and wide-sense increasing is such a maximum.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 3.1 (convex functions).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import convex_service
    >>> b = convex_service([(1, 0), (3, 2)])
    >>> b(1), b(2), b(4)
    (Fraction(1, 1), Fraction(2, 1), Fraction(6, 1))
    """
    items = list(pairs)
    if not items:
        raise ModelAssumptionError("convex_service: pairs must not be empty (got [])")
    nums = as_numbers("convex_service", [x for pair in items for x in pair])
    curves = [rate_latency(nums[2 * i], nums[2 * i + 1]) for i in range(len(items))]
    return pointwise_max(*curves)


# --------------------------------------------------------------------------- pointwise


def pointwise_min(first: Curve[N], *others: Curve[N]) -> Curve[N]:
    """Pointwise minimum of one or more curves.

    Parameters
    ----------
    first, *others : Curve
        The curves (mixed modes are converted to float).

    Returns
    -------
    Curve
        ``t -> min_i f_i(t)``, crossing points included exactly.

    Raises
    ------
    ModelAssumptionError
        Never for valid curves (the minimum of increasing curves is increasing).

    Notes
    -----
    Computed as a lower envelope: on each interval between breakpoints of the inputs the
    minimum of the affine pieces, with their crossings as new breakpoints.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 3.1.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import pointwise_min, token_bucket
    >>> pointwise_min(token_bucket(3, 0), token_bucket(1, 4)).breakpoints
    (Fraction(0, 1), Fraction(2, 1))
    """
    curves = aligned(first, *others)
    return Curve._from_raw(reduce(pl.lower, (c._raw for c in curves)))


def pointwise_max(first: Curve[N], *others: Curve[N]) -> Curve[N]:
    """Pointwise maximum of one or more curves.

    Parameters
    ----------
    first, *others : Curve
        The curves (mixed modes are converted to float).

    Returns
    -------
    Curve
        ``t -> max_i f_i(t)``.

    Raises
    ------
    ModelAssumptionError
        Never for valid curves.

    Notes
    -----
    Computed as an upper envelope of the affine pieces, as for :func:`pointwise_min`.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 3.1.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import pointwise_max, rate_latency
    >>> pointwise_max(rate_latency(1, 0), rate_latency(2, 1))(3)
    Fraction(4, 1)
    """
    curves = aligned(first, *others)
    return Curve._from_raw(reduce(pl.upper, (c._raw for c in curves)))


def pointwise_sum(first: Curve[N], *others: Curve[N]) -> Curve[N]:
    """Pointwise sum of one or more curves (the arrival curve of an aggregate).

    Parameters
    ----------
    first, *others : Curve
        The curves (mixed modes are converted to float).

    Returns
    -------
    Curve
        ``t -> sum_i f_i(t)``.

    Raises
    ------
    ModelAssumptionError
        Never for valid curves.

    Notes
    -----
    If flow ``i`` has arrival curve ``a_i``, the aggregate has arrival curve ``sum_i a_i``.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 1.2.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import pointwise_sum, token_bucket
    >>> pointwise_sum(token_bucket(1, 2), token_bucket(3, 4)) == token_bucket(4, 6)
    True
    """
    curves = aligned(first, *others)
    return Curve._from_raw(reduce(pl.add, (c._raw for c in curves)))
