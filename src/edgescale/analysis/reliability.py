"""Availability and reliability: components, block diagrams, networks and Markov redundancy models.

Four layers, each built on the one before:

1. **One repairable component**: :func:`availability` from MTBF and MTTR, :func:`downtime_minutes_per_year`,
   :func:`nines`, and :func:`exponential_reliability` :math:`R(t) = e^{-\\lambda t}`.
2. **Independent components combined**: :func:`series`, :func:`parallel`, :func:`k_of_n` (non-identical,
   Poisson-binomial) and :func:`k_of_n_identical`, and MTTF of such systems of exponential components
   (:func:`mttf_series`, :func:`mttf_parallel`, :func:`mttf_k_of_n_identical`).
3. **Structures**: reliability block diagrams as expression trees (:class:`Component`, :class:`Series`,
   :class:`Parallel`, :class:`KofN`), and general networks given by minimal path or cut sets
   (:func:`reliability_from_path_sets`, :func:`reliability_from_cut_sets`, :func:`reliability_bounds`),
   with :func:`minimal_path_sets` / :func:`minimal_cut_sets` for two-terminal graphs.
4. **Dependence through repair and coverage**: :func:`k_of_n_ctmc` and :func:`two_unit_ctmc` build a
   :class:`RedundancyModel` CTMC (see :mod:`edgescale.analysis.markov`) for availability and MTTF.

Layers 1-3 assume components fail and are repaired independently; use layer 4 when they share a repairer or
when a failure can go uncovered. Times are in hours (``_h``) and rates per hour (``_per_h``). A probability
can stand for an availability (steady state) or a reliability (survival to a mission time): the algebra of
layers 2-3 is the same. Input outside these assumptions raises
:class:`~edgescale.errors.ModelAssumptionError`.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy import integrate
from scipy.stats import binom

from edgescale.analysis import markov
from edgescale.errors import ModelAssumptionError

__all__ = [
    "MAX_INCLUSION_EXCLUSION_SETS",
    "MINUTES_PER_YEAR",
    "Block",
    "Bounds",
    "Component",
    "KofN",
    "Parallel",
    "RedundancyModel",
    "Series",
    "availability",
    "downtime_minutes_per_year",
    "exponential_reliability",
    "k_of_n",
    "k_of_n_ctmc",
    "k_of_n_identical",
    "minimal_cut_sets",
    "minimal_cuts_from_paths",
    "minimal_path_sets",
    "mttf_k_of_n_identical",
    "mttf_parallel",
    "mttf_series",
    "nines",
    "parallel",
    "poisson_binomial_pmf",
    "reliability_bounds",
    "reliability_from_cut_sets",
    "reliability_from_path_sets",
    "series",
    "two_unit_ctmc",
]

FloatArray = NDArray[np.float64]
H = TypeVar("H", bound=Hashable)

MINUTES_PER_YEAR = 525_600.0
"""Minutes in a 365-day year, the convention of the usual "nines" tables (99.9 % -> 8.76 h)."""
MAX_INCLUSION_EXCLUSION_SETS = 20
"""Inclusion-exclusion sums :math:`2^m - 1` terms; more sets than this must use ``method="sdp"``."""
_MAX_MONOMIALS = 1 << 15


# --------------------------------------------------------------------------------------------- checks


def _probability(x: float, where: str) -> float:
    """Return *x* as float after checking it lies in [0, 1]."""
    value = float(x)
    if not 0.0 <= value <= 1.0:
        raise ModelAssumptionError(f"{where}: must be a probability in [0, 1] (got {x!r})")
    return value


def _probabilities(xs: ArrayLike, where: str) -> FloatArray:
    """Return a 1-d float array of probabilities after checking each lies in [0, 1]."""
    arr = np.atleast_1d(np.asarray(xs, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ModelAssumptionError(f"{where}: must be a non-empty 1-d sequence (got shape {arr.shape})")
    bad = np.flatnonzero(~((arr >= 0.0) & (arr <= 1.0)))
    if bad.size:
        i = int(bad[0])
        raise ModelAssumptionError(f"{where}[{i}]: must be a probability in [0, 1] (got {arr[i]!r})")
    return arr


def _positive(x: float, where: str, *, allow_inf: bool = False) -> float:
    """Return *x* as float after checking it is > 0 (and finite unless *allow_inf*)."""
    value = float(x)
    if not value > 0.0 or (math.isinf(value) and not allow_inf):
        raise ModelAssumptionError(f"{where}: must be > 0{'' if allow_inf else ' and finite'} (got {x!r})")
    return value


def _non_negative(x: float, where: str) -> float:
    """Return *x* as float after checking it is finite and >= 0."""
    value = float(x)
    if not 0.0 <= value < math.inf:
        raise ModelAssumptionError(f"{where}: must be finite and >= 0 (got {x!r})")
    return value


def _k_in_range(k: int, n: int, where: str) -> None:
    """Check 1 <= k <= n."""
    if not 1 <= k <= n:
        raise ModelAssumptionError(f"{where}: k must be in [1, n={n}] (got {k})")


# --------------------------------------------------------------------------------------------- one component


def availability(mtbf_h: float, mttr_h: float) -> float:
    """Steady-state availability of a repairable component.

    Parameters
    ----------
    mtbf_h : float
        Mean time between (to) failures in hours, > 0; ``math.inf`` for a component that never fails.
    mttr_h : float
        Mean time to repair in hours, >= 0.

    Returns
    -------
    float
        :math:`A = \\mathrm{MTBF} / (\\mathrm{MTBF} + \\mathrm{MTTR})`.

    Raises
    ------
    ModelAssumptionError
        If ``mtbf_h <= 0`` or ``mttr_h`` is negative or infinite.

    Notes
    -----
    The long-run fraction of time up of an alternating renewal process; it depends only on the two means, not
    on the distributions. Here MTBF is the mean up time (some authors call it MTTF and let MTBF include
    the repair).

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (availability).

    Examples
    --------
    >>> availability(mtbf_h=999.0, mttr_h=1.0)
    0.999
    """
    mtbf = _positive(mtbf_h, "availability(mtbf_h)", allow_inf=True)
    mttr = _non_negative(mttr_h, "availability(mttr_h)")
    return 1.0 if math.isinf(mtbf) else mtbf / (mtbf + mttr)


def downtime_minutes_per_year(a: float, *, minutes_per_year: float = MINUTES_PER_YEAR) -> float:
    """Expected downtime per year, in minutes, of something with availability *a*.

    Parameters
    ----------
    a : float
        Availability in [0, 1].
    minutes_per_year : float
        Length of a year; default :data:`MINUTES_PER_YEAR` (365 days). Pass 525 960 for 365.25 days.

    Returns
    -------
    float
        :math:`(1 - a) \\times` *minutes_per_year*.

    Raises
    ------
    ModelAssumptionError
        If *a* is outside [0, 1].

    Notes
    -----
    A long-run average; the downtime in any one year varies around it.

    References
    ----------
    .. [1] E. Bauer, *Design for Reliability: Information and Computer-Based Systems*, Wiley-IEEE, 2010.

    Examples
    --------
    >>> round(downtime_minutes_per_year(0.99999), 2)
    5.26
    """
    return (1.0 - _probability(a, "downtime_minutes_per_year(a)")) * minutes_per_year


def nines(a: float) -> float:
    """Number of nines of an availability: :math:`-\\log_{10}(1 - a)`.

    Parameters
    ----------
    a : float
        Availability in [0, 1].

    Returns
    -------
    float
        3.0 for 0.999, ``inf`` for 1.

    Raises
    ------
    ModelAssumptionError
        If *a* is outside [0, 1].

    Notes
    -----
    Fractional values are meaningful: 0.9995 has about 3.3 nines.

    References
    ----------
    .. [1] E. Bauer, *Design for Reliability: Information and Computer-Based Systems*, Wiley-IEEE, 2010.

    Examples
    --------
    >>> nines(0.999)
    3.0
    """
    unavailability = 1.0 - _probability(a, "nines(a)")
    return math.inf if unavailability <= 0.0 else float(np.round(-math.log10(unavailability), 12))


def exponential_reliability(failure_rate_per_h: float, t_h: float) -> float:
    """Probability that a component with constant failure rate survives to *t_h*: :math:`e^{-\\lambda t}`.

    Parameters
    ----------
    failure_rate_per_h : float
        Failure rate :math:`\\lambda` per hour, >= 0 (1/MTTF).
    t_h : float
        Mission time in hours, >= 0.

    Returns
    -------
    float
        :math:`R(t) = e^{-\\lambda t}`.

    Raises
    ------
    ModelAssumptionError
        If either argument is negative or not finite.

    Notes
    -----
    Exponential lifetimes are memoryless: the survival of a used component equals that of a new one.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002.

    Examples
    --------
    >>> round(exponential_reliability(1e-3, 1000.0), 6)
    0.367879
    """
    lam = _non_negative(failure_rate_per_h, "exponential_reliability(failure_rate_per_h)")
    return math.exp(-lam * _non_negative(t_h, "exponential_reliability(t_h)"))


# --------------------------------------------------------------------------------------------- combinations


def series(probabilities: ArrayLike) -> float:
    """Probability that all of several independent components are up.

    Parameters
    ----------
    probabilities : array_like of float
        Availability or reliability of each component, in [0, 1].

    Returns
    -------
    float
        :math:`\\prod_i p_i`, never more than the smallest :math:`p_i`.

    Raises
    ------
    ModelAssumptionError
        If the sequence is empty or a value is outside [0, 1].

    Notes
    -----
    Assumes independent components (independent repair for availabilities).

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (series systems).

    Examples
    --------
    >>> round(series([0.99, 0.999, 0.9999]), 6)
    0.988911
    """
    return float(np.prod(_probabilities(probabilities, "series(probabilities)")))


def parallel(probabilities: ArrayLike) -> float:
    """Probability that at least one of several independent components is up.

    Parameters
    ----------
    probabilities : array_like of float
        Availability or reliability of each component, in [0, 1].

    Returns
    -------
    float
        :math:`1 - \\prod_i (1 - p_i)`, never less than the largest :math:`p_i`.

    Raises
    ------
    ModelAssumptionError
        If the sequence is empty or a value is outside [0, 1].

    Notes
    -----
    Active (hot) redundancy with perfect failure detection; see :func:`two_unit_ctmc` for imperfect
    coverage or a shared repairer.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (parallel systems).

    Examples
    --------
    >>> round(parallel([0.99, 0.99]), 6)
    0.9999
    """
    q = 1.0 - _probabilities(probabilities, "parallel(probabilities)")
    return float(1.0 - np.prod(q))


def poisson_binomial_pmf(probabilities: ArrayLike) -> FloatArray:
    """Distribution of the number of components up among independent, non-identical components.

    Parameters
    ----------
    probabilities : array_like of float, shape (n,)
        Probability that each component is up.

    Returns
    -------
    numpy.ndarray, shape (n + 1,)
        ``pmf[j]`` = P(exactly *j* components up).

    Raises
    ------
    ModelAssumptionError
        If the sequence is empty or a value is outside [0, 1].

    Notes
    -----
    Dynamic programme over components, :math:`O(n^2)`:
    :math:`f_i(j) = f_{i-1}(j)(1 - p_i) + f_{i-1}(j-1) p_i`. Every step is a convex combination, so it is
    numerically stable (unlike expanding :math:`\\prod_i (1 - p_i + p_i z)` by inclusion-exclusion).

    References
    ----------
    .. [1] R. E. Barlow and K. D. Heidtmann, "Computing k-out-of-n system reliability", *IEEE Trans.
       Reliability* R-33(4), 1984.

    Examples
    --------
    >>> poisson_binomial_pmf([0.5, 0.9])
    array([0.05, 0.5 , 0.45])
    """
    ps = _probabilities(probabilities, "poisson_binomial_pmf(probabilities)")
    pmf = np.zeros(ps.size + 1)
    pmf[0] = 1.0
    for i, p in enumerate(ps, start=1):
        pmf[1 : i + 1] = pmf[1 : i + 1] * (1.0 - p) + pmf[:i] * p
        pmf[0] *= 1.0 - p
    return pmf


def k_of_n(k: int, probabilities: ArrayLike) -> float:
    """Probability that at least *k* of *n* independent, non-identical components are up.

    Parameters
    ----------
    k : int
        Components needed, ``1 <= k <= n``.
    probabilities : array_like of float, shape (n,)
        Probability that each component is up.

    Returns
    -------
    float
        :math:`\\sum_{j \\ge k} \\mathrm{pmf}(j)` of the Poisson-binomial distribution; non-increasing in
        *k*, equal to :func:`parallel` for ``k = 1`` and :func:`series` for ``k = n``.

    Raises
    ------
    ModelAssumptionError
        If *k* is out of range or a probability outside [0, 1].

    Notes
    -----
    Uses :func:`poisson_binomial_pmf`, :math:`O(n^2)`.

    References
    ----------
    .. [1] R. E. Barlow and K. D. Heidtmann, "Computing k-out-of-n system reliability", *IEEE Trans.
       Reliability* R-33(4), 1984.

    Examples
    --------
    Two of three replicas with availabilities 0.9, 0.95 and 0.99:

    >>> round(k_of_n(2, [0.9, 0.95, 0.99]), 6)
    0.9936
    """
    pmf = poisson_binomial_pmf(probabilities)
    _k_in_range(k, pmf.size - 1, "k_of_n(k)")
    return float(min(1.0, pmf[k:].sum()))


def k_of_n_identical(k: int, n: int, p: float) -> float:
    """Probability that at least *k* of *n* independent, identical components are up.

    Parameters
    ----------
    k : int
        Components needed, ``1 <= k <= n``.
    n : int
        Components in total, >= 1.
    p : float
        Probability that one component is up.

    Returns
    -------
    float
        :math:`\\sum_{j=k}^{n} \\binom{n}{j} p^j (1-p)^{n-j}`.

    Raises
    ------
    ModelAssumptionError
        If *k* or *n* is out of range or *p* outside [0, 1].

    Notes
    -----
    Evaluated as the binomial survival function (``scipy.stats.binom.sf``), accurate in the tails.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (k-out-of-n systems).

    Examples
    --------
    Triple modular redundancy (2 of 3) with p = 0.9:

    >>> round(k_of_n_identical(2, 3, 0.9), 6)
    0.972
    """
    if n < 1:
        raise ModelAssumptionError(f"k_of_n_identical(n): must be >= 1 (got {n})")
    _k_in_range(k, n, "k_of_n_identical(k)")
    return float(binom.sf(k - 1, n, _probability(p, "k_of_n_identical(p)")))


# --------------------------------------------------------------------------------------------- MTTF


def mttf_series(failure_rates_per_h: ArrayLike) -> float:
    """MTTF of a series system of independent exponential components: :math:`1 / \\sum_i \\lambda_i`.

    Parameters
    ----------
    failure_rates_per_h : array_like of float
        Failure rate of each component per hour, >= 0.

    Returns
    -------
    float
        MTTF in hours (``inf`` if every rate is 0).

    Raises
    ------
    ModelAssumptionError
        If a rate is negative or not finite, or the sequence is empty.

    Notes
    -----
    The minimum of independent exponentials is exponential with the summed rate.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002.

    Examples
    --------
    >>> mttf_series([1e-3, 1e-3, 2e-3])
    250.0
    """
    rates = _rates(failure_rates_per_h, "mttf_series(failure_rates_per_h)")
    total = float(rates.sum())
    return math.inf if total == 0.0 else 1.0 / total


def mttf_parallel(failure_rates_per_h: ArrayLike) -> float:
    """MTTF of a parallel (1-of-n) system of independent exponential components without repair.

    Parameters
    ----------
    failure_rates_per_h : array_like of float
        Failure rate of each component per hour, >= 0.

    Returns
    -------
    float
        :math:`\\int_0^\\infty 1 - \\prod_i (1 - e^{-\\lambda_i t})\\,dt
        = \\sum_{\\emptyset \\ne S} (-1)^{|S|+1} / \\sum_{i \\in S} \\lambda_i`, in hours.

    Raises
    ------
    ModelAssumptionError
        If a rate is negative or not finite, or the sequence is empty.

    Notes
    -----
    Exact by the subset sum for up to 15 components, numerical quadrature beyond (see
    :meth:`Block.mttf_h`). For identical rates it is :math:`H_n / \\lambda` (harmonic number).

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002.

    Examples
    --------
    >>> mttf_parallel([1e-3, 1e-3])
    1500.0
    """
    rates = _rates(failure_rates_per_h, "mttf_parallel(failure_rates_per_h)")
    return Parallel(*_exponential_components(rates)).mttf_h()


def mttf_k_of_n_identical(k: int, n: int, failure_rate_per_h: float) -> float:
    """MTTF of a k-of-n system of identical exponential components without repair.

    Parameters
    ----------
    k : int
        Components needed, ``1 <= k <= n``.
    n : int
        Components in total.
    failure_rate_per_h : float
        Failure rate of one component per hour, > 0.

    Returns
    -------
    float
        :math:`\\sum_{i=k}^{n} 1 / (i \\lambda)` hours.

    Raises
    ------
    ModelAssumptionError
        If *k* is out of range or the rate not positive.

    Notes
    -----
    With *i* components alive the next failure comes after an exponential time of rate :math:`i\\lambda`;
    the system fails at the :math:`(n-k+1)`-th failure.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (expectation).

    Examples
    --------
    >>> round(mttf_k_of_n_identical(2, 3, 1e-3), 3)
    833.333
    """
    _k_in_range(k, n, "mttf_k_of_n_identical(k)")
    lam = _positive(failure_rate_per_h, "mttf_k_of_n_identical(failure_rate_per_h)")
    return float(sum(1.0 / (i * lam) for i in range(k, n + 1)))


def _rates(rates: ArrayLike, where: str) -> FloatArray:
    """1-d array of finite, non-negative rates."""
    arr = np.atleast_1d(np.asarray(rates, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ModelAssumptionError(f"{where}: must be a non-empty 1-d sequence (got shape {arr.shape})")
    bad = np.flatnonzero(~((arr >= 0) & np.isfinite(arr)))
    if bad.size:
        raise ModelAssumptionError(f"{where}[{bad[0]}]: must be finite and >= 0 (got {arr[bad[0]]!r})")
    return arr


def _exponential_components(rates: FloatArray) -> list[Component]:
    """Components c0, c1, ... with the given failure rates."""
    return [Component(f"c{i}", mtbf_h=math.inf if r == 0 else 1.0 / float(r)) for i, r in enumerate(rates)]


# --------------------------------------------------------------------------------------------- block diagrams

_Poly = dict[frozenset[str], float]


class _TooManyTermsError(Exception):
    """Internal: the reliability polynomial grew past _MAX_MONOMIALS."""


def _poly_mul(a: _Poly, b: _Poly) -> _Poly:
    """Product of multilinear polynomials with x**2 = x (Boolean variables)."""
    out: _Poly = {}
    for ka, ca in a.items():
        for kb, cb in b.items():
            key = ka | kb
            out[key] = out.get(key, 0.0) + ca * cb
    if len(out) > _MAX_MONOMIALS:
        raise _TooManyTermsError
    return {key: c for key, c in out.items() if c != 0.0}


def _poly_add(a: _Poly, b: _Poly, sign: float = 1.0) -> _Poly:
    """a + sign * b."""
    out = dict(a)
    for key, c in b.items():
        out[key] = out.get(key, 0.0) + sign * c
    return {key: c for key, c in out.items() if c != 0.0}


_ONE: _Poly = {frozenset(): 1.0}


class Block(ABC):
    """A reliability block diagram: a :class:`Component` or a :class:`Series`, :class:`Parallel` or
    :class:`KofN` of blocks.

    A name used by several leaves denotes one physical component (e.g. a shared power supply); evaluation is
    then exact by conditioning on it, so non-series-parallel structures such as a bridge can be written as
    trees with repeated components.
    """

    @abstractmethod
    def leaves(self) -> Iterator[Component]:
        """Every leaf component, with repetitions, left to right."""

    @abstractmethod
    def is_up(self, up: Collection[str]) -> bool:
        """Structure function: is the system up when exactly the components named in *up* are up?"""

    @abstractmethod
    def _prob(self, p: Mapping[str, float]) -> float:
        """Probability up, assuming every name occurs once or is fixed to 0/1 in *p*."""

    @abstractmethod
    def _poly(self) -> _Poly:
        """Reliability polynomial in the component names (multilinear)."""

    def components(self) -> dict[str, Component]:
        """Distinct components by name.

        Returns
        -------
        dict of str to Component
            In order of first appearance.

        Raises
        ------
        ModelAssumptionError
            If one name is used for components with different parameters.

        Examples
        --------
        >>> a = Component("a", mtbf_h=100.0)
        >>> list(Series(a, Parallel(a, Component("b"))).components())
        ['a', 'b']
        """
        out: dict[str, Component] = {}
        for leaf in self.leaves():
            seen = out.setdefault(leaf.name, leaf)
            if seen != leaf:
                raise ModelAssumptionError(
                    f"Block.components: name {leaf.name!r} must denote one component (got {seen!r} and "
                    f"{leaf!r})"
                )
        return out

    def probability(self, p: Mapping[str, float]) -> float:
        """Probability that the system is up given each component's probability of being up.

        Parameters
        ----------
        p : mapping of str to float
            Probability (availability or reliability) per component name.

        Returns
        -------
        float
            Exact system probability, components independent.

        Raises
        ------
        ModelAssumptionError
            If a name is missing from *p* or a value is outside [0, 1].

        Notes
        -----
        Series, parallel and k-of-n nodes combine child probabilities directly. Components that occur more
        than once are handled by pivotal decomposition (factoring),
        :math:`R = p_x R|_{x=1} + (1-p_x) R|_{x=0}`, which costs :math:`2^r` tree evaluations for *r*
        repeated names.

        References
        ----------
        .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
           Applications*, 2nd ed., Wiley, 2002 (factoring, non-series-parallel systems).

        Examples
        --------
        >>> rbd = Series(Component("lb"), Parallel(Component("s1"), Component("s2")))
        >>> round(rbd.probability({"lb": 0.999, "s1": 0.99, "s2": 0.99}), 6)
        0.9989
        """
        counts = Counter(leaf.name for leaf in self.leaves())
        values = {name: _probability(_lookup(p, name), f"Block.probability(p[{name!r}])") for name in counts}
        repeated = sorted(name for name, c in counts.items() if c > 1)
        return _factor(self, values, repeated)

    def availability(self) -> float:
        """Steady-state availability from each component's MTBF and MTTR (independent repair).

        Returns
        -------
        float
            :meth:`probability` with :func:`availability` of each component.

        Raises
        ------
        ModelAssumptionError
            If one name denotes components with different parameters.

        Examples
        --------
        >>> web = Component("web", mtbf_h=1000.0, mttr_h=1.0)
        >>> round(Parallel(web, Component("web2", mtbf_h=1000.0, mttr_h=1.0)).availability(), 8)
        0.999999
        """
        return self.probability({n: availability(c.mtbf_h, c.mttr_h) for n, c in self.components().items()})

    def reliability(self, t_h: float) -> float:
        """Probability of no system failure in ``[0, t_h]`` with exponential components and no repair.

        Parameters
        ----------
        t_h : float
            Mission time in hours, >= 0.

        Returns
        -------
        float
            :meth:`probability` with :math:`e^{-t/\\mathrm{MTBF}}` per component.

        Raises
        ------
        ModelAssumptionError
            If *t_h* is negative.

        Examples
        --------
        >>> round(Component("a", mtbf_h=1000.0).reliability(1000.0), 6)
        0.367879
        """
        t = _non_negative(t_h, "Block.reliability(t_h)")
        return self.probability({n: math.exp(-t / c.mtbf_h) for n, c in self.components().items()})

    def mttf_h(self) -> float:
        """Mean time to failure in hours with exponential components and no repair.

        Returns
        -------
        float
            :math:`\\int_0^\\infty R(t)\\,dt`; ``inf`` if the system can survive forever.

        Raises
        ------
        ModelAssumptionError
            If one name denotes components with different parameters.

        Notes
        -----
        :math:`R(t)` is a multilinear polynomial in the component reliabilities
        :math:`r_i = e^{-\\lambda_i t}`, :math:`R = \\sum_S c_S \\prod_{i \\in S} r_i` (with :math:`r_i^2 = r_i`,
        so repeated components are exact), hence
        :math:`\\mathrm{MTTF} = \\sum_S c_S / \\sum_{i \\in S} \\lambda_i`. When the polynomial exceeds
        :math:`2^{15}` terms (e.g. more than 15 components in parallel), :math:`R(t)` is integrated
        numerically instead (``scipy.integrate.quad``, relative error about :math:`10^{-9}`).

        References
        ----------
        .. [1] R. E. Barlow and F. Proschan, *Statistical Theory of Reliability and Life Testing*, Holt,
           Rinehart and Winston, 1975.

        Examples
        --------
        >>> a, b = Component("a", mtbf_h=1000.0), Component("b", mtbf_h=1000.0)
        >>> Parallel(a, b).mttf_h(), Series(a, b).mttf_h()
        (1500.0, 500.0)
        """
        comps = self.components()
        try:
            poly = self._poly()
        except _TooManyTermsError:
            return _integrate_reliability(self, comps)
        return _mttf_from_poly(poly, {n: 1.0 / c.mtbf_h for n, c in comps.items()})


def _lookup(p: Mapping[str, float], name: str) -> float:
    """p[name], or an error naming the missing component."""
    if name not in p:
        raise ModelAssumptionError(
            f"Block.probability(p): missing component {name!r} (got keys {sorted(map(str, p))[:10]})"
        )
    return p[name]


def _factor(block: Block, p: dict[str, float], repeated: list[str]) -> float:
    """Pivotal decomposition on the repeated component names."""
    if not repeated:
        return block._prob(p)
    name, rest = repeated[0], repeated[1:]
    px = p[name]
    up = _factor(block, {**p, name: 1.0}, rest) if px > 0.0 else 0.0
    down = _factor(block, {**p, name: 0.0}, rest) if px < 1.0 else 0.0
    return px * up + (1.0 - px) * down


def _mttf_from_poly(poly: _Poly, rates: Mapping[str, float]) -> float:
    """Sum of c_S / sum(rates in S); inf if a positive constant survives."""
    total, forever = 0.0, 0.0
    for names, c in poly.items():
        rate = sum(rates[n] for n in names)
        if rate == 0.0:
            forever += c
        else:
            total += c / rate
    return math.inf if forever > 1e-12 else total


def _integrate_reliability(block: Block, comps: Mapping[str, Component]) -> float:
    """MTTF by quadrature of R(t) over doubling intervals until the tail is negligible."""
    finite = [c.mtbf_h for c in comps.values() if math.isfinite(c.mtbf_h)]
    immortal = block.probability({n: float(math.isinf(c.mtbf_h)) for n, c in comps.items()})
    if not finite or immortal > 0.0:
        return math.inf
    value, _ = integrate.quad(block.reliability, 0.0, min(finite), epsrel=1e-10, limit=200)
    total, end = value, min(finite)
    while block.reliability(end) * max(finite) > 1e-13 * total:
        value, _ = integrate.quad(block.reliability, end, 2.0 * end, epsrel=1e-10, limit=200)
        total, end = total + value, 2.0 * end
    return float(total)


@dataclass(frozen=True)
class Component(Block):
    """One component of a block diagram.

    Parameters
    ----------
    name : str
        Identifier; leaves with the same name are the same physical component.
    mtbf_h : float
        Mean time between failures (mean up time) in hours, > 0; ``inf`` (default) never fails.
    mttr_h : float
        Mean time to repair in hours, >= 0.

    Raises
    ------
    ModelAssumptionError
        If *mtbf_h* is not positive or *mttr_h* negative.

    Examples
    --------
    >>> Component("db", mtbf_h=2000.0, mttr_h=4.0).availability()
    0.998003992015968
    """

    name: str
    mtbf_h: float = math.inf
    mttr_h: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mtbf_h", _positive(self.mtbf_h, f"Component({self.name!r}).mtbf_h", allow_inf=True)
        )
        object.__setattr__(self, "mttr_h", _non_negative(self.mttr_h, f"Component({self.name!r}).mttr_h"))

    def leaves(self) -> Iterator[Component]:
        yield self

    def is_up(self, up: Collection[str]) -> bool:
        return self.name in up

    def _prob(self, p: Mapping[str, float]) -> float:
        return p[self.name]

    def _poly(self) -> _Poly:
        return {frozenset({self.name}): 1.0}


class _Composite(Block):
    """A block with child blocks."""

    blocks: tuple[Block, ...]

    def __init__(self, *blocks: Block) -> None:
        if not blocks:
            raise ModelAssumptionError(f"{type(self).__name__}: needs at least one block (got none)")
        for b in blocks:
            if not isinstance(b, Block):
                raise TypeError(f"{type(self).__name__}: children must be Block instances (got {b!r})")
        self.blocks = tuple(blocks)

    def leaves(self) -> Iterator[Component]:
        for b in self.blocks:
            yield from b.leaves()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.blocks))})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and repr(other) == repr(self)

    def __hash__(self) -> int:
        return hash(repr(self))


class Series(_Composite):
    """Up when every child block is up.

    Examples
    --------
    >>> Series(Component("a"), Component("b")).is_up({"a"})
    False
    """

    def is_up(self, up: Collection[str]) -> bool:
        return all(b.is_up(up) for b in self.blocks)

    def _prob(self, p: Mapping[str, float]) -> float:
        return math.prod(b._prob(p) for b in self.blocks)

    def _poly(self) -> _Poly:
        out = _ONE
        for b in self.blocks:
            out = _poly_mul(out, b._poly())
        return out


class Parallel(_Composite):
    """Up when at least one child block is up.

    Examples
    --------
    >>> Parallel(Component("a"), Component("b")).is_up({"a"})
    True
    """

    def is_up(self, up: Collection[str]) -> bool:
        return any(b.is_up(up) for b in self.blocks)

    def _prob(self, p: Mapping[str, float]) -> float:
        return 1.0 - math.prod(1.0 - b._prob(p) for b in self.blocks)

    def _poly(self) -> _Poly:
        down = _ONE
        for b in self.blocks:
            down = _poly_mul(down, _poly_add(_ONE, b._poly(), -1.0))
        return _poly_add(_ONE, down, -1.0)


class KofN(_Composite):
    """Up when at least *k* of the child blocks are up.

    Parameters
    ----------
    k : int
        Blocks needed, ``1 <= k <= len(blocks)``.
    *blocks : Block
        The children.

    Examples
    --------
    >>> tmr = KofN(2, Component("a"), Component("b"), Component("c"))
    >>> tmr.is_up({"a", "c"}), round(tmr.probability({"a": 0.9, "b": 0.9, "c": 0.9}), 6)
    (True, 0.972)
    """

    def __init__(self, k: int, *blocks: Block) -> None:
        super().__init__(*blocks)
        _k_in_range(k, len(blocks), "KofN(k)")
        self.k = k

    def __repr__(self) -> str:
        return f"KofN({self.k}, {', '.join(map(repr, self.blocks))})"

    def is_up(self, up: Collection[str]) -> bool:
        return sum(b.is_up(up) for b in self.blocks) >= self.k

    def _prob(self, p: Mapping[str, float]) -> float:
        return k_of_n(self.k, [b._prob(p) for b in self.blocks])

    def _poly(self) -> _Poly:
        exactly: list[_Poly] = [_ONE]  # exactly[j]: P(j children up so far)
        for b in self.blocks:
            f = b._poly()
            g = _poly_add(_ONE, f, -1.0)
            shifted = [{}, *(_poly_mul(e, f) for e in exactly)]
            kept = [*(_poly_mul(e, g) for e in exactly), {}]
            exactly = [_poly_add(s, c) for s, c in zip(shifted, kept, strict=True)]
        out: _Poly = {}
        for e in exactly[self.k :]:
            out = _poly_add(out, e)
        return out


# --------------------------------------------------------------------------------------------- path/cut sets


def _minimal_sets(sets: Iterable[Collection[H]]) -> list[frozenset[H]]:
    """Distinct sets with every proper superset of another set removed, sorted by size then by repr."""
    kept: list[frozenset[H]] = []
    for s in sorted({frozenset(s) for s in sets}, key=lambda s: (len(s), sorted(map(repr, s)))):
        if not any(k <= s for k in kept):
            kept.append(s)
    return kept


def _edge_names(graph: Any) -> dict[tuple[Any, Any], Hashable]:
    """Map each (u, v) (both orientations if undirected) to the edge's ``name`` attribute or ``(u, v)``."""
    if graph.is_multigraph():
        raise ModelAssumptionError(
            f"minimal_path_sets(graph): must be a simple Graph or DiGraph (got {type(graph).__name__})"
            "; merge parallel edges into one component first"
        )
    names: dict[tuple[Any, Any], Hashable] = {}
    for u, v, data in graph.edges(data=True):
        names[(u, v)] = data.get("name", (u, v))
        if not graph.is_directed():
            names[(v, u)] = names[(u, v)]
    return names


def minimal_path_sets(graph: nx.Graph, source: Hashable, target: Hashable) -> list[frozenset[Hashable]]:
    """Minimal path sets of two-terminal connectivity, with edges as the components.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        The network; each edge is a component named by its ``name`` attribute, else by ``(u, v)``. Nodes are
        perfectly reliable (split a node into an edge to model its failure).
    source, target : hashable
        The two terminals.

    Returns
    -------
    list of frozenset
        The edge names of each simple source-target path, sorted by size.

    Raises
    ------
    ModelAssumptionError
        If the graph is a multigraph, a terminal is missing, or source equals target.

    Notes
    -----
    The edge set of a simple path is a minimal path set and every minimal path set is one
    (``networkx.all_simple_paths``). Their number can grow exponentially with the graph.

    References
    ----------
    .. [1] C. J. Colbourn, *The Combinatorics of Network Reliability*, Oxford, 1987.

    Examples
    --------
    >>> g = nx.Graph([("s", "a"), ("a", "t"), ("s", "t")])
    >>> [sorted(path) for path in minimal_path_sets(g, "s", "t")]
    [[('s', 't')], [('a', 't'), ('s', 'a')]]
    """
    names = _edge_names(graph)
    for node in (source, target):
        if node not in graph:
            raise ModelAssumptionError(f"minimal_path_sets: terminal must be in the graph (got {node!r})")
    if source == target:
        raise ModelAssumptionError(f"minimal_path_sets: source and target must differ (got {source!r} twice)")
    paths = nx.all_simple_paths(graph, source, target)
    return _minimal_sets(frozenset(names[e] for e in itertools.pairwise(path)) for path in paths)


def minimal_cut_sets(graph: nx.Graph, source: Hashable, target: Hashable) -> list[frozenset[Hashable]]:
    """Minimal cut sets (edge sets whose failure disconnects *target* from *source*), edges as components.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        The network, as for :func:`minimal_path_sets`.
    source, target : hashable
        The two terminals.

    Returns
    -------
    list of frozenset
        Edge names of each minimal cut, sorted by size.

    Raises
    ------
    ModelAssumptionError
        As :func:`minimal_path_sets`.

    Notes
    -----
    Minimal cuts are the minimal transversals of the minimal paths (:func:`minimal_cuts_from_paths`).

    References
    ----------
    .. [1] C. J. Colbourn, *The Combinatorics of Network Reliability*, Oxford, 1987.

    Examples
    --------
    >>> g = nx.Graph([("s", "a"), ("a", "t"), ("s", "t")])
    >>> [sorted(cut) for cut in minimal_cut_sets(g, "s", "t")]
    [[('a', 't'), ('s', 't')], [('s', 'a'), ('s', 't')]]
    """
    return minimal_cuts_from_paths(minimal_path_sets(graph, source, target))


def minimal_cuts_from_paths(paths: Iterable[Collection[H]]) -> list[frozenset[H]]:
    """Minimal cut sets from minimal path sets (or minimal paths from minimal cuts: the map is its own dual).

    Parameters
    ----------
    paths : iterable of collections of hashable
        Path sets (minimal or not).

    Returns
    -------
    list of frozenset
        The minimal sets meeting every path, sorted by size. ``[frozenset()]`` when there is no path (the
        system is always down); ``[]`` when a path is empty (it is always up).

    Raises
    ------
    TypeError
        If an element is not hashable (nothing is checked beyond that).

    Notes
    -----
    Berge's incremental algorithm for the minimal transversals of a hypergraph: after each path, keep the
    cuts that meet it, extend the others by each of its elements, and drop non-minimal results. Output size
    can be exponential in the number of paths.

    References
    ----------
    .. [1] C. Berge, *Hypergraphs*, North-Holland, 1989 (transversals).

    Examples
    --------
    >>> [sorted(cut) for cut in minimal_cuts_from_paths([{"a", "b"}, {"c"}])]
    [['a', 'c'], ['b', 'c']]
    """
    cuts: list[frozenset[H]] = [frozenset()]
    for path in _minimal_sets(paths):
        grown: list[frozenset[H]] = []
        for cut in cuts:
            grown.extend([cut] if cut & path else (cut | {x} for x in path))
        cuts = _minimal_sets(grown)
    return cuts


_Term = tuple[frozenset[Any], frozenset[Any]]  # (elements required in, elements required out)


def _exclude(term: _Term, other: frozenset[Any]) -> list[_Term]:
    """Split *term* into disjoint terms covering term AND NOT(all of *other*)."""
    inside, outside = term
    if other & outside:
        return [term]
    missing = sorted(other - inside, key=repr)
    return [(inside | frozenset(missing[:j]), outside | {x}) for j, x in enumerate(missing)]


def _union_sdp(sets: list[frozenset[Any]], p: Mapping[Any, float]) -> float:
    """P(some set has all elements 'in') by sum of disjoint products."""
    total = 0.0
    for i, s in enumerate(sets):
        terms: list[_Term] = [(s, frozenset())]
        for earlier in sets[:i]:
            terms = [t for term in terms for t in _exclude(term, earlier)]
        total += sum(math.prod(p[x] for x in a) * math.prod(1.0 - p[x] for x in b) for a, b in terms)
    return total


def _union_inclusion_exclusion(sets: list[frozenset[Any]], p: Mapping[Any, float]) -> float:
    """P(some set has all elements 'in') by inclusion-exclusion over all subsets of sets."""
    if len(sets) > MAX_INCLUSION_EXCLUSION_SETS:
        raise ModelAssumptionError(
            f"inclusion-exclusion: at most {MAX_INCLUSION_EXCLUSION_SETS} sets (got {len(sets)})"
            "; use method='sdp' or reliability_bounds"
        )
    total = 0.0
    for r in range(1, len(sets) + 1):
        sign = 1.0 if r % 2 else -1.0
        for combo in itertools.combinations(sets, r):
            total += sign * math.prod(p[x] for x in frozenset().union(*combo))
    return total


def _union_probability(
    sets: Iterable[Collection[H]], p: Mapping[H, float], method: str, where: str
) -> tuple[float, list[frozenset[H]]]:
    """Check inputs and return (P(union of 'all in' events), minimal sets)."""
    minimal = _minimal_sets(sets)
    for x in {x for s in minimal for x in s}:
        if x not in p:
            raise ModelAssumptionError(f"{where}(p): missing component {x!r} (got {len(p)} keys)")
        _probability(p[x], f"{where}(p[{x!r}])")
    if method == "sdp":
        return _union_sdp(minimal, p), minimal
    if method == "inclusion-exclusion":
        return _union_inclusion_exclusion(minimal, p), minimal
    raise ModelAssumptionError(f"{where}(method): must be 'sdp' or 'inclusion-exclusion' (got {method!r})")


def reliability_from_path_sets(
    paths: Iterable[Collection[H]],
    p: Mapping[H, float],
    *,
    method: Literal["sdp", "inclusion-exclusion"] = "sdp",
) -> float:
    """Exact probability that a coherent system is up, given its minimal path sets.

    Parameters
    ----------
    paths : iterable of collections of hashable
        Minimal path sets (non-minimal ones are reduced first).
    p : mapping
        Probability that each component is up; independent components.
    method : {"sdp", "inclusion-exclusion"}
        ``"sdp"`` (default): sum of disjoint products; ``"inclusion-exclusion"``: the Poincaré formula, at
        most :data:`MAX_INCLUSION_EXCLUSION_SETS` paths.

    Returns
    -------
    float
        :math:`P(\\bigcup_i \\{\\text{all of } P_i \\text{ up}\\})`.

    Raises
    ------
    ModelAssumptionError
        If a component is missing from *p*, a value is outside [0, 1], *method* is unknown, or
        inclusion-exclusion gets too many paths.

    Notes
    -----
    Inclusion-exclusion: :math:`\\sum_{\\emptyset \\ne J} (-1)^{|J|+1} \\prod_{i \\in \\cup_J P_j} p_i`
    (:math:`2^m - 1` terms, with cancellation). Sum of disjoint products (single-variable inversion, in the
    manner of Abraham): path :math:`P_i`, shortest first, contributes
    :math:`P(P_i \\text{ up} \\wedge \\neg P_1 \\wedge \\dots \\wedge \\neg P_{i-1})`, split into products of
    "up" and "down" events that are pairwise disjoint, so the terms just add. Cost grows with the overlap of
    paths; for large systems use :func:`reliability_bounds`.

    References
    ----------
    .. [1] J. A. Abraham, "An improved algorithm for network reliability", *IEEE Trans. Reliability* R-28(1),
       1979.
    .. [2] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002 (inclusion-exclusion).

    Examples
    --------
    A bridge network: paths {1,4}, {2,5}, {1,3,5}, {2,3,4}, every edge up with 0.9:

    >>> paths = [{1, 4}, {2, 5}, {1, 3, 5}, {2, 3, 4}]
    >>> round(reliability_from_path_sets(paths, dict.fromkeys(range(1, 6), 0.9)), 6)
    0.97848
    """
    value, _ = _union_probability(paths, p, method, "reliability_from_path_sets")
    return min(1.0, max(0.0, value))


def reliability_from_cut_sets(
    cuts: Iterable[Collection[H]],
    p: Mapping[H, float],
    *,
    method: Literal["sdp", "inclusion-exclusion"] = "sdp",
) -> float:
    """Exact probability that a coherent system is up, given its minimal cut sets.

    Parameters
    ----------
    cuts : iterable of collections of hashable
        Minimal cut sets (non-minimal ones are reduced first).
    p : mapping
        Probability that each component is up; independent components.
    method : {"sdp", "inclusion-exclusion"}
        As for :func:`reliability_from_path_sets`, applied to the failure events.

    Returns
    -------
    float
        :math:`1 - P(\\bigcup_j \\{\\text{all of } K_j \\text{ down}\\})`.

    Raises
    ------
    ModelAssumptionError
        As :func:`reliability_from_path_sets`.

    Notes
    -----
    The system is down exactly when every component of some minimal cut is down; the union is evaluated as
    for path sets with :math:`q_i = 1 - p_i`.

    References
    ----------
    .. [1] J. A. Abraham, "An improved algorithm for network reliability", *IEEE Trans. Reliability* R-28(1),
       1979.

    Examples
    --------
    >>> cuts = [{1, 2}, {4, 5}, {1, 3, 5}, {2, 3, 4}]
    >>> round(reliability_from_cut_sets(cuts, dict.fromkeys(range(1, 6), 0.9)), 6)
    0.97848
    """
    q = {x: 1.0 - _probability(v, f"reliability_from_cut_sets(p[{x!r}])") for x, v in p.items()}
    value, _ = _union_probability(cuts, q, method, "reliability_from_cut_sets")
    return min(1.0, max(0.0, 1.0 - value))


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bound on a probability."""

    lower: float
    upper: float

    def contains(self, value: float, *, atol: float = 1e-12) -> bool:
        """Whether *value* lies in ``[lower - atol, upper + atol]``.

        Examples
        --------
        >>> Bounds(0.2, 0.4).contains(0.3)
        True
        """
        return self.lower - atol <= value <= self.upper + atol


def reliability_bounds(
    p: Mapping[H, float],
    *,
    paths: Iterable[Collection[H]] | None = None,
    cuts: Iterable[Collection[H]] | None = None,
) -> Bounds:
    """Esary-Proschan and min-max bounds on the reliability of a coherent system, for any number of sets.

    Parameters
    ----------
    p : mapping
        Probability that each component is up; independent components.
    paths : iterable of collections, optional
        Minimal path sets; give them, the cuts, or both (both gives the tightest bounds).
    cuts : iterable of collections, optional
        Minimal cut sets.

    Returns
    -------
    Bounds
        The best of the available bounds:
        lower :math:`\\max(\\max_i \\prod_{P_i} p, \\prod_j (1 - \\prod_{K_j} q))`,
        upper :math:`\\min(\\min_j (1 - \\prod_{K_j} q), 1 - \\prod_i (1 - \\prod_{P_i} p))`.

    Raises
    ------
    ModelAssumptionError
        If neither paths nor cuts are given, a component is missing, or a value is outside [0, 1].

    Notes
    -----
    Esary and Proschan: with independent (hence associated) components, the cut-set product is a lower bound
    and the path-set expression an upper bound. The min-max bounds hold for every coherent system. Cost is
    linear in the total size of the sets, so they serve where exact evaluation is too expensive.

    References
    ----------
    .. [1] J. D. Esary and F. Proschan, "Coherent structures of non-identical components", *Technometrics*
       5(2), 1963.
    .. [2] R. E. Barlow and F. Proschan, *Statistical Theory of Reliability and Life Testing*, Holt,
       Rinehart and Winston, 1975.

    Examples
    --------
    >>> paths, cuts = [{1, 4}, {2, 5}, {1, 3, 5}, {2, 3, 4}], [{1, 2}, {4, 5}, {1, 3, 5}, {2, 3, 4}]
    >>> b = reliability_bounds(dict.fromkeys(range(1, 6), 0.9), paths=paths, cuts=cuts)
    >>> round(b.lower, 6), round(b.upper, 6)
    (0.978141, 0.99)
    """
    if paths is None and cuts is None:
        raise ModelAssumptionError("reliability_bounds: needs paths or cuts (got neither)")
    lower, upper = 0.0, 1.0
    if paths is not None:
        up = [_set_product(s, p, False) for s in _minimal_sets(paths)]
        lower, upper = max(lower, max(up, default=0.0)), min(upper, 1.0 - math.prod(1.0 - u for u in up))
    if cuts is not None:
        down = [_set_product(s, p, True) for s in _minimal_sets(cuts)]
        upper = min(upper, min((1.0 - d for d in down), default=1.0))
        lower = max(lower, math.prod(1.0 - d for d in down))
    return Bounds(lower, upper)


def _set_product(s: frozenset[H], p: Mapping[H, float], failed: bool) -> float:
    """Product of p (or 1 - p if *failed*) over *s*."""
    for x in s:
        if x not in p:
            raise ModelAssumptionError(f"reliability_bounds(p): missing component {x!r} (got {len(p)} keys)")
    values = (_probability(p[x], f"reliability_bounds(p[{x!r}])") for x in s)
    return math.prod(1.0 - v if failed else v for v in values)


# --------------------------------------------------------------------------------------------- Markov models


@dataclass(frozen=True, eq=False)
class RedundancyModel:
    """A CTMC of a redundant system with repair; built by :func:`k_of_n_ctmc` or :func:`two_unit_ctmc`.

    Attributes
    ----------
    generator : scipy.sparse.csr_array
        Generator :math:`Q`, rates per hour.
    labels : tuple of str
        Name of each state, e.g. ``"1 failed"`` or ``"1 failed, uncovered"``.
    up : numpy.ndarray of bool
        Whether the system is up in each state. State 0 (nothing failed) is the initial state.
    """

    generator: Any
    labels: tuple[str, ...]
    up: NDArray[np.bool_]

    def availability(self) -> float:
        """Steady-state availability :math:`\\sum_{i\\ \\mathrm{up}} \\pi_i`.

        Returns
        -------
        float
            Long-run fraction of time the system is up.

        Raises
        ------
        ModelAssumptionError
            If some state cannot be left (e.g. uncovered failures with no reconfiguration rate, or no repair),
            so there is no steady state with the system ever up.

        Examples
        --------
        >>> m = two_unit_ctmc(failure_rate_per_h=0.01, repair_rate_per_h=1.0, repair="independent")
        >>> round(m.availability(), 8)
        0.99990197
        """
        stuck = np.flatnonzero(self.generator.diagonal() == 0)
        if stuck.size:
            raise ModelAssumptionError(
                f"RedundancyModel.availability: every state must be left at some rate (got state "
                f"{self.labels[stuck[0]]!r} that is never left); give a repair rate and, with coverage < 1, "
                "reconfiguration_rate_per_h"
            )
        pi = markov.ctmc_steady_state(self.generator)
        return float(min(1.0, pi[self.up].sum()))

    def point_availability(self, t_h: float) -> float:
        """Probability that the system is up at time *t_h*, starting with nothing failed.

        Parameters
        ----------
        t_h : float
            Time in hours, >= 0.

        Returns
        -------
        float
            :math:`\\sum_{i\\ \\mathrm{up}} p_i(t)` (see :func:`~edgescale.analysis.markov.ctmc_transient`).

        Examples
        --------
        >>> m = two_unit_ctmc(failure_rate_per_h=0.01, repair_rate_per_h=1.0)
        >>> m.point_availability(0.0)
        1.0
        """
        p = markov.ctmc_transient(
            self.generator, self._start(), _non_negative(t_h, "point_availability(t_h)")
        )
        return float(min(1.0, p[self.up].sum()))

    def reliability(self, t_h: float) -> float:
        """Probability that the system stays up throughout ``[0, t_h]`` (repair of spares included).

        Parameters
        ----------
        t_h : float
            Mission time in hours, >= 0.

        Returns
        -------
        float
            Transient probability of the up states with every down state made absorbing.

        Examples
        --------
        >>> m = two_unit_ctmc(failure_rate_per_h=0.01, repair_rate_per_h=1.0)
        >>> round(m.reliability(100.0), 3)
        0.981
        """
        absorbed = sp.diags_array(self.up.astype(np.float64)) @ self.generator
        t = _non_negative(t_h, "RedundancyModel.reliability(t_h)")
        return float(min(1.0, markov.ctmc_transient(absorbed, self._start(), t)[self.up].sum()))

    def mttf_h(self) -> float:
        """Mean time to the first system failure, in hours, starting with nothing failed.

        Returns
        -------
        float
            Mean time to absorption in the down states (:func:`~edgescale.analysis.markov.ctmc_absorbing`).

        Raises
        ------
        ModelAssumptionError
            If the system can never fail (no down state is reachable).

        Examples
        --------
        >>> m = two_unit_ctmc(failure_rate_per_h=0.01, repair_rate_per_h=1.0)
        >>> round(m.mttf_h(), 1)
        5150.0
        """
        chain = markov.ctmc_absorbing(self.generator, absorbing=np.flatnonzero(~self.up))
        return float(chain.mean_time[0])

    def _start(self) -> FloatArray:
        """Initial distribution: everything working."""
        p = np.zeros(self.up.size)
        p[0] = 1.0
        return p


def _coo_generator(n_states: int, edges: list[tuple[int, int, float]]) -> Any:
    """CSR generator from (from, to, rate) triples; diagonal set to minus the row sums."""
    kept = [(i, j, r) for i, j, r in edges if r > 0.0]
    rows, cols, rates = (np.array(x) for x in zip(*kept, strict=True)) if kept else ([], [], [])
    off = sp.csr_array((rates, (rows, cols)), shape=(n_states, n_states))
    return (off - sp.diags_array(np.asarray(off.sum(axis=1)).ravel())).tocsr()


def k_of_n_ctmc(
    n: int,
    k: int,
    *,
    failure_rate_per_h: float,
    repair_rate_per_h: float,
    coverage: float = 1.0,
    repair: Literal["shared", "independent"] = "shared",
    spare_failure_rate_per_h: float | None = None,
    reconfiguration_rate_per_h: float | None = None,
) -> RedundancyModel:
    """CTMC of an n-unit system that is up while at least *k* units work, with repair and coverage.

    Parameters
    ----------
    n : int
        Units, >= 1.
    k : int
        Units needed, ``1 <= k <= n``.
    failure_rate_per_h : float
        Failure rate :math:`\\lambda` of an active unit, > 0.
    repair_rate_per_h : float
        Repair rate :math:`\\mu` of one repairer, >= 0 (0: no repair).
    coverage : float
        Probability :math:`c` that a failure that leaves enough units is detected and isolated; an uncovered
        failure takes the system down until it is reconfigured.
    repair : {"shared", "independent"}
        One repairer for all units, or one per unit.
    spare_failure_rate_per_h : float, optional
        Failure rate of a unit beyond the *k* active ones: :math:`\\lambda` by default (hot standby,
        "parallel"), 0 for cold standby, in between for warm standby.
    reconfiguration_rate_per_h : float, optional
        Rate :math:`\\delta` of recovery from an uncovered failure (reboot, manual failover). Needed for
        :meth:`RedundancyModel.availability` when ``coverage < 1``; not for MTTF or reliability.

    Returns
    -------
    RedundancyModel
        States ``"i failed"`` for ``i = 0..n`` (up while ``i <= n - k``) and, if ``coverage < 1``,
        ``"i failed, uncovered"`` for ``i = 1..n-k`` (down).

    Raises
    ------
    ModelAssumptionError
        If a count, rate or probability is out of range.

    Notes
    -----
    In state *i* (units failed), failures occur at rate
    :math:`\\lambda \\min(n-i, k) + \\lambda_s \\max(n-i-k, 0)`: *k* active units plus spares, or all
    survivors when fewer than *k* remain (they keep running and failing, as independent units do). While the
    failure leaves at least *k* units, it is covered with probability :math:`c` (to state *i+1*) or not
    (to the uncovered state *i+1*, left at rate :math:`\\delta` to *i+1*; repairs and failures pause there).
    Repairs occur at rate :math:`\\mu \\min(i, r)` with :math:`r = 1` (shared) or :math:`n` (independent).
    With ``coverage=1``, ``repair="independent"`` and hot spares the units are independent and the
    availability equals :func:`k_of_n_identical` with :math:`p = \\mu / (\\lambda + \\mu)`.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002, ch. 8 (availability and reliability models with repair and
       imperfect coverage).
    .. [2] W. G. Bouricius, W. C. Carter and P. R. Schneider, "Reliability modeling techniques for
       self-repairing computer systems", *Proc. ACM National Conference*, 1969 (coverage).

    Examples
    --------
    2-of-3 with one repairer:

    >>> m = k_of_n_ctmc(3, 2, failure_rate_per_h=1e-3, repair_rate_per_h=0.1)
    >>> m.labels
    ('0 failed', '1 failed', '2 failed', '3 failed')
    >>> round(m.availability(), 6), round(m.mttf_h())
    (0.999412, 17500)
    """
    r = _redundancy_rates(
        n,
        k,
        failure_rate_per_h,
        repair_rate_per_h,
        coverage,
        spare_failure_rate_per_h,
        reconfiguration_rate_per_h,
    )
    if repair not in ("shared", "independent"):
        raise ModelAssumptionError(f"k_of_n_ctmc(repair): must be 'shared' or 'independent' (got {repair!r})")
    repairers = 1 if repair == "shared" else n
    n_unc = n - k if r.coverage < 1.0 else 0
    labels = [f"{i} failed" for i in range(n + 1)] + [f"{j} failed, uncovered" for j in range(1, n_unc + 1)]
    up = np.array([i <= n - k for i in range(n + 1)] + [False] * n_unc)
    edges = _redundancy_edges(n, k, n_unc, repairers, r)
    return RedundancyModel(_coo_generator(len(labels), edges), tuple(labels), up)


@dataclass(frozen=True)
class _Rates:
    """Checked rates of a redundancy model (per hour)."""

    failure: float
    spare_failure: float
    repair: float
    coverage: float
    reconfiguration: float


def _redundancy_edges(n: int, k: int, n_unc: int, repairers: int, r: _Rates) -> list[tuple[int, int, float]]:
    """Transitions (from, to, rate) of the k-of-n model; uncovered state j sits at index n + j."""
    edges: list[tuple[int, int, float]] = []
    for i in range(n + 1):
        f = r.failure * min(n - i, k) + r.spare_failure * max(n - i - k, 0)
        if i < n_unc:
            edges += [(i, i + 1, f * r.coverage), (i, n + 1 + i, f * (1.0 - r.coverage))]
        elif i < n:
            edges.append((i, i + 1, f))
        if i > 0:
            edges.append((i, i - 1, r.repair * min(i, repairers)))
    return edges + [(n + j, j, r.reconfiguration) for j in range(1, n_unc + 1)]


def _redundancy_rates(
    n: int,
    k: int,
    lam: float,
    mu: float,
    c: float,
    lam_s: float | None,
    delta: float | None,
) -> _Rates:
    """Checked rates; reconfiguration 0.0 when not given."""
    if n < 1:
        raise ModelAssumptionError(f"k_of_n_ctmc(n): must be >= 1 (got {n})")
    _k_in_range(k, n, "k_of_n_ctmc(k)")
    lam = _positive(lam, "k_of_n_ctmc(failure_rate_per_h)")
    return _Rates(
        failure=lam,
        spare_failure=lam if lam_s is None else _non_negative(lam_s, "k_of_n_ctmc(spare_failure_rate_per_h)"),
        repair=_non_negative(mu, "k_of_n_ctmc(repair_rate_per_h)"),
        coverage=_probability(c, "k_of_n_ctmc(coverage)"),
        reconfiguration=0.0 if delta is None else _positive(delta, "k_of_n_ctmc(reconfiguration_rate_per_h)"),
    )


def two_unit_ctmc(
    *,
    failure_rate_per_h: float,
    repair_rate_per_h: float,
    coverage: float = 1.0,
    repair: Literal["shared", "independent"] = "shared",
    standby: Literal["hot", "cold"] = "hot",
    reconfiguration_rate_per_h: float | None = None,
) -> RedundancyModel:
    """CTMC of a two-unit redundant system (1-of-2): parallel (hot) or standby (cold), with repair.

    Parameters
    ----------
    failure_rate_per_h : float
        Failure rate :math:`\\lambda` of an operating unit, > 0.
    repair_rate_per_h : float
        Repair rate :math:`\\mu`, >= 0.
    coverage : float
        Probability :math:`c` that the first failure is covered.
    repair : {"shared", "independent"}
        One repairer, or one per unit.
    standby : {"hot", "cold"}
        ``"hot"``: both units run (parallel); ``"cold"``: the spare cannot fail until switched in.
    reconfiguration_rate_per_h : float, optional
        Recovery rate after an uncovered failure; see :func:`k_of_n_ctmc`.

    Returns
    -------
    RedundancyModel
        ``k_of_n_ctmc(2, 1, ...)``.

    Raises
    ------
    ModelAssumptionError
        As :func:`k_of_n_ctmc`, or for an unknown *standby*.

    Notes
    -----
    For hot standby with one repairer, first-step analysis gives
    :math:`\\mathrm{MTTF} = (\\lambda(1 + 2c) + \\mu) / (2\\lambda(\\lambda + \\mu(1 - c)))`; with
    :math:`c = 1` and no repair it is :math:`3/(2\\lambda)`.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002, ch. 8 (two-unit systems with repair and imperfect coverage).

    Examples
    --------
    >>> m = two_unit_ctmc(failure_rate_per_h=1e-3, repair_rate_per_h=0.1, coverage=0.95)
    >>> round(m.mttf_h())
    8575
    """
    if standby not in ("hot", "cold"):
        raise ModelAssumptionError(f"two_unit_ctmc(standby): must be 'hot' or 'cold' (got {standby!r})")
    return k_of_n_ctmc(
        2,
        1,
        failure_rate_per_h=failure_rate_per_h,
        repair_rate_per_h=repair_rate_per_h,
        coverage=coverage,
        repair=repair,
        spare_failure_rate_per_h=None if standby == "hot" else 0.0,
        reconfiguration_rate_per_h=reconfiguration_rate_per_h,
    )
