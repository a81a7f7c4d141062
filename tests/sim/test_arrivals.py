"""Arrival processes of the kernel beyond Poisson: token buckets against network calculus, trace replay."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgescale.analysis.netcalc import horizontal_deviation, rate_latency, token_bucket
from edgescale.errors import ScenarioError
from edgescale.sim import _kernel_core as core
from edgescale.sim.kernel import init_state, make_model, read_metrics, run_until


def _bucket_queue(rate: float, depth: float, work_s: float, n_sources: int = 1) -> object:
    return make_model(servers=[1], rate_per_s=[rate] * n_sources, route_ptr=list(range(n_sources + 1)),
                      stage_station=[0] * n_sources, stage_work_mean_s=[work_s] * n_sources,
                      stage_work_dist=[core.WORK_DET] * n_sources, arrival_kind=[core.TOKEN_BUCKET] * n_sources,
                      token_depth=[depth] * n_sources)  # fmt: skip


@pytest.mark.parametrize(("rate", "depth", "work_s", "sources"), [(10.0, 5.0, 0.05, 1), (4.0, 3.0, 0.02, 3)])
def test_token_bucket_never_exceeds_the_network_calculus_delay_bound(
    rate: float, depth: float, work_s: float, sources: int
) -> None:
    """Sources policed by (r, b) buckets into one FIFO server with constant service s: the aggregate has
    arrival curve b' + r' t (sums over sources) and the server the rate-latency curve R (t - s)+ with R = 1/s,
    so no request may wait longer than s + b'/R (Le Boudec and Thiran, Thm. 1.4.2). Bursts come close."""
    model = _bucket_queue(rate, depth, work_s, sources)
    bound = float(horizontal_deviation(token_bucket(rate * sources, depth * sources),
                                       rate_latency(1.0 / work_s, work_s)))  # fmt: skip
    worst = 0.0
    for seed in range(3):
        state = init_state(model, seed)
        run_until(model, state, 2_000.0)
        m = read_metrics(state)
        worst = max(worst, m.latency[0].max)
        assert m.arrivals[0] <= sources * (depth + rate * 2_000.0)  # conformance over the whole run
        assert m.arrivals[0] > 0.75 * sources * rate * 2_000.0  # most proposals find a token
    assert worst <= bound + 1e-9
    assert worst >= 0.6 * depth * work_s  # a bucket's bursts do queue


def test_trace_replays_its_times_and_loops() -> None:
    times = [0.5, 1.0, 1.0, 3.0]
    once = make_model(servers=[1], rate_per_s=[1.0, 1.0], route_ptr=[0, 1, 2], stage_station=[0, 0],
                      stage_work_mean_s=[0.1, 0.1], stage_work_dist=[core.WORK_DET] * 2,
                      arrival_kind=[core.TRACE] * 2, trace_ptr=[0, 4, 6], trace_t=[*times, 0.2, 0.7],
                      trace_period_s=[0.0, 1.0])  # fmt: skip
    state = init_state(once, 1)
    run_until(once, state, 39.95)
    m = read_metrics(state)
    # source 0 plays 4 requests once; source 1 plays 2 per 1 s period for 40 s (the last at 39.7)
    assert m.arrivals[0] == 4 + 80
    assert m.completions[0] == 84
    # deterministic: 0.1 s of service, and the two requests at 1.0 s queue one behind the other
    assert m.latency[0].max == pytest.approx(0.2)
    assert m.latency[0].min == pytest.approx(0.1)


def test_trace_skips_times_before_a_change() -> None:
    """A trace source whose parameters change mid-run resumes at the first time not yet past."""
    model = make_model(servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.01],
                       arrival_kind=[core.TRACE], trace_ptr=[0, 5], trace_t=[1.0, 2.0, 3.0, 4.0, 5.0],
                       trace_period_s=[0.0])  # fmt: skip
    state = init_state(model, 1)
    run_until(model, state, 2.5)
    model.trace_period_s[0] = 5.0  # now it loops
    run_until(model, state, 10.5)
    assert read_metrics(state).arrivals[0] == 5 + 5


def test_trace_must_be_sorted_within_a_source() -> None:
    with pytest.raises(ScenarioError, match=r"trace_t\[0\]: must be non-decreasing within each source"):
        make_model(servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0],
                   arrival_kind=[core.TRACE], trace_ptr=[0, 2], trace_t=[2.0, 1.0])  # fmt: skip
    ok = make_model(servers=[1], rate_per_s=[1.0, 1.0], route_ptr=[0, 1, 2], stage_station=[0, 0],
                    stage_work_mean_s=[1.0, 1.0], arrival_kind=[core.TRACE] * 2, trace_ptr=[0, 1, 2],
                    trace_t=[5.0, 1.0])  # fmt: skip  # a new source may start lower
    assert ok.trace_t.size == 2
    assert math.isfinite(ok.trace_t.sum())
    np.testing.assert_array_equal(ok.trace_ptr, [0, 1, 2])


def test_no_path_loses_requests_on_the_way_and_back() -> None:
    """inf delays: source 0 cannot reach its station (lost on the way), source 1's responses cannot come back
    (lost: dropped without a timeout, timed out with one); source 2 is fine."""
    model = make_model(servers=[1], rate_per_s=[1.0, 1.0, 1.0], route_ptr=[0, 1, 2, 3], stage_station=[0, 0, 0],
                       stage_work_mean_s=[0.01] * 3, stage_delay_s=[math.inf, 0.1, 0.1],
                       return_delay_s=[0.1, math.inf, 0.1], app_of_source=[0, 1, 2])  # fmt: skip
    state = init_state(model, 2)
    run_until(model, state, 500.0)
    m = read_metrics(state)
    assert m.completions[0] == 0 and m.drops_down[0] == m.arrivals[0] > 400
    assert m.completions[1] == 0 and m.drops_down[1] == m.arrivals[1] - state.outstanding[1] > 400
    assert m.drops_down[2] == 0 and m.completions[2] > 400
    assert m.station_departures[0] >= m.arrivals[1] + m.arrivals[2] - 5  # source 1's requests were served
    timed = make_model(servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.01],
                       return_delay_s=[math.inf], timeout_s=[2.0])  # fmt: skip
    state = init_state(timed, 2)
    run_until(timed, state, 500.0)
    m = read_metrics(state)
    assert m.timeouts[0] == m.failed[0] == m.arrivals[0] - state.outstanding[0] > 400
    assert m.drops_down[0] == 0
