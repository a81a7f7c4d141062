"""Min-plus operations, bounds and multiplexing on curves (private; import from ``netcalc``)."""

from __future__ import annotations

from fractions import Fraction
from functools import reduce

from edgescale.analysis import _netcalc_pl as pl
from edgescale.analysis._netcalc_curve import Curve, aligned, as_numbers, check_nonnegative, pointwise_min
from edgescale.analysis._netcalc_pl import N
from edgescale.errors import ModelAssumptionError, UnstableSystemError


def _unstable(where: str, alpha: Curve[N], beta: Curve[N]) -> UnstableSystemError:
    """The error for a long-term arrival rate above the service rate."""
    if alpha.final_slope > beta.final_slope:
        rule, got = (
            "long-term arrival rate must not exceed the service rate",
            f"{alpha.final_slope} > {beta.final_slope}",
        )
    else:
        rule, got = (
            "the service curve must eventually reach the arrival curve",
            f"bounded service {beta.values[-1]}",
        )
    return UnstableSystemError(f"{where}: {rule} (got {got}); the bound is infinite")


# --------------------------------------------------------------------------- min-plus


def convolve(f: Curve[N], g: Curve[N]) -> Curve[N]:
    r"""Min-plus convolution :math:`(f \otimes g)(t) = \inf_{0 \le s \le t} f(t-s) + g(s)`.

    Parameters
    ----------
    f, g : Curve
        Any two curves (mixed modes are converted to float).

    Returns
    -------
    Curve
        The exact convolution.

    Raises
    ------
    ModelAssumptionError
        Never for valid curves: the general case is computed, not refused.

    Notes
    -----
    Three algorithms, chosen by shape:

    * both concave with ``f(0) = g(0) = 0``: :math:`f \otimes g = f \wedge g`;
    * both convex with ``f(0) = g(0) = 0``: the segments of both, sorted by increasing
      slope and laid end to end;
    * otherwise the segment-wise algorithm: for fixed ``t`` the infimum is attained at
      ``s`` on a breakpoint of ``g`` or ``t - s`` on a breakpoint of ``f``, so the result
      is the lower envelope of shifted copies of ``f`` and ``g``.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 3.1.
    .. [BT08] A. Bouillard, E. Thierry, "An algorithmic toolbox for network calculus",
       *Discrete Event Dynamic Systems* 18(1), 2008.

    Examples
    --------
    Concatenating two rate-latency servers gives the smaller rate and the summed latency:

    >>> from edgescale.analysis.netcalc import convolve, rate_latency
    >>> convolve(rate_latency(2, 1), rate_latency(3, 4)) == rate_latency(2, 5)
    True
    """
    f, g = aligned(f, g)
    if f.value_at_zero == 0 and g.value_at_zero == 0:
        if f.is_concave and g.is_concave:
            return pointwise_min(f, g)
        if f.is_convex and g.is_convex:
            return Curve._from_raw(pl.convex_conv(f._raw, g._raw))
    return Curve._from_raw(pl.conv(f._raw, g._raw))


def deconvolve(f: Curve[N], g: Curve[N]) -> Curve[N]:
    r"""Min-plus deconvolution :math:`(f \oslash g)(t) = \sup_{u \ge 0} f(t+u) - g(u)`.

    Parameters
    ----------
    f : Curve
        Typically an arrival curve.
    g : Curve
        Typically a service curve.

    Returns
    -------
    Curve
        The exact deconvolution; its value at 0 is :math:`\sup_u f(u) - g(u)`.

    Raises
    ------
    UnstableSystemError
        If ``f.final_slope > g.final_slope`` (the supremum is infinite).
    ModelAssumptionError
        If the result is not wide-sense increasing (cannot happen for curves).

    Notes
    -----
    For fixed ``t`` the supremum is attained (or approached from the right) at ``u`` on a
    breakpoint of ``g`` or with ``t + u`` on a breakpoint of ``f``; the result is the upper
    envelope of those copies. The concave-arrival / convex-service case is the usual one.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Sections 1.4.1 and 3.1.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import deconvolve, rate_latency, token_bucket
    >>> out = deconvolve(token_bucket(1, 2), rate_latency(3, 4))
    >>> out.value_at_zero, out.values, out.slopes
    (Fraction(6, 1), (Fraction(6, 1),), (Fraction(1, 1),))
    """
    f, g = aligned(f, g)
    raw = pl.deconv(f._raw, g._raw)
    if raw is None:
        raise _unstable("deconvolve", f, g)
    return Curve._from_raw(raw)


def concatenate(first: Curve[N], *others: Curve[N]) -> Curve[N]:
    r"""End-to-end service curve of servers in sequence: :math:`\beta_1 \otimes \beta_2 \otimes \dots`.

    Parameters
    ----------
    first, *others : Curve
        Service curves of the servers, in path order (the order does not matter).

    Returns
    -------
    Curve
        The convolution of all of them.

    Raises
    ------
    ModelAssumptionError
        Never for valid curves.

    Notes
    -----
    Bounding the delay once against the concatenation "pays the burst only once" and is
    never worse than summing per-hop bounds with the arrival curve propagated hop by hop.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorem 1.4.6 and Section 1.4.3.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import concatenate, rate_latency
    >>> concatenate(rate_latency(5, 1), rate_latency(2, 3), rate_latency(4, 0)) == rate_latency(2, 4)
    True
    """
    curves = aligned(first, *others)
    return reduce(convolve, curves)


# --------------------------------------------------------------------------- bounds


def horizontal_deviation(alpha: Curve[N], beta: Curve[N]) -> N:
    r"""Delay bound :math:`h(\alpha, \beta) = \sup_t \inf\{d \ge 0: \alpha(t) \le \beta(t+d)\}`.

    Parameters
    ----------
    alpha : Curve
        Arrival curve of the flow.
    beta : Curve
        Service curve of the system.

    Returns
    -------
    Fraction or float
        The exact horizontal deviation (a Fraction in exact mode).

    Raises
    ------
    UnstableSystemError
        If ``alpha.final_slope > beta.final_slope`` or ``beta`` never reaches ``alpha``.

    Notes
    -----
    On every interval between breakpoints of ``alpha`` and the times at which ``alpha``
    crosses the value of ``beta`` at one of its breakpoints, the lag
    :math:`\beta^{-1}(\alpha(t)) - t` is affine; the supremum is the largest one-sided
    limit at those points. Exact for any pair of curves, in particular concave arrival
    versus convex service, where it is attained at a breakpoint.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorem 1.4.2 (delay bound).

    Examples
    --------
    Token bucket through rate-latency: :math:`T + b/R`.

    >>> from edgescale.analysis.netcalc import horizontal_deviation, rate_latency, token_bucket
    >>> horizontal_deviation(token_bucket(1, 2), rate_latency(3, 4))
    Fraction(14, 3)
    """
    alpha, beta = aligned(alpha, beta)
    d = pl.hdev(alpha._raw, beta._raw)
    if d is None:
        raise _unstable("horizontal_deviation", alpha, beta)
    return d


def vertical_deviation(alpha: Curve[N], beta: Curve[N]) -> N:
    r"""Backlog bound :math:`v(\alpha, \beta) = \sup_{t \ge 0} \alpha(t) - \beta(t)`.

    Parameters
    ----------
    alpha : Curve
        Arrival curve of the flow.
    beta : Curve
        Service curve of the system.

    Returns
    -------
    Fraction or float
        The exact vertical deviation.

    Raises
    ------
    UnstableSystemError
        If ``alpha.final_slope > beta.final_slope``.

    Notes
    -----
    The difference is affine between the union of breakpoints, so the supremum is the
    largest left or right limit there.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorem 1.4.1 (backlog bound).

    Examples
    --------
    Token bucket through rate-latency: :math:`b + rT`.

    >>> from edgescale.analysis.netcalc import rate_latency, token_bucket, vertical_deviation
    >>> vertical_deviation(token_bucket(1, 2), rate_latency(3, 4))
    Fraction(6, 1)
    """
    alpha, beta = aligned(alpha, beta)
    v = pl.vdev(alpha._raw, beta._raw)
    if v is None:
        raise _unstable("vertical_deviation", alpha, beta)
    return v


def busy_period_bound(alpha: Curve[N], beta: Curve[N]) -> N:
    r"""Longest backlogged period: :math:`\inf\{t > 0: \alpha(t) \le \beta(t)\}`.

    Parameters
    ----------
    alpha : Curve
        Arrival curve of the *aggregate* of all flows at the server.
    beta : Curve
        *Strict* service curve of the server.

    Returns
    -------
    Fraction or float
        Upper bound on the length of any backlogged period, hence on the delay of every
        bit of every flow whatever the scheduling between flows.

    Raises
    ------
    UnstableSystemError
        If ``alpha`` stays above ``beta`` for ever.

    Notes
    -----
    In a backlogged period of length ``L`` starting at ``s`` the strict service curve gives
    :math:`\beta(u) \le R^*(s+u) - R^*(s) < R(s+u) - R(s) \le \alpha(u)` for all ``u < L``,
    so ``L`` is at most the first time ``beta`` catches up with ``alpha``. For token-bucket
    aggregates and rate-latency servers this is :math:`(b + R T) / (R - r)`, the per-server
    delay bound the DiscoDNC uses for total flow analysis under arbitrary multiplexing.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Definition 1.3.2 (strict service curve).
    .. [BS16] S. Bondorf, J. Schmitt, the DiscoDNC (``Delay.deriveARB``), networkcalculus.org.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import busy_period_bound, rate_latency, token_bucket
    >>> busy_period_bound(token_bucket(1, 2), rate_latency(3, 4))
    Fraction(7, 1)
    """
    alpha, beta = aligned(alpha, beta)
    t = pl.first_crossing(alpha._raw, beta._raw)
    if t is None:
        raise UnstableSystemError(
            "busy_period_bound: service must eventually catch up with arrivals "
            f"(got arrival rate {alpha.final_slope} >= service rate {beta.final_slope}); "
            "the backlogged period is unbounded"
        )
    return t


def output_arrival_curve(alpha: Curve[N], beta: Curve[N]) -> Curve[N]:
    r"""Arrival curve of the output: :math:`\alpha \oslash \beta`, reset to 0 at ``t = 0``.

    Parameters
    ----------
    alpha : Curve
        Arrival curve of the input.
    beta : Curve
        Service curve of the system.

    Returns
    -------
    Curve
        :math:`(\alpha \oslash \beta)(t)` for ``t > 0`` and ``0`` at ``t = 0`` (any arrival
        curve may be set to 0 at 0, since ``A(t) - A(t) = 0``).

    Raises
    ------
    UnstableSystemError
        If ``alpha.final_slope > beta.final_slope``.

    Notes
    -----
    For :math:`\gamma_{r,b}` through :math:`\beta_{R,T}` with ``r <= R`` the output is
    :math:`\gamma_{r, b + rT}`.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorem 1.4.3 (output flow).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import output_arrival_curve, rate_latency, token_bucket
    >>> output_arrival_curve(token_bucket(1, 2), rate_latency(3, 4)) == token_bucket(1, 6)
    True
    """
    out = deconvolve(alpha, beta)
    zero = out.value_at_zero - out.value_at_zero
    return Curve(out.breakpoints, out.values, out.slopes, zero)


# --------------------------------------------------------------------------- multiplexing


def leftover_blind(beta: Curve[N], cross: Curve[N]) -> Curve[N]:
    r"""Left-over service curve under blind (arbitrary) multiplexing: :math:`[\beta - \alpha_c]^+`.

    Parameters
    ----------
    beta : Curve
        *Strict* service curve of the server for the aggregate.
    cross : Curve
        Arrival curve of all the other (cross) flows together.

    Returns
    -------
    Curve
        A service curve for the flow of interest, whatever the scheduling.

    Raises
    ------
    ModelAssumptionError
        If :math:`[\beta - \alpha_c]^+` is not wide-sense increasing (the theorem requires
        it; a convex ``beta`` and a concave ``cross`` with ``cross(0) = 0`` always qualify).

    Notes
    -----
    For :math:`\beta_{R,T}` and :math:`\gamma_{r,b}` with ``r <= R`` this is the rate-latency
    curve :math:`\beta_{R-r, (b + RT)/(R - r)}`. If ``cross`` has rate above ``R`` the result
    is the zero curve, and any delay bound through it raises ``UnstableSystemError``.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorem 6.2.1 (blind multiplexing).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import leftover_blind, rate_latency, token_bucket
    >>> leftover_blind(rate_latency(3, 4), token_bucket(1, 2)) == rate_latency(2, 7)
    True
    """
    beta, cross = aligned(beta, cross)
    raw = pl.clip(pl.add(beta._raw, pl.neg(cross._raw)))
    return _increasing_or_raise("leftover_blind", raw)


def leftover_fifo(beta: Curve[N], cross: Curve[N], theta: N | int) -> Curve[N]:
    r"""FIFO left-over service curve :math:`[\beta(t) - \alpha_c(t - \theta)]^+ 1_{t > \theta}`.

    Parameters
    ----------
    beta : Curve
        Service curve of the FIFO server for the aggregate (need not be strict).
    cross : Curve
        Arrival curve of the cross traffic.
    theta : Fraction, int or float
        The free parameter ``theta >= 0`` of the family; every value gives a valid curve.

    Returns
    -------
    Curve
        A service curve for the flow of interest. It jumps at ``theta`` when
        ``beta(theta) > cross(0+)``.

    Raises
    ------
    ModelAssumptionError
        If ``theta < 0`` or the result is not wide-sense increasing (the theorem needs it).

    Notes
    -----
    For :math:`\beta_{R,T}` and :math:`\gamma_{r,b}`, ``theta = T + b/R`` gives the
    rate-latency curve :math:`\beta_{R-r, T + b/R}`; larger ``theta`` give curves with a jump,
    which can yield smaller delay bounds (down to the aggregate FIFO bound).

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 6.2.2 (FIFO minimum service
       curves).

    Examples
    --------
    >>> from fractions import Fraction
    >>> from edgescale.analysis.netcalc import leftover_fifo, rate_latency, token_bucket
    >>> lo = leftover_fifo(rate_latency(3, 4), token_bucket(1, 2), Fraction(14, 3))
    >>> lo == rate_latency(2, Fraction(14, 3))
    True
    """
    (th,) = as_numbers("leftover_fifo: theta", [theta])
    check_nonnegative("leftover_fifo: theta", th)
    beta, cross = aligned(beta, cross)
    th = Fraction(th) if beta.is_exact else float(th)  # a float theta is taken exactly, as in Curve(t)
    raw = pl.clip(pl.delayed_difference(beta._raw, cross._raw, th))
    return _increasing_or_raise("leftover_fifo", raw)


def _increasing_or_raise(where: str, raw: pl.PL[N]) -> Curve[N]:
    """Wrap a left-over curve, explaining a non-increasing one."""
    try:
        return Curve._from_raw(raw)
    except ModelAssumptionError as e:
        raise ModelAssumptionError(
            f"{where}: left-over curve must be wide-sense increasing (got {raw.ys} with slopes {raw.ss}); "
            "use a convex service curve and a concave cross-traffic arrival curve with value 0 at 0"
        ) from e


def greedy_shaper(alpha: Curve[N], sigma: Curve[N]) -> Curve[N]:
    r"""Arrival curve of the output of a greedy shaper: :math:`\alpha \wedge \sigma`.

    Parameters
    ----------
    alpha : Curve
        Arrival curve of the shaper's input.
    sigma : Curve
        Shaping curve; must satisfy ``sigma(0) = 0`` and be sub-additive (a concave
        ``sigma`` with ``sigma(0) = 0`` is).

    Returns
    -------
    Curve
        The output is both ``sigma``-smooth and ``alpha``-smooth.

    Raises
    ------
    ModelAssumptionError
        If ``sigma(0) != 0``.

    Notes
    -----
    The shaper's output is :math:`R^* = \sigma \otimes R` and is :math:`\sigma`-smooth; since
    :math:`R \le R \otimes \alpha` the output also satisfies :math:`R^* \le R^* \otimes \alpha`,
    hence :math:`R^* \le R^* \otimes (\alpha \wedge \sigma)`. The delay the shaper adds is
    at most ``horizontal_deviation(alpha, sigma)`` and it never increases the end-to-end
    delay bound when ``alpha <= sigma`` is restored downstream ("re-shaping is for free").

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Section 1.5 (greedy shapers).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import greedy_shaper, token_bucket
    >>> out = greedy_shaper(token_bucket(1, 10), token_bucket(5, 1))
    >>> out(1), out(10)
    (Fraction(6, 1), Fraction(20, 1))
    """
    alpha, sigma = aligned(alpha, sigma)
    if sigma.value_at_zero != 0:
        raise ModelAssumptionError(
            f"greedy_shaper: shaping curve must be 0 at t=0 (got {sigma.value_at_zero})"
        )
    return pointwise_min(alpha, sigma)
