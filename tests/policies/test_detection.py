"""Failure detectors: phi against the formula computed here, suspicion timing, no false alarms."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from scipy.optimize import brentq

from edgescale.errors import PolicyError
from edgescale.policies import HeartbeatTimeout, PhiAccrual


def akka_phi(elapsed: float, intervals: list[float], *, min_std: float, pause: float = 0.0) -> float:
    """Akka's PhiAccrualFailureDetector.phi, written out independently (population std)."""
    mean = sum(intervals) / len(intervals) + pause
    var = sum(x * x for x in intervals) / len(intervals) - (mean - pause) ** 2
    std = max(math.sqrt(max(var, 0.0)), min_std)
    y = (elapsed - mean) / std
    e = math.exp(min(-y * (1.5976 + 0.070566 * y * y), 700.0))
    if e == 0.0:
        return math.inf
    if elapsed > mean:
        return -math.log10(e / (1.0 + e))
    return -math.log10(1.0 - 1.0 / (1.0 + e))


BEATS = [0.0, 1.1, 1.9, 3.2, 4.0, 5.3, 6.1]


def history(beats: list[float], est: float = 1.0) -> list[float]:
    return [est * 0.75, est * 1.25, *np.diff(beats).tolist()]


@pytest.mark.parametrize("elapsed", [0.1, 0.9, 1.0, 1.2, 1.5, 2.0])
def test_phi_equals_akka_formula(elapsed: float) -> None:
    d = PhiAccrual(threshold=8.0, min_std_s=0.05)
    for t in BEATS:
        d.heartbeat(3, t)
    expected = akka_phi(elapsed, history(BEATS), min_std=0.05)
    assert d.phi(3, BEATS[-1] + elapsed) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_phi_with_acceptable_pause_and_min_std_floor() -> None:
    d = PhiAccrual(min_std_s=0.5, acceptable_pause_s=2.0)
    beats = [10.0 + k for k in range(8)]  # regular: std of intervals below the floor
    d.heartbeats(np.zeros(len(beats), np.int64), beats)
    for elapsed in (1.0, 2.5, 3.0, 4.0, 6.0):
        expected = akka_phi(elapsed, history(beats), min_std=0.5, pause=2.0)
        assert d.phi(0, beats[-1] + elapsed) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ring_buffer_keeps_last_window_intervals() -> None:
    rng = np.random.default_rng(5)
    beats = np.cumsum(rng.uniform(0.5, 1.5, size=300)).tolist()
    window = 16
    d = PhiAccrual(window=window, threshold=30.0, min_std_s=0.01)
    ref: deque[float] = deque([0.75, 1.25], maxlen=window)
    for k, t in enumerate(beats):
        d.heartbeat(0, t)
        if k:
            ref.append(t - beats[k - 1])
        now = t + 0.8
        assert d.phi(0, now) == pytest.approx(akka_phi(0.8, list(ref), min_std=0.01), rel=1e-9, abs=1e-12)


def test_heartbeat_after_suspicion_is_not_an_interval() -> None:
    d = PhiAccrual(threshold=3.0, min_std_s=0.1)
    beats = [0.0, 1.0, 2.0, 3.0]
    for t in beats:
        d.heartbeat(0, t)
    d.heartbeat(0, 13.0)  # 10 s silence: the node was suspected, as Akka the gap is not recorded
    expected = akka_phi(1.2, history(beats), min_std=0.1)
    assert d.phi(0, 14.2) == pytest.approx(expected, rel=1e-9)


def test_suspected_exactly_when_phi_reaches_threshold() -> None:
    d = PhiAccrual(threshold=5.0, min_std_s=0.1)
    for t in BEATS:
        d.heartbeat(1, t)
    for now in np.linspace(BEATS[-1], BEATS[-1] + 3.0, 601):
        assert (1 in d.suspected(float(now))) == (d.phi(1, float(now)) >= 5.0)
    assert 1 not in d.suspected(BEATS[-1] + 1.0)
    assert 1 in d.suspected(BEATS[-1] + 3.0)


@pytest.mark.parametrize(("threshold", "pause"), [(8.0, 0.0), (3.0, 0.0), (12.0, 2.0), (0.5, 0.0)])
def test_detection_delay_equals_analytic_crossing(threshold: float, pause: float) -> None:
    d = PhiAccrual(threshold=threshold, min_std_s=0.2, acceptable_pause_s=pause)
    beats = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    for t in beats:
        d.heartbeat(9, t)
    hist = history(beats)
    crossing = brentq(
        lambda x: akka_phi(x, hist, min_std=0.2, pause=pause) - threshold, 0.0, 60.0, xtol=1e-13
    )
    assert d.suspect_at(9) == pytest.approx(beats[-1] + crossing, abs=1e-9)
    assert 9 not in d.suspected(beats[-1] + crossing - 1e-6)
    assert 9 in d.suspected(beats[-1] + crossing + 1e-6)


def test_no_false_suspicions_with_jittered_regular_heartbeats() -> None:
    """1,000 nodes x 2,000 heartbeats each second, jitter sd 20 ms: phi never reaches 8.

    Before delivering round k, the check runs at the *latest* arrival time of that round, so every
    node is checked at or after the moment just before its own heartbeat (phi only grows in between).
    A fixed 1.05 s timeout on the same stream raises false alarms.
    """
    n, rounds = 1000, 2000
    rng = np.random.default_rng(2024)
    phi = PhiAccrual(threshold=8.0, min_std_s=0.1)
    timeout = HeartbeatTimeout(timeout_s=1.05)
    nodes = np.arange(n)
    false_phi = false_timeout = 0
    for k in range(rounds):
        t = k + rng.normal(0.0, 0.02, size=n)
        if k:
            check = float(t.max()) - 1e-9
            false_phi += len(phi.suspected(check))
            false_timeout += len(timeout.suspected(check))
        phi.heartbeats(nodes, t)
        timeout.heartbeats(nodes, t)
    assert false_phi == 0
    assert false_timeout > 100


def test_vectorised_heartbeats_match_one_by_one() -> None:
    rng = np.random.default_rng(11)
    nodes = rng.integers(0, 40, size=3000)
    times = np.sort(rng.uniform(0, 1500, size=3000))
    a, b = PhiAccrual(window=50, min_std_s=0.05), PhiAccrual(window=50, min_std_s=0.05)
    for lo in range(0, 3000, 250):  # batches with repeated nodes, in time order
        a.heartbeats(nodes[lo : lo + 250], times[lo : lo + 250])
    for node, t in zip(nodes.tolist(), times.tolist(), strict=True):
        b.heartbeat(node, t)
    for now in (1500.0, 1510.0, 1600.0):
        np.testing.assert_allclose(a.phis(now), b.phis(now), rtol=1e-9)
        assert a.suspected(now) == b.suspected(now)


def test_unknown_and_forgotten_nodes_are_healthy() -> None:
    d = PhiAccrual()
    assert d.phi(5, 100.0) == 0.0
    assert d.suspect_at(5) == math.inf
    d.heartbeat(5, 0.0)
    assert 5 in d.suspected(100.0)
    d.forget(5)
    assert d.suspected(100.0) == frozenset()
    d.heartbeat(5, 100.0)  # starts afresh with the bootstrap history
    assert d.phi(5, 101.0) == pytest.approx(akka_phi(1.0, [0.75, 1.25], min_std=0.1))


def test_heartbeat_timeout_suspects_exactly_after_timeout() -> None:
    d = HeartbeatTimeout(timeout_s=2.5)
    d.heartbeats([0, 1, 2], [10.0, 11.0, 12.0])
    assert d.suspected(12.5) == frozenset()  # 10 + 2.5 is not yet "after"
    assert d.suspected(float(np.nextafter(12.5, 13.0))) == frozenset({0})
    assert d.suspected(13.6) == frozenset({0, 1})
    assert d.suspect_at(2) == 14.5
    assert d.phi(2, 14.5) == 1.0
    np.testing.assert_allclose(d.phis(13.6), [3.6 / 2.5, 2.6 / 2.5, 1.6 / 2.5])
    d.heartbeat(0, 12.6)
    assert d.suspected(13.6) == frozenset({1})


@pytest.mark.parametrize("detector", [PhiAccrual(), HeartbeatTimeout(timeout_s=1.0)], ids=repr)
def test_bad_heartbeats_raise_policy_error(detector: PhiAccrual | HeartbeatTimeout) -> None:
    detector.heartbeat(0, 5.0)
    with pytest.raises(PolicyError, match="before its last one") as info:
        detector.heartbeat(0, 4.0)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(PolicyError, match="node ids must be >= 0"):
        detector.heartbeat(-1, 6.0)


def test_ten_thousand_nodes_vectorised() -> None:
    d = PhiAccrual(window=100)
    nodes = np.arange(10_000)
    for k in range(50):
        d.heartbeats(nodes, float(k))
    d.heartbeats(nodes[:5000], 50.0)
    assert d.suspected(51.3) == frozenset(range(5000, 10_000))  # 2.3 s late vs 1.3 s late
