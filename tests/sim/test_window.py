"""The measurement window counts requests by creation time, and ``drain`` lets the window's requests finish."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgescale.errors import SimulationError
from edgescale.sim import _kernel_core as core
from edgescale.sim.kernel import drain, init_state, make_model, read_metrics, reset_metrics, run_until


def test_warmup_requests_finishing_in_the_window_are_not_counted() -> None:
    """Requests held during the warm-up (no servers) finish after the reset: counted by completion time they
    would add latencies of up to 10 s; counted by creation time, only the window's own requests count."""
    model = make_model(servers=[0], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[0.01], stage_work_dist=[core.WORK_DET],
                       arrival_kind=[core.PERIODIC])  # fmt: skip
    state = init_state(model, 4)
    run_until(model, state, 10.0)
    assert int(state.in_station[0]) == 10
    model.servers[0] = 1
    reset_metrics(state)
    run_until(model, state, 20.0)
    m = drain(model, state, max_s=5.0)
    assert m.arrivals[0] == m.completions[0] == 10
    assert m.unfinished[0] == 0
    # the first window request may queue behind the 10 held ones (0.1 s of work); the rest are served at once
    assert m.latency[0].max <= 0.11 + 1e-9
    assert m.latency[0].quantile(0.5) == pytest.approx(0.01, rel=0.03)
    assert m.t_end == 20.0


def test_drain_finishes_the_window_requests_and_counts_no_later_ones() -> None:
    """Periodic requests with 3 s of work, one every 10 s: at the window's end one may be in service; drained,
    every request created in the window completes with latency exactly 3 s, and none created later counts."""
    model = make_model(servers=[1], rate_per_s=[0.1], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[3.0], stage_work_dist=[core.WORK_DET],
                       arrival_kind=[core.PERIODIC])  # fmt: skip
    for seed in range(6):  # random phases: some windows end with a request in service
        state = init_state(model, seed)
        run_until(model, state, 100.0)
        before = read_metrics(state)
        m = drain(model, state, max_s=50.0)
        assert m.arrivals[0] == 10
        assert m.completions[0] == 10 and m.unfinished[0] == 0
        assert before.completions[0] in (9, 10)
        assert m.latency[0].min == pytest.approx(3.0) and m.latency[0].max == pytest.approx(3.0)
        assert state.now <= 100.0 + 3.0 + 3.2  # stops soon after the last window request
        assert m.station_departures[0] == before.station_departures[0]  # station statistics end at the window


def test_overloaded_drain_stops_at_max_s_and_reports_unfinished() -> None:
    model = make_model(servers=[1], rate_per_s=[2.0], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[1.0])  # fmt: skip
    state = init_state(model, 1)
    run_until(model, state, 100.0)
    m = drain(model, state, max_s=10.0)
    assert state.now == pytest.approx(110.0)
    assert m.unfinished[0] > 50
    settled = m.completions + m.drops_full + m.drops_down + m.failed
    np.testing.assert_array_equal(m.arrivals, settled + m.unfinished)
    with pytest.raises(SimulationError, match="max_s"):
        drain(model, state, max_s=math.inf)


def test_mm1_from_empty_with_drain_matches_theory() -> None:
    """M/M/1 at rho = 0.5 (mean sojourn 2 s), measured by creation time in [200, 20200) and drained."""
    model = make_model(servers=[1], rate_per_s=[0.5], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[1.0])  # fmt: skip
    means = []
    for seed in range(8):
        state = init_state(model, seed)
        run_until(model, state, 200.0)
        reset_metrics(state)
        run_until(model, state, 20_200.0)
        m = drain(model, state, max_s=1_000.0)
        assert m.unfinished[0] == 0 and m.arrivals[0] == m.completions[0]
        means.append(m.latency[0].mean)
    x = np.array(means)
    half = 3.4995 * x.std(ddof=1) / math.sqrt(x.size)  # Student t, 7 df, 99 %
    assert abs(x.mean() - 2.0) <= half


def test_sampled_requests_are_every_kth_outcome_of_the_window() -> None:
    from edgescale.sim.kernel import OUTCOMES, read_samples

    model = make_model(servers=[1], rate_per_s=[0.8], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0],
                       capacity=[3])  # fmt: skip
    state = init_state(model, 3, sample_every=7, sample_capacity=400)
    run_until(model, state, 100.0)
    reset_metrics(state)
    run_until(model, state, 2_100.0)
    m = drain(model, state, max_s=100.0)
    s = read_samples(state)
    outcomes = int(m.completions[0] + m.drops_full[0])
    assert s["created_s"].size == min(400, outcomes // 7)
    assert (s["created_s"] >= 100.0).all()  # warm-up requests are not sampled
    done = s["outcome"] == OUTCOMES.index("completed")
    dropped = s["outcome"] == OUTCOMES.index("dropped_full")
    assert done.any() and dropped.any() and (done | dropped).all()
    assert np.isnan(s["latency_s"][dropped]).all()
    np.testing.assert_allclose(
        s["latency_s"][done], s["wait_s"][done] + s["service_s"][done] + s["link_s"][done]
    )
    assert s["latency_s"][done].mean() == pytest.approx(m.latency[0].mean, rel=0.15)
