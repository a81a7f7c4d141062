"""``FailureDetector.suspect_ats``: every node's deadline in one call, the very numbers ``suspect_at`` gives."""

from __future__ import annotations

import numpy as np
import pytest

from edgescale.errors import PolicyError
from edgescale.policies import HeartbeatTimeout, PhiAccrual
from edgescale.policies.base import F64, I64, FailureDetector


def _fed(detector: FailureDetector) -> FailureDetector:
    """Nodes 0..5 beat irregularly (seed 7), node 3 never, node 4 then forgotten; ids 6.. never heard of."""
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(0.5, 1.5, size=(12, 6)), axis=0)
    for row in t:
        beating = np.array([0, 1, 2, 4, 5])
        detector.heartbeats(beating, row[beating])
    detector.forget(4)
    return detector


@pytest.mark.parametrize(
    "detector",
    [HeartbeatTimeout(timeout_s=3.0), PhiAccrual(threshold=8.0, min_std_s=0.05, acceptable_pause_s=0.2)],
    ids=["timeout", "phi"],
)
def test_suspect_ats_equal_suspect_at_bit_for_bit(detector: FailureDetector) -> None:
    d = _fed(detector)
    nodes = np.array([5, 0, 3, 4, 2, 9, -1, 1, 0], np.int64)
    one_by_one = [d.suspect_at(int(n)) for n in nodes]
    got = d.suspect_ats(nodes)
    assert got.tolist() == one_by_one  # exact, not approximate
    assert np.isinf(got[[2, 3, 5, 6]]).all() and np.isfinite(got[[0, 1, 4, 7, 8]]).all()
    assert d.suspect_ats(np.zeros(0, np.int64)).shape == (0,)


def test_heartbeat_timeout_deadline_is_last_beat_plus_timeout() -> None:
    d = HeartbeatTimeout(timeout_s=2.5)
    d.heartbeats([0, 2], [10.0, 11.0])
    assert d.suspect_ats([0, 1, 2]).tolist() == [12.5, float("inf"), 13.5]


class _Slow(FailureDetector):
    """Deadlines only through the one-node hook: the default ``_suspect_ats`` asks it per node."""

    def _heartbeat(self, node: int, t: float) -> None: ...
    def _suspected(self, now: float) -> frozenset[int]:
        return frozenset()

    def _phi(self, node: int, now: float) -> float:
        return 0.0

    def _suspect_at(self, node: int) -> float:
        return 10.0 * node

    def _forget(self, node: int) -> None: ...


class _Bad(_Slow):
    def _suspect_ats(self, nodes: I64) -> F64:
        return np.zeros(len(nodes) + 1)


def test_default_asks_each_node_and_a_wrong_shape_is_a_policy_error() -> None:
    assert _Slow().suspect_ats([3, 0, 1]).tolist() == [30.0, 0.0, 10.0]
    with pytest.raises(PolicyError, match=r"one time per node, shape \(2,\) \(got \(3,\)\)"):
        _Bad().suspect_ats([1, 2])


class _Patient(HeartbeatTimeout):
    """Redefines the deadline only (twice the timeout): suspect_ats must give it, not the parent's vectorised one."""

    def _suspect_at(self, node: int) -> float:
        return super()._suspect_at(node) + self.timeout_s


def test_a_subclass_redefining_suspect_at_gets_its_own_deadlines() -> None:
    d = _fed(_Patient(timeout_s=3.0))
    nodes = np.array([5, 0, 3, 1], np.int64)
    assert d.suspect_ats(nodes).tolist() == [d.suspect_at(int(n)) for n in nodes]
    assert d.suspect_at(0) == HeartbeatTimeout._suspect_at(d, 0) + 3.0
