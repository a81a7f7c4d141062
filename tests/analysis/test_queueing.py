"""Tests for edgescale.analysis.queueing.

Where a test cites a book, the printed numbers are quoted. Everything else is checked
against an independent computation (factorial formulas, a brute-force CTMC solved
with numpy, numerical integration of a distribution) or against exact identities.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import gamma as gamma_dist

from edgescale.analysis import queueing as q
from edgescale.errors import ModelAssumptionError, UnstableSystemError

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


# ---------------------------------------------------------------------------- helpers (independent)


def erlang_b_factorial(c: int, a: float) -> float:
    """Erlang B straight from its definition with factorials (fine for small c)."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def erlang_c_factorial(c: int, a: float) -> float:
    """Erlang C from its definition with factorials."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def birth_death_ctmc(lam: float, mu: float, c: int, k: int) -> np.ndarray:
    """Stationary distribution of M/M/c/K from its generator matrix (numpy least squares)."""
    gen = np.zeros((k + 1, k + 1))
    for n in range(k + 1):
        if n < k:
            gen[n, n + 1] = lam
        if n > 0:
            gen[n, n - 1] = min(n, c) * mu
        gen[n, n] = -gen[n].sum()
    a = np.vstack([gen.T, np.ones(k + 1)])
    b = np.zeros(k + 2)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def crommelin_md1_cdf(rho: float, t: float) -> float:
    """Erlang/Crommelin alternating-sum waiting-time CDF of M/D/1, D = 1 (fine for small t)."""
    return (1 - rho) * sum(
        (rho * (j - t)) ** j / math.factorial(j) * math.exp(-rho * (j - t)) for j in range(int(t) + 1)
    )


# ---------------------------------------------------------------------------- published examples


@pytest.mark.parametrize(
    ("servers", "load"),
    [(5, 1.361), (10, 4.461), (20, 12.031), (50, 37.901), (100, 84.064)],
)
def test_erlang_b_matches_textbook_table_at_one_percent(servers: int, load: float) -> None:
    """Standard Erlang B table, 1 % grade-of-service column.

    The printed offered loads for B = 0.01 are 1.361 E (5 circuits), 4.461 E (10),
    12.031 E (20), 37.901 E (50) and 84.064 E (100); loads are rounded to 0.001 E,
    hence the 0.1 % tolerance.
    """
    assert q.erlang_b(servers, load) == pytest.approx(0.01, rel=1e-3)


def test_mm1_jain_example_31_1_gateway() -> None:
    """Jain (1991), Example 31.1: a gateway with 125 packets/s arriving, 2 ms service.

    Printed: utilization rho = 0.25; mean number in gateway 0.33; mean time in
    gateway (1/500)/(1 - 0.25) = 2.66 ms (2.666... truncated).
    """
    m = q.mm1(arrival_rate_per_s=125.0, service_rate_per_s=500.0)
    assert m.utilization == pytest.approx(0.25)
    assert m.mean_number_in_system == pytest.approx(0.33, abs=0.005)
    assert m.mean_response_time_s * 1e3 == pytest.approx(2.66, abs=0.01)


# ---------------------------------------------------------------------------- Erlang B / C


@pytest.mark.parametrize("c", [1, 2, 3, 7, 15, 30])
@pytest.mark.parametrize("a", [0.1, 1.0, 2.5, 9.0, 25.0])
def test_erlang_b_recursion_equals_factorial_formula(c: int, a: float) -> None:
    assert q.erlang_b(c, a) == pytest.approx(erlang_b_factorial(c, a), rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.0), (3, 2.9), (8, 4.0), (25, 20.0)])
def test_erlang_c_equals_factorial_formula(c: int, a: float) -> None:
    assert q.erlang_c(c, a) == pytest.approx(erlang_c_factorial(c, a), rel=1e-12)


def test_erlang_b_and_c_for_thousands_of_servers_do_not_overflow() -> None:
    # Log-space check: B = Poisson pmf(c; a) / Poisson cdf(c; a), an independent form.
    from scipy.stats import poisson

    for c, a in [(2000, 1900.0), (5000, 5000.0), (20000, 19000.0)]:
        expected = math.exp(poisson.logpmf(c, a) - poisson.logcdf(c, a))
        assert q.erlang_b(c, a) == pytest.approx(expected, rel=1e-9)
    assert 0.0 < q.erlang_c(5000, 4990.0) < 1.0


def test_erlang_c_of_mm2_closed_form() -> None:
    # M/M/2: P(wait) = 2 rho^2 / (1 + rho); with a = 1, rho = 0.5 -> 1/3.
    assert q.erlang_c(2, 1.0) == pytest.approx(1 / 3)


@given(c=st.integers(1, 60), load=st.floats(0.0, 0.999))
@PROPERTY
def test_erlang_c_is_at_least_erlang_b(c: int, load: float) -> None:
    a = load * c
    assert q.erlang_c(c, a) >= q.erlang_b(c, a) - 1e-15


# ---------------------------------------------------------------------------- M/M/1, M/M/c


def test_mm1_closed_forms() -> None:
    m = q.mm1(8.0, 10.0)
    assert m.utilization == pytest.approx(0.8)
    assert m.mean_number_in_system == pytest.approx(4.0)
    assert m.mean_number_in_queue == pytest.approx(3.2)
    assert m.mean_response_time_s == pytest.approx(0.5)
    assert m.mean_wait_s == pytest.approx(0.4)
    assert m.prob_wait == pytest.approx(0.8)


def test_mm1_percentiles_closed_form() -> None:
    # T ~ Exp(mu - lambda): median = ln 2 / 2; P(Wq > t) = rho e^{-(mu-lambda)t}.
    assert q.mm1_response_time_percentile(8.0, 10.0, 0.5) == pytest.approx(math.log(2) / 2)
    t = q.mm1_wait_percentile(8.0, 10.0, 0.9)
    assert 0.8 * math.exp(-2.0 * t) == pytest.approx(0.1)


def test_mmc_wait_percentile_matches_mixture_of_erlangs() -> None:
    # Independent: P(Wq > t) = sum_{n>=c} p_n P(Erlang(n-c+1, c mu) > t), p_n from the CTMC.
    lam, mu, c = 5.0, 1.2, 6
    probs = birth_death_ctmc(lam, mu, c, 400)
    for p in (0.8, 0.95, 0.999):
        t = q.mmc_wait_percentile(lam, mu, c, p)
        n = np.arange(c, 401)
        tail = float(probs[c:] @ gamma_dist.sf(t, n - c + 1, scale=1 / (c * mu)))
        assert tail == pytest.approx(1 - p, rel=1e-8)


def test_mmc_response_time_percentile_matches_numerical_convolution() -> None:
    lam, mu, c = 5.0, 1.2, 6
    pw = q.erlang_c(c, lam / mu)
    theta = c * mu - lam

    def survival(t: float) -> float:  # P(W + S > t) by quadrature over the waiting-time density
        waited = integrate.quad(lambda w: theta * math.exp(-theta * w) * math.exp(-mu * (t - w)), 0, t)[0]
        return (1 - pw) * math.exp(-mu * t) + pw * (waited + math.exp(-theta * t))

    for p in (0.5, 0.9, 0.99):
        assert survival(q.mmc_response_time_percentile(lam, mu, c, p)) == pytest.approx(1 - p, rel=1e-7)


def test_mmc_response_time_percentile_when_rates_coincide() -> None:
    # theta = c mu - lambda = mu: the hypoexponential degenerates to Erlang-2 (tested formula branch).
    lam, mu, c = 1.0, 1.0, 2
    t = q.mmc_response_time_percentile(lam, mu, c, 0.9)
    pw = q.erlang_c(c, lam / mu)
    assert math.exp(-t) + pw * t * math.exp(-t) == pytest.approx(0.1, rel=1e-9)


def test_mmc_with_one_server_is_mm1() -> None:
    assert q.mmc(3.0, 4.0, 1) == q.mm1(3.0, 4.0)
    assert q.mmc_response_time_percentile(3.0, 4.0, 1, 0.95) == pytest.approx(
        q.mm1_response_time_percentile(3.0, 4.0, 0.95), rel=1e-10
    )


@given(lam=st.floats(0.01, 50), mu=st.floats(0.05, 20), c=st.integers(1, 40), more=st.integers(1, 5))
@PROPERTY
def test_mmc_more_servers_never_wait_longer(lam: float, mu: float, c: int, more: int) -> None:
    assume(lam / (c * mu) < 0.99)
    fewer, bigger = q.mmc(lam, mu, c), q.mmc(lam, mu, c + more)
    assert bigger.mean_wait_s <= fewer.mean_wait_s * (1 + 1e-12)
    assert bigger.mean_response_time_s <= fewer.mean_response_time_s * (1 + 1e-12)


@given(lam=st.floats(0.01, 50), mu=st.floats(0.05, 20), c=st.integers(1, 40), up=st.floats(1.0, 2.0))
@PROPERTY
def test_mmc_wait_grows_with_load(lam: float, mu: float, c: int, up: float) -> None:
    assume(lam * up / (c * mu) < 0.99)
    assert q.mmc(lam * up, mu, c).mean_wait_s >= q.mmc(lam, mu, c).mean_wait_s * (1 - 1e-12)


@given(lam=st.floats(0.0, 50), mu=st.floats(0.05, 20), c=st.integers(1, 40))
@PROPERTY
def test_mmc_littles_law(lam: float, mu: float, c: int) -> None:
    assume(lam / (c * mu) < 0.99)
    m = q.mmc(lam, mu, c)
    assert m.mean_number_in_system == pytest.approx(lam * m.mean_response_time_s, rel=1e-12, abs=1e-300)
    assert m.mean_number_in_queue == pytest.approx(lam * m.mean_wait_s, rel=1e-12, abs=1e-300)


@given(lam=st.floats(0.01, 50), mu=st.floats(0.05, 20), c=st.integers(1, 20), p=st.floats(0.01, 0.999))
@PROPERTY
def test_mmc_percentiles_are_ordered(lam: float, mu: float, c: int, p: float) -> None:
    assume(lam / (c * mu) < 0.98)
    wait = q.mmc_wait_percentile(lam, mu, c, p)
    response = q.mmc_response_time_percentile(lam, mu, c, p)
    assert 0.0 <= wait <= response
    assert response >= -math.log1p(-p) / mu * (1 - 1e-9)  # T = Wq + S is stochastically >= S


# ---------------------------------------------------------------------------- M/M/c/K, M/M/inf


@pytest.mark.parametrize(("lam", "mu", "c", "k"), [(1, 1, 1, 1), (3, 1, 2, 5), (9, 1, 4, 12), (2, 3, 3, 3)])
def test_mmck_matches_brute_force_ctmc(lam: float, mu: float, c: int, k: int) -> None:
    probs = birth_death_ctmc(lam, mu, c, k)
    n = np.arange(k + 1)
    accepted = lam * (1 - probs[k])
    m = q.mmck(lam, mu, c, k)
    assert m.prob_block == pytest.approx(probs[k], rel=1e-10)
    assert m.mean_number_in_system == pytest.approx(n @ probs, rel=1e-10)
    assert m.mean_number_in_queue == pytest.approx(np.maximum(n - c, 0) @ probs, rel=1e-10, abs=1e-14)
    assert m.throughput_per_s == pytest.approx(accepted)
    assert m.mean_response_time_s == pytest.approx((n @ probs) / accepted, rel=1e-10)
    assert m.utilization == pytest.approx(accepted / (c * mu))


def test_mm1k_closed_form() -> None:
    # M/M/1/K: p_K = (1 - rho) rho^K / (1 - rho^(K+1)).
    rho, k = 0.9, 10
    assert q.mmck(0.9, 1.0, 1, k).prob_block == pytest.approx((1 - rho) * rho**k / (1 - rho ** (k + 1)))


@given(c=st.integers(1, 200), load=st.floats(0.0, 300.0))
@PROPERTY
def test_mmcc_blocking_is_erlang_b(c: int, load: float) -> None:
    assert q.mmck(load, 1.0, c, c).prob_block == pytest.approx(q.erlang_b(c, load), rel=1e-9, abs=1e-300)


def test_mmck_overloaded_is_fine_and_large_capacity_tends_to_mmc() -> None:
    over = q.mmck(20.0, 1.0, 4, 50)  # rho = 5: no steady state without the finite room
    assert over.throughput_per_s == pytest.approx(4.0, rel=1e-6)
    big = q.mmck(3.0, 1.0, 4, 2000)
    assert big.mean_wait_s == pytest.approx(q.mmc(3.0, 1.0, 4).mean_wait_s, rel=1e-9)


@given(lam=st.floats(0.01, 20), c=st.integers(1, 8), k=st.integers(0, 30))
@PROPERTY
def test_mmck_blocking_falls_with_room(lam: float, c: int, k: int) -> None:
    assert q.mmck(lam, 1.0, c, c + k + 1).prob_block <= q.mmck(lam, 1.0, c, c + k).prob_block


def test_mminf_is_pure_delay() -> None:
    m = q.mminf(4.0, 2.0)
    assert (m.mean_number_in_system, m.mean_response_time_s, m.mean_wait_s) == (2.0, 0.5, 0.0)


# ---------------------------------------------------------------------------- M/G/1 family


def test_mg1_pk_reduces_to_mm1_and_md1() -> None:
    assert q.mg1(0.7, 1.0, scv_service=1.0).mean_wait_s == pytest.approx(q.mm1(0.7, 1.0).mean_wait_s)
    assert q.md1(0.7, 1.0).mean_wait_s == pytest.approx(q.mm1(0.7, 1.0).mean_wait_s / 2)
    by_scv = q.mg1(0.4, 2.0, scv_service=3.0)
    by_moment = q.mg1(0.4, 2.0, second_moment_service_s2=(1 + 3.0) * 4.0)
    assert by_scv == by_moment


def test_md1_wait_cdf_matches_crommelin_formula() -> None:
    # Crommelin's alternating sum is exact and numerically fine for small t/D.
    for rho in (0.3, 0.7, 0.9):
        for t in (0.25, 1.0, 1.6, 2.5, 4.2):
            k = int(t)
            probs = q._md1_state_probabilities(rho, k + 3)
            assert q._md1_wait_cdf(probs, rho, k, t - k) == pytest.approx(crommelin_md1_cdf(rho, t), rel=1e-9)


def test_md1_wait_percentile_inverts_crommelin() -> None:
    for rho, p in [(0.5, 0.9), (0.8, 0.95), (0.3, 0.99)]:
        t = q.md1_wait_percentile(rho, 1.0, p)
        assert crommelin_md1_cdf(rho, t) == pytest.approx(p, rel=1e-9)
    assert q.md1_wait_percentile(1.0, 0.5, 0.95) == pytest.approx(0.5 * q.md1_wait_percentile(0.5, 1.0, 0.95))


def test_md1_wait_distribution_has_pk_mean() -> None:
    # E[W] = integral of (1 - F); independent of the percentile search, dependent only on the CDF.
    rho = 0.8
    probs = q._md1_state_probabilities(rho, 300)
    mean = sum(
        integrate.quad(lambda u, k=k: 1 - q._md1_wait_cdf(probs, rho, k, u), 0, 1)[0] for k in range(250)
    )
    assert mean == pytest.approx(q.md1(rho, 1.0).mean_wait_s, rel=1e-8)


def test_md1_percentile_far_in_the_tail_is_stable() -> None:
    # Tail is asymptotically exponential: P(W > t) ~ K exp(-eta t), rho (e^eta - 1) = eta.
    rho = 0.95
    t3, t4 = (q.md1_wait_percentile(rho, 1.0, 1 - 10.0**-k) for k in (3, 4))
    eta = 0.1
    for _ in range(100):
        eta = math.log(1 + eta / rho)
    assert t4 - t3 == pytest.approx(math.log(10) / eta, rel=1e-3)
    assert q.md1_response_time_percentile(rho, 1.0, 0.999) == pytest.approx(t3 + 1.0)


@given(lam=st.floats(0.0, 10), es=st.floats(0.01, 2), scv=st.floats(0, 10))
@PROPERTY
def test_mg1_littles_law(lam: float, es: float, scv: float) -> None:
    assume(lam * es < 0.98)
    m = q.mg1(lam, es, scv_service=scv)
    assert m.mean_number_in_system == pytest.approx(lam * m.mean_response_time_s, rel=1e-12, abs=1e-300)
    assert m.mean_number_in_queue == pytest.approx(lam * m.mean_wait_s, rel=1e-12, abs=1e-300)


# ---------------------------------------------------------------------------- approximations


@given(lam=st.floats(0.01, 10), es=st.floats(0.01, 2), scv=st.floats(0, 10))
@PROPERTY
def test_kingman_is_exact_for_poisson_arrivals(lam: float, es: float, scv: float) -> None:
    assume(lam * es < 0.98)
    kingman = q.gg1_kingman(lam, es, scv_arrival=1.0, scv_service=scv)
    assert kingman.mean_wait_s == pytest.approx(q.mg1(lam, es, scv_service=scv).mean_wait_s, rel=1e-12)


@given(
    lam=st.floats(0.01, 30),
    es=st.floats(0.01, 2),
    c=st.integers(1, 30),
    ca=st.floats(0, 4),
    cs=st.floats(0, 4),
)
@PROPERTY
def test_allen_cunneen_limits(lam: float, es: float, c: int, ca: float, cs: float) -> None:
    assume(lam * es / c < 0.98)
    markov = q.ggc_allen_cunneen(lam, es, c, scv_arrival=1.0, scv_service=1.0)
    assert markov.mean_wait_s == pytest.approx(q.mmc(lam, 1 / es, c).mean_wait_s, rel=1e-10)
    if c == 1:
        ac = q.ggc_allen_cunneen(lam, es, 1, scv_arrival=ca, scv_service=cs)
        assert ac.mean_wait_s == pytest.approx(
            q.gg1_kingman(lam, es, scv_arrival=ca, scv_service=cs).mean_wait_s, rel=1e-10
        )


# ---------------------------------------------------------------------------- priorities


def test_single_class_priority_is_pk() -> None:
    fcfs = q.mg1(0.6, 1.0, scv_service=2.0)
    for model in (q.mg1_priority_nonpreemptive, q.mg1_priority_preemptive_resume):
        m = model([0.6], [1.0], scv_service=[2.0])
        assert m.mean_wait_s[0] == pytest.approx(fcfs.mean_wait_s)


def test_cobham_two_classes_by_hand() -> None:
    # W0 = sum lambda E[S^2]/2 = (0.25*2 + 0.25*2)/2 = 0.5; W1 = 0.5/(1*0.75), W2 = 0.5/(0.75*0.5).
    m = q.mg1_priority_nonpreemptive([0.25, 0.25], [1.0, 1.0], second_moment_service_s2=[2.0, 2.0])
    assert m.mean_wait_s == pytest.approx((2 / 3, 4 / 3))


rates = st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5)


@given(lams=rates, data=st.data())
@PROPERTY
def test_nonpreemptive_obeys_kleinrock_conservation_law(lams: list[float], data: st.DataObject) -> None:
    n = len(lams)
    es = data.draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    scv = data.draw(st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n))
    rho = sum(a * b for a, b in zip(lams, es, strict=True))
    assume(rho < 0.97)
    m = q.mg1_priority_nonpreemptive(lams, es, scv_service=scv)
    es2 = [(1 + v) * s * s for v, s in zip(scv, es, strict=True)]
    w0 = sum(a * m2 for a, m2 in zip(lams, es2, strict=True)) / 2
    weighted = sum(r * w for r, w in zip(m.class_utilization, m.mean_wait_s, strict=True))
    assert weighted == pytest.approx(rho * w0 / (1 - rho), rel=1e-10)
    assert list(m.mean_wait_s) == sorted(m.mean_wait_s)  # lower classes wait longer


@given(lams=rates, data=st.data())
@PROPERTY
def test_preemptive_resume_properties(lams: list[float], data: st.DataObject) -> None:
    n = len(lams)
    es = data.draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    rho = sum(a * b for a, b in zip(lams, es, strict=True))
    assume(rho < 0.97)
    m = q.mg1_priority_preemptive_resume(lams, es, scv_service=[1.0] * n)
    # The top class never sees the others: it is an M/M/1 on its own.
    assert m.mean_response_time_s[0] == pytest.approx(q.mm1(lams[0], 1 / es[0]).mean_response_time_s)
    # Exponential and equal service: the total number present equals M/M/1 (work conservation).
    total = sum(lams) * es[0]
    if total < 0.97:
        same = q.mg1_priority_preemptive_resume(lams, [es[0]] * n, scv_service=[1.0] * n)
        assert sum(same.mean_number_in_system) == pytest.approx(total / (1 - total), rel=1e-10)
    for k in range(n):
        assert m.mean_number_in_system[k] == pytest.approx(lams[k] * m.mean_response_time_s[k])


# ---------------------------------------------------------------------------- errors


BAD_INPUTS = [
    (lambda: q.mm1(-1.0, 1.0), ModelAssumptionError, r"M/M/1: arrival_rate_per_s must be >= 0 \(got -1.0\)"),
    (lambda: q.mm1(1.0, 0.0), ModelAssumptionError, r"service_rate_per_s must be > 0 \(got 0.0\)"),
    (lambda: q.mmc(1.0, 1.0, 0), ModelAssumptionError, r"servers must be an integer >= 1 \(got 0\)"),
    (lambda: q.mmc(1.0, 1.0, 2.5), ModelAssumptionError, r"servers must be an integer >= 1 \(got 2.5\)"),
    (lambda: q.mmc(math.nan, 1.0, 2), ModelAssumptionError, r"arrival_rate_per_s must be finite"),
    (lambda: q.mmck(1.0, 1.0, 3, 2), ModelAssumptionError, r"capacity must be an integer >= 3 \(got 2\)"),
    (lambda: q.erlang_b(3, -1.0), ModelAssumptionError, r"erlang_b: offered_load must be >= 0"),
    (
        lambda: q.mm1_wait_percentile(1.0, 2.0, 1.0),
        ModelAssumptionError,
        r"p must be in \(0, 1\) \(got 1.0\)",
    ),
    (lambda: q.mg1(1.0, 0.5), ModelAssumptionError, r"give exactly one of scv_service"),
    (
        lambda: q.mg1(1.0, 0.5, second_moment_service_s2=0.1),
        ModelAssumptionError,
        r"second_moment_service_s2 must be >= mean_service_s\*\*2",
    ),
    (
        lambda: q.mg1_priority_nonpreemptive([1.0, 1.0], [0.1], scv_service=[1.0]),
        ModelAssumptionError,
        r"equal length \(got 2 and 1\)",
    ),
    (
        lambda: q.mg1_priority_preemptive_resume([0.1], [0.1], scv_service=[1.0, 2.0]),
        ModelAssumptionError,
        r"must have 1 entries \(got 2\)",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUTS, ids=lambda v: "" if callable(v) else None)
def test_bad_inputs_are_named(call, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        call()


UNSTABLE = [
    (lambda: q.mm1(10.0, 10.0), "M/M/1", 1.0),
    (lambda: q.mmc(25.0, 1.0, 20), "M/M/c", 1.25),
    (lambda: q.erlang_c(4, 5.0), "erlang_c", 1.25),
    (lambda: q.mg1(2.0, 0.6, scv_service=1.0), "M/G/1", 1.2),
    (lambda: q.md1_wait_percentile(2.0, 0.5, 0.9), "M/G/1", 1.0),
    (lambda: q.gg1_kingman(2.0, 0.6, scv_arrival=1, scv_service=1), "Kingman", 1.2),
    (lambda: q.ggc_allen_cunneen(5.0, 1.0, 4, scv_arrival=1, scv_service=1), "Allen-Cunneen", 1.25),
    (lambda: q.mg1_priority_nonpreemptive([0.5, 0.6], [1.0, 1.0], scv_service=[1, 1]), "priority", 1.1),
]


@pytest.mark.parametrize(
    ("call", "where", "rho"), UNSTABLE, ids=[u[1] + str(i) for i, u in enumerate(UNSTABLE)]
)
def test_unstable_station_is_reported_with_its_utilization(call, where, rho) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnstableSystemError, match=r"utilization must be < 1 \(got [0-9.]+\)") as info:
        call()
    assert where in str(info.value)
    assert info.value.utilization == pytest.approx(rho)
    assert info.value.station is not None and where in info.value.station
