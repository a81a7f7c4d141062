"""``LoadBalancer.choose_many``: the choices ``choose`` gives one by one, in order, with one generator."""

from __future__ import annotations

import numpy as np
import pytest

from edgescale.errors import PolicyError
from edgescale.policies import ArrayClusterView, LeastLoaded, Nearest, PowerOfTwoChoices
from edgescale.policies.base import I64, ClusterView, LoadBalancer


def _view(seed: int) -> ArrayClusterView:
    rng = np.random.default_rng(seed)
    n = 12
    lat = rng.integers(1, 6, size=(n, n)).astype(float)
    lat[rng.random((n, n)) < 0.15] = np.inf
    np.fill_diagonal(lat, 0.0)
    return ArrayClusterView(
        site_tier=np.ones(n, np.int8), latency_ms=lat, replicas=(rng.random((2, n)) < 0.6).astype(np.int64),
        site_up=rng.random(n) < 0.85, queue_len=rng.integers(0, 9, size=(2, n)).astype(float),
    )  # fmt: skip


@pytest.mark.parametrize("balancer", [Nearest(), LeastLoaded(), PowerOfTwoChoices()], ids=lambda b: type(b).__name__)
def test_choose_many_equals_choose_in_order(balancer: LoadBalancer) -> None:
    for seed in range(20):
        view = _view(seed)
        cand = np.random.default_rng(seed).permutation(12)[:7]
        origins = [3, 0, 3, 11, 5, 7, 0]
        gen = np.random.default_rng(seed)
        one_by_one = [balancer.choose(view, 1, o, cand, gen) for o in origins]
        many = balancer.choose_many(view, 1, origins, cand, np.random.default_rng(seed))
        assert many.tolist() == one_by_one


def test_only_nearest_declares_its_choices_order_free() -> None:
    assert Nearest.ORDER_FREE and not LoadBalancer.ORDER_FREE
    assert not PowerOfTwoChoices.ORDER_FREE and not LeastLoaded.ORDER_FREE


class _Wrong(Nearest):
    def __init__(self, answer: list[int]) -> None:
        self.answer = answer

    def _choose_many(
        self, view: ClusterView, service: int, origin_sites: I64, candidates: I64, rng: np.random.Generator
    ) -> I64:
        return np.array(self.answer, np.int64)


def test_a_wrong_answer_is_a_policy_error() -> None:
    view = _view(1)
    with pytest.raises(PolicyError, match=r"one site per origin, shape \(2,\) \(got \(1,\)\)"):
        _Wrong([1]).choose_many(view, 0, [0, 1], [1, 2])
    with pytest.raises(PolicyError, match="chose site 5, which is not a candidate"):
        _Wrong([-1, 5]).choose_many(view, 0, [0, 1], [1, 2])
    assert _Wrong([-1, 2]).choose_many(view, 0, [0, 1], [1, 2]).tolist() == [-1, 2]


class _Farthest(Nearest):
    """Redefines one choice only (the farthest usable site): the twin must ask it, not Nearest's vectorised one."""

    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        sites = candidates[view.replicas[service, candidates] > 0]
        if not sites.size:
            return -1
        return int(sites[int(np.argmax(view.latencies([origin_site], sites)[0]))])


def test_a_subclass_redefining_choose_is_asked_by_choose_many_and_is_not_order_free() -> None:
    assert not _Farthest.ORDER_FREE and Nearest.ORDER_FREE
    view = _view(3)
    cand = np.arange(12)
    origins = [0, 4, 9]
    one_by_one = [_Farthest().choose(view, 0, o, cand) for o in origins]
    assert _Farthest().choose_many(view, 0, origins, cand).tolist() == one_by_one
    assert one_by_one != Nearest().choose_many(view, 0, origins, cand).tolist()
