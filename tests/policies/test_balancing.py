"""Load balancers: balls into bins, exact choice probabilities, tie-breaking, usable candidates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.policies import ArrayClusterView, LeastLoaded, Nearest, PlanWeights, PowerOfTwoChoices


def bins_view(n: int, queue: np.ndarray) -> ArrayClusterView:
    """n single-replica sites; *queue* (float64, shape (1, n)) stays writable by the test only."""
    return ArrayClusterView(
        site_tier=np.ones(n, np.int8), replicas=np.ones((1, n), np.int64), queue_len=queue
    )


def test_power_of_two_balls_into_bins_max_load_is_log_log() -> None:
    """10,000 balls into 10,000 bins: best of two stays <= log2(log2 n) + 1; one random choice does not.

    Azar et al. (1999): max load ln ln n / ln 2 + O(1) for two choices vs ln n / ln ln n (1 + o(1))
    for one. Here log2(log2 n) = 3.73.
    """
    n = 10_000
    queue = np.zeros((1, n))
    view = bins_view(n, queue)
    policy = PowerOfTwoChoices()
    rng = np.random.default_rng(7)
    cand = np.arange(n)
    for _ in range(n):
        queue[0, policy.choose(view, 0, 0, cand, rng)] += 1
    assert queue.sum() == n
    assert queue.max() <= math.log2(math.log2(n)) + 1
    one_choice = np.bincount(np.random.default_rng(7).integers(n, size=n), minlength=n)
    assert one_choice.max() >= 6
    assert one_choice.max() >= queue.max() + 2


def test_power_of_d_with_one_choice_is_uniform_random() -> None:
    queue = np.array([[0.0, 5.0, 9.0, 1.0]])
    w = PowerOfTwoChoices(choices=1).weights(bins_view(4, queue), 0, [0], np.arange(4))
    np.testing.assert_allclose(w, [[0.25] * 4])


@pytest.mark.parametrize("choices", [2, 3])
def test_power_of_two_choose_frequencies_match_weights(choices: int) -> None:
    queue = np.array([[4.0, 1.0, 3.0, 0.0, 2.0, 7.0]])
    replicas = np.array([[1, 1, 1, 1, 1, 0]])  # site 5 has no replica: never chosen
    view = ArrayClusterView(site_tier=np.ones(6, np.int8), replicas=replicas, queue_len=queue)
    policy = PowerOfTwoChoices(choices=choices)
    cand = np.arange(6)
    w = policy.weights(view, 0, [0], cand)[0]
    k = 5
    ranks = {3: 0, 1: 1, 4: 2, 2: 3, 0: 4}
    for site, r in ranks.items():
        assert w[site] == pytest.approx(math.comb(k - 1 - r, choices - 1) / math.comb(k, choices))
    assert w[5] == 0.0
    rng = np.random.default_rng(3)
    draws = 10_000
    counts = np.bincount([policy.choose(view, 0, 0, cand, rng) for _ in range(draws)], minlength=6)
    se = np.sqrt(w * (1 - w) / draws)
    assert np.all(np.abs(counts / draws - w) <= 4.5 * se + 1e-12)  # 4.5 sigma: holds on any seed


def test_least_loaded_picks_the_minimum_per_replica() -> None:
    view = ArrayClusterView(
        site_tier=[1, 1, 1, 1],
        replicas=[[2, 1, 4, 1]],
        queue_len=[[4.0, 3.0, 6.0, 1.5]],  # per replica: 2, 3, 1.5, 1.5
    )
    assert LeastLoaded().choose(view, 0, 0, [0, 1, 2, 3]) == 2  # tie 2 vs 3: lower index
    assert LeastLoaded().choose(view, 0, 0, [3, 1, 0]) == 3
    np.testing.assert_array_equal(LeastLoaded().weights(view, 0, [0, 1], [0, 1, 2, 3]), [[0, 0, 1, 0]] * 2)


@given(
    loads=st.lists(st.integers(0, 5), min_size=1, max_size=12),
    up=st.lists(st.booleans(), min_size=12, max_size=12),
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_least_loaded_matches_brute_force(loads: list[int], up: list[bool]) -> None:
    n = len(loads)
    view = ArrayClusterView(
        site_tier=np.ones(n, np.int8), site_up=up[:n], replicas=np.ones((1, n), np.int64), queue_len=[loads]
    )
    usable = [j for j in range(n) if up[j]]
    expected = min(usable, key=lambda j: (loads[j], j)) if usable else -1
    assert LeastLoaded().choose(view, 0, 0, list(range(n))[::-1]) == expected


def test_nearest_breaks_ties_by_site_index() -> None:
    lat = np.array(
        [[0, 4, 4, 4, 2], [4, 0, 1, 1, 9], [4, 1, 0, 1, 9], [4, 1, 1, 0, 9], [2, 9, 9, 9, 0]], float
    )
    view = ArrayClusterView(site_tier=np.ones(5, np.int8), replicas=[[1, 1, 1, 1, 0]], latency_ms=lat)
    assert Nearest().choose(view, 0, 0, [3, 2, 1]) == 1  # all at 4 ms
    assert Nearest().choose(view, 0, 0, [3, 2, 4]) == 2  # site 4 is closer but runs no replica
    assert Nearest().choose(view, 0, 1, [3, 2]) == 2
    w = Nearest().weights(view, 0, [0, 2, 4], [3, 2, 1])
    np.testing.assert_array_equal(w, [[0, 0, 1], [0, 1, 0], [0, 0, 1]])


def test_nearest_skips_down_and_unreachable_sites() -> None:
    lat = np.array([[0, 1, np.inf], [1, 0, np.inf], [np.inf, np.inf, 0]])
    view = ArrayClusterView(
        site_tier=[1, 1, 1], site_up=[True, False, True], replicas=[[1, 1, 1]], latency_ms=lat
    )
    assert Nearest().choose(view, 0, 0, [1, 2]) == -1
    np.testing.assert_array_equal(Nearest().weights(view, 0, [0, 2], [1, 2]), [[0, 0], [0, 1]])


def test_plan_weights_split_in_proportion() -> None:
    view = ArrayClusterView(
        site_tier=[1, 1, 1, 1], replicas=[[1, 1, 1, 1]], site_up=[True, True, True, False]
    )
    policy = PlanWeights(weights=[[1.0, 3.0, 0.0, 5.0]])
    w = policy.weights(view, 0, [0, 1], [0, 1, 2, 3])
    np.testing.assert_allclose(w, [[0.25, 0.75, 0.0, 0.0]] * 2)
    rng = np.random.default_rng(1)
    draws = 4000
    hits = sum(policy.choose(view, 0, 0, [0, 1, 2, 3], rng) == 1 for _ in range(draws))
    assert abs(hits / draws - 0.75) <= 4.5 * math.sqrt(0.75 * 0.25 / draws)
    even = PlanWeights().weights(view, 0, [0], [0, 1, 2, 3])
    np.testing.assert_allclose(even, [[1 / 3, 1 / 3, 1 / 3, 0.0]])


@given(
    loads=st.lists(st.floats(0, 10), min_size=1, max_size=8),
    reps=st.lists(st.integers(0, 3), min_size=8, max_size=8),
    origins=st.lists(st.integers(0, 7), min_size=1, max_size=4),
)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_weights_are_distributions_over_usable_candidates(
    loads: list[float], reps: list[int], origins: list[int]
) -> None:
    n = len(loads)
    rng = np.random.default_rng(0)
    lat = rng.uniform(1, 10, size=(8, 8))
    view = ArrayClusterView(
        site_tier=np.ones(8, np.int8),
        replicas=[reps],
        queue_len=[[*loads, *[0.0] * (8 - n)]],
        latency_ms=lat,
    )
    cand = np.arange(n)
    usable = np.array(reps[:n]) > 0
    for policy in (
        Nearest(),
        LeastLoaded(),
        PowerOfTwoChoices(),
        PowerOfTwoChoices(choices=3),
        PlanWeights(),
    ):
        w = policy.weights(view, 0, origins, cand)
        assert w.shape == (len(origins), n)
        np.testing.assert_allclose(w.sum(axis=1), 1.0 if usable.any() else 0.0)
        assert np.all(w[:, ~usable] == 0)
        c = policy.choose(view, 0, origins[0], cand, rng)
        assert (c == -1) == (not usable.any())


def test_without_rng_a_policy_uses_its_own_seeded_generator() -> None:
    queue = np.zeros((1, 50))
    view = bins_view(50, queue)
    a, b = PowerOfTwoChoices(), PowerOfTwoChoices()
    cand = np.arange(50)
    assert [a.choose(view, 0, 0, cand) for _ in range(30)] == [b.choose(view, 0, 0, cand) for _ in range(30)]
