"""Single-station queueing formulas.

Every function takes rates and times with their units in the name
(``arrival_rate_per_s``, ``service_rate_per_s``, ``mean_service_s``), checks its
assumptions and returns a frozen :class:`QueueMetrics` (or :class:`PriorityMetrics`
for multi-class priority queues). Percentile functions return seconds.

Errors
------
:class:`~edgescale.errors.UnstableSystemError`
    the station's utilization is >= 1, so no steady state exists.
:class:`~edgescale.errors.ModelAssumptionError`
    an input lies outside the model (a negative rate, ``servers < 1``, ...).

References
----------
.. [K75] L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley, 1975.
.. [K76] L. Kleinrock, *Queueing Systems, Vol. 2: Computer Applications*, Wiley, 1976.
.. [BGMT] G. Bolch, S. Greiner, H. de Meer, K. S. Trivedi, *Queueing Networks and
   Markov Chains*, 2nd ed., Wiley, 2006.
.. [Jain] R. Jain, *The Art of Computer Systems Performance Analysis*, Wiley, 1991.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import pdtr, pdtrc

from edgescale.errors import ModelAssumptionError, UnstableSystemError

__all__ = [
    "PriorityMetrics",
    "QueueMetrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_many",
    "gg1_kingman",
    "ggc_allen_cunneen",
    "md1",
    "md1_response_time_percentile",
    "md1_wait_percentile",
    "mg1",
    "mg1_priority_nonpreemptive",
    "mg1_priority_preemptive_resume",
    "mg1_wait_moments_vec",
    "mg1_wait_second_moment",
    "mm1",
    "mm1_response_time_percentile",
    "mm1_wait_percentile",
    "mmc",
    "mmc_response_time_percentile",
    "mmc_wait_percentile",
    "mmck",
    "mminf",
]

FloatArray = NDArray[np.float64]

#: Largest number of queue-length probabilities the M/D/1 percentile will compute.
MD1_MAX_STATES = 200_000


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state metrics of one station.

    Attributes
    ----------
    utilization : float
        Mean fraction of time each server is busy (carried load / servers).
    mean_number_in_system : float
        Mean number of customers present, waiting or in service (L).
    mean_number_in_queue : float
        Mean number waiting, not in service (Lq).
    mean_response_time_s : float
        Mean time from arrival to departure (W = Wq + service).
    mean_wait_s : float
        Mean time spent waiting before service starts (Wq).
    throughput_per_s : float
        Rate of customers served (the accepted arrival rate).
    prob_wait : float or None
        Probability that an accepted arrival must wait; ``None`` when the model
        (an approximation) does not give it.
    prob_block : float
        Probability that an arrival is refused (0 for infinite capacity).
    """

    utilization: float
    mean_number_in_system: float
    mean_number_in_queue: float
    mean_response_time_s: float
    mean_wait_s: float
    throughput_per_s: float
    prob_wait: float | None = None
    prob_block: float = 0.0


@dataclass(frozen=True)
class PriorityMetrics:
    """Steady-state metrics of a multi-class priority station; class 0 has top priority.

    Attributes
    ----------
    utilization : float
        Total server utilization, the sum of ``class_utilization``.
    class_utilization : tuple of float
        Per-class utilization ``lambda_k * E[S_k]``.
    mean_wait_s : tuple of float
        Per-class mean time in the station not being served.
    mean_response_time_s : tuple of float
        Per-class mean time from arrival to departure.
    mean_number_in_queue : tuple of float
        Per-class mean number present and not being served.
    mean_number_in_system : tuple of float
        Per-class mean number present.
    throughput_per_s : tuple of float
        Per-class throughput (equal to the arrival rates).
    """

    utilization: float
    class_utilization: tuple[float, ...]
    mean_wait_s: tuple[float, ...]
    mean_response_time_s: tuple[float, ...]
    mean_number_in_queue: tuple[float, ...]
    mean_number_in_system: tuple[float, ...]
    throughput_per_s: tuple[float, ...]


# ---------------------------------------------------------------------------- checks


def _finite(where: str, name: str, value: float) -> float:
    """Return *value* as a float, or raise if it is not a finite real number."""
    try:
        x = float(value)
    except (TypeError, ValueError) as e:
        raise ModelAssumptionError(f"{where}: {name} must be a real number (got {value!r})") from e
    if not math.isfinite(x):
        raise ModelAssumptionError(f"{where}: {name} must be finite (got {value!r})")
    return x


def _nonnegative(where: str, name: str, value: float) -> float:
    """Return *value* if it is finite and >= 0."""
    x = _finite(where, name, value)
    if x < 0:
        raise ModelAssumptionError(f"{where}: {name} must be >= 0 (got {value!r})")
    return x


def _positive(where: str, name: str, value: float) -> float:
    """Return *value* if it is finite and > 0."""
    x = _finite(where, name, value)
    if x <= 0:
        raise ModelAssumptionError(f"{where}: {name} must be > 0 (got {value!r})")
    return x


def _count(where: str, name: str, value: int, minimum: int = 1) -> int:
    """Return *value* if it is an integer >= *minimum*."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ModelAssumptionError(f"{where}: {name} must be an integer >= {minimum} (got {value!r})")
    return int(value)


def _level(where: str, p: float) -> float:
    """Return the probability level *p* if it lies strictly between 0 and 1."""
    x = _finite(where, "p", p)
    if not 0.0 < x < 1.0:
        raise ModelAssumptionError(f"{where}: p must be in (0, 1) (got {p!r})")
    return x


def _stable(where: str, utilization: float) -> None:
    """Raise UnstableSystemError if *utilization* >= 1."""
    if utilization >= 1.0:
        raise UnstableSystemError(
            f"{where}: utilization must be < 1 (got {utilization:.6g})",
            station=where,
            utilization=utilization,
        )


def _second_moment(where: str, mean_s: float, scv: float | None, second_moment_s2: float | None) -> float:
    """E[S^2] from exactly one of the squared coefficient of variation or the second moment."""
    if (scv is None) == (second_moment_s2 is None):
        raise ModelAssumptionError(
            f"{where}: give exactly one of scv_service and second_moment_service_s2 "
            f"(got {scv!r} and {second_moment_s2!r})"
        )
    if scv is not None:
        return (1.0 + _nonnegative(where, "scv_service", scv)) * mean_s * mean_s
    m2 = _nonnegative(where, "second_moment_service_s2", second_moment_s2)  # type: ignore[arg-type]
    if m2 < mean_s * mean_s * (1.0 - 1e-12):
        raise ModelAssumptionError(
            f"{where}: second_moment_service_s2 must be >= mean_service_s**2 = {mean_s * mean_s:.6g} "
            f"(got {m2!r})"
        )
    return m2


def _from_wait(
    arrival_rate_per_s: float,
    mean_service_s: float,
    mean_wait_s: float,
    utilization: float,
    prob_wait: float | None,
) -> QueueMetrics:
    """Build QueueMetrics of an infinite-capacity station from its mean wait (Little's law)."""
    response = mean_wait_s + mean_service_s
    return QueueMetrics(
        utilization=utilization,
        mean_number_in_system=arrival_rate_per_s * response,
        mean_number_in_queue=arrival_rate_per_s * mean_wait_s,
        mean_response_time_s=response,
        mean_wait_s=mean_wait_s,
        throughput_per_s=arrival_rate_per_s,
        prob_wait=prob_wait,
    )


# ---------------------------------------------------------------------------- Erlang


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: probability that an arrival to M/M/c/c (a loss system) is blocked.

    Parameters
    ----------
    servers : int
        Number of servers ``c >= 1``.
    offered_load : float
        Offered load ``a = lambda / mu`` in Erlangs, ``>= 0``.

    Returns
    -------
    float
        Blocking probability ``B(c, a)``.

    Raises
    ------
    ModelAssumptionError
        If ``servers < 1`` or ``offered_load < 0``.

    Notes
    -----
    ``B(c, a) = (a^c / c!) / sum_{k=0}^{c} a^k / k!``, evaluated by the recursion
    ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``, which never overflows and
    takes ``O(c)`` time, so ``c`` in the tens of thousands is fine. Erlang B holds
    for any service-time distribution with mean ``1/mu`` (insensitivity).

    References
    ----------
    .. [1] [K75] Sec. 3.6; [BGMT] Sec. 6.5.

    Examples
    --------
    >>> round(erlang_b(10, 5.0), 5)
    0.01838
    >>> f"{erlang_b(5000, 5000.0):.4f}"  # thousands of servers, no overflow
    '0.0112'
    """
    c = _count("erlang_b", "servers", servers)
    a = _nonnegative("erlang_b", "offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival to M/M/c must wait.

    Parameters
    ----------
    servers : int
        Number of servers ``c >= 1``.
    offered_load : float
        Offered load ``a = lambda / mu`` in Erlangs, ``0 <= a < c``.

    Returns
    -------
    float
        Probability of waiting ``C(c, a)``.

    Raises
    ------
    ModelAssumptionError
        If ``servers < 1`` or ``offered_load < 0``.
    UnstableSystemError
        If ``a / c >= 1``.

    Notes
    -----
    ``C(c, a) = B / (1 - rho (1 - B))`` with ``B = erlang_b(c, a)`` and
    ``rho = a / c``: stable for large ``c``. Always ``C >= B``.

    References
    ----------
    .. [1] [K75] Sec. 3.5, eq. (3.40); [BGMT] Sec. 6.2.3.

    Examples
    --------
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    """
    c = _count("erlang_c", "servers", servers)
    a = _nonnegative("erlang_c", "offered_load", offered_load)
    rho = a / c
    _stable(f"erlang_c (servers={c})", rho)
    b = erlang_b(c, a)
    return b / (1.0 - rho * (1.0 - b))


def erlang_c_many(servers: NDArray[np.int64], offered_load: NDArray[np.float64]) -> NDArray[np.float64]:
    """Erlang C of many M/M/c stations at once (no checks: callers pass stable stations, ``c >= 1``).

    The same stable Erlang B recursion as :func:`erlang_c`, vectorised over stations; total work is the
    sum of the server counts (stations drop out of the recursion once ``k`` passes their ``c``).

    Parameters
    ----------
    servers : ndarray of int
        Servers ``c >= 1`` per station.
    offered_load : ndarray of float
        Offered load ``a = lambda / mu`` per station, ``0 <= a < c``.

    Returns
    -------
    ndarray of float
        Probability of waiting per station.

    Examples
    --------
    >>> np.round(erlang_c_many(np.array([2, 1, 3]), np.array([1.0, 0.5, 2.0])), 6)
    array([0.333333, 0.5     , 0.444444])
    """
    out = np.empty(len(servers))
    if not len(servers):
        return out
    order = np.argsort(-servers, kind="stable")
    c, a = servers[order], offered_load[order]
    b = np.ones(c.size)
    active = np.searchsorted(-c, -np.arange(1, int(c[0]) + 1), side="right")  # count with c >= k
    for k in range(1, int(c[0]) + 1):
        m = active[k - 1]
        ab = a[:m] * b[:m]
        b[:m] = ab / (k + ab)
    rho = a / c
    out[order] = b / (1.0 - rho * (1.0 - b))
    return out


# ---------------------------------------------------------------------------- Markovian


def mm1(arrival_rate_per_s: float, service_rate_per_s: float) -> QueueMetrics:
    """M/M/1: Poisson arrivals, one exponential server, FCFS, infinite room.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate ``mu > 0``.

    Returns
    -------
    QueueMetrics
        With ``prob_wait = rho``.

    Raises
    ------
    ModelAssumptionError
        If a rate is negative, zero (``mu``) or not finite.
    UnstableSystemError
        If ``rho = lambda / mu >= 1``.

    Notes
    -----
    ``L = rho / (1 - rho)``, ``W = 1 / (mu - lambda)``, ``Wq = rho / (mu - lambda)``.

    References
    ----------
    .. [1] [K75] Sec. 3.2; [Jain] Sec. 31.2.

    Examples
    --------
    >>> m = mm1(arrival_rate_per_s=8.0, service_rate_per_s=10.0)
    >>> m.utilization, m.mean_number_in_system, m.mean_response_time_s
    (0.8, 4.0, 0.5)
    """
    return mmc(arrival_rate_per_s, service_rate_per_s, 1)


def mm1_response_time_percentile(arrival_rate_per_s: float, service_rate_per_s: float, p: float) -> float:
    """Percentile of the M/M/1 (FCFS) response time.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate ``mu > 0``.
    p : float
        Level in (0, 1), e.g. 0.99 for the 99th percentile.

    Returns
    -------
    float
        The time ``t`` (s) with ``P(T <= t) = p``.

    Raises
    ------
    ModelAssumptionError
        If a rate is invalid or ``p`` is not in (0, 1).
    UnstableSystemError
        If ``lambda >= mu``.

    Notes
    -----
    The FCFS response time is exponential with rate ``mu - lambda``, so
    ``t_p = -ln(1 - p) / (mu - lambda)``.

    References
    ----------
    .. [1] [K75] Sec. 3.2, eq. (3.28) ff.

    Examples
    --------
    >>> round(mm1_response_time_percentile(8.0, 10.0, 0.95), 4)
    1.4979
    """
    q = _level("mm1_response_time_percentile", p)
    mm1(arrival_rate_per_s, service_rate_per_s)  # validates
    return -math.log1p(-q) / (service_rate_per_s - arrival_rate_per_s)


def mm1_wait_percentile(arrival_rate_per_s: float, service_rate_per_s: float, p: float) -> float:
    """Percentile of the M/M/1 (FCFS) waiting time in queue.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate ``mu > 0``.
    p : float
        Level in (0, 1).

    Returns
    -------
    float
        The time ``t`` (s) with ``P(Wq <= t) = p``; 0 when ``p <= 1 - rho``.

    Raises
    ------
    ModelAssumptionError
        If a rate is invalid or ``p`` is not in (0, 1).
    UnstableSystemError
        If ``lambda >= mu``.

    Notes
    -----
    ``P(Wq > t) = rho exp(-(mu - lambda) t)``, so
    ``t_p = max(0, ln(rho / (1 - p)) / (mu - lambda))``.

    References
    ----------
    .. [1] [K75] Sec. 3.2; [BGMT] Sec. 6.2.

    Examples
    --------
    >>> round(mm1_wait_percentile(8.0, 10.0, 0.95), 4)
    1.3863
    >>> mm1_wait_percentile(1.0, 10.0, 0.5)
    0.0
    """
    return mmc_wait_percentile(arrival_rate_per_s, service_rate_per_s, 1, p)


def mmc(arrival_rate_per_s: float, service_rate_per_s: float, servers: int) -> QueueMetrics:
    """M/M/c: Poisson arrivals, ``c`` identical exponential servers, FCFS, infinite room.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate of one server ``mu > 0``.
    servers : int
        Number of servers ``c >= 1``.

    Returns
    -------
    QueueMetrics
        With ``prob_wait`` = Erlang C.

    Raises
    ------
    ModelAssumptionError
        If a rate is invalid or ``servers < 1``.
    UnstableSystemError
        If ``rho = lambda / (c mu) >= 1``.

    Notes
    -----
    With ``a = lambda / mu`` and ``C = C(c, a)`` (Erlang C):
    ``Wq = C / (c mu - lambda)``, ``W = Wq + 1/mu``, ``L = lambda W``.

    References
    ----------
    .. [1] [K75] Sec. 3.5; [BGMT] Sec. 6.2.3.

    Examples
    --------
    >>> m = mmc(arrival_rate_per_s=1.0, service_rate_per_s=1.0, servers=2)
    >>> round(m.prob_wait, 6), round(m.mean_wait_s, 6), round(m.mean_number_in_system, 6)
    (0.333333, 0.333333, 1.333333)
    """
    where = "M/M/c" if servers != 1 else "M/M/1"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    mu = _positive(where, "service_rate_per_s", service_rate_per_s)
    c = _count(where, "servers", servers)
    rho = lam / (c * mu)
    _stable(f"{where} (servers={c})", rho)
    prob_wait = erlang_c(c, lam / mu)
    return _from_wait(lam, 1.0 / mu, prob_wait / (c * mu - lam), rho, prob_wait)


def mmc_wait_percentile(
    arrival_rate_per_s: float, service_rate_per_s: float, servers: int, p: float
) -> float:
    """Percentile of the M/M/c (FCFS) waiting time in queue.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate of one server ``mu > 0``.
    servers : int
        Number of servers ``c >= 1``.
    p : float
        Level in (0, 1).

    Returns
    -------
    float
        The time ``t`` (s) with ``P(Wq <= t) = p``; 0 when ``p <= 1 - C``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid or ``p`` is not in (0, 1).
    UnstableSystemError
        If ``lambda / (c mu) >= 1``.

    Notes
    -----
    ``P(Wq > t) = C exp(-(c mu - lambda) t)`` with ``C`` the Erlang C probability,
    so ``t_p = max(0, ln(C / (1 - p)) / (c mu - lambda))``.

    References
    ----------
    .. [1] [K75] Sec. 3.5; [BGMT] Sec. 6.2.3.

    Examples
    --------
    >>> round(mmc_wait_percentile(1.0, 1.0, 2, 0.9), 4)
    1.2040
    """
    q = _level("mmc_wait_percentile", p)
    m = mmc(arrival_rate_per_s, service_rate_per_s, servers)
    assert m.prob_wait is not None
    if m.prob_wait <= 1.0 - q:
        return 0.0
    return math.log(m.prob_wait / (1.0 - q)) / (servers * service_rate_per_s - arrival_rate_per_s)


def _bisect(decreasing: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing function with f(lo) >= 0 >= f(hi), to within float resolution."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if decreasing(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _exp_sum_sf(rate1: float, rate2: float, t: float) -> float:
    """P(X + Y > t) - P(Y > t) for independent X ~ Exp(rate1), Y ~ Exp(rate2), divided by rate2."""
    lo, hi = min(rate1, rate2), max(rate1, rate2)
    gap = hi - lo
    if gap * t < 1e-12:
        return t * math.exp(-lo * t)
    return math.exp(-lo * t) * -math.expm1(-gap * t) / gap


def mmc_response_time_percentile(
    arrival_rate_per_s: float, service_rate_per_s: float, servers: int, p: float
) -> float:
    """Percentile of the M/M/c (FCFS) response time (wait plus service).

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate of one server ``mu > 0``.
    servers : int
        Number of servers ``c >= 1``.
    p : float
        Level in (0, 1).

    Returns
    -------
    float
        The time ``t`` (s) with ``P(T <= t) = p``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid or ``p`` is not in (0, 1).
    UnstableSystemError
        If ``lambda / (c mu) >= 1``.

    Notes
    -----
    ``T = Wq + S`` with ``S ~ Exp(mu)`` independent of ``Wq``, which is 0 with
    probability ``1 - C`` and ``Exp(theta)``, ``theta = c mu - lambda``, otherwise.
    Hence ``P(T > t) = exp(-mu t) + C mu (exp(-mu t) - exp(-theta t)) / (theta - mu)``
    (``C mu t exp(-mu t)`` when ``theta = mu``), solved for ``t`` by bisection.

    References
    ----------
    .. [1] [K75] Sec. 3.5; [BGMT] Sec. 6.2.3.

    Examples
    --------
    >>> round(mmc_response_time_percentile(8.0, 10.0, 1, 0.95), 4)  # = M/M/1 closed form
    1.4979
    >>> round(mmc_response_time_percentile(1.0, 1.0, 2, 0.9), 4)
    2.9949
    """
    q = _level("mmc_response_time_percentile", p)
    m = mmc(arrival_rate_per_s, service_rate_per_s, servers)
    assert m.prob_wait is not None
    mu, theta, cw = service_rate_per_s, servers * service_rate_per_s - arrival_rate_per_s, m.prob_wait

    def excess(t: float) -> float:
        return math.exp(-mu * t) + cw * mu * _exp_sum_sf(theta, mu, t) - (1.0 - q)

    hi = 1.0 / min(mu, theta)
    while excess(hi) > 0.0:
        hi *= 2.0
    return _bisect(excess, 0.0, hi)


def mmck(arrival_rate_per_s: float, service_rate_per_s: float, servers: int, capacity: int) -> QueueMetrics:
    """M/M/c/K: ``c`` exponential servers and room for ``K`` customers in total.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0`` (offered, before blocking).
    service_rate_per_s : float
        Service rate of one server ``mu > 0``.
    servers : int
        Number of servers ``c >= 1``.
    capacity : int
        Most customers present at once, in service or waiting: ``K >= c``.

    Returns
    -------
    QueueMetrics
        ``prob_block = p_K``; ``throughput_per_s = lambda (1 - p_K)``; the times are
        for accepted customers; ``prob_wait`` is the probability that an accepted
        customer waits.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid or ``capacity < servers``.

    Notes
    -----
    ``p_n`` is proportional to ``a^n / n!`` for ``n <= c`` and to
    ``a^c / c! rho^(n-c)`` for ``c < n <= K`` (``a = lambda/mu``, ``rho = a/c``),
    normalised in log space so large ``c`` and ``K`` do not overflow. Stable for any
    load. ``L = sum n p_n``, ``W = L / (lambda (1 - p_K))`` (Little).

    References
    ----------
    .. [1] [K75] Sec. 3.7; [BGMT] Sec. 6.2.4.

    Examples
    --------
    >>> m = mmck(arrival_rate_per_s=1.0, service_rate_per_s=1.0, servers=1, capacity=2)
    >>> round(m.prob_block, 6), round(m.mean_number_in_system, 6)
    (0.333333, 1.0)
    >>> round(mmck(5.0, 1.0, 10, 10).prob_block, 5)  # M/M/c/c is Erlang B
    0.01838
    """
    where = "M/M/c/K"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    mu = _positive(where, "service_rate_per_s", service_rate_per_s)
    c = _count(where, "servers", servers)
    k = _count(where, "capacity", capacity, minimum=c)
    probs = _mmck_probabilities(lam / mu, c, k)
    n = np.arange(k + 1, dtype=np.float64)
    number = float(n @ probs)
    queued = float(np.maximum(n - c, 0.0) @ probs)
    block = float(probs[k])
    accepted = lam * (1.0 - block)
    if accepted == 0.0:
        return QueueMetrics(0.0, 0.0, 0.0, 1.0 / mu, 0.0, 0.0, 0.0, block)
    return QueueMetrics(
        utilization=accepted / (c * mu),
        mean_number_in_system=number,
        mean_number_in_queue=queued,
        mean_response_time_s=number / accepted,
        mean_wait_s=queued / accepted,
        throughput_per_s=accepted,
        prob_wait=float(probs[c:k].sum()) / (1.0 - block),
        prob_block=block,
    )


def _mmck_probabilities(offered_load: float, servers: int, capacity: int) -> FloatArray:
    """Stationary distribution p_0..p_K of M/M/c/K, computed in log space."""
    n = np.arange(capacity + 1, dtype=np.float64)
    if offered_load == 0.0:
        out = np.zeros(capacity + 1)
        out[0] = 1.0
        return out
    # log of the birth-death product: sum_{j<=n} log(a / min(j, c))
    steps = np.log(offered_load) - np.log(np.minimum(n[1:], servers))
    logp = np.concatenate(([0.0], np.cumsum(steps)))
    logp -= logp.max()
    p = np.exp(logp)
    return np.asarray(p / p.sum(), dtype=np.float64)


def mminf(arrival_rate_per_s: float, service_rate_per_s: float) -> QueueMetrics:
    """M/M/infinity: every customer is served at once (a pure delay).

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_rate_per_s : float
        Service rate ``mu > 0``.

    Returns
    -------
    QueueMetrics
        ``L = lambda / mu``, ``W = 1 / mu``, no waiting; ``utilization`` is 0 (a
        finite load spread over infinitely many servers).

    Raises
    ------
    ModelAssumptionError
        If a rate is invalid.

    Notes
    -----
    The number present is Poisson with mean ``lambda / mu`` for any service
    distribution with that mean (insensitivity).

    References
    ----------
    .. [1] [K75] Sec. 3.4.

    Examples
    --------
    >>> mminf(4.0, 2.0).mean_number_in_system
    2.0
    """
    lam = _nonnegative("M/M/inf", "arrival_rate_per_s", arrival_rate_per_s)
    mu = _positive("M/M/inf", "service_rate_per_s", service_rate_per_s)
    return _from_wait(lam, 1.0 / mu, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------- M/G/1 family


def mg1(
    arrival_rate_per_s: float,
    mean_service_s: float,
    *,
    scv_service: float | None = None,
    second_moment_service_s2: float | None = None,
) -> QueueMetrics:
    """M/G/1 by the Pollaczek-Khinchine formula.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    mean_service_s : float
        Mean service time ``E[S] > 0``.
    scv_service : float, optional
        Squared coefficient of variation of the service time, ``Var[S] / E[S]^2``.
    second_moment_service_s2 : float, optional
        ``E[S^2]`` in s^2. Give exactly one of the two.

    Returns
    -------
    QueueMetrics
        With ``prob_wait = rho``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid, or not exactly one of the two variability inputs is given.
    UnstableSystemError
        If ``rho = lambda E[S] >= 1``.

    Notes
    -----
    ``Wq = lambda E[S^2] / (2 (1 - rho)) = rho (1 + scv) E[S] / (2 (1 - rho))``.
    FCFS (the mean also holds for any order that ignores service times).

    References
    ----------
    .. [1] [K75] Sec. 5.7, eq. (5.76); [BGMT] Sec. 6.3.1.

    Examples
    --------
    >>> round(mg1(0.5, 1.0, scv_service=1.0).mean_wait_s, 6)  # = M/M/1
    1.0
    >>> mg1(0.5, 1.0, second_moment_service_s2=1.0).mean_wait_s  # = M/D/1
    0.5
    """
    where = "M/G/1"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    es = _positive(where, "mean_service_s", mean_service_s)
    es2 = _second_moment(where, es, scv_service, second_moment_service_s2)
    rho = lam * es
    _stable(where, rho)
    return _from_wait(lam, es, lam * es2 / (2.0 * (1.0 - rho)), rho, rho)


def md1(arrival_rate_per_s: float, service_s: float) -> QueueMetrics:
    """M/D/1: Poisson arrivals, constant service time, FCFS.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_s : float
        The constant service time ``D > 0``.

    Returns
    -------
    QueueMetrics
        With ``prob_wait = rho``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid.
    UnstableSystemError
        If ``rho = lambda D >= 1``.

    Notes
    -----
    Pollaczek-Khinchine with ``scv = 0``: ``Wq = rho D / (2 (1 - rho))``, half the
    M/M/1 wait at the same load.

    References
    ----------
    .. [1] [K75] Sec. 5.7; [BGMT] Sec. 6.3.

    Examples
    --------
    >>> md1(0.5, 1.0).mean_wait_s
    0.5
    """
    return mg1(arrival_rate_per_s, service_s, scv_service=0.0)


def mg1_wait_second_moment(
    arrival_rate_per_s: float,
    mean_service_s: float,
    second_moment_service_s2: float,
    third_moment_service_s3: float,
) -> float:
    """Second moment ``E[W^2]`` (s^2) of the M/G/1 (FCFS) waiting time in queue.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    mean_service_s : float
        ``E[S] > 0``.
    second_moment_service_s2 : float
        ``E[S^2] >= E[S]^2``.
    third_moment_service_s3 : float
        ``E[S^3] >= 0``.

    Returns
    -------
    float
        ``E[W^2] = 2 E[W]^2 + lambda E[S^3] / (3 (1 - rho))`` with ``E[W]`` the Pollaczek-Khinchine mean
        (:func:`mg1`); the variance of the wait is ``E[W^2] - E[W]^2``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid.
    UnstableSystemError
        If ``rho = lambda E[S] >= 1``.

    Notes
    -----
    Takacs' recurrence for the moments of the M/G/1 waiting time, from the second derivative of the
    Pollaczek-Khinchine transform. For M/D/1 (``E[S^k] = D^k``) the variance is
    ``rho (4 - rho) D^2 / (12 (1 - rho)^2)``; for M/M/1 ``E[W^2] = 2 rho / (mu - lambda)^2``, the second
    moment of the wait ``P(W > y) = rho exp(-(mu - lambda) y)``.

    References
    ----------
    .. [1] L. Takacs, *Introduction to the Theory of Queues*, Oxford University Press, 1962, Ch. 2.
    .. [2] [K75] Ch. 5 (the Pollaczek-Khinchine transform of the M/G/1 wait; the M/M/1 wait distribution).

    Examples
    --------
    M/M/1 at lambda = 0.5, mu = 1 (``E[S^3] = 6 / mu^3``): ``2 rho / (mu - lambda)^2 = 4``.

    >>> round(mg1_wait_second_moment(0.5, 1.0, 2.0, 6.0), 12)
    4.0

    M/D/1 at rho = 0.5, D = 1: ``E[W] = 0.5`` and the variance ``0.5 * 3.5 / 3 = 7/12``, so ``1/4 + 7/12``.

    >>> round(mg1_wait_second_moment(0.5, 1.0, 1.0, 1.0), 12) == round(0.25 + 7 / 12, 12)
    True
    """
    where = "M/G/1 wait second moment"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    es = _positive(where, "mean_service_s", mean_service_s)
    es2 = _second_moment(where, es, None, second_moment_service_s2)
    es3 = _nonnegative(where, "third_moment_service_s3", third_moment_service_s3)
    rho = lam * es
    _stable(where, rho)
    _, second = mg1_wait_moments_vec(np.array([lam]), np.array([es]), np.array([es2]), np.array([es3]))
    return float(second[0])


def mg1_wait_moments_vec(
    arrival_rate_per_s: FloatArray, mean_service_s: FloatArray, second_moment_service_s2: FloatArray,
    third_moment_service_s3: FloatArray,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Mean (s) and second moment (s^2) of the M/G/1 wait for many queues at once (inf where rho >= 1).

    No checks: the vectorised form of :func:`mg1` (mean) and :func:`mg1_wait_second_moment` for callers that
    have validated their inputs. A queue without arrivals waits 0.

    Examples
    --------
    >>> m, m2 = mg1_wait_moments_vec(np.array([0.5, 2.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0]),
    ...                              np.array([1.0, 1.0]))
    >>> m.tolist(), [round(float(m2[0]), 6), float(m2[1])]  # M/D/1 at rho 0.5; the second is unstable
    ([0.5, inf], [0.833333, inf])
    """
    lam = np.asarray(arrival_rate_per_s, dtype=np.float64)
    rho = lam * mean_service_s
    ok = rho < 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(ok, 1.0 - rho, 1.0)
        mean = np.where(ok, lam * second_moment_service_s2 / (2.0 * gap), np.inf)
        second = np.where(ok, 2.0 * mean * mean + lam * third_moment_service_s3 / (3.0 * gap), np.inf)
    return mean, second


def _md1_state_probabilities(rho: float, count: int) -> FloatArray:
    """p_0..p_{count-1} of the M/D/1 queue length (unit service), by a subtraction-free recursion."""
    tail = np.asarray(pdtrc(np.arange(count), rho), dtype=np.float64)  # P(A > k)
    a0 = math.exp(-rho)
    p = np.zeros(count)
    p[0] = 1.0 - rho
    for j in range(1, count):
        p[j] = (p[0] * tail[j - 1] + float(p[1:j] @ tail[j - 1 : 0 : -1])) / a0
    return p


def _md1_wait_cdf(p: FloatArray, rho: float, k: int, u: float) -> float:
    """P(W <= k + u) in service units, 0 <= u <= 1, from queue-length probabilities p."""
    arrivals = pdtr(np.arange(k + 1, -1, -1), rho * (1.0 - u))  # P(A <= k+1-n), n = 0..k+1
    return float(p[0] * arrivals[1] + p[1 : k + 2] @ arrivals[1:])


def md1_wait_percentile(arrival_rate_per_s: float, service_s: float, p: float) -> float:
    """Exact percentile of the M/D/1 (FCFS) waiting time in queue.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_s : float
        The constant service time ``D > 0``.
    p : float
        Level in (0, 1).

    Returns
    -------
    float
        The time ``t`` (s) with ``P(Wq <= t) = p``; 0 when ``p <= 1 - rho``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid, or the percentile needs more than ``MD1_MAX_STATES``
        queue-length probabilities (``p`` extremely close to 1 at ``rho`` near 1).
    UnstableSystemError
        If ``rho = lambda D >= 1``.

    Notes
    -----
    Erlang's (1909) and Crommelin's (1932) closed form
    ``P(W <= t) = (1 - rho) sum_{j <= t/D} (lambda(jD - t))^j / j! exp(-lambda(jD - t))``
    cancels catastrophically for large ``t / D``. This function uses an equivalent
    form with positive terms only (cf. Franx, 2001). In units of ``D``, write
    ``t = k + u`` with ``0 <= u < 1``; with ``N`` the number present at time ``u - 1``
    and ``A ~ Poisson(rho (1 - u))`` the arrivals between then and the tagged arrival,
    the tagged customer waits at most ``t`` iff at most ``k`` customers ahead of it
    remain at time ``u``:
    ``P(W <= k + u) = p_0 P(A <= k) + sum_{n=1}^{k+1} p_n P(A <= k + 1 - n)``.
    The queue-length probabilities ``p_n`` come from the level-crossing recursion
    ``p_j = (p_0 abar_{j-1} + sum_{i=1}^{j-1} p_i abar_{j-i}) / a_0`` of the embedded
    chain (``abar_k = P(Poisson(rho) > k)``), which has no subtractions. The root in
    ``u`` is found by bisection. Cost is ``O(n^2)`` with ``n ~ t_p / D``.

    References
    ----------
    .. [1] C. D. Crommelin, "Delay probability formulae when the holding times are
       constant", *P.O. Elec. Engrs. J.* 25 (1932) 41-50.
    .. [2] G. J. Franx, "A simple solution for the M/D/c waiting time distribution",
       *Oper. Res. Lett.* 29 (2001) 221-229.
    .. [3] [K75] Sec. 5.6 (embedded Markov chain).

    Examples
    --------
    >>> md1_wait_percentile(0.5, 1.0, 0.4)  # P(W = 0) = 1 - rho = 0.5
    0.0
    >>> round(md1_wait_percentile(0.5, 1.0, 0.9), 4)
    1.5157
    """
    q = _level("md1_wait_percentile", p)
    rho = md1(arrival_rate_per_s, service_s).utilization
    if q <= 1.0 - rho:
        return 0.0
    count = 64
    while True:
        probs = _md1_state_probabilities(rho, count)
        cum = np.cumsum(probs)
        above = np.flatnonzero(cum >= q)
        if above.size:
            break
        if count >= MD1_MAX_STATES:
            raise ModelAssumptionError(
                f"md1_wait_percentile: p must be reachable within {MD1_MAX_STATES} queue-length "
                f"states at rho={rho:.6g} (got {p!r})"
            )
        count = min(4 * count, MD1_MAX_STATES)
    k = int(above[0]) - 1  # Q(k) < q <= Q(k+1)
    if k + 2 >= count:
        probs = _md1_state_probabilities(rho, k + 3)
    root = _bisect(lambda u: q - _md1_wait_cdf(probs, rho, k, u), 0.0, 1.0)
    return (k + root) * service_s


def md1_response_time_percentile(arrival_rate_per_s: float, service_s: float, p: float) -> float:
    """Exact percentile of the M/D/1 (FCFS) response time.

    Parameters
    ----------
    arrival_rate_per_s : float
        Poisson arrival rate ``lambda >= 0``.
    service_s : float
        The constant service time ``D > 0``.
    p : float
        Level in (0, 1).

    Returns
    -------
    float
        ``md1_wait_percentile(...) + D``: service is constant, so the response time
        is the wait shifted by ``D``.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid.
    UnstableSystemError
        If ``rho = lambda D >= 1``.

    Notes
    -----
    See :func:`md1_wait_percentile`.

    References
    ----------
    .. [1] Crommelin (1932); Franx (2001); see :func:`md1_wait_percentile`.

    Examples
    --------
    >>> round(md1_response_time_percentile(0.5, 1.0, 0.9), 4)
    2.5157
    """
    return md1_wait_percentile(arrival_rate_per_s, service_s, p) + service_s


# ---------------------------------------------------------------------------- approximations


def gg1_kingman(
    arrival_rate_per_s: float, mean_service_s: float, *, scv_arrival: float, scv_service: float
) -> QueueMetrics:
    """G/G/1 mean wait by Kingman's heavy-traffic approximation.

    Parameters
    ----------
    arrival_rate_per_s : float
        Arrival rate ``lambda >= 0`` (renewal arrivals).
    mean_service_s : float
        Mean service time ``E[S] > 0``.
    scv_arrival : float
        Squared coefficient of variation of the inter-arrival times, ``ca^2 >= 0``.
    scv_service : float
        Squared coefficient of variation of the service times, ``cs^2 >= 0``.

    Returns
    -------
    QueueMetrics
        ``prob_wait`` is ``None`` (not given by the approximation).

    Raises
    ------
    ModelAssumptionError
        If an input is invalid.
    UnstableSystemError
        If ``rho = lambda E[S] >= 1``.

    Notes
    -----
    ``Wq ~= rho / (1 - rho) * (ca^2 + cs^2) / 2 * E[S]``. Exact for M/G/1
    (``ca^2 = 1``), asymptotically exact as ``rho -> 1``; an upper-bound-like
    estimate at light load.

    References
    ----------
    .. [1] J. F. C. Kingman, "The single server queue in heavy traffic",
       *Proc. Camb. Phil. Soc.* 57 (1961) 902-904.
    .. [2] [K76] Sec. 2.3; [BGMT] Sec. 6.3.4.

    Examples
    --------
    >>> gg1_kingman(0.5, 1.0, scv_arrival=1.0, scv_service=1.0).mean_wait_s  # = M/M/1
    1.0
    """
    where = "G/G/1 (Kingman)"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    es = _positive(where, "mean_service_s", mean_service_s)
    ca2 = _nonnegative(where, "scv_arrival", scv_arrival)
    cs2 = _nonnegative(where, "scv_service", scv_service)
    rho = lam * es
    _stable(where, rho)
    return _from_wait(lam, es, rho / (1.0 - rho) * (ca2 + cs2) / 2.0 * es, rho, None)


def ggc_allen_cunneen(
    arrival_rate_per_s: float,
    mean_service_s: float,
    servers: int,
    *,
    scv_arrival: float,
    scv_service: float,
) -> QueueMetrics:
    """G/G/c mean wait by the Allen-Cunneen approximation.

    Parameters
    ----------
    arrival_rate_per_s : float
        Arrival rate ``lambda >= 0`` (renewal arrivals).
    mean_service_s : float
        Mean service time of one server ``E[S] > 0``.
    servers : int
        Number of servers ``c >= 1``.
    scv_arrival : float
        Squared coefficient of variation of the inter-arrival times, ``ca^2 >= 0``.
    scv_service : float
        Squared coefficient of variation of the service times, ``cs^2 >= 0``.

    Returns
    -------
    QueueMetrics
        ``prob_wait`` is the Erlang C value the approximation is built on.

    Raises
    ------
    ModelAssumptionError
        If an input is invalid.
    UnstableSystemError
        If ``rho = lambda E[S] / c >= 1``.

    Notes
    -----
    ``Wq ~= Wq(M/M/c) * (ca^2 + cs^2) / 2 = C(c, a) / (c mu - lambda) * (ca^2 + cs^2) / 2``.
    Exact for M/M/c; equals Kingman for ``c = 1``; typically within ~10 % for
    moderate variability.

    References
    ----------
    .. [1] A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed.,
       Academic Press, 1990, Sec. 6.
    .. [2] [BGMT] Sec. 6.3.6, eq. (6.142).

    Examples
    --------
    >>> m = ggc_allen_cunneen(1.0, 1.0, 2, scv_arrival=1.0, scv_service=1.0)  # = M/M/2
    >>> round(m.mean_wait_s, 6)
    0.333333
    """
    where = "G/G/c (Allen-Cunneen)"
    lam = _nonnegative(where, "arrival_rate_per_s", arrival_rate_per_s)
    es = _positive(where, "mean_service_s", mean_service_s)
    c = _count(where, "servers", servers)
    ca2 = _nonnegative(where, "scv_arrival", scv_arrival)
    cs2 = _nonnegative(where, "scv_service", scv_service)
    rho = lam * es / c
    _stable(f"{where} (servers={c})", rho)
    prob_wait = erlang_c(c, lam * es)
    wait = prob_wait / (c / es - lam) * (ca2 + cs2) / 2.0
    return _from_wait(lam, es, wait, rho, prob_wait)


# ---------------------------------------------------------------------------- priorities


def _priority_inputs(
    where: str,
    arrival_rates_per_s: Sequence[float],
    mean_service_s: Sequence[float],
    scv_service: Sequence[float] | None,
    second_moment_service_s2: Sequence[float] | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate per-class inputs; return lambda, E[S], E[S^2] arrays."""
    lam = [_nonnegative(where, f"arrival_rates_per_s[{k}]", x) for k, x in enumerate(arrival_rates_per_s)]
    es = [_positive(where, f"mean_service_s[{k}]", x) for k, x in enumerate(mean_service_s)]
    if not lam or len(lam) != len(es):
        raise ModelAssumptionError(
            f"{where}: arrival_rates_per_s and mean_service_s must be non-empty and of equal length "
            f"(got {len(lam)} and {len(es)})"
        )
    if (scv_service is None) == (second_moment_service_s2 is None):
        raise ModelAssumptionError(
            f"{where}: give exactly one of scv_service and second_moment_service_s2 "
            f"(got {scv_service!r} and {second_moment_service_s2!r})"
        )
    given = list(scv_service if scv_service is not None else second_moment_service_s2)  # type: ignore[arg-type]
    if len(given) != len(es):
        raise ModelAssumptionError(
            f"{where}: per-class service variability must have {len(es)} entries (got {len(given)})"
        )
    es2 = [
        _second_moment(f"{where} class {k}", s, v, None)
        if scv_service is not None
        else _second_moment(f"{where} class {k}", s, None, v)
        for k, (s, v) in enumerate(zip(es, given, strict=True))
    ]
    return np.array(lam), np.array(es), np.array(es2)


def _priority_metrics(lam: FloatArray, es: FloatArray, response: FloatArray) -> PriorityMetrics:
    """Build PriorityMetrics from per-class response times (Little's law per class)."""
    rho = lam * es
    wait = response - es

    def t(x: FloatArray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    return PriorityMetrics(
        utilization=float(rho.sum()),
        class_utilization=t(rho),
        mean_wait_s=t(wait),
        mean_response_time_s=t(response),
        mean_number_in_queue=t(lam * wait),
        mean_number_in_system=t(lam * response),
        throughput_per_s=t(lam),
    )


def mg1_priority_nonpreemptive(
    arrival_rates_per_s: Sequence[float],
    mean_service_s: Sequence[float],
    *,
    scv_service: Sequence[float] | None = None,
    second_moment_service_s2: Sequence[float] | None = None,
) -> PriorityMetrics:
    """M/G/1 with non-preemptive (head-of-line) priorities, by Cobham's formula.

    Parameters
    ----------
    arrival_rates_per_s : sequence of float
        Poisson arrival rate of each class; class 0 has the highest priority.
    mean_service_s : sequence of float
        Mean service time of each class.
    scv_service : sequence of float, optional
        Squared coefficient of variation of each class's service time.
    second_moment_service_s2 : sequence of float, optional
        ``E[S_k^2]`` of each class. Give exactly one of the two.

    Returns
    -------
    PriorityMetrics

    Raises
    ------
    ModelAssumptionError
        If an input is invalid or the lengths differ.
    UnstableSystemError
        If the total utilization is >= 1.

    Notes
    -----
    With ``sigma_k = sum_{i<=k} rho_i`` and mean residual work
    ``W0 = sum_i lambda_i E[S_i^2] / 2``:
    ``Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))``. FCFS within a class;
    a started service is never interrupted. Satisfies Kleinrock's conservation law
    ``sum_k rho_k Wq_k = rho Wq(FCFS)``.

    References
    ----------
    .. [1] A. Cobham, "Priority assignment in waiting line problems",
       *J. Oper. Res. Soc. Am.* 2 (1954) 70-76.
    .. [2] [K76] Sec. 3.6, eq. (3.30); [BGMT] Sec. 6.4.

    Examples
    --------
    >>> m = mg1_priority_nonpreemptive([0.25, 0.25], [1.0, 1.0], scv_service=[1.0, 1.0])
    >>> [round(w, 4) for w in m.mean_wait_s]
    [0.6667, 1.3333]
    """
    where = "M/G/1 non-preemptive priority"
    lam, es, es2 = _priority_inputs(
        where, arrival_rates_per_s, mean_service_s, scv_service, second_moment_service_s2
    )
    sigma = np.cumsum(lam * es)
    _stable(where, float(sigma[-1]))
    w0 = float(lam @ es2) / 2.0
    wait = w0 / ((1.0 - (sigma - lam * es)) * (1.0 - sigma))
    return _priority_metrics(lam, es, wait + es)


def mg1_priority_preemptive_resume(
    arrival_rates_per_s: Sequence[float],
    mean_service_s: Sequence[float],
    *,
    scv_service: Sequence[float] | None = None,
    second_moment_service_s2: Sequence[float] | None = None,
) -> PriorityMetrics:
    """M/G/1 with preemptive-resume priorities.

    Parameters
    ----------
    arrival_rates_per_s : sequence of float
        Poisson arrival rate of each class; class 0 has the highest priority.
    mean_service_s : sequence of float
        Mean service time of each class.
    scv_service : sequence of float, optional
        Squared coefficient of variation of each class's service time.
    second_moment_service_s2 : sequence of float, optional
        ``E[S_k^2]`` of each class. Give exactly one of the two.

    Returns
    -------
    PriorityMetrics
        ``mean_wait_s`` is response time minus own service time (it includes time
        spent preempted).

    Raises
    ------
    ModelAssumptionError
        If an input is invalid or the lengths differ.
    UnstableSystemError
        If the total utilization is >= 1.

    Notes
    -----
    A class never sees lower classes, so with ``sigma_k = sum_{i<=k} rho_i``:
    ``T_k = E[S_k] / (1 - sigma_{k-1}) + (sum_{i<=k} lambda_i E[S_i^2] / 2) /
    ((1 - sigma_{k-1}) (1 - sigma_k))``. Preempted work resumes where it stopped.

    References
    ----------
    .. [1] [K76] Sec. 3.7, eq. (3.65); [BGMT] Sec. 6.4.2.

    Examples
    --------
    >>> m = mg1_priority_preemptive_resume([0.25, 0.25], [1.0, 1.0], scv_service=[1.0, 1.0])
    >>> [round(t, 4) for t in m.mean_response_time_s]  # class 0 sees an M/M/1 at rho=0.25
    [1.3333, 2.6667]
    """
    where = "M/G/1 preemptive-resume priority"
    lam, es, es2 = _priority_inputs(
        where, arrival_rates_per_s, mean_service_s, scv_service, second_moment_service_s2
    )
    rho = lam * es
    sigma = np.cumsum(rho)
    _stable(where, float(sigma[-1]))
    before = 1.0 - (sigma - rho)
    residual = np.cumsum(lam * es2) / 2.0
    response = es / before + residual / (before * (1.0 - sigma))
    return _priority_metrics(lam, es, response)
