"""Tandem analyses TFA, SFA and PMOO (private; import from ``netcalc``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from edgescale.analysis import _netcalc_pl as pl
from edgescale.analysis._netcalc_bounds import (
    busy_period_bound,
    concatenate,
    horizontal_deviation,
    leftover_blind,
    output_arrival_curve,
)
from edgescale.analysis._netcalc_curve import (
    Curve,
    as_numbers,
    check_nonnegative,
    pointwise_sum,
    rate_latency,
    token_bucket,
)
from edgescale.analysis._netcalc_pl import N
from edgescale.errors import ModelAssumptionError, UnstableSystemError


@dataclass(frozen=True, init=False)
class CrossFlow(Generic[N]):
    """A token-bucket cross flow that crosses servers ``first`` to ``last`` of a tandem.

    Attributes
    ----------
    rate, burst : Fraction, int or float
        Token bucket :math:`\\gamma_{r,b}` of the flow where it enters the tandem.
    first, last : int
        Indices of the first and last server it crosses (inclusive, ``first <= last``).

    Notes
    -----
    ``first`` and ``last`` are checked against the tandem by :class:`Tandem`.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import CrossFlow
    >>> CrossFlow(rate=1, burst=2, first=0, last=1).last
    1
    """

    rate: N
    burst: N
    first: int
    last: int

    def __init__(self, rate: N | int, burst: N | int, first: int, last: int) -> None:
        r, b = as_numbers("CrossFlow", [rate, burst])
        object.__setattr__(self, "rate", r)
        object.__setattr__(self, "burst", b)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "last", last)


@dataclass(frozen=True, init=False)
class Tandem(Generic[N]):
    """A line of rate-latency servers, a flow of interest through all of them, cross flows.

    Every server offers a *strict* rate-latency service curve to the aggregate of the
    flows crossing it and multiplexes them blindly (no assumption on the order of service).
    Numbers are converted together: all ``Fraction`` (exact) unless any is a float.

    Attributes
    ----------
    servers : tuple of (rate, latency)
        :math:`\\beta_{R_k, T_k}` for each server, in path order; ``R_k > 0``, ``T_k >= 0``.
    foi : (rate, burst)
        Token bucket of the flow of interest at the entrance of server 0.
    cross : tuple of CrossFlow
        The cross flows, with their token buckets at their own entrance.

    Raises
    ------
    ModelAssumptionError
        If there is no server, a number is negative (or a rate is 0), or a cross flow's
        ``first``/``last`` do not satisfy ``0 <= first <= last < len(servers)``.

    Notes
    -----
    Stability is not checked here but by each analysis, which raises
    ``UnstableSystemError`` naming the server where its bound becomes infinite.

    References
    ----------
    .. [SZM08] J. Schmitt, F. Zdarsky, I. Martinovic, "Improving performance bounds in
       feed-forward networks by paying multiplexing only once", MMB 2008 (the tandem model).

    Examples
    --------
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> t.servers[1]
    (Fraction(10, 1), Fraction(1, 1))
    """

    servers: tuple[tuple[N, N], ...]
    foi: tuple[N, N]
    cross: tuple[CrossFlow[N], ...]

    def __init__(
        self,
        servers: Iterable[tuple[N | int, N | int]],
        foi: tuple[N | int, N | int],
        cross: Iterable[CrossFlow[N]] = (),
    ) -> None:
        servers, cross = list(servers), list(cross)
        if not servers:
            raise ModelAssumptionError("Tandem.servers: must not be empty (got 0 servers)")
        flat: list[Any] = [x for s in servers for x in s] + list(foi)
        flat += [x for c in cross for x in (c.rate, c.burst)]
        nums = as_numbers("Tandem", flat)
        n = len(servers)
        object.__setattr__(self, "servers", tuple((nums[2 * k], nums[2 * k + 1]) for k in range(n)))
        object.__setattr__(self, "foi", (nums[2 * n], nums[2 * n + 1]))
        rest = nums[2 * n + 2 :]
        flows = tuple(CrossFlow(rest[2 * i], rest[2 * i + 1], c.first, c.last) for i, c in enumerate(cross))
        object.__setattr__(self, "cross", flows)
        self._check()

    def _check(self) -> None:
        """Local value checks, one message per rule."""
        for k, (rate, latency) in enumerate(self.servers):
            if rate <= 0:
                raise ModelAssumptionError(f"Tandem.servers[{k}].rate: must be > 0 (got {rate})")
            check_nonnegative(f"Tandem.servers[{k}].latency", latency)
        check_nonnegative("Tandem.foi.rate", self.foi[0])
        check_nonnegative("Tandem.foi.burst", self.foi[1])
        n = len(self.servers)
        for i, c in enumerate(self.cross):
            check_nonnegative(f"Tandem.cross[{i}].rate", c.rate)
            check_nonnegative(f"Tandem.cross[{i}].burst", c.burst)
            if not 0 <= c.first <= c.last < n:
                raise ModelAssumptionError(
                    f"Tandem.cross[{i}]: must satisfy 0 <= first <= last < {n} "
                    f"(got first={c.first}, last={c.last})"
                )


def _flows(tandem: Tandem[N]) -> list[CrossFlow[N]]:
    """All flows, the flow of interest first (it crosses every server)."""
    foi = CrossFlow(tandem.foi[0], tandem.foi[1], 0, len(tandem.servers) - 1)
    flows: list[CrossFlow[N]] = [foi]
    flows.extend(tandem.cross)
    return flows


def _present(flows: Sequence[CrossFlow[N]], k: int) -> list[int]:
    """Indices of the flows that cross server ``k``."""
    return [i for i, f in enumerate(flows) if f.first <= k <= f.last]


def _nothing(tandem: Tandem[N]) -> Curve[N]:
    """The zero arrival curve in the tandem's number mode."""
    zero = tandem.foi[0] - tandem.foi[0]
    return token_bucket(zero, zero)


def _unstable_at(where: str, tandem: Tandem[N], k: int, e: UnstableSystemError) -> UnstableSystemError:
    """Re-raise an unstable bound with the server it happened at."""
    rate = tandem.servers[k][0]
    load = sum((f.rate for f in _flows(tandem) if f.first <= k <= f.last), rate - rate)
    return UnstableSystemError(
        f"{where}: servers[{k}]: bound is infinite (got total rate {load} for server rate {rate}); {e}",
        station=f"servers[{k}]",
        utilization=float(load / rate),
    )


def tfa_delay(tandem: Tandem[N]) -> N:
    """End-to-end delay bound of the flow of interest by Total Flow Analysis (TFA).

    Parameters
    ----------
    tandem : Tandem
        Servers, flow of interest and cross flows.

    Returns
    -------
    Fraction or float
        Sum over the servers of the per-server bound for the aggregate.

    Raises
    ------
    UnstableSystemError
        If at some server the aggregate rate reaches the server rate (the backlogged
        period, hence the bound, is infinite).

    Notes
    -----
    Server by server: the per-server delay bound ``D_k`` is the longest backlogged period
    (:func:`busy_period_bound`) of the aggregate of all flows present, which bounds the
    delay of every bit under blind multiplexing with a strict service curve; for token
    buckets it is :math:`(R_k T_k + \\sum b) / (R_k - \\sum r)`. Each flow leaves server ``k``
    with arrival curve :math:`\\alpha(t + D_k)` (burst grows by ``r D_k``). The bound is
    :math:`\\sum_k D_k`.

    With FIFO servers one could use the horizontal deviation of the aggregate instead;
    under blind multiplexing that is not a bound for an individual flow.

    References
    ----------
    .. [SZ06] J. Schmitt, F. Zdarsky, "The DISCO network calculator: a toolbox for worst
       case analysis", ValueTools 2006.
    .. [BS16] S. Bondorf, J. Schmitt, DiscoDNC ``TotalFlowAnalysis`` with ``Delay.deriveARB``.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem, tfa_delay
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> tfa_delay(t)
    Fraction(34, 7)
    """
    flows = _flows(tandem)
    arrivals = [token_bucket(f.rate, f.burst) for f in flows]
    total = tandem.foi[0] - tandem.foi[0]
    for k, (rate, latency) in enumerate(tandem.servers):
        here = _present(flows, k)
        aggregate = pointwise_sum(*(arrivals[i] for i in here))
        try:
            d = busy_period_bound(aggregate, rate_latency(rate, latency))
        except UnstableSystemError as e:
            raise _unstable_at("tfa_delay", tandem, k, e) from e
        total += d
        for i in here:
            arrivals[i] = _advanced(arrivals[i], d)
    return total


def _advanced(alpha: Curve[N], d: N) -> Curve[N]:
    """Arrival curve of a flow after a delay of at most ``d``: ``alpha(t + d)``, 0 at 0."""
    raw = pl.advance(alpha._raw, d)
    return Curve(raw.xs, raw.ys, raw.ss, raw.zero - raw.zero)


def _sfa_leftovers(tandem: Tandem[N]) -> list[Curve[N]]:
    """Blind left-over curve of the flow of interest at every server."""
    flows = _flows(tandem)
    arrivals = [token_bucket(f.rate, f.burst) for f in flows]
    out: list[Curve[N]] = []
    for k, (rate, latency) in enumerate(tandem.servers):
        beta, here = rate_latency(rate, latency), _present(flows, k)
        left = {
            i: leftover_blind(beta, pointwise_sum(_nothing(tandem), *_others(arrivals, here, i)))
            for i in here
        }
        out.append(left[0])
        try:
            for i in here:
                if flows[i].last > k:
                    arrivals[i] = output_arrival_curve(arrivals[i], left[i])
        except UnstableSystemError as e:
            raise _unstable_at("sfa", tandem, k, e) from e
    return out


def _others(arrivals: Sequence[Curve[N]], here: Sequence[int], i: int) -> list[Curve[N]]:
    """Arrival curves of the flows at a server other than flow ``i``."""
    return [arrivals[j] for j in here if j != i]


def sfa_service_curve(tandem: Tandem[N]) -> Curve[N]:
    """End-to-end left-over service curve of the flow of interest by Separated Flow Analysis.

    Parameters
    ----------
    tandem : Tandem
        Servers, flow of interest and cross flows.

    Returns
    -------
    Curve
        :math:`\\bigotimes_k [\\beta_k - \\sum_{i \\in X(k)} \\alpha_i^{(k)}]^+`.

    Raises
    ------
    UnstableSystemError
        If a cross flow that continues past a server gets a left-over rate below its own
        rate there (its output arrival curve is infinite).

    Notes
    -----
    Cross-flow arrival curves inside the tandem are propagated server by server: flow ``i``
    leaves server ``k`` with :math:`\\alpha_i \\oslash [\\beta_k - \\sum_{j \\ne i} \\alpha_j]^+`
    (the flow of interest counts as cross traffic for the others). For token buckets and
    rate-latency servers this adds :math:`r_i (R_k T_k + \\sum_{j \\ne i} b_j)/(R_k - \\sum_{j
    \\ne i} r_j)` to the burst, the same as the concatenated (pay-bursts-only-once) bound.

    References
    ----------
    .. [LT01] Le Boudec & Thiran, *Network Calculus*, Theorems 1.4.6 and 6.2.1.
    .. [SZM08] J. Schmitt, F. Zdarsky, I. Martinovic, "Improving performance bounds in
       feed-forward networks by paying multiplexing only once", MMB 2008 (SFA, Section 3).

    Examples
    --------
    >>> from fractions import Fraction
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem, rate_latency, sfa_service_curve
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> sfa_service_curve(t) == rate_latency(8, Fraction(32, 9))
    True
    """
    return concatenate(*_sfa_leftovers(tandem))


def sfa_delay(tandem: Tandem[N]) -> N:
    """End-to-end delay bound of the flow of interest by Separated Flow Analysis (SFA).

    Parameters
    ----------
    tandem : Tandem
        Servers, flow of interest and cross flows.

    Returns
    -------
    Fraction or float
        :math:`h(\\gamma_{r_0, b_0}, \\text{sfa\\_service\\_curve})`.

    Raises
    ------
    UnstableSystemError
        If the flow of interest's rate exceeds its end-to-end left-over rate, or a cross
        flow cannot be bounded (see :func:`sfa_service_curve`).

    Notes
    -----
    Never larger than :func:`tfa_delay` for the same tandem: by induction over the servers
    every SFA burst is at most the TFA burst (the blind left-over latency of a flow is at most
    the busy-period bound), the per-server left-over delay is at most the busy period, and
    the concatenated bound is at most the sum of per-hop bounds (pay bursts only once).

    References
    ----------
    .. [SZM08] Schmitt, Zdarsky, Martinovic, MMB 2008.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem, sfa_delay
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> sfa_delay(t)
    Fraction(265, 72)
    """
    curve = sfa_service_curve(tandem)
    try:
        return horizontal_deviation(token_bucket(*tandem.foi), curve)
    except UnstableSystemError as e:
        raise UnstableSystemError(f"sfa_delay: flow of interest: {e}", station="end-to-end") from e


def pmoo_service_curve(tandem: Tandem[N]) -> Curve[N]:
    """End-to-end left-over service curve by Pay Multiplexing Only Once (PMOO).

    Parameters
    ----------
    tandem : Tandem
        Servers, flow of interest and cross flows.

    Returns
    -------
    Curve
        The rate-latency curve :math:`\\beta_{R, T}` with
        :math:`R = \\min_k (R_k - \\sum_{i \\ni k} r_i)` and
        :math:`T = \\sum_k T_k + \\sum_i (b_i + r_i \\sum_{k \\in P_i} T_k) / R`.

    Raises
    ------
    UnstableSystemError
        If some server's cross traffic uses its whole rate (``R <= 0``).

    Notes
    -----
    This is the closed form, for rate-latency servers and token-bucket cross flows, of the
    PMOO left-over curve
    :math:`[\\inf_{\\sum_k s_k = t} \\sum_k \\beta_k(s_k) - \\sum_i \\alpha_i(\\sum_{k \\in P_i}
    s_k)]^+`: the infimum first spends time in the latencies (where it only loses) and
    then at the server with the smallest residual rate. Each cross flow's burst is paid once,
    at the smallest residual rate ``R`` of the whole path; with very unequal residual rates
    this can be worse than SFA, which pays it at each crossed server's own residual rate.

    References
    ----------
    .. [SZM08] J. Schmitt, F. Zdarsky, I. Martinovic, "Improving performance bounds in
       feed-forward networks by paying multiplexing only once", MMB 2008.

    Examples
    --------
    >>> from fractions import Fraction
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem, pmoo_service_curve, rate_latency
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> pmoo_service_curve(t) == rate_latency(8, Fraction(23, 8))
    True
    """
    servers = tandem.servers
    zero = tandem.foi[0] - tandem.foi[0]
    residual = [
        rate - sum((c.rate for c in tandem.cross if c.first <= k <= c.last), zero)
        for k, (rate, _) in enumerate(servers)
    ]
    rate = min(residual)
    if rate <= 0:
        k = residual.index(rate)
        raise UnstableSystemError(
            f"pmoo_service_curve: servers[{k}]: cross traffic must leave a positive rate "
            f"(got residual rate {rate})",
            station=f"servers[{k}]",
        )
    latency = sum((t for _, t in servers), zero)
    for c in tandem.cross:
        path_latency = sum((servers[k][1] for k in range(c.first, c.last + 1)), zero)
        latency += (c.burst + c.rate * path_latency) / rate
    return rate_latency(rate, latency)


def pmoo_delay(tandem: Tandem[N]) -> N:
    """End-to-end delay bound of the flow of interest by PMOO.

    Parameters
    ----------
    tandem : Tandem
        Servers, flow of interest and cross flows.

    Returns
    -------
    Fraction or float
        :math:`T + b_0 / R` for the curve of :func:`pmoo_service_curve`.

    Raises
    ------
    UnstableSystemError
        If the flow of interest's rate exceeds the PMOO left-over rate.

    Notes
    -----
    PMOO is not always better than SFA, nor than TFA: it is when every server has the same
    residual rate (then each cross-flow burst is paid once instead of once per server), but
    a large burst crossing only a fast server is paid at the slowest residual rate of the
    path. The test-suite holds a counterexample for each ordering.

    References
    ----------
    .. [SZM08] Schmitt, Zdarsky, Martinovic, MMB 2008.

    Examples
    --------
    >>> from edgescale.analysis.netcalc import CrossFlow, Tandem, pmoo_delay
    >>> t = Tandem(servers=[(10, 1), (10, 1)], foi=(1, 1), cross=[CrossFlow(2, 3, 0, 1)])
    >>> pmoo_delay(t)
    Fraction(3, 1)
    """
    curve = pmoo_service_curve(tandem)
    try:
        return horizontal_deviation(token_bucket(*tandem.foi), curve)
    except UnstableSystemError as e:
        raise UnstableSystemError(f"pmoo_delay: flow of interest: {e}", station="end-to-end") from e
