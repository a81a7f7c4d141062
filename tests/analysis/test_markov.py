"""Tests for edgescale.analysis.markov.

Sources, test by test:

* Published examples whose printed values we are sure of:
  - the two-state weather chain P = [[0.9, 0.1], [0.5, 0.5]] with stationary (0.833, 0.167)
    (Wikipedia, "Examples of Markov chains", the "very simple weather model");
  - Grinstead & Snell, *Introduction to Probability*, ch. 11, the Land of Oz chain: stationary
    w = (2/5, 1/5, 2/5) and its mean first passage matrix (values re-derived by hand in the test);
  - Grinstead & Snell, ch. 11 sec. 11.2, the drunkard's walk on 0..4: N, t = (3, 4, 3), B.
* Everything else is checked against an independent computation, said in each test: closed forms derived here
  (birth-death chains, two-state transient, geometric/exponential absorption), a dense null space from
  ``scipy.linalg``, hitting times solved from first-step equations, or matrix powers.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.analysis import markov
from edgescale.errors import ModelAssumptionError

WEATHER = [[0.9, 0.1], [0.5, 0.5]]
# Land of Oz: states Rain, Nice, Snow.
OZ = [[0.5, 0.25, 0.25], [0.5, 0.0, 0.5], [0.25, 0.25, 0.5]]
DRUNKARD = [
    [1, 0, 0, 0, 0],
    [0.5, 0, 0.5, 0, 0],
    [0, 0.5, 0, 0.5, 0],
    [0, 0, 0.5, 0, 0.5],
    [0, 0, 0, 0, 1],
]


def birth_death_generator(birth: np.ndarray, death: np.ndarray) -> sp.csr_array:
    """Sparse generator of a birth-death chain on 0..n with rates birth[i]: i->i+1, death[i]: i+1->i."""
    n = birth.size + 1
    q = sp.diags_array([birth, death], offsets=[1, -1], shape=(n, n)).tocsr()
    return (q - sp.diags_array(np.asarray(q.sum(axis=1)).ravel())).tocsr()


def random_generator(rng: np.random.Generator, n: int, density: float = 1.0) -> np.ndarray:
    """Dense generator with rates in [0.1, 2]; a ring keeps it irreducible."""
    rates = rng.uniform(0.1, 2.0, (n, n)) * (rng.random((n, n)) < density)
    rates[np.arange(n), (np.arange(n) + 1) % n] += 0.5
    np.fill_diagonal(rates, 0.0)
    return rates - np.diag(rates.sum(axis=1))


# ------------------------------------------------------------------------------------ published examples


def test_weather_chain_steady_state_published() -> None:
    # Wikipedia "Examples of Markov chains": steady state (0.833, 0.167), exactly (5/6, 1/6).
    pi = markov.dtmc_steady_state(WEATHER)
    np.testing.assert_allclose(pi, [5 / 6, 1 / 6], rtol=1e-12)
    assert pi.round(3).tolist() == [0.833, 0.167]


def test_land_of_oz_steady_state_published() -> None:
    # Grinstead & Snell ch. 11: fixed probability vector w = (.4, .2, .4).
    np.testing.assert_allclose(markov.dtmc_steady_state(OZ), [0.4, 0.2, 0.4], rtol=1e-12)


def test_land_of_oz_mean_first_passage_published() -> None:
    # Grinstead & Snell ch. 11 (mean first passage for ergodic chains). Hand check of one entry:
    # m_NR = 1 + .5 m_SR, m_SR = 1 + .25 m_NR + .5 m_SR  =>  m_NR = 8/3, m_SR = 10/3.
    expected = [[5 / 2, 4, 10 / 3], [8 / 3, 5, 8 / 3], [10 / 3, 4, 5 / 2]]
    np.testing.assert_allclose(markov.dtmc_mean_first_passage(OZ), expected, rtol=1e-12)


def test_drunkards_walk_published() -> None:
    # Grinstead & Snell sec. 11.2: N = [[3/2, 1, 1/2], [1, 2, 1], [1/2, 1, 3/2]], t = (3, 4, 3),
    # B = [[3/4, 1/4], [1/2, 1/2], [1/4, 3/4]].
    a = markov.dtmc_absorbing(DRUNKARD)
    assert a.transient.tolist() == [1, 2, 3]
    assert a.absorbing.tolist() == [0, 4]
    np.testing.assert_allclose(a.fundamental(), [[1.5, 1, 0.5], [1, 2, 1], [0.5, 1, 1.5]], rtol=1e-12)
    np.testing.assert_allclose(a.mean_time, [3, 4, 3], rtol=1e-12)
    np.testing.assert_allclose(a.absorption, [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]], rtol=1e-12)


# ------------------------------------------------------------------------------------ steady state


def test_dtmc_transient_matches_matrix_power() -> None:
    # Independent: p0 P^n by numpy.linalg.matrix_power.
    p0 = np.array([0.2, 0.3, 0.5])
    expected = p0 @ np.linalg.matrix_power(np.array(OZ), 7)
    np.testing.assert_allclose(markov.dtmc_transient(OZ, p0, 7), expected, rtol=1e-12)
    np.testing.assert_allclose(markov.dtmc_transient(OZ, p0, 0), p0)


def test_ctmc_birth_death_matches_closed_form() -> None:
    # Closed form (derived): M/M/1/K with rho = lam/mu has pi_i proportional to rho**i.
    lam, mu, k = 0.7, 1.0, 30
    q = birth_death_generator(np.full(k, lam), np.full(k, mu))
    rho = lam / mu
    expected = rho ** np.arange(k + 1)
    np.testing.assert_allclose(markov.ctmc_steady_state(q), expected / expected.sum(), rtol=1e-10)


def test_large_sparse_chain_is_solved_sparsely() -> None:
    # 50 001 states would need 20 GB dense; the closed form is the same geometric law.
    lam, mu, k = 0.5, 1.0, 50_000
    q = birth_death_generator(np.full(k, lam), np.full(k, mu))
    pi = markov.ctmc_steady_state(q)
    assert pi[:3] == pytest.approx([0.5, 0.25, 0.125], rel=1e-9)
    assert pi.sum() == pytest.approx(1.0)


def test_steady_state_when_first_state_is_negligible() -> None:
    # Closed form: rho = 10 over 400 states puts pi_0 near 1e-400 (pinning pi_0 = 1 would fail).
    k, rho = 400, 10.0
    pi = markov.ctmc_steady_state(birth_death_generator(np.full(k, rho), np.ones(k)))
    assert pi[-3:] == pytest.approx(np.array([0.01, 0.1, 1.0]) * 0.9, rel=1e-9)
    assert abs(pi[0]) < 1e-15


def test_ctmc_steady_state_matches_dense_null_space() -> None:
    # Independent: left null space of Q by scipy.linalg.null_space (SVD).
    q = random_generator(np.random.default_rng(3), 12, density=0.4)
    ns = sla.null_space(q.T)[:, 0]
    np.testing.assert_allclose(markov.ctmc_steady_state(q), ns / ns.sum(), atol=1e-12)


def test_dense_and_sparse_inputs_agree() -> None:
    q = random_generator(np.random.default_rng(5), 9, density=0.5)
    for fmt in (sp.csr_array, sp.csc_matrix, sp.coo_array):
        np.testing.assert_allclose(markov.ctmc_steady_state(fmt(q)), markov.ctmc_steady_state(q), atol=1e-14)
    p = np.eye(9) + q / 10
    np.testing.assert_allclose(markov.dtmc_steady_state(sp.lil_matrix(p)), markov.ctmc_steady_state(q))


def test_single_state_chain() -> None:
    assert markov.dtmc_steady_state([[1.0]]).tolist() == [1.0]
    assert markov.ctmc_steady_state([[0.0]]).tolist() == [1.0]


def test_periodic_chain_has_stationary_distribution() -> None:
    # A deterministic 3-cycle is irreducible (period 3): pi is uniform.
    p = np.roll(np.eye(3), 1, axis=1)
    np.testing.assert_allclose(markov.dtmc_steady_state(p), [1 / 3] * 3)


# ------------------------------------------------------------------------------------ transient


@pytest.mark.parametrize("method", ["expm", "uniformization", "auto"])
def test_two_state_transient_closed_form(method: str) -> None:
    # Closed form (derived): P(up at t | up at 0) = mu/(l+mu) + l/(l+mu) exp(-(l+mu) t).
    lam, mu = 0.3, 2.0
    q = [[-lam, lam], [mu, -mu]]
    for t in (0.0, 0.1, 1.0, 7.5):
        up = mu / (lam + mu) + lam / (lam + mu) * np.exp(-(lam + mu) * t)
        p = markov.ctmc_transient(q, [1.0, 0.0], t, method=method)  # type: ignore[arg-type]
        np.testing.assert_allclose(p, [up, 1 - up], atol=1e-10)


def test_uniformization_error_within_bound() -> None:
    # Independent: dense expm. The 1-norm difference must not exceed the reported bound (plus rounding).
    q = random_generator(np.random.default_rng(11), 15, density=0.3)
    p0 = np.zeros(15)
    p0[0] = 1.0
    for tol in (1e-3, 1e-6, 1e-12):
        u = markov.uniformization(q, p0, 2.0, tol=tol)
        exact = p0 @ sla.expm(q * 2.0)
        assert u.error_bound <= tol
        assert np.abs(u.distribution - exact).sum() <= u.error_bound + 1e-12
        assert u.rate == pytest.approx(np.abs(np.diag(q)).max())


def test_uniformization_with_large_qt() -> None:
    # exp(-q t) underflows for q t = 2000; log-space Poisson weights must still give a distribution.
    lam, mu = 1.0, 999.0
    u = markov.uniformization([[-lam, lam], [mu, -mu]], [0.0, 1.0], 2.0)
    np.testing.assert_allclose(u.distribution, [mu / (lam + mu), lam / (lam + mu)], rtol=1e-9)
    assert u.terms > 1900


def test_uniformization_refuses_too_many_terms() -> None:
    with pytest.raises(ModelAssumptionError, match=r"uniformization: needs at most max_terms=10"):
        markov.uniformization([[-5.0, 5.0], [5.0, -5.0]], [1.0, 0.0], 100.0, max_terms=10)


def test_transient_on_large_sparse_chain_uses_uniformization() -> None:
    # Pure death chain from state k: the count of deaths by t is Poisson(mu t) truncated at k (derived).
    k, mu, t = 400, 1.0, 3.0
    q = birth_death_generator(np.zeros(k), np.full(k, mu))
    p0 = np.zeros(k + 1)
    p0[-1] = 1.0
    p = markov.ctmc_transient(q, p0, t)
    from scipy.stats import poisson

    np.testing.assert_allclose(p[::-1][:20], poisson.pmf(np.arange(20), mu * t), atol=1e-9)


# ------------------------------------------------------------------------------------ absorption


def test_ctmc_absorbing_two_unit_mttf_closed_form() -> None:
    # Closed form (derived from first-step equations): 2 active units, one repairer,
    # MTTF = (3 lam + mu) / (2 lam^2).
    lam, mu = 0.01, 0.5
    q = [[-2 * lam, 2 * lam, 0], [mu, -(lam + mu), lam], [0, 0, 0]]
    a = markov.ctmc_absorbing(q)
    assert a.kind == "ctmc"
    assert a.mean_time[0] == pytest.approx((3 * lam + mu) / (2 * lam**2), rel=1e-12)
    np.testing.assert_allclose(a.absorption, [[1.0], [1.0]])


def test_absorption_time_variance_closed_forms() -> None:
    # Exponential(rate 4): mean 1/4, variance 1/16. Geometric steps with p = 0.2: mean 5, variance 20.
    c = markov.ctmc_absorbing([[-4.0, 4.0], [0.0, 0.0]])
    assert (c.mean_time[0], c.time_variance[0]) == pytest.approx((0.25, 1 / 16))
    d = markov.dtmc_absorbing([[0.8, 0.2], [0.0, 1.0]])
    assert (d.mean_time[0], d.time_variance[0]) == pytest.approx((5.0, 20.0))
    assert d.kind == "dtmc"


def test_explicit_absorbing_set_gives_hitting_times() -> None:
    # Independent: first-step equations for hitting state 1 of the weather chain from 0: 1/0.1 = 10 steps.
    a = markov.dtmc_absorbing(WEATHER, absorbing=[1])
    assert a.mean_time.tolist() == pytest.approx([10.0])


@pytest.mark.parametrize("kind", ["dtmc", "ctmc"])
def test_mean_first_passage_matches_hitting_times(kind: str) -> None:
    # Independent: column j from an absorbing-chain solve with {j} absorbing; diagonal from pi.
    rng = np.random.default_rng(7)
    q = random_generator(rng, 7, density=0.5)
    if kind == "dtmc":
        m = np.eye(7) + q / (np.abs(np.diag(q)).max() * 1.5)
        mfp, absorbing, pi = (
            markov.dtmc_mean_first_passage(m),
            markov.dtmc_absorbing,
            markov.dtmc_steady_state(m),
        )
        np.testing.assert_allclose(np.diag(mfp), 1 / pi)
    else:
        m = q
        mfp, absorbing, pi = (
            markov.ctmc_mean_first_passage(m),
            markov.ctmc_absorbing,
            markov.ctmc_steady_state(m),
        )
        np.testing.assert_allclose(np.diag(mfp), 1 / (-np.diag(q) * pi))
    for j in range(7):
        a = absorbing(m, absorbing=[j])
        np.testing.assert_allclose(mfp[a.transient, j], a.mean_time, rtol=1e-10)


def test_ctmc_mean_first_passage_published_like_example() -> None:
    # Closed form: MTTF 100 h and MTTR 2 h are the passage times; cycle time 102 h on the diagonal.
    np.testing.assert_allclose(
        markov.ctmc_mean_first_passage([[-0.01, 0.01], [0.5, -0.5]]), [[102, 100], [2, 102]], rtol=1e-12
    )


# ------------------------------------------------------------------------------------ bad input

BAD = [
    (
        "not square",
        lambda: markov.dtmc_steady_state([[0.5, 0.5]]),
        r"dtmc_steady_state\(P\): must be a non-empty",
    ),
    ("ragged", lambda: markov.dtmc_steady_state([[1.0], [0.5, 0.5]]), r"must be a numeric matrix"),
    ("3-d", lambda: markov.ctmc_steady_state(np.zeros((2, 2, 2))), r"must be 2-dimensional \(got shape"),
    ("nan", lambda: markov.dtmc_steady_state([[np.nan, 1], [0, 1]]), r"entries must be finite"),
    ("row sum", lambda: markov.dtmc_steady_state([[0.9, 0.2], [0.5, 0.5]]), r"must sum to 1 \(got row 0"),
    (
        "negative p",
        lambda: markov.dtmc_steady_state([[1.5, -0.5], [0.5, 0.5]]),
        r">= 0 \(got -0.5 at \(0, 1\)\)",
    ),
    (
        "negative rate",
        lambda: markov.ctmc_steady_state([[1, -1], [1, -1]]),
        r"off-diagonal rates must be >= 0",
    ),
    ("gen row sum", lambda: markov.ctmc_steady_state([[-1, 2], [1, -1]]), r"must sum to 0 \(got row 0"),
    ("reducible", lambda: markov.dtmc_steady_state([[1, 0], [0.5, 0.5]]), r"must be irreducible \(got 2"),
    ("reducible ctmc", lambda: markov.ctmc_mean_first_passage([[0, 0], [1, -1]]), r"must be irreducible"),
    ("no absorbing", lambda: markov.dtmc_absorbing(WEATHER), r"must have an absorbing state \(got none\)"),
    (
        "trapped",
        lambda: markov.dtmc_absorbing([[1, 0, 0], [0, 0, 1], [0, 1, 0]]),
        r"must reach an absorbing state \(got state 1",
    ),
    ("abs index", lambda: markov.ctmc_absorbing([[0.0]], absorbing=[3]), r"indices must be in \[0, 1\)"),
    (
        "p0 sum",
        lambda: markov.dtmc_transient(WEATHER, [0.5, 0.6], 1),
        r"dtmc_transient\(p0\): must be a prob",
    ),
    ("p0 shape", lambda: markov.ctmc_transient([[0.0]], [0.5, 0.5], 1.0), r"must have shape \(1,\)"),
    ("steps", lambda: markov.dtmc_transient(WEATHER, [1, 0], -1), r"steps\): must be >= 0 \(got -1\)"),
    ("t", lambda: markov.ctmc_transient([[0.0]], [1.0], -1.0, method="expm"), r"ctmc_transient\(t\)"),
    ("t unif", lambda: markov.uniformization([[0.0]], [1.0], float("nan")), r"uniformization\(t\)"),
    ("tol", lambda: markov.uniformization([[0.0]], [1.0], 1.0, tol=0.0), r"tol\): must be in \(0, 1\)"),
    ("method", lambda: markov.ctmc_transient([[0.0]], [1.0], 1.0, method="pade"), r"got 'pade'"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("case", "call", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises(case: str, call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelAssumptionError, match=match):
        call()


def test_row_sum_tolerance_scales_with_rates() -> None:
    # A generator with rates ~1e6 and row-sum rounding of 1e-6 is accepted.
    big = 1e6 + 1e-7
    pi = markov.ctmc_steady_state([[-big, 1e6], [1e6, -1e6]])
    assert pi.sum() == pytest.approx(1.0)


# ------------------------------------------------------------------------------------ properties


@st.composite
def generators(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.floats(0.0, 1.0))
    return random_generator(np.random.default_rng(seed), n, density)


@given(q=generators())
@settings(max_examples=40, deadline=None, derandomize=True)
def test_property_ctmc_steady_state_is_a_balanced_distribution(q: np.ndarray) -> None:
    pi = markov.ctmc_steady_state(q)
    assert pi.min() >= 0
    assert pi.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pi @ q, 0.0, atol=1e-10 * np.abs(q).max(initial=1.0))


@given(q=generators(), lazy=st.floats(0.0, 0.9))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_property_dtmc_steady_state_is_invariant(q: np.ndarray, lazy: float) -> None:
    scale = max(np.abs(np.diag(q)).max(), 1e-9)
    p = np.eye(q.shape[0]) + (1 - lazy) * q / scale
    pi = markov.dtmc_steady_state(p)
    assert pi.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pi @ p, pi, atol=1e-12)


@given(q=generators(), start=st.integers(0, 7), method=st.sampled_from(["expm", "uniformization"]))
@settings(max_examples=25, deadline=None, derandomize=True)
def test_property_transient_converges_to_steady_state(q: np.ndarray, start: int, method: str) -> None:
    # Every rate in the ring is >= 0.5, so the chain mixes long before t = 200.
    n = q.shape[0]
    p0 = np.zeros(n)
    p0[start % n] = 1.0
    p = markov.ctmc_transient(q, p0, 200.0, method=method)  # type: ignore[arg-type]
    np.testing.assert_allclose(p, markov.ctmc_steady_state(q), atol=1e-8)
