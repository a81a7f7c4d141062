"""Tests for edgescale.analysis.qnetworks.

No worked example from a book is cited here: the networks are checked against
independent computations instead -- brute-force CTMCs built and solved with numpy
(open and closed, single and multi-class), direct enumeration of the product-form
normalizing constant, and the exact algorithms against each other (MVA vs
convolution, exact vs Schweitzer and Linearizer MVA).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sparse
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edgescale.analysis import qnetworks as qn
from edgescale.analysis import queueing as q
from edgescale.errors import ModelAssumptionError, UnstableSystemError

PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)


# ---------------------------------------------------------------------------- brute force (independent)


def stationary(states: list[tuple[int, ...]], moves) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Stationary distribution of the CTMC on *states* whose transitions are moves(state) -> [(state, rate)]."""
    index = {s: k for k, s in enumerate(states)}
    gen = np.zeros((len(states), len(states)))
    for s in states:
        for t, rate in moves(s):
            if t != s:
                gen[index[s], index[t]] += rate
                gen[index[s], index[s]] -= rate
    a = np.vstack([gen.T, np.ones(len(states))])
    b = np.zeros(len(states) + 1)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def compositions(n: int, parts: int) -> list[tuple[int, ...]]:
    """All tuples of *parts* non-negative integers summing to n."""
    return [c for c in itertools.product(range(n + 1), repeat=parts) if sum(c) == n]


def closed_ctmc(route: list[float], mu: list[float], servers: list[float], n: int):  # type: ignore[no-untyped-def]
    """Single-class closed network with random routing route[j]; returns (completions/s, mean numbers)."""
    m = len(route)
    states = compositions(n, m)

    def rate(s: tuple[int, ...], i: int) -> float:
        return min(s[i], servers[i]) * mu[i]

    def moves(s: tuple[int, ...]):  # type: ignore[no-untyped-def]
        for i in range(m):
            for j in range(m):
                if s[i] and j != i:
                    t = list(s)
                    t[i] -= 1
                    t[j] += 1
                    yield tuple(t), rate(s, i) * route[j]

    pi = stationary(states, moves)
    x = sum(p * sum(rate(s, i) for i in range(m)) for p, s in zip(pi, states, strict=True))
    numbers = np.array([sum(p * s[i] for p, s in zip(pi, states, strict=True)) for i in range(m)])
    return x, numbers


# ---------------------------------------------------------------------------- Jackson


@given(lam=st.floats(0.01, 50), mu=st.floats(0.05, 20), c=st.integers(1, 30), feedback=st.floats(0, 0.9))
@PROPERTY
def test_jackson_single_station_equals_mmc(lam: float, mu: float, c: int, feedback: float) -> None:
    total = lam / (1 - feedback)  # a self-loop with probability `feedback`
    assume(total / (c * mu) < 0.99)
    net = qn.jackson_network(sparse.csr_matrix([[feedback]]), [lam], [mu], [c])
    station = q.mmc(total, mu, c)
    assert net.arrival_rate_per_s[0] == pytest.approx(total, rel=1e-12)
    assert net.mean_number_in_system[0] == pytest.approx(station.mean_number_in_system, rel=1e-10)
    assert net.mean_response_time_s[0] == pytest.approx(station.mean_response_time_s, rel=1e-10)
    assert net.network_response_time_s == pytest.approx(station.mean_number_in_system / lam, rel=1e-10)


def test_jackson_tandem_is_sum_of_mm1() -> None:
    net = qn.jackson_network([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [2.0, 0, 0], [4.0, 5.0, 8.0])
    expected = sum(q.mm1(2.0, mu).mean_response_time_s for mu in (4.0, 5.0, 8.0))
    assert net.network_response_time_s == pytest.approx(expected)
    assert net.visit_ratio == pytest.approx([1, 1, 1])


def test_jackson_matches_truncated_ctmc() -> None:
    # Two stations, external arrivals to both, routing with feedback; station 1 has 2 servers.
    gamma, mu, c = [0.6, 0.3], [2.0, 1.0], [1, 2]
    p = np.array([[0.1, 0.5], [0.3, 0.0]])
    cap = 22  # truncation: utilizations are 0.46 and 0.38, so the neglected mass is ~1e-7
    states = list(itertools.product(range(cap + 1), repeat=2))

    def moves(s):  # type: ignore[no-untyped-def]
        for i in range(2):
            if s[i] < cap:
                yield tuple(v + (k == i) for k, v in enumerate(s)), gamma[i]
            if s[i]:
                done = min(s[i], c[i]) * mu[i]
                gone = [v - (k == i) for k, v in enumerate(s)]
                yield tuple(gone), done * (1 - p[i].sum())
                for j in range(2):
                    t = list(gone)
                    t[j] += 1
                    if t[j] <= cap:
                        yield tuple(t), done * p[i, j]

    pi = stationary(states, moves)
    numbers = [sum(w * s[i] for w, s in zip(pi, states, strict=True)) for i in range(2)]
    net = qn.jackson_network(p, gamma, mu, c)
    assert net.mean_number_in_system == pytest.approx(numbers, rel=1e-5)


def random_substochastic(n: int, seed: int) -> sparse.csr_matrix:
    """Random routing: 1-10 successors per station, exit probability 5-50 %."""
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 11, size=n)
    rows = np.repeat(np.arange(n), k)
    p = sparse.csr_matrix((rng.random(k.sum()), (rows, rng.integers(0, n, k.sum()))), shape=(n, n))
    keep = rng.uniform(0.5, 0.95, n) / np.asarray(p.sum(axis=1)).ravel()
    return sparse.csr_matrix(sparse.diags(keep) @ p)


def test_jackson_10000_stations_solves_the_traffic_equations() -> None:
    n = 10_000
    p = random_substochastic(n, seed=7)
    gamma = np.random.default_rng(8).random(n)
    net = qn.jackson_network(p, gamma, 1e4, servers=2)
    lam = net.arrival_rate_per_s
    assert np.abs(lam - gamma - p.T @ lam).max() <= 1e-9 * lam.max()
    assert net.network_number_in_system == pytest.approx(net.mean_number_in_system.sum())
    # Flow balance: everything that enters leaves.
    exits = 1 - np.asarray(p.sum(axis=1)).ravel()
    assert float(lam @ exits) == pytest.approx(gamma.sum(), rel=1e-9)


def test_jackson_iterative_and_direct_solvers_agree() -> None:
    p = random_substochastic(800, seed=3)
    gamma = np.random.default_rng(4).random(800)
    direct = qn.jackson_network(p, gamma, 1e3, method="direct")
    iterative = qn.jackson_network(p, gamma, 1e3, method="iterative")
    assert iterative.arrival_rate_per_s == pytest.approx(direct.arrival_rate_per_s, rel=1e-9)


def test_jackson_names_the_unstable_station() -> None:
    with pytest.raises(
        UnstableSystemError, match=r"station 1 \('edge-b'\): utilization must be < 1 \(got 1.25\)"
    ):
        qn.jackson_network([[0, 1], [0, 0]], [5.0, 0], [10.0, 4.0], names=["edge-a", "edge-b"])
    with pytest.raises(UnstableSystemError) as info:
        qn.jackson_network([[0, 0.5], [0, 0]], [3.0, 0], [1.0, 1.0], servers=[2, 1])
    assert (info.value.station, info.value.utilization) == ("0", pytest.approx(1.5))
    assert "2 of 2 stations are unstable" in str(info.value)


BAD_JACKSON = [
    ({"routing": [[0.6, 0.6], [0, 0]]}, r"routing row 0 must sum to <= 1 \(got 1.2\)"),
    ({"routing": [[0, -0.1], [0, 0]]}, r"routing\[0, 1\] must be a probability >= 0 \(got -0.1\)"),
    ({"routing": [[0, 1.0], [1.0, 0]]}, r"station 0 cannot reach an exit"),
    ({"routing": [[0, 0, 0]]}, r"routing must be 1 x 1|must have one entry per station"),
    ({"gamma": [-1.0, 1.0]}, r"external_arrival_rate_per_s\[0\] must be >= 0 \(got -1.0\)"),
    ({"gamma": [0.0, 0.0]}, r"must not be all zero"),
    ({"mu": [1.0, 0.0]}, r"service_rate_per_s\[1\] must be > 0 \(got 0.0\)"),
    ({"servers": [1, 1.5]}, r"servers\[1\] must be an integer >= 1 \(got 1.5\)"),
    ({"mu": [1.0, 2.0, 3.0]}, r"service_rate_per_s must have one entry per station, 2 \(got \(3,\)\)"),
]


@pytest.mark.parametrize(("change", "match"), BAD_JACKSON, ids=[m for _, m in BAD_JACKSON])
def test_jackson_bad_input(change: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "routing": [[0, 0.5], [0, 0]],
        "gamma": [1.0, 0.0],
        "mu": [5.0, 5.0],
        "servers": 1,
    }
    args.update(change)
    with pytest.raises(ModelAssumptionError, match=match):
        qn.jackson_network(args["routing"], args["gamma"], args["mu"], args["servers"])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- single-class closed


CLOSED_CASES = [
    # route (last entry is the think/terminal stage), per-visit rates, servers, population
    ([0.5, 0.3, 0.2], [2.0, 1.0, 0.5], [1, 1, 1], 4),
    ([0.4, 0.3, 0.3], [1.0, 0.5, 0.2], [1, 3, math.inf], 5),
    ([0.25, 0.25, 0.2, 0.3], [1.5, 0.4, 3.0, 0.25], [2, 4, 1, math.inf], 6),
]


@pytest.mark.parametrize(("route", "mu", "servers", "n"), CLOSED_CASES)
def test_mva_and_convolution_match_closed_ctmc(
    route: list[float], mu: list[float], servers: list[float], n: int
) -> None:
    x, numbers = closed_ctmc(route, mu, servers, n)
    demand = [r / m for r, m in zip(route, mu, strict=True)]
    think = demand[-1] if math.isinf(servers[-1]) else 0.0
    stations = demand[:-1] if think else demand
    c = servers[:-1] if think else servers
    for solved in (
        qn.mva(stations, n, servers=c, think_time_s=think),
        qn.mva(stations, n, servers=c, think_time_s=think, method="direct"),
        qn.buzen_convolution(stations, n, servers=c, think_time_s=think),
    ):
        assert solved.throughput_per_s == pytest.approx(x, rel=1e-9)
        assert solved.mean_number_in_station == pytest.approx(numbers[: len(stations)], rel=1e-8)


def test_convolution_constant_by_enumeration() -> None:
    # G(N) = sum over states of prod_i f_i(n_i), f = D^k / prod min(j, c) (k! for delay).
    demand, servers, n, think = [0.3, 0.7, 1.2], [1, 2, 3], 6, 2.5

    def factor(d: float, c: float, k: int) -> float:
        return d**k / math.prod(min(j, c) for j in range(1, k + 1))

    total = sum(
        math.prod(factor(d, c, k) for d, c, k in zip([*demand, think], [*servers, math.inf], s, strict=True))
        for s in compositions(n, 4)
    )
    result = qn.buzen_convolution(demand, n, servers=servers, think_time_s=think)
    assert result.normalizing_constant == pytest.approx(total, rel=1e-12)
    assert result.log_normalizing_constant == pytest.approx(math.log(total), rel=1e-12)


networks = st.integers(1, 5).flatmap(
    lambda m: st.tuples(
        st.lists(st.floats(0.01, 3.0), min_size=m, max_size=m),
        st.lists(st.sampled_from([1, 1, 2, 3, 5, math.inf]), min_size=m, max_size=m),
    )
)


@given(net=networks, n=st.integers(1, 60), think=st.sampled_from([0.0, 0.5, 10.0]))
@PROPERTY
def test_mva_equals_convolution_and_respects_bounds(
    net: tuple[list[float], list[float]], n: int, think: float
) -> None:
    demand, servers = net
    exact = qn.mva(demand, n, servers=servers, think_time_s=think)
    conv = qn.buzen_convolution(demand, n, servers=servers, think_time_s=think)
    assert exact.throughput_per_s == pytest.approx(conv.throughput_per_s, rel=1e-9)
    assert exact.mean_number_in_station == pytest.approx(conv.mean_number_in_station, rel=1e-7, abs=1e-9)
    # Little's law over the whole cycle, and the asymptotic bounds.
    assert exact.throughput_per_s * (think + exact.response_time_s) == pytest.approx(n, rel=1e-9)
    bound = min([n / (think + sum(demand))] + [c / d for d, c in zip(demand, servers, strict=True)])
    assert exact.throughput_per_s <= bound * (1 + 1e-12)
    assert (exact.utilization <= 1 + 1e-12).all()


def test_mva_is_stable_for_large_populations_at_multiserver_stations() -> None:
    # The direct p(0|n) formula loses all accuracy by N ~ 200 here; the stable one must not.
    demand, servers = [0.2, 0.3, 0.1, 1.0], [1, 2, 4, 8]
    conv = qn.buzen_convolution(demand, 2000, servers=servers, think_time_s=50.0)
    exact = qn.mva(demand, 2000, servers=servers, think_time_s=50.0)
    assert exact.throughput_per_s == pytest.approx(conv.throughput_per_s, rel=1e-10)
    assert exact.mean_number_in_station == pytest.approx(conv.mean_number_in_station, rel=1e-8)
    assert conv.normalizing_constant == 0.0  # G(N) ~ e^-2961 underflows; its log does not
    assert conv.log_normalizing_constant == pytest.approx(-2961.39, abs=0.01)
    huge = qn.buzen_convolution([10.0, 20.0], 2000)
    assert huge.normalizing_constant == math.inf and huge.log_normalizing_constant > 5000
    assert huge.throughput_per_s == pytest.approx(1 / 20.0)


def test_mva_single_server_is_classic_small_case() -> None:
    # Two balanced single-server stations, N = 2: states (2,0), (1,1), (0,2) equally likely.
    m = qn.mva([1.0, 1.0], 2)
    assert m.throughput_per_s == pytest.approx(2 / 3)
    assert m.mean_number_in_station == pytest.approx([1.0, 1.0])


# ---------------------------------------------------------------------------- multi-class closed


def multiclass_ctmc(route: np.ndarray, mu: np.ndarray, delay: list[bool], pop: list[int]):  # type: ignore[no-untyped-def]
    """Closed multi-class network, processor-sharing queues and delay stations, random routing per class."""
    m, classes = route.shape
    per_class = [compositions(n, m) for n in pop]
    states = [tuple(itertools.chain(*combo)) for combo in itertools.product(*per_class)]

    def count(s: tuple[int, ...], i: int, k: int) -> int:
        return s[k * m + i]

    def rate(s: tuple[int, ...], i: int, k: int) -> float:
        here = sum(count(s, i, kk) for kk in range(classes))
        if not count(s, i, k):
            return 0.0
        share = count(s, i, k) if delay[i] else count(s, i, k) / here
        return share * mu[i, k]

    def moves(s):  # type: ignore[no-untyped-def]
        for i, k, j in itertools.product(range(m), range(classes), range(m)):
            if j != i and rate(s, i, k):
                t = list(s)
                t[k * m + i] -= 1
                t[k * m + j] += 1
                yield tuple(t), rate(s, i, k) * route[j, k]

    pi = stationary(states, moves)
    x = np.array([sum(p * sum(rate(s, i, k) for i in range(m)) for p, s in zip(pi, states, strict=True))
                  for k in range(classes)])  # fmt: skip
    numbers = np.array(
        [
            [sum(p * count(s, i, k) for p, s in zip(pi, states, strict=True)) for k in range(classes)]
            for i in range(m)
        ]
    )
    return x, numbers


def test_exact_multiclass_mva_matches_ctmc() -> None:
    route = np.array([[0.5, 0.2], [0.3, 0.5], [0.2, 0.3]])  # columns sum to 1
    mu = np.array([[2.0, 1.0], [1.0, 3.0], [0.4, 0.6]])
    delay = [False, False, True]
    pop = [2, 3]
    x, numbers = multiclass_ctmc(route, mu, delay, pop)
    result = qn.mva_multiclass(route / mu, pop, servers=[1, 1, math.inf])
    assert result.throughput_per_s == pytest.approx(x, rel=1e-9)
    assert result.mean_number_in_station == pytest.approx(numbers, rel=1e-8)


@given(net=networks, n=st.integers(1, 40), think=st.sampled_from([0.0, 2.0]))
@PROPERTY
def test_multiclass_mva_with_one_class_is_mva(
    net: tuple[list[float], list[float]], n: int, think: float
) -> None:
    demand, servers = net
    servers = [c if math.isinf(c) else 1 for c in servers]
    single = qn.mva(demand, n, servers=servers, think_time_s=think)
    multi = qn.mva_multiclass(np.array(demand)[:, None], [n], servers=servers, think_time_s=[think])
    assert multi.throughput_per_s[0] == pytest.approx(single.throughput_per_s, rel=1e-12)
    assert multi.mean_number_in_station[:, 0] == pytest.approx(single.mean_number_in_station, rel=1e-10)


demands = st.integers(2, 4).flatmap(
    lambda m: st.lists(st.lists(st.floats(0.05, 2.0), min_size=3, max_size=3), min_size=m, max_size=m)
)


@given(d=demands, pop=st.lists(st.integers(1, 5), min_size=3, max_size=3), think=st.floats(0.0, 5.0))
@PROPERTY
def test_schweitzer_is_close_to_exact_on_small_cases(
    d: list[list[float]], pop: list[int], think: float
) -> None:
    # Schweitzer's error is largest at small populations. Sampling 3,000 such random
    # networks (demands 0.05-2 s, N_c = 1-5) gave at most 20 % per-class and 7 % total
    # throughput error, so these are the bounds asserted; the approximation also keeps
    # the asymptotic bounds and Little's law exactly.
    exact = qn.mva_multiclass(d, pop, think_time_s=[think] * 3)
    approx = qn.schweitzer_mva(d, pop, think_time_s=[think] * 3)
    assert approx.throughput_per_s == pytest.approx(exact.throughput_per_s, rel=0.25)
    assert approx.throughput_per_s.sum() == pytest.approx(exact.throughput_per_s.sum(), rel=0.08)
    bound = np.array(pop) / (think + np.sum(d, axis=0))
    assert (approx.throughput_per_s <= bound * (1 + 1e-9)).all()
    assert approx.throughput_per_s * (think + approx.response_time_s) == pytest.approx(pop, rel=1e-9)


@given(d=demands, pop=st.lists(st.integers(1, 8), min_size=3, max_size=3), think=st.floats(0.0, 5.0))
@PROPERTY
def test_linearizer_within_five_percent_of_exact(d: list[list[float]], pop: list[int], think: float) -> None:
    # (2,000 random cases of this kind gave at most 1.9 % error.)
    exact = qn.mva_multiclass(d, pop, think_time_s=[think] * 3)
    approx = qn.linearizer_mva(d, pop, think_time_s=[think] * 3)
    assert approx.throughput_per_s == pytest.approx(exact.throughput_per_s, rel=0.05)
    assert approx.response_time_s == pytest.approx(exact.response_time_s, rel=0.05)
    assert approx.mean_number_in_station == pytest.approx(exact.mean_number_in_station, rel=0.1, abs=0.05)


def test_benchmark_case_errors() -> None:
    # The tractable case of benchmarks/analysis_queueing.py: 3 classes, 4 stations, N = (6, 5, 4).
    # Schweitzer is off by 6.3 % (throughput) and 7.3 % (response time) here; Linearizer by < 0.3 %.
    d = np.array([[0.40, 0.10, 0.30], [0.20, 0.50, 0.20], [0.30, 0.30, 0.60], [0.10, 0.20, 0.10]])
    pop, think = [6, 5, 4], [1.0, 2.0, 0.5]
    exact = qn.mva_multiclass(d, pop, think_time_s=think)
    schweitzer = qn.schweitzer_mva(d, pop, think_time_s=think)
    linearizer = qn.linearizer_mva(d, pop, think_time_s=think)
    assert schweitzer.response_time_s == pytest.approx(exact.response_time_s, rel=0.08)
    assert linearizer.throughput_per_s == pytest.approx(exact.throughput_per_s, rel=0.01)
    assert linearizer.response_time_s == pytest.approx(exact.response_time_s, rel=0.01)


def test_schweitzer_is_exact_for_one_customer_and_littles_law_holds() -> None:
    one = qn.schweitzer_mva([0.3, 0.5, 0.2], [1], think_time_s=[1.0])
    assert one.throughput_per_s[0] == pytest.approx(1 / 2.0)
    rng = np.random.default_rng(5)
    d = rng.uniform(0.001, 0.05, (100, 10))
    pop = np.full(10, 1000)
    z = rng.uniform(0, 1, 10)
    big = qn.schweitzer_mva(d, pop, think_time_s=z)
    cycle = big.throughput_per_s * (z + big.response_time_s)
    assert cycle == pytest.approx(pop, rel=1e-9)
    assert big.mean_number_in_station.sum(axis=0) + big.throughput_per_s * z == pytest.approx(pop, rel=1e-9)
    assert (big.utilization <= 1 + 1e-9).all()


BAD_CLOSED = [
    (lambda: qn.mva([1.0, -1.0], 3), r"mva: service_demand_s\[1\] must be finite and >= 0 \(got -1.0\)"),
    (lambda: qn.mva([1.0], 0), r"population must be an integer >= 1 \(got 0\)"),
    (lambda: qn.mva([1.0], 2, servers=[0]), r"servers\[0\] must be an integer >= 1 or math.inf"),
    (lambda: qn.mva([0.0], 2), r"think_time_s or some demand must be > 0"),
    (
        lambda: qn.mva([1.0], 2, method="fast"),
        r"method must be one of 'auto', 'stable', 'direct' \(got 'fast'\)",
    ),
    (lambda: qn.buzen_convolution([1.0], 2, think_time_s=-1), r"think_time_s must be finite and >= 0"),
    (lambda: qn.mva_multiclass([[1.0, 1.0]], [1, 1], servers=[2]), r"servers must be 1 or math.inf"),
    (lambda: qn.mva_multiclass([[1.0, 1.0]], [1]), r"population must be 2 integers >= 0"),
    (lambda: qn.mva_multiclass([[1.0, 1.0]], [3000, 4000]), r"use schweitzer_mva"),
    (lambda: qn.schweitzer_mva([[1.0, 0.0]], [1, 1]), r"class 1 needs some demand or think time > 0"),
    (lambda: qn.schweitzer_mva([[1.0]], [1], tol=0.0), r"tol must be finite and > 0 \(got 0.0\)"),
    (lambda: qn.linearizer_mva([[1.0]], [1], rounds=0), r"rounds must be an integer >= 1 \(got 0\)"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CLOSED, ids=[m for _, m in BAD_CLOSED])
def test_closed_bad_input(call, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelAssumptionError, match=match):
        call()
