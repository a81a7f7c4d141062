"""Markov chains: steady state, transient behaviour, absorption and first passage.

Two kinds of chain on the states ``0 .. n-1``:

* a **DTMC** is given by its transition matrix ``P`` (rows sum to 1, entries >= 0);
* a **CTMC** is given by its generator ``Q`` (rows sum to 0, off-diagonal rates >= 0).

Every function accepts a dense array (or nested lists) or a ``scipy.sparse`` matrix, checks it, and works
on a CSR copy, so chains with hundreds of thousands of states are solved with ``scipy.sparse.linalg``.
Results that are dense by nature (the fundamental matrix, the matrix of mean first passage times) are built
only on request.

Functions raise :class:`~edgescale.errors.ModelAssumptionError` when the input is not a stochastic matrix or
a generator, or when the chain lacks the structure a result needs (irreducibility for a steady state, a
reachable absorbing state for absorption times).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components
from scipy.stats import poisson

from edgescale.errors import ModelAssumptionError

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_TRANSIENT_TOL",
    "EXPM_MAX_STATES",
    "AbsorbingChain",
    "Uniformized",
    "ctmc_absorbing",
    "ctmc_mean_first_passage",
    "ctmc_steady_state",
    "ctmc_transient",
    "dtmc_absorbing",
    "dtmc_mean_first_passage",
    "dtmc_steady_state",
    "dtmc_transient",
    "uniformization",
    "validate_generator",
    "validate_transition_matrix",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
MatrixLike = ArrayLike | Any  # dense array-like or any scipy.sparse matrix/array

DEFAULT_ATOL = 1e-9
"""Tolerance on row sums (relative to the largest rate for a generator)."""
DEFAULT_TRANSIENT_TOL = 1e-10
"""Default bound on the 1-norm truncation error of uniformization."""
EXPM_MAX_STATES = 200
"""``ctmc_transient(method="auto")`` uses ``scipy.linalg.expm`` up to this many states."""
_MAX_UNIFORMIZATION_TERMS = 2_000_000


# --------------------------------------------------------------------------------------------- validation


def _as_square(matrix: MatrixLike, where: str) -> Any:
    """Return a float CSR copy of *matrix* after checking it is square, non-empty and finite."""
    if sp.issparse(matrix):
        m = sp.csr_array(matrix, dtype=np.float64, copy=True)
    else:
        try:
            arr = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ModelAssumptionError(f"{where}: must be a numeric matrix (got {matrix!r:.60})") from e
        if arr.ndim != 2:
            raise ModelAssumptionError(f"{where}: must be 2-dimensional (got shape {arr.shape})")
        m = sp.csr_array(arr)
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ModelAssumptionError(f"{where}: must be a non-empty square matrix (got shape {m.shape})")
    m.sum_duplicates()
    m.eliminate_zeros()
    if not np.all(np.isfinite(m.data)):
        raise ModelAssumptionError(f"{where}: entries must be finite (got a NaN or infinite entry)")
    return m


def _most_negative(m: Any) -> tuple[float, tuple[int, int]]:
    """Smallest stored entry of *m* and its (row, column)."""
    coo = m.tocoo()
    i = int(np.argmin(coo.data))
    return float(coo.data[i]), (int(coo.coords[0][i]), int(coo.coords[1][i]))


def _check_row_sums(m: Any, target: float, tol: float, where: str, what: str) -> None:
    """Raise unless every row of *m* sums to *target* within *tol*."""
    sums = np.asarray(m.sum(axis=1)).ravel()
    bad = np.flatnonzero(np.abs(sums - target) > tol)
    if bad.size:
        i = int(bad[0])
        raise ModelAssumptionError(
            f"{where}: rows of a {what} must sum to {target:g} (got row {i} summing to {sums[i]:.12g})"
            f"; {bad.size} row(s) off by more than {tol:g}"
        )


def validate_transition_matrix(P: MatrixLike, *, atol: float = DEFAULT_ATOL, where: str = "P") -> Any:
    """Check a DTMC transition matrix and return it as a float CSR array.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
        Candidate transition matrix.
    atol : float
        Absolute tolerance on each row sum and on negative entries.
    where : str
        Location used in error messages.

    Returns
    -------
    scipy.sparse.csr_array
        A float copy of *P* with explicit zeros removed.

    Raises
    ------
    ModelAssumptionError
        If *P* is not square, has non-finite or negative entries, or a row does not sum to 1.

    Notes
    -----
    A transition matrix has :math:`P_{ij} \\ge 0` and :math:`\\sum_j P_{ij} = 1` for every row.

    References
    ----------
    .. [1] J. G. Kemeny and J. L. Snell, *Finite Markov Chains*, Van Nostrand, 1960.

    Examples
    --------
    >>> validate_transition_matrix([[0.9, 0.1], [0.5, 0.5]]).nnz
    4
    >>> validate_transition_matrix([[0.9, 0.2], [0.5, 0.5]])
    Traceback (most recent call last):
    ...
    edgescale.errors.ModelAssumptionError: P: rows of a transition matrix must sum to 1 (got row 0 ...
    """
    m = _as_square(P, where)
    if m.nnz and m.data.min() < -atol:
        value, ij = _most_negative(m)
        raise ModelAssumptionError(f"{where}: transition probabilities must be >= 0 (got {value:g} at {ij})")
    _check_row_sums(m, 1.0, atol, where, "transition matrix")
    return m


def validate_generator(Q: MatrixLike, *, atol: float = DEFAULT_ATOL, where: str = "Q") -> Any:
    """Check a CTMC generator (infinitesimal generator, rate matrix) and return it as a float CSR array.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Candidate generator.
    atol : float
        Tolerance on each row sum, relative to ``max(1, max_i |Q_ii|)``, and on negative off-diagonals.
    where : str
        Location used in error messages.

    Returns
    -------
    scipy.sparse.csr_array
        A float copy of *Q* with explicit zeros removed.

    Raises
    ------
    ModelAssumptionError
        If *Q* is not square, has non-finite entries or a negative off-diagonal rate, or a row does not sum
        to 0.

    Notes
    -----
    A generator has :math:`Q_{ij} \\ge 0` for :math:`i \\ne j` and :math:`Q_{ii} = -\\sum_{j \\ne i} Q_{ij}`.

    References
    ----------
    .. [1] G. Bolch, S. Greiner, H. de Meer and K. S. Trivedi, *Queueing Networks and Markov Chains*,
       2nd ed., Wiley, 2006, ch. 2.

    Examples
    --------
    >>> validate_generator([[-2.0, 2.0], [1.0, -1.0]]).shape
    (2, 2)
    >>> validate_generator([[-2.0, 2.0], [-1.0, 1.0]])
    Traceback (most recent call last):
    ...
    edgescale.errors.ModelAssumptionError: Q: off-diagonal rates must be >= 0 (got -1 at (1, 0))
    """
    m = _as_square(Q, where)
    diag = m.diagonal()
    off = (m - sp.diags_array(diag, format="csr")).tocsr()
    off.eliminate_zeros()
    if off.nnz and off.data.min() < -atol:
        value, ij = _most_negative(off)
        raise ModelAssumptionError(f"{where}: off-diagonal rates must be >= 0 (got {value:g} at {ij})")
    scale = max(1.0, float(np.abs(diag).max()))
    _check_row_sums(m, 0.0, atol * scale, where, "generator")
    return m


def _check_irreducible(m: Any, where: str) -> None:
    """Raise unless the directed graph of the off-diagonal entries of *m* is strongly connected."""
    n_classes, labels = connected_components(m, directed=True, connection="strong")
    if n_classes > 1:
        sizes = np.bincount(labels)
        raise ModelAssumptionError(
            f"{where}: chain must be irreducible (got {n_classes} communicating classes of sizes "
            f"{sizes[:8].tolist()}{'...' if n_classes > 8 else ''}); a steady state needs every state to "
            "reach every other, use dtmc_absorbing/ctmc_absorbing for chains that get absorbed"
        )


def _as_distribution(p0: ArrayLike, n: int, where: str) -> FloatArray:
    """Check an initial distribution of length *n*."""
    p = np.asarray(p0, dtype=np.float64)
    if p.shape != (n,):
        raise ModelAssumptionError(f"{where}: must have shape ({n},) (got {p.shape})")
    if not np.all(np.isfinite(p)) or p.min() < 0 or abs(p.sum() - 1.0) > DEFAULT_ATOL:
        raise ModelAssumptionError(
            f"{where}: must be a probability vector, >= 0 and summing to 1 (got sum {p.sum():.12g}, "
            f"min {p.min():g})"
        )
    return p


# --------------------------------------------------------------------------------------------- steady state


def _stationary(generator: Any) -> FloatArray:
    """Solve pi A = 0, sum(pi) = 1 for an irreducible generator-like CSR matrix A (see ctmc_steady_state)."""
    n = generator.shape[0]
    scale = max(float(np.abs(generator.diagonal()).max()), np.finfo(np.float64).tiny)
    column = sp.csr_array((np.full(n, scale), (np.arange(n), np.zeros(n, dtype=np.intp))), shape=(n, n))
    lu = spla.splu(sp.csc_array(generator + column))
    rhs = np.zeros(n)
    rhs[0] = 1.0
    x = np.clip(lu.solve(rhs, trans="T"), 0.0, None)
    out: FloatArray = x / x.sum()
    return out


def dtmc_steady_state(P: MatrixLike) -> FloatArray:
    """Stationary distribution of an irreducible discrete-time Markov chain.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
        Transition matrix.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The unique :math:`\\pi` with :math:`\\pi P = \\pi`, :math:`\\sum_i \\pi_i = 1`.

    Raises
    ------
    ModelAssumptionError
        If *P* is not a transition matrix or the chain is reducible.

    Notes
    -----
    Solves :math:`\\pi (P - I) = 0`, :math:`\\pi \\mathbf{1} = 1` by sparse LU as :func:`ctmc_steady_state`
    does. Irreducibility makes the solution unique; periodic chains are allowed
    (:math:`\\pi` is then the long-run fraction of time, not a limit).

    References
    ----------
    .. [1] W. J. Stewart, *Introduction to the Numerical Solution of Markov Chains*, Princeton, 1994.

    Examples
    --------
    The two-state weather chain (sunny stays sunny with 0.9, rainy turns sunny with 0.5):

    >>> dtmc_steady_state([[0.9, 0.1], [0.5, 0.5]]).round(4)
    array([0.8333, 0.1667])
    """
    where = "dtmc_steady_state(P)"
    m = validate_transition_matrix(P, where=where)
    _check_irreducible(m, where)
    return _stationary((m - sp.eye_array(m.shape[0], format="csr")).tocsr())


def ctmc_steady_state(Q: MatrixLike) -> FloatArray:
    """Stationary distribution of an irreducible continuous-time Markov chain.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Generator.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The unique :math:`\\pi` with :math:`\\pi Q = 0`, :math:`\\sum_i \\pi_i = 1`.

    Raises
    ------
    ModelAssumptionError
        If *Q* is not a generator or the chain is reducible.

    Notes
    -----
    Solves the global balance equations :math:`\\pi Q = 0` with :math:`\\pi \\mathbf{1} = 1` as the single
    nonsingular system :math:`\\pi (Q + s \\mathbf{1} e_0^T) = s e_0^T` (with :math:`s = \\max_i |Q_{ii}|`);
    it is nonsingular when :math:`Q` is irreducible. The rank-one term is one dense *column*, which the COLAMD
    ordering of ``scipy.sparse.linalg.splu`` puts last, so fill stays near that of :math:`Q` (a dense
    normalisation *row* lets partial pivoting fill the factors). Accuracy is normwise: states with
    probability below about :math:`10^{-16}` may come out as 0. For a finite irreducible CTMC, :math:`\\pi` is
    also the limiting distribution.

    References
    ----------
    .. [1] G. Bolch, S. Greiner, H. de Meer and K. S. Trivedi, *Queueing Networks and Markov Chains*,
       2nd ed., Wiley, 2006, chs. 2-3.

    Examples
    --------
    A component failing at rate 0.01/h and repaired at rate 0.5/h (state 0 up, 1 down):

    >>> ctmc_steady_state([[-0.01, 0.01], [0.5, -0.5]]).round(5)
    array([0.98039, 0.01961])
    """
    where = "ctmc_steady_state(Q)"
    m = validate_generator(Q, where=where)
    _check_irreducible(m, where)
    return _stationary(m)


# --------------------------------------------------------------------------------------------- transient


def dtmc_transient(P: MatrixLike, p0: ArrayLike, steps: int) -> FloatArray:
    """Distribution of a discrete-time Markov chain after a number of steps.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
        Transition matrix.
    p0 : array_like, shape (n,)
        Initial distribution.
    steps : int
        Number of steps, >= 0.

    Returns
    -------
    numpy.ndarray, shape (n,)
        :math:`p_0 P^{steps}`.

    Raises
    ------
    ModelAssumptionError
        If *P* is not a transition matrix, *p0* not a distribution, or *steps* negative.

    Notes
    -----
    Repeated sparse vector-matrix products: ``steps * nnz(P)`` operations.

    References
    ----------
    .. [1] C. M. Grinstead and J. L. Snell, *Introduction to Probability*, AMS, 1997, sec. 11.1.

    Examples
    --------
    >>> dtmc_transient([[0.9, 0.1], [0.5, 0.5]], [0.0, 1.0], 2).round(4)
    array([0.7, 0.3])
    """
    where = "dtmc_transient"
    m = validate_transition_matrix(P, where=f"{where}(P)")
    p = _as_distribution(p0, m.shape[0], f"{where}(p0)")
    if steps < 0:
        raise ModelAssumptionError(f"{where}(steps): must be >= 0 (got {steps})")
    pt = m.T.tocsr()
    for _ in range(steps):
        p = pt @ p
    return p


@dataclass(frozen=True, eq=False)
class Uniformized:
    """Result of :func:`uniformization`.

    Attributes
    ----------
    distribution : numpy.ndarray
        Approximate state distribution at time ``t``.
    rate : float
        Uniformization rate :math:`q = \\max_i |Q_{ii}|`.
    terms : int
        Number of Poisson terms summed (``0 .. terms - 1``).
    error_bound : float
        Bound on the 1-norm truncation error (the Poisson tail mass left out).
    """

    distribution: FloatArray
    rate: float
    terms: int
    error_bound: float


def _poisson_right_point(qt: float, tol: float) -> int:
    """Smallest R with P(Poisson(qt) > R) <= tol."""
    r = int(poisson.isf(tol, qt)) if qt > 0 else 0
    while r > 0 and poisson.sf(r - 1, qt) <= tol:
        r -= 1
    while poisson.sf(r, qt) > tol:
        r += 1
    return r


def uniformization(
    Q: MatrixLike,
    p0: ArrayLike,
    t: float,
    *,
    tol: float = DEFAULT_TRANSIENT_TOL,
    max_terms: int = _MAX_UNIFORMIZATION_TERMS,
) -> Uniformized:
    """Transient distribution of a CTMC by uniformization (Jensen's method), with an error bound.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Generator.
    p0 : array_like, shape (n,)
        Distribution at time 0.
    t : float
        Time, >= 0, in the time unit of the rates.
    tol : float
        Allowed truncation error in the 1-norm, in (0, 1).
    max_terms : int
        Refuse to sum more terms than this (stiff chains over long horizons need ``q t`` terms).

    Returns
    -------
    Uniformized
        Distribution at *t*, the rate, the number of terms and the truncation error bound.

    Raises
    ------
    ModelAssumptionError
        If *Q* is not a generator, *p0* not a distribution, *t* < 0, *tol* outside (0, 1), or more than
        *max_terms* terms would be needed.

    Notes
    -----
    With :math:`q \\ge \\max_i |Q_{ii}|` and :math:`\\hat P = I + Q/q`,

    .. math:: p(t) = \\sum_{k \\ge 0} e^{-qt} \\frac{(qt)^k}{k!} \\, p_0 \\hat P^k .

    Each :math:`p_0 \\hat P^k` is a probability vector, so stopping after term :math:`R` leaves a 1-norm
    error of at most :math:`P(\\mathrm{Poisson}(qt) > R)`, which is ``error_bound``; :math:`R` is the
    smallest index that makes it ``<= tol``. Poisson weights come from ``scipy.stats.poisson`` (log-space,
    so large :math:`qt` does not underflow the whole sum). Cost: :math:`R \\cdot nnz(Q)`, with
    :math:`R \\approx qt + O(\\sqrt{qt})`.

    References
    ----------
    .. [1] A. Jensen, "Markoff chains as an aid in the study of Markoff processes", *Skand.
       Aktuarietidskr.* 36, 1953.
    .. [2] G. Bolch, S. Greiner, H. de Meer and K. S. Trivedi, *Queueing Networks and Markov Chains*,
       2nd ed., Wiley, 2006, ch. 5 (transient solution).

    Examples
    --------
    >>> u = uniformization([[-1.0, 1.0], [2.0, -2.0]], [1.0, 0.0], 0.5)
    >>> u.distribution.round(6), u.error_bound <= 1e-10
    (array([0.741043, 0.258957]), True)

    The closed form for this two-state chain is :math:`2/3 + e^{-1.5}/3 = 0.741043`.
    """
    where = "uniformization"
    m = validate_generator(Q, where=f"{where}(Q)")
    p = _as_distribution(p0, m.shape[0], f"{where}(p0)")
    if not t >= 0 or not np.isfinite(t):
        raise ModelAssumptionError(f"{where}(t): must be finite and >= 0 (got {t})")
    if not 0 < tol < 1:
        raise ModelAssumptionError(f"{where}(tol): must be in (0, 1) (got {tol})")
    q = float(np.abs(m.diagonal()).max())
    if q == 0.0 or t == 0.0:
        return Uniformized(p.copy(), q, 1, 0.0)
    r = _poisson_right_point(q * t, tol)
    if r + 1 > max_terms:
        raise ModelAssumptionError(
            f"{where}: needs at most max_terms={max_terms} Poisson terms (got {r + 1} for q*t = {q * t:g})"
            "; use ctmc_transient(method='expm') for a small chain or a shorter t"
        )
    return _uniformize(m, p, q, t, r, tol)


def _uniformize(m: Any, p: FloatArray, q: float, t: float, r: int, tol: float) -> Uniformized:
    """Sum the first r + 1 uniformization terms."""
    weights = poisson.pmf(np.arange(r + 1), q * t)
    step = (sp.eye_array(m.shape[0], format="csr") + m / q).T.tocsr()
    acc = weights[0] * p
    v = p
    for k in range(1, r + 1):
        v = step @ v
        acc += weights[k] * v
    return Uniformized(acc, q, r + 1, float(poisson.sf(r, q * t)))


def ctmc_transient(
    Q: MatrixLike,
    p0: ArrayLike,
    t: float,
    *,
    method: Literal["auto", "expm", "uniformization"] = "auto",
    tol: float = DEFAULT_TRANSIENT_TOL,
) -> FloatArray:
    """Distribution of a continuous-time Markov chain at time *t*.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Generator.
    p0 : array_like, shape (n,)
        Distribution at time 0.
    t : float
        Time, >= 0.
    method : {"auto", "expm", "uniformization"}
        ``"expm"`` uses the dense matrix exponential (``scipy.linalg.expm``), good for small or stiff
        chains; ``"uniformization"`` is sparse with a truncation error ``<= tol`` (see
        :func:`uniformization`). ``"auto"`` (default, may change) picks ``"expm"`` up to
        :data:`EXPM_MAX_STATES` states.
    tol : float
        Truncation error bound for uniformization.

    Returns
    -------
    numpy.ndarray, shape (n,)
        :math:`p_0 e^{Qt}`.

    Raises
    ------
    ModelAssumptionError
        As :func:`uniformization`, or for an unknown *method*.

    Notes
    -----
    The state distribution solves the Kolmogorov forward equation :math:`p'(t) = p(t) Q`, whose solution is
    :math:`p_0 e^{Qt}`.

    References
    ----------
    .. [1] C. Moler and C. Van Loan, "Nineteen dubious ways to compute the exponential of a matrix,
       twenty-five years later", *SIAM Review* 45(1), 2003.

    Examples
    --------
    Probability that a repairable component (failure rate 1, repair rate 2) is up at t = 0.5:

    >>> ctmc_transient([[-1.0, 1.0], [2.0, -2.0]], [1.0, 0.0], 0.5, method="expm").round(5)
    array([0.74104, 0.25896])
    """
    if method not in ("auto", "expm", "uniformization"):
        raise ModelAssumptionError(
            f"ctmc_transient(method): must be 'auto', 'expm' or 'uniformization' (got {method!r})"
        )
    m = validate_generator(Q, where="ctmc_transient(Q)")
    if method == "uniformization" or (method == "auto" and m.shape[0] > EXPM_MAX_STATES):
        return uniformization(m, p0, t, tol=tol).distribution
    p = _as_distribution(p0, m.shape[0], "ctmc_transient(p0)")
    if not t >= 0 or not np.isfinite(t):
        raise ModelAssumptionError(f"ctmc_transient(t): must be finite and >= 0 (got {t})")
    out = p @ sla.expm(m.toarray() * t)
    return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


# --------------------------------------------------------------------------------------------- absorption


@dataclass(frozen=True, eq=False)
class AbsorbingChain:
    """Absorption behaviour of a Markov chain; returned by :func:`dtmc_absorbing` and :func:`ctmc_absorbing`.

    Attributes
    ----------
    transient : numpy.ndarray of int
        Indices of the transient states, in increasing order; rows of the arrays below follow this order.
    absorbing : numpy.ndarray of int
        Indices of the absorbing states, in increasing order; columns of ``absorption`` follow it.
    mean_time : numpy.ndarray
        Expected number of steps (DTMC) or expected time (CTMC) until absorption from each transient state:
        the MTTF when the absorbing states are the failed states.
    time_variance : numpy.ndarray
        Variance of that number of steps or of that time.
    absorption : numpy.ndarray, shape (n_transient, n_absorbing)
        ``absorption[i, j]``: probability of ending in ``absorbing[j]`` from ``transient[i]``.
    kind : {"dtmc", "ctmc"}
        Kind of chain.
    """

    transient: IntArray
    absorbing: IntArray
    mean_time: FloatArray
    time_variance: FloatArray
    absorption: FloatArray
    kind: Literal["dtmc", "ctmc"]
    _lu: Any = field(repr=False, compare=False)

    def fundamental(self) -> FloatArray:
        """Dense fundamental matrix ``N``: expected visits (DTMC) or time (CTMC) in transient state j from i.

        Returns
        -------
        numpy.ndarray, shape (n_transient, n_transient)
            :math:`(I - P_{TT})^{-1}` for a DTMC, :math:`(-Q_{TT})^{-1}` for a CTMC.

        Examples
        --------
        >>> dtmc_absorbing([[1, 0, 0], [0.5, 0, 0.5], [0, 0, 1]]).fundamental()
        array([[1.]])
        """
        return np.asarray(self._lu.solve(np.eye(self.transient.size)), dtype=np.float64)


def _reaches(m: Any, targets: IntArray) -> NDArray[np.bool_]:
    """Mask of states from which some state in *targets* is reachable along nonzero entries of *m*."""
    adj = (m != 0).astype(np.float64).tocsr()
    mask = np.zeros(m.shape[0], dtype=bool)
    mask[targets] = True
    while True:
        grown = mask | ((adj @ mask.astype(np.float64)) > 0)
        if np.array_equal(grown, mask):
            return mask
        mask = grown


def _split_states(m: Any, absorbing: ArrayLike | None, where: str) -> tuple[IntArray, IntArray]:
    """Transient and absorbing state indices, detected from *m* unless given."""
    n = m.shape[0]
    if absorbing is None:
        off = (m - sp.diags_array(m.diagonal(), format="csr")).tocsr()
        off.eliminate_zeros()
        absorb = np.flatnonzero(np.diff(off.indptr) == 0).astype(np.intp)
    else:
        absorb = np.unique(np.asarray(absorbing, dtype=np.intp))
        if absorb.size and (absorb.min() < 0 or absorb.max() >= n):
            raise ModelAssumptionError(f"{where}(absorbing): indices must be in [0, {n}) (got {absorb})")
    if absorb.size == 0:
        raise ModelAssumptionError(f"{where}: chain must have an absorbing state (got none)")
    transient = np.setdiff1d(np.arange(n, dtype=np.intp), absorb)
    stuck = np.flatnonzero(~_reaches(m, absorb)[transient])
    if stuck.size:
        raise ModelAssumptionError(
            f"{where}: every transient state must reach an absorbing state (got state "
            f"{int(transient[stuck[0]])} that cannot); its absorption time is infinite"
        )
    return transient, absorb


def _absorb(
    a: Any, to_absorbing: Any, transient: IntArray, absorb: IntArray, kind: Literal["dtmc", "ctmc"]
) -> AbsorbingChain:
    """Solve the absorbing-chain equations given A = I - P_TT or -Q_TT and the T->A block."""
    lu = spla.splu(sp.csc_array(a))
    t = lu.solve(np.ones(transient.size))
    n_t = lu.solve(t)
    second = 2.0 * n_t - t if kind == "dtmc" else 2.0 * n_t
    absorption = lu.solve(to_absorbing.toarray())
    return AbsorbingChain(
        transient, absorb, t, np.clip(second - t * t, 0.0, None), np.clip(absorption, 0.0, 1.0), kind, lu
    )


def dtmc_absorbing(P: MatrixLike, *, absorbing: ArrayLike | None = None) -> AbsorbingChain:
    """Absorbing-chain analysis of a DTMC: fundamental matrix, steps to absorption, absorption probabilities.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
        Transition matrix.
    absorbing : array_like of int, optional
        States to treat as absorbing (their rows are ignored), e.g. a target set for hitting times. By
        default the states with ``P[i, i] == 1``.

    Returns
    -------
    AbsorbingChain
        ``mean_time`` is the expected number of steps to absorption.

    Raises
    ------
    ModelAssumptionError
        If *P* is not a transition matrix, there is no absorbing state, or some transient state cannot reach
        one.

    Notes
    -----
    With :math:`P = \\begin{pmatrix} P_{TT} & P_{TA} \\\\ 0 & I \\end{pmatrix}`, the fundamental matrix is
    :math:`N = (I - P_{TT})^{-1}`, steps to absorption :math:`t = N\\mathbf{1}` with variance
    :math:`(2N - I)t - t^2`, and absorption probabilities :math:`B = N P_{TA}`. One sparse LU of
    :math:`I - P_{TT}` serves all of them.

    References
    ----------
    .. [1] C. M. Grinstead and J. L. Snell, *Introduction to Probability*, AMS, 1997, sec. 11.2.

    Examples
    --------
    Drunkard's walk on 0..4 with absorbing ends:

    >>> P = [[1, 0, 0, 0, 0], [.5, 0, .5, 0, 0], [0, .5, 0, .5, 0], [0, 0, .5, 0, .5], [0, 0, 0, 0, 1]]
    >>> a = dtmc_absorbing(P)
    >>> a.mean_time, a.absorption[0]
    (array([3., 4., 3.]), array([0.75, 0.25]))
    """
    where = "dtmc_absorbing"
    m = validate_transition_matrix(P, where=f"{where}(P)")
    transient, absorb = _split_states(m, absorbing, where)
    ptt = m[transient][:, transient]
    a = sp.eye_array(transient.size, format="csr") - ptt
    return _absorb(a, m[transient][:, absorb], transient, absorb, "dtmc")


def ctmc_absorbing(Q: MatrixLike, *, absorbing: ArrayLike | None = None) -> AbsorbingChain:
    """Absorbing-chain analysis of a CTMC: mean time to absorption (MTTF) and absorption probabilities.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Generator.
    absorbing : array_like of int, optional
        States to treat as absorbing (their rows are ignored), e.g. the system-down states of a reliability
        model. By default the states whose row is all zero.

    Returns
    -------
    AbsorbingChain
        ``mean_time`` is the expected time to absorption, in the time unit of the rates.

    Raises
    ------
    ModelAssumptionError
        If *Q* is not a generator, there is no absorbing state, or some transient state cannot reach one.

    Notes
    -----
    With the transient block :math:`Q_{TT}`, :math:`N = (-Q_{TT})^{-1}` holds the expected time spent in
    each transient state, the mean time to absorption is :math:`t = N\\mathbf{1}` (the MTTF when the
    absorbing states are failures), its second moment :math:`2Nt`, and the absorption probabilities are
    :math:`B = N Q_{TA}`.

    References
    ----------
    .. [1] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer Science
       Applications*, 2nd ed., Wiley, 2002, ch. 8 (CTMC with absorbing states).

    Examples
    --------
    Two active units, failure rate 1 each, one repairer at rate 10; state 2 (both failed) absorbs:

    >>> ctmc_absorbing([[-2, 2, 0], [10, -11, 1], [0, 0, 0]]).mean_time.round(4)
    array([6.5, 6. ])
    """
    where = "ctmc_absorbing"
    m = validate_generator(Q, where=f"{where}(Q)")
    transient, absorb = _split_states(m, absorbing, where)
    a = -m[transient][:, transient]
    return _absorb(a, m[transient][:, absorb], transient, absorb, "ctmc")


# --------------------------------------------------------------------------------------------- first passage


def _passage_matrix(z: FloatArray, pi: FloatArray) -> FloatArray:
    """m_ij = (z_jj - z_ij) / pi_j, the off-diagonal mean first passage times."""
    return (np.diag(z)[None, :] - z) / pi[None, :]


def dtmc_mean_first_passage(P: MatrixLike) -> FloatArray:
    """Mean first passage times of an irreducible DTMC, with mean recurrence times on the diagonal.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
        Transition matrix.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        ``M[i, j]``: expected number of steps to first reach *j* from *i* (``i != j``); ``M[j, j]``: mean
        recurrence time :math:`1/\\pi_j`.

    Raises
    ------
    ModelAssumptionError
        If *P* is not a transition matrix or the chain is reducible.

    Notes
    -----
    Kemeny and Snell's formula with the fundamental matrix of an ergodic chain
    :math:`Z = (I - P + \\mathbf{1}\\pi)^{-1}`: :math:`m_{ij} = (z_{jj} - z_{ij})/\\pi_j`. Dense,
    :math:`O(n^3)`; for one target set on a large chain use ``dtmc_absorbing(P, absorbing=targets)``.

    References
    ----------
    .. [1] J. G. Kemeny and J. L. Snell, *Finite Markov Chains*, Van Nostrand, 1960, ch. 4.
    .. [2] C. M. Grinstead and J. L. Snell, *Introduction to Probability*, AMS, 1997, sec. 11.5.

    Examples
    --------
    >>> dtmc_mean_first_passage([[0.9, 0.1], [0.5, 0.5]]).round(4)
    array([[ 1.2,  10. ],
           [ 2. ,  6. ]])
    """
    where = "dtmc_mean_first_passage(P)"
    m = validate_transition_matrix(P, where=where)
    _check_irreducible(m, where)
    pi = _stationary((m - sp.eye_array(m.shape[0], format="csr")).tocsr())
    dense = m.toarray()
    z = np.linalg.inv(np.eye(dense.shape[0]) - dense + pi[None, :])
    out = _passage_matrix(z, pi)
    np.fill_diagonal(out, 1.0 / pi)
    return out


def ctmc_mean_first_passage(Q: MatrixLike) -> FloatArray:
    """Mean first passage times of an irreducible CTMC, with mean return times on the diagonal.

    Parameters
    ----------
    Q : array_like or scipy.sparse matrix, shape (n, n)
        Generator.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        ``M[i, j]``: expected time to first reach *j* from *i* (``i != j``); ``M[j, j]``: expected time from
        leaving *j* until returning, plus the sojourn in *j*, i.e. the mean cycle time
        :math:`1/(q_j \\pi_j)` with :math:`q_j = -Q_{jj}`.

    Raises
    ------
    ModelAssumptionError
        If *Q* is not a generator or the chain is reducible.

    Notes
    -----
    With :math:`Z = (\\mathbf{1}\\pi - Q)^{-1}`, :math:`m_{ij} = (z_{jj} - z_{ij})/\\pi_j` for
    :math:`i \\ne j` (because :math:`QZ = \\mathbf{1}\\pi - I`). Dense, :math:`O(n^3)`; for one target set
    on a large chain use ``ctmc_absorbing(Q, absorbing=targets)``.

    References
    ----------
    .. [1] J. G. Kemeny and J. L. Snell, *Finite Markov Chains*, Van Nostrand, 1960, ch. 4 (discrete form).

    Examples
    --------
    Mean time to failure (up -> down) and to repair of a component with MTBF 100 h and MTTR 2 h:

    >>> ctmc_mean_first_passage([[-0.01, 0.01], [0.5, -0.5]]).round(4)
    array([[102., 100.],
           [  2., 102.]])
    """
    where = "ctmc_mean_first_passage(Q)"
    m = validate_generator(Q, where=where)
    _check_irreducible(m, where)
    pi = _stationary(m)
    dense = m.toarray()
    z = np.linalg.inv(np.ones((dense.shape[0], 1)) * pi[None, :] - dense)
    out = _passage_matrix(z, pi)
    rates = -np.diag(dense)
    with np.errstate(divide="ignore"):
        np.fill_diagonal(out, np.where(rates > 0, 1.0 / (rates * pi), np.inf))
    return out
