"""Tests for edgescale.analysis.reliability.

Sources, test by test. Printed values from books are used only where we are sure of them; we do not quote
example numbers from Trivedi or Bolch et al. Instead each test says what it is checked against:

* the common "nines" downtime table (99.9 % -> 8.76 h/yr, 99.99 % -> 52.6 min/yr, 99.999 % -> 5.26 min/yr,
  for a 365-day year), which follows from the definition;
* closed forms derived in the test or its comment: k-of-n of identical units (binomial), MTTF of series,
  parallel and k-of-n systems of exponential units (H_n / lambda and sums of 1/(i lambda)), the bridge network
  polynomial 2p^2 + 2p^3 - 5p^4 + 2p^5, and balance / first-step equations of the two-unit Markov models
  (the kind of model of Trivedi ch. 8, re-derived here, not copied);
* brute-force enumeration of all component states through the structure function (RBDs, k-of-n, path and
  cut sets of random graphs, minimal cuts);
* numerical integration of R(t) with scipy.integrate.quad (MTTF of arbitrary block diagrams);
* Monte Carlo with a seeded generator, asserted inside a 4.5-sigma interval (RBD availability; MTTF of the
  two-unit model with imperfect coverage).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Mapping

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import binom

from edgescale.analysis import reliability as rel
from edgescale.analysis.reliability import Block, Component, KofN, Parallel, Series
from edgescale.errors import ModelAssumptionError

probs = st.floats(0.0, 1.0, allow_nan=False)
prob_lists = st.lists(probs, min_size=1, max_size=8)


def enumerate_up_probability(is_up: Callable[[set], bool], p: Mapping) -> float:
    """Sum over all 2^n component states of P(state) * [system up]."""
    names = list(p)
    total = 0.0
    for states in itertools.product((False, True), repeat=len(names)):
        up = {n for n, s in zip(names, states, strict=True) if s}
        if is_up(up):
            total += math.prod(p[n] if s else 1.0 - p[n] for n, s in zip(names, states, strict=True))
    return total


def bridge(p: float) -> float:
    """Two-terminal reliability of the 5-edge bridge with equal p (derived by factoring on the middle edge)."""
    return 2 * p**2 + 2 * p**3 - 5 * p**4 + 2 * p**5


BRIDGE_PATHS = [{1, 4}, {2, 5}, {1, 3, 5}, {2, 3, 4}]
BRIDGE_CUTS = [{1, 2}, {4, 5}, {1, 3, 5}, {2, 3, 4}]


# ------------------------------------------------------------------------------------ one component


def test_availability_from_mtbf_mttr() -> None:
    assert rel.availability(999.0, 1.0) == pytest.approx(0.999)
    assert rel.availability(math.inf, 5.0) == 1.0
    assert rel.availability(10.0, 0.0) == 1.0


@pytest.mark.parametrize(
    ("a", "printed", "unit_min"),
    [(0.99, 3.65, 1440.0), (0.999, 8.76, 60.0), (0.9999, 52.6, 1.0), (0.99999, 5.26, 1.0)],
    ids=["2 nines: 3.65 d", "3 nines: 8.76 h", "4 nines: 52.6 min", "5 nines: 5.26 min"],
)
def test_downtime_matches_nines_table(a: float, printed: float, unit_min: float) -> None:
    # The usual nines table (365-day year), printed to 3 significant digits.
    assert round(rel.downtime_minutes_per_year(a) / unit_min, 2 if printed < 10 else 1) == printed
    assert rel.nines(a) == pytest.approx(-math.log10(1 - a))


def test_nines_edges_and_leap_year_option() -> None:
    assert rel.nines(0.999) == 3.0
    assert rel.nines(1.0) == math.inf
    assert rel.nines(0.0) == 0.0
    assert rel.downtime_minutes_per_year(0.999, minutes_per_year=525_960.0) == pytest.approx(525.96)


def test_exponential_reliability_at_mttf_is_one_over_e() -> None:
    assert rel.exponential_reliability(1 / 500, 500.0) == pytest.approx(math.exp(-1))
    assert rel.exponential_reliability(0.0, 1e9) == 1.0


# ------------------------------------------------------------------------------------ series / parallel / k-of-n


@pytest.mark.parametrize("ps", [[0.9, 0.95, 0.99], [0.5, 0.1, 0.7, 0.3], [1.0, 0.0, 0.4], [0.2]])
def test_k_of_n_matches_enumeration(ps: list[float]) -> None:
    # Independent: brute-force enumeration of the 2^n component states.
    p = dict(enumerate(ps))
    for k in range(1, len(ps) + 1):
        expected = enumerate_up_probability(lambda up, k=k: len(up) >= k, p)
        assert rel.k_of_n(k, ps) == pytest.approx(expected, abs=1e-14)
    assert rel.k_of_n(1, ps) == pytest.approx(rel.parallel(ps))
    assert rel.k_of_n(len(ps), ps) == pytest.approx(rel.series(ps))


def test_poisson_binomial_matches_binomial_for_identical_components() -> None:
    # Independent: scipy.stats.binom.
    np.testing.assert_allclose(
        rel.poisson_binomial_pmf([0.3] * 12), binom.pmf(np.arange(13), 12, 0.3), atol=1e-15
    )
    for k in range(1, 13):
        assert rel.k_of_n_identical(k, 12, 0.3) == pytest.approx(rel.k_of_n(k, [0.3] * 12), rel=1e-12)


def test_tmr_closed_form() -> None:
    # Closed form: 2-of-3 = 3p^2 - 2p^3.
    p = 0.93
    assert rel.k_of_n_identical(2, 3, p) == pytest.approx(3 * p**2 - 2 * p**3)


def test_poisson_binomial_is_stable_for_many_components() -> None:
    # 2000 components: still a distribution, and the mean is sum(p) (linearity of expectation).
    ps = np.random.default_rng(1).random(2000)
    pmf = rel.poisson_binomial_pmf(ps)
    assert pmf.min() >= 0
    assert pmf.sum() == pytest.approx(1.0)
    assert pmf @ np.arange(2001) == pytest.approx(ps.sum())


@given(ps=prob_lists)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_property_parallel_at_least_max_series_at_most_min(ps: list[float]) -> None:
    assert rel.parallel(ps) >= max(ps) - 1e-15
    assert rel.series(ps) <= min(ps) + 1e-15


@given(ps=prob_lists)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_property_k_of_n_monotone_in_k(ps: list[float]) -> None:
    values = [rel.k_of_n(k, ps) for k in range(1, len(ps) + 1)]
    assert all(a >= b - 1e-15 for a, b in itertools.pairwise(values))
    assert all(0.0 <= v <= 1.0 for v in values)


# ------------------------------------------------------------------------------------ MTTF


def test_mttf_closed_forms() -> None:
    # Closed forms: series 1/sum(l); parallel of two 1/l1 + 1/l2 - 1/(l1 + l2); identical H_n / l.
    assert rel.mttf_series([1e-3, 2e-3, 7e-3]) == pytest.approx(100.0)
    assert rel.mttf_series([0.0]) == math.inf
    l1, l2 = 1e-3, 4e-3
    assert rel.mttf_parallel([l1, l2]) == pytest.approx(1 / l1 + 1 / l2 - 1 / (l1 + l2))
    for n in (1, 2, 5):
        harmonic = sum(1 / i for i in range(1, n + 1))
        assert rel.mttf_parallel([0.01] * n) == pytest.approx(harmonic / 0.01, rel=1e-12)
        assert rel.mttf_k_of_n_identical(1, n, 0.01) == pytest.approx(harmonic / 0.01, rel=1e-12)


def test_mttf_parallel_beyond_polynomial_uses_quadrature() -> None:
    # 17 components: 2^17 - 1 monomials exceed the exact expansion; quadrature must still give H_17 / l.
    harmonic = sum(1 / i for i in range(1, 18))
    assert rel.mttf_parallel([0.5] * 17) == pytest.approx(harmonic / 0.5, rel=1e-8)
    assert rel.mttf_parallel([0.5] * 16 + [0.0]) == math.inf


@pytest.mark.parametrize(("k", "n"), [(1, 3), (2, 3), (3, 3), (3, 5), (4, 7)])
def test_k_of_n_block_mttf_matches_order_statistics(k: int, n: int) -> None:
    # Closed form: sum_{i=k}^{n} 1/(i lambda).
    lam = 2e-3
    block = KofN(k, *(Component(f"u{i}", mtbf_h=1 / lam) for i in range(n)))
    assert block.mttf_h() == pytest.approx(rel.mttf_k_of_n_identical(k, n, lam), rel=1e-12)


def test_block_mttf_immortal_system() -> None:
    assert Parallel(Component("a"), Component("b", mtbf_h=10.0)).mttf_h() == math.inf
    assert Series(Component("a"), Component("b", mtbf_h=10.0)).mttf_h() == pytest.approx(10.0)


# ------------------------------------------------------------------------------------ block diagrams

MTBF = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 5.0, "e": 8.0}


def _composites(children: st.SearchStrategy[Block]) -> st.SearchStrategy[Block]:
    kids = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        kids.map(lambda bs: Series(*bs)),
        kids.map(lambda bs: Parallel(*bs)),
        kids.flatmap(lambda bs: st.integers(1, len(bs)).map(lambda k: KofN(k, *bs))),
    )


trees = st.recursive(
    st.sampled_from(sorted(MTBF)).map(lambda n: Component(n, mtbf_h=MTBF[n], mttr_h=MTBF[n] / 10)),
    _composites,
    max_leaves=8,
)


@given(tree=trees, values=st.lists(probs, min_size=5, max_size=5))
@settings(max_examples=80, deadline=None, derandomize=True)
def test_property_rbd_probability_matches_enumeration(tree: Block, values: list[float]) -> None:
    # Independent: enumeration of the structure function; repeated names make many trees non-series-parallel.
    p = {n: v for n, v in zip(sorted(MTBF), values, strict=True) if n in tree.components()}
    assert tree.probability(p) == pytest.approx(enumerate_up_probability(tree.is_up, p), abs=1e-12)


@given(tree=trees)
@settings(max_examples=30, deadline=None, derandomize=True)
def test_property_rbd_mttf_matches_quadrature(tree: Block) -> None:
    # Independent: integrate R(t) numerically; every MTBF <= 8, so R(400) < e^-50.
    expected, _ = integrate.quad(tree.reliability, 0.0, 400.0, limit=400, epsabs=1e-12, epsrel=1e-10)
    assert tree.mttf_h() == pytest.approx(expected, rel=1e-7)


def test_bridge_as_rbd_with_repeated_components() -> None:
    # Closed form of the bridge; the tree repeats edges 1..5 across the four minimal paths.
    edges = {i: Component(str(i)) for i in range(1, 6)}
    rbd = Parallel(*(Series(*(edges[i] for i in sorted(path))) for path in BRIDGE_PATHS))
    for p in (0.5, 0.9, 0.99):
        assert rbd.probability({str(i): p for i in range(1, 6)}) == pytest.approx(bridge(p), rel=1e-12)


def test_rbd_availability_monte_carlo() -> None:
    # Monte Carlo, seeded: 40 000 samples of independent component states, 4.5-sigma interval.
    comps = {
        "lb": Component("lb", mtbf_h=2000.0, mttr_h=40.0),
        "s1": Component("s1", mtbf_h=100.0, mttr_h=10.0),
        "s2": Component("s2", mtbf_h=100.0, mttr_h=20.0),
        "d1": Component("d1", mtbf_h=50.0, mttr_h=5.0),
        "d2": Component("d2", mtbf_h=50.0, mttr_h=10.0),
        "d3": Component("d3", mtbf_h=50.0, mttr_h=2.0),
    }
    rbd = Series(
        comps["lb"], Parallel(comps["s1"], comps["s2"]), KofN(2, comps["d1"], comps["d2"], comps["d3"])
    )
    names = list(comps)
    a = np.array([rel.availability(c.mtbf_h, c.mttr_h) for c in comps.values()])
    samples = np.random.default_rng(2024).random((40_000, len(names))) < a
    hits = np.fromiter(
        (rbd.is_up({n for n, s in zip(names, row, strict=True) if s}) for row in samples), bool
    )
    exact = rbd.availability()
    sigma = math.sqrt(exact * (1 - exact) / hits.size)
    assert abs(hits.mean() - exact) < 4.5 * sigma


def test_block_repr_equality_and_components() -> None:
    a = Component("a", mtbf_h=10.0)
    tree = KofN(1, Series(a, Component("b")), Parallel(a))
    assert repr(tree).startswith("KofN(1, Series(Component(name='a', mtbf_h=10.0")
    assert tree == KofN(1, Series(a, Component("b")), Parallel(a))
    assert tree != Series(a)
    assert list(tree.components()) == ["a", "b"]
    assert len({tree, KofN(1, Series(a, Component("b")), Parallel(a))}) == 1


# ------------------------------------------------------------------------------------ path and cut sets


def test_bridge_paths_and_cuts_closed_form() -> None:
    for p in (0.3, 0.9):
        probs_ = dict.fromkeys(range(1, 6), p)
        for method in ("sdp", "inclusion-exclusion"):
            assert rel.reliability_from_path_sets(BRIDGE_PATHS, probs_, method=method) == pytest.approx(
                bridge(p)
            )
            assert rel.reliability_from_cut_sets(BRIDGE_CUTS, probs_, method=method) == pytest.approx(
                bridge(p)
            )
    found = rel.minimal_cuts_from_paths(BRIDGE_PATHS)
    assert sorted(map(sorted, found)) == sorted(map(sorted, BRIDGE_CUTS))


def test_bridge_bounds_by_hand() -> None:
    # Esary-Proschan by hand with p = 0.9, q = 0.1: lower = (1 - q^2)^2 (1 - q^3)^2 from the cuts,
    # upper = 1 - (1 - p^2)^2 (1 - p^3)^2 from the paths; min-max: max path 0.81, min cut 1 - q^2 = 0.99.
    p = dict.fromkeys(range(1, 6), 0.9)
    from_cuts = rel.reliability_bounds(p, cuts=BRIDGE_CUTS)
    from_paths = rel.reliability_bounds(p, paths=BRIDGE_PATHS)
    assert from_cuts.lower == pytest.approx(0.99**2 * 0.999**2)
    assert from_cuts.upper == pytest.approx(0.99)
    assert from_paths.upper == pytest.approx(1 - 0.19**2 * 0.271**2)
    assert from_paths.lower == pytest.approx(0.81)
    assert from_cuts.contains(bridge(0.9))
    assert from_paths.contains(bridge(0.9))


def test_bridge_graph_path_sets() -> None:
    g = nx.Graph()
    for name, (u, v) in {1: ("s", "a"), 2: ("s", "b"), 3: ("a", "b"), 4: ("a", "t"), 5: ("b", "t")}.items():
        g.add_edge(u, v, name=name)
    assert sorted(map(sorted, rel.minimal_path_sets(g, "s", "t"))) == sorted(map(sorted, BRIDGE_PATHS))
    assert sorted(map(sorted, rel.minimal_cut_sets(g, "s", "t"))) == sorted(map(sorted, BRIDGE_CUTS))


def test_directed_graph_and_default_edge_names() -> None:
    g = nx.DiGraph([("s", "a"), ("a", "t"), ("t", "s")])
    assert rel.minimal_path_sets(g, "s", "t") == [frozenset({("s", "a"), ("a", "t")})]
    assert rel.minimal_path_sets(g, "t", "a") == [frozenset({("t", "s"), ("s", "a")})]


def test_no_path_and_trivial_cases() -> None:
    assert rel.reliability_from_path_sets([], {}) == 0.0
    assert rel.reliability_from_cut_sets([], {}) == 1.0
    assert rel.minimal_cuts_from_paths([]) == [frozenset()]
    assert rel.minimal_cuts_from_paths([set()]) == []
    b = rel.reliability_bounds({}, paths=[])
    assert (b.lower, b.upper) == (0.0, 0.0)


def random_two_terminal(seed: int, n: int, density: float) -> tuple[nx.Graph, dict[str, float]]:
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(n, density, seed=seed)
    for i, (u, v) in enumerate(g.edges()):
        g.edges[u, v]["name"] = f"e{i}"
    return g, {f"e{i}": float(rng.uniform(0.05, 0.95)) for i in range(g.number_of_edges())}


def brute_force_two_terminal(g: nx.Graph, p: dict[str, float]) -> float:
    by_name = {d["name"]: (u, v) for u, v, d in g.edges(data=True)}
    n = g.number_of_nodes()

    def connected(up: Collection[str]) -> bool:
        h = nx.Graph([by_name[e] for e in up])
        h.add_nodes_from(g)
        return nx.has_path(h, 0, n - 1)

    return enumerate_up_probability(connected, p)


graphs = st.builds(
    random_two_terminal, st.integers(0, 10_000), st.integers(3, 6), st.floats(0.3, 0.9)
).filter(lambda gp: gp[0].number_of_edges() <= 10)


@given(gp=graphs)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_property_paths_and_cuts_match_enumeration(gp: tuple[nx.Graph, dict[str, float]]) -> None:
    g, p = gp
    n = g.number_of_nodes()
    expected = brute_force_two_terminal(g, p)
    paths, cuts = rel.minimal_path_sets(g, 0, n - 1), rel.minimal_cut_sets(g, 0, n - 1)
    assert rel.reliability_from_path_sets(paths, p) == pytest.approx(expected, abs=1e-12)
    assert rel.reliability_from_cut_sets(cuts, p) == pytest.approx(expected, abs=1e-12)
    if len(paths) <= 12 and len(cuts) <= 12:
        assert rel.reliability_from_path_sets(paths, p, method="inclusion-exclusion") == pytest.approx(
            expected
        )
        assert rel.reliability_from_cut_sets(cuts, p, method="inclusion-exclusion") == pytest.approx(expected)
    assert rel.reliability_bounds(p, paths=paths, cuts=cuts).contains(expected)
    assert rel.reliability_bounds(p, paths=paths).contains(expected)
    assert rel.reliability_bounds(p, cuts=cuts).contains(expected)


@given(gp=graphs)
@settings(max_examples=25, deadline=None, derandomize=True)
def test_property_minimal_cuts_match_brute_force(gp: tuple[nx.Graph, dict[str, float]]) -> None:
    # Independent: every edge subset whose removal separates the terminals, reduced to the minimal ones.
    g, _ = gp
    n = g.number_of_nodes()
    by_name = {d["name"]: (u, v) for u, v, d in g.edges(data=True)}
    separating = []
    for r in range(len(by_name) + 1):
        for cut in itertools.combinations(sorted(by_name), r):
            h = g.copy()
            h.remove_edges_from(by_name[e] for e in cut)
            if not nx.has_path(h, 0, n - 1):
                separating.append(frozenset(cut))
    minimal = {c for c in separating if not any(o < c for o in separating)}
    assert set(rel.minimal_cut_sets(g, 0, n - 1)) == minimal


# ------------------------------------------------------------------------------------ Markov redundancy


def test_two_unit_hot_shared_repair_with_coverage_closed_forms() -> None:
    # Closed forms derived from the balance and first-step equations of the model (states 0, 1, 2 failed and
    # "1 failed, uncovered"): pi ~ (1, 2l/mu, 2l^2/mu^2, 2l(1-c)/delta), A = (pi0 + pi1) / sum;
    # MTTF = (l(1 + 2c) + mu) / (2l(l + mu(1 - c))).
    lam, mu, c, delta = 0.002, 0.25, 0.9, 6.0
    m = rel.two_unit_ctmc(
        failure_rate_per_h=lam, repair_rate_per_h=mu, coverage=c, reconfiguration_rate_per_h=delta
    )
    assert m.labels == ("0 failed", "1 failed", "2 failed", "1 failed, uncovered")
    weights = np.array([1, 2 * lam / mu, 2 * lam**2 / mu**2, 2 * lam * (1 - c) / delta])
    assert m.availability() == pytest.approx(weights[:2].sum() / weights.sum(), rel=1e-12)
    assert m.mttf_h() == pytest.approx((lam * (1 + 2 * c) + mu) / (2 * lam * (lam + mu * (1 - c))), rel=1e-12)


def test_two_unit_cold_standby_closed_forms() -> None:
    # Closed forms (birth-death with rates l, l and mu, mu): A = (1 + r)/(1 + r + r^2), r = l/mu;
    # MTTF = (2l + mu)/l^2.
    lam, mu = 0.01, 0.2
    m = rel.two_unit_ctmc(failure_rate_per_h=lam, repair_rate_per_h=mu, standby="cold")
    r = lam / mu
    assert m.availability() == pytest.approx((1 + r) / (1 + r + r * r), rel=1e-12)
    assert m.mttf_h() == pytest.approx((2 * lam + mu) / lam**2, rel=1e-12)


@given(lam=st.floats(1e-4, 1.0), mu=st.floats(1e-3, 10.0))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_property_two_unit_perfect_coverage_independent_repair_is_combinatorial(
    lam: float, mu: float
) -> None:
    m = rel.two_unit_ctmc(failure_rate_per_h=lam, repair_rate_per_h=mu, repair="independent")
    a = rel.availability(1 / lam, 1 / mu)
    assert m.availability() == pytest.approx(rel.parallel([a, a]), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize(("n", "k"), [(3, 2), (4, 2), (5, 3), (6, 6), (4, 1)])
def test_k_of_n_independent_repair_is_combinatorial(n: int, k: int) -> None:
    # Independent units: availability = binomial k-of-n with p = mu/(l + mu).
    lam, mu = 0.05, 0.7
    m = rel.k_of_n_ctmc(n, k, failure_rate_per_h=lam, repair_rate_per_h=mu, repair="independent")
    assert m.availability() == pytest.approx(rel.k_of_n_identical(k, n, mu / (lam + mu)), rel=1e-12)


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 2), (5, 2)])
def test_k_of_n_without_repair_is_order_statistics(n: int, k: int) -> None:
    # No repair: R(t) = binomial k-of-n with p = exp(-l t); MTTF = sum_{i=k}^{n} 1/(i l).
    lam = 0.1
    m = rel.k_of_n_ctmc(n, k, failure_rate_per_h=lam, repair_rate_per_h=0.0)
    assert m.mttf_h() == pytest.approx(rel.mttf_k_of_n_identical(k, n, lam), rel=1e-12)
    for t in (0.5, 3.0, 20.0):
        assert m.reliability(t) == pytest.approx(rel.k_of_n_identical(k, n, math.exp(-lam * t)), abs=1e-10)


def test_point_availability_starts_up_and_converges() -> None:
    m = rel.k_of_n_ctmc(
        4, 2, failure_rate_per_h=0.3, repair_rate_per_h=1.0, coverage=0.8, reconfiguration_rate_per_h=5.0
    )
    assert m.point_availability(0.0) == 1.0
    assert m.point_availability(200.0) == pytest.approx(m.availability(), abs=1e-9)
    assert m.reliability(0.0) == 1.0
    assert m.reliability(5.0) < m.point_availability(5.0)


def test_two_unit_coverage_mttf_monte_carlo() -> None:
    # Monte Carlo, seeded: simulate the jump chain (both up: rate 2l, covered with prob c; one up: rate l + mu,
    # repair with prob mu/(l + mu)) until system failure; mean inside a 4.5-sigma interval.
    lam, mu, c, runs = 1.0, 4.0, 0.8, 20_000
    rng = np.random.default_rng(7)
    times = np.empty(runs)
    for r in range(runs):
        t, both_up = 0.0, True
        while True:
            if both_up:
                t += rng.exponential(1 / (2 * lam))
                if rng.random() >= c:
                    break
                both_up = False
            else:
                t += rng.exponential(1 / (lam + mu))
                if rng.random() >= mu / (lam + mu):
                    break
                both_up = True
        times[r] = t
    expected = rel.two_unit_ctmc(failure_rate_per_h=lam, repair_rate_per_h=mu, coverage=c).mttf_h()
    assert abs(times.mean() - expected) < 4.5 * times.std(ddof=1) / math.sqrt(runs)


def test_availability_needs_a_way_out_of_every_state() -> None:
    uncovered = rel.two_unit_ctmc(failure_rate_per_h=0.1, repair_rate_per_h=1.0, coverage=0.9)
    with pytest.raises(ModelAssumptionError, match=r"got state '1 failed, uncovered' that is never left"):
        uncovered.availability()
    assert uncovered.mttf_h() > 0  # MTTF does not need the reconfiguration rate
    no_repair = rel.two_unit_ctmc(failure_rate_per_h=0.1, repair_rate_per_h=0.0)
    with pytest.raises(ModelAssumptionError, match=r"got state '2 failed'"):
        no_repair.availability()


# ------------------------------------------------------------------------------------ bad input

BAD = [
    ("mtbf", lambda: rel.availability(0.0, 1.0), r"availability\(mtbf_h\): must be > 0 \(got 0.0\)"),
    ("mttr", lambda: rel.availability(1.0, -1.0), r"availability\(mttr_h\): must be finite and >= 0"),
    ("a > 1", lambda: rel.nines(1.5), r"nines\(a\): must be a probability in \[0, 1\] \(got 1.5\)"),
    (
        "nan p",
        lambda: rel.series([0.5, float("nan")]),
        r"series\(probabilities\)\[1\]: must be a probability",
    ),
    ("empty", lambda: rel.parallel([]), r"must be a non-empty 1-d sequence"),
    ("k zero", lambda: rel.k_of_n(0, [0.5]), r"k_of_n\(k\): k must be in \[1, n=1\] \(got 0\)"),
    ("k > n", lambda: rel.k_of_n_identical(4, 3, 0.5), r"k must be in \[1, n=3\] \(got 4\)"),
    ("n zero", lambda: rel.k_of_n_identical(1, 0, 0.5), r"n\): must be >= 1"),
    ("neg rate", lambda: rel.mttf_series([-1.0]), r"mttf_series\(failure_rates_per_h\)\[0\]"),
    ("t", lambda: rel.exponential_reliability(1.0, -2.0), r"exponential_reliability\(t_h\)"),
    ("component", lambda: Component("x", mtbf_h=-3.0), r"Component\('x'\).mtbf_h: must be > 0"),
    ("empty series", lambda: Series(), r"Series: needs at least one block"),
    ("kofn k", lambda: KofN(3, Component("a")), r"KofN\(k\): k must be in \[1, n=1\]"),
    ("missing p", lambda: Component("a").probability({}), r"missing component 'a'"),
    ("bad p", lambda: Component("a").probability({"a": 2}), r"p\['a'\]\): must be a probability"),
    (
        "name clash",
        lambda: Series(Component("a", mtbf_h=1.0), Component("a", mtbf_h=2.0)).availability(),
        r"name 'a' must denote one component",
    ),
    ("path p", lambda: rel.reliability_from_path_sets([{1}], {}), r"missing component 1"),
    ("method", lambda: rel.reliability_from_path_sets([{1}], {1: 0.5}, method="bdd"), r"got 'bdd'"),
    (
        "ie too big",
        lambda: rel.reliability_from_path_sets(
            [{i} for i in range(21)], dict.fromkeys(range(21), 0.5), method="inclusion-exclusion"
        ),
        r"at most 20 sets \(got 21\)",
    ),
    ("bounds", lambda: rel.reliability_bounds({}), r"needs paths or cuts"),
    ("bounds p", lambda: rel.reliability_bounds({}, cuts=[{"x"}]), r"missing component 'x'"),
    ("multigraph", lambda: rel.minimal_path_sets(nx.MultiGraph([(0, 1)]), 0, 1), r"simple Graph or DiGraph"),
    ("terminal", lambda: rel.minimal_path_sets(nx.Graph([(0, 1)]), 0, 9), r"terminal must be in the graph"),
    ("same", lambda: rel.minimal_path_sets(nx.Graph([(0, 1)]), 0, 0), r"source and target must differ"),
    (
        "coverage",
        lambda: rel.k_of_n_ctmc(2, 1, failure_rate_per_h=1, repair_rate_per_h=1, coverage=1.2),
        r"k_of_n_ctmc\(coverage\): must be a probability",
    ),
    (
        "lam",
        lambda: rel.k_of_n_ctmc(2, 1, failure_rate_per_h=0, repair_rate_per_h=1),
        r"failure_rate_per_h\)",
    ),
    ("n ctmc", lambda: rel.k_of_n_ctmc(0, 1, failure_rate_per_h=1, repair_rate_per_h=1), r"k_of_n_ctmc\(n\)"),
    (
        "repair",
        lambda: rel.k_of_n_ctmc(2, 1, failure_rate_per_h=1, repair_rate_per_h=1, repair="two"),
        r"repair\): must be 'shared' or 'independent' \(got 'two'\)",
    ),
    (
        "standby",
        lambda: rel.two_unit_ctmc(failure_rate_per_h=1, repair_rate_per_h=1, standby="warm"),
        r"standby\): must be 'hot' or 'cold'",
    ),
]


@pytest.mark.parametrize(("case", "call", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises(case: str, call: Callable[[], object], match: str) -> None:
    with pytest.raises(ModelAssumptionError, match=match):
        call()


def test_non_block_child_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="children must be Block instances"):
        Parallel("a")  # type: ignore[arg-type]
