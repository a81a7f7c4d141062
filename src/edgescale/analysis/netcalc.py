"""Deterministic network calculus: arrival and service curves, bounds, tandems.

Curves are wide-sense increasing piecewise-linear functions on ``t >= 0``
(:class:`Curve`), held either exactly (``fractions.Fraction``: bounds reproducible to the
last digit) or as floats. On them:

* constructors: :func:`token_bucket`, :func:`concave_arrival` (min of token buckets),
  :func:`rate_latency`, :func:`convex_service` (max of rate-latency curves);
* min-plus algebra: :func:`convolve`, :func:`deconvolve`, :func:`pointwise_min`,
  :func:`pointwise_max`, :func:`pointwise_sum`, :func:`concatenate`;
* bounds: :func:`horizontal_deviation` (delay), :func:`vertical_deviation` (backlog),
  :func:`busy_period_bound`, :func:`output_arrival_curve`;
* multiplexing: :func:`leftover_blind`, :func:`leftover_fifo`, :func:`greedy_shaper`;
* tandems of rate-latency servers (:class:`Tandem`, :class:`CrossFlow`): :func:`tfa_delay`,
  :func:`sfa_delay`, :func:`sfa_service_curve`, :func:`pmoo_delay`,
  :func:`pmoo_service_curve`.

Every operation is exact for any pair of piecewise-linear curves, not only for the
concave-arrival / convex-service case (which takes faster paths where one exists).

The code is written here, not wrapped: no maintained Python network-calculus library fits.
The PyPI index has none under that name; ``minplus-algebra`` samples functions on a float
grid (no exact curves, deviations or tandem analyses); the reference tools (the Java
DiscoDNC / NCorg DNC, the commercial RTaW-Pegase) are not Python.

Errors
------
:class:`~edgescale.errors.UnstableSystemError`
    the long-term arrival rate exceeds the service rate, so a bound is infinite.
:class:`~edgescale.errors.ModelAssumptionError`
    an input lies outside the model (a negative rate, a decreasing curve, a left-over
    curve that is not wide-sense increasing, ...).

References
----------
.. [LT01] J.-Y. Le Boudec, P. Thiran, *Network Calculus: A Theory of Deterministic Queuing
   Systems for the Internet*, Springer LNCS 2050, 2001.
.. [BT08] A. Bouillard, E. Thierry, "An algorithmic toolbox for network calculus",
   *Discrete Event Dynamic Systems* 18(1), 2008.
.. [SZM08] J. Schmitt, F. Zdarsky, I. Martinovic, "Improving performance bounds in
   feed-forward networks by paying multiplexing only once", MMB 2008.

Examples
--------
>>> from edgescale.analysis.netcalc import horizontal_deviation, rate_latency, token_bucket
>>> horizontal_deviation(token_bucket(1, 2), rate_latency(3, 4))   # T + b/R
Fraction(14, 3)
"""

from __future__ import annotations

from edgescale.analysis._netcalc_bounds import (
    busy_period_bound,
    concatenate,
    convolve,
    deconvolve,
    greedy_shaper,
    horizontal_deviation,
    leftover_blind,
    leftover_fifo,
    output_arrival_curve,
    vertical_deviation,
)
from edgescale.analysis._netcalc_curve import (
    Curve,
    concave_arrival,
    convex_service,
    pointwise_max,
    pointwise_min,
    pointwise_sum,
    rate_latency,
    token_bucket,
)
from edgescale.analysis._netcalc_tandem import (
    CrossFlow,
    Tandem,
    pmoo_delay,
    pmoo_service_curve,
    sfa_delay,
    sfa_service_curve,
    tfa_delay,
)

__all__ = [
    "CrossFlow",
    "Curve",
    "Tandem",
    "busy_period_bound",
    "concatenate",
    "concave_arrival",
    "convex_service",
    "convolve",
    "deconvolve",
    "greedy_shaper",
    "horizontal_deviation",
    "leftover_blind",
    "leftover_fifo",
    "output_arrival_curve",
    "pmoo_delay",
    "pmoo_service_curve",
    "pointwise_max",
    "pointwise_min",
    "pointwise_sum",
    "rate_latency",
    "sfa_delay",
    "sfa_service_curve",
    "tfa_delay",
    "token_bucket",
    "vertical_deviation",
]
