"""Failure timelines are drawn lazily: memory does not grow with the simulated duration (issue #4)."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest

from edgescale.model.io import scenario_from_dict
from edgescale.sim import runner
from edgescale.sim.failures import FailureClock, Unit, failure_timeline
from edgescale.sim.runner import simulate_scenario
from tests.sim.test_failures import _two_edges

UNITS = tuple(Unit(np.array([i], np.int64), 1.0, 0.25, None if i % 2 else 2.0) for i in range(10))


def _clock_peak_bytes(horizon_s: float) -> tuple[int, int]:
    """Peak traced bytes while consuming every transition up to *horizon_s* one by one, and their count."""
    tracemalloc.start()
    clock = FailureClock(UNITS, np.random.default_rng(3))
    n = 0
    while clock.peek() <= horizon_s:
        clock.pop()
        n += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, n


def test_clock_memory_does_not_grow_with_the_horizon() -> None:
    peak_1, n_1 = _clock_peak_bytes(200.0)
    peak_10, n_10 = _clock_peak_bytes(2000.0)
    assert n_10 > 9 * n_1 > 9 * 3000  # ~1.6 transitions per unit-second
    assert peak_10 <= 1.2 * peak_1 + 4096
    materialized = failure_timeline(UNITS, 2000.0, np.random.default_rng(3))
    held = materialized.t_s.nbytes + materialized.unit.nbytes + materialized.down.nbytes
    assert len(materialized) == n_10 and peak_10 < held / 10  # what drawing up front would hold


def test_a_shorter_run_sees_a_prefix_of_a_longer_runs_transitions() -> None:
    short = failure_timeline(UNITS, 100.0, np.random.default_rng(11))
    long = failure_timeline(UNITS, 1000.0, np.random.default_rng(11))
    n = len(short)
    assert n > 100 and long.t_s[n] > 100.0
    np.testing.assert_array_equal(short.t_s, long.t_s[:n])
    np.testing.assert_array_equal(short.unit, long.unit[:n])
    np.testing.assert_array_equal(short.down, long.down[:n])
    again = failure_timeline(UNITS, 100.0, np.random.default_rng(11))
    np.testing.assert_array_equal(short.t_s, again.t_s)


def _pair() -> dict[str, Any]:
    """One device at e1, the service at e1 and e2 (10 ms apart); e1 fails every second on average (MTTR 0.25 s)."""
    doc = _two_edges(failures={"classes": [{"sites": ["e1"], "mtbf_h": 1 / 3600, "mttr_h": 0.25 / 3600}]})
    doc["device_groups"][0].update(count=1, arrival={"process": "poisson", "rate_per_s": 2})
    return doc


@pytest.mark.slow
def test_twin_peak_memory_of_a_ten_times_longer_failure_heavy_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """~320 random transitions in 200 s vs ~3200 in 2000 s: the peak traced memory of the 10x longer run stays
    within 1.3x. Both runs fill the event log (its cap lowered to 100 entries), so the log is no part of the
    difference."""
    monkeypatch.setattr(runner, "MAX_EVENTS_LOGGED", 100)
    s = scenario_from_dict(_pair())
    simulate_scenario(s, duration_s=10, warmup_s=0, seed=3)  # imports and kernel loaded outside the trace
    peaks, transitions = [], []
    for duration_s in (200.0, 2000.0):
        tracemalloc.start()
        r = simulate_scenario(s, duration_s=duration_s, warmup_s=0, epoch_s=duration_s, seed=3).to_dict()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        transitions.append(r["random_failure_transitions"])
        assert len(r["events"]) == 100
    assert transitions[1] > 2500 and transitions[1] > 8 * transitions[0]
    assert peaks[1] < 1.3 * peaks[0], peaks
