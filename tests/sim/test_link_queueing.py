"""Link queueing in the kernel: a stage's link station (FIFO, deterministic transmission) before its delay."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgescale.errors import ScenarioError
from edgescale.sim.kernel import drain, init_state, make_model, reset_metrics, run_until


def _md1_sojourn(rate: float, d: float) -> float:
    """M/D/1 mean sojourn (Pollaczek-Khinchine with zero service variance): d + rho d / (2 (1 - rho))."""
    rho = rate * d
    return d + rho * d / (2.0 * (1.0 - rho))


def test_a_link_station_is_an_md1_queue_before_the_propagation_delay() -> None:
    """Poisson 10/s over a link transmitting each message in 50 ms (rho 0.5), 2 ms of propagation, then 1 ms
    of service at an uncongested station: mean 75 + 2 + 1 ms; the link's time counts as link time."""
    m = make_model(servers=[1, 1000], rate_per_s=[10.0], route_ptr=[0, 1], stage_station=[1],
                   stage_work_mean_s=[0.001], stage_work_dist=[1], stage_delay_s=[0.002],
                   stage_link_station=[0], stage_link_work_s=[0.05])  # fmt: skip
    st = init_state(m, 3)
    run_until(m, st, 500.0)
    reset_metrics(st)
    run_until(m, st, 20_500.0)
    me = drain(m, st, max_s=100.0)
    n = int(me.completions[0])
    mean = float(me.mean_latency_s[0])
    expect = _md1_sojourn(10.0, 0.05) + 0.002 + 0.001
    # batch-means-free bound: the M/D/1 sojourn's standard deviation is below 0.1 s; correlation inflates
    # the error of the mean by (1 + rho) / (1 - rho) = 3 at most in variance terms for this queue
    assert abs(mean - expect) < 4 * 0.1 * math.sqrt(3.0 / n) + 1e-3
    assert float(me.link_s_sum[0]) / n == pytest.approx(expect - 0.001, rel=0.02)
    assert float(me.service_s_sum[0]) / n == pytest.approx(0.001, rel=1e-6)
    assert float(me.wait_s_sum[0]) == 0.0  # the queue at the link is link time, not service waiting
    assert float(me.utilization[0]) == pytest.approx(0.5, rel=0.02)


def test_two_flows_share_a_link_queue_on_a_later_stage() -> None:
    """Two sources (4/s and 6/s) reach their own first stations, then share link station 2 (40 ms per
    message: rho 0.4) towards a common last station: the shared link's M/D/1 sojourn at the summed rate."""
    m = make_model(servers=[1000, 1000, 1, 1000], rate_per_s=[4.0, 6.0], route_ptr=[0, 2, 4],
                   stage_station=[0, 3, 1, 3], stage_work_mean_s=[0.001] * 4, stage_work_dist=[1] * 4,
                   stage_link_station=[-1, 2, -1, 2], stage_link_work_s=[0.0, 0.04, 0.0, 0.04],
                   app_of_source=[0, 1])  # fmt: skip
    st = init_state(m, 5)
    run_until(m, st, 500.0)
    reset_metrics(st)
    run_until(m, st, 20_500.0)
    me = drain(m, st, max_s=100.0)
    expect = _md1_sojourn(10.0, 0.04) + 0.002
    for k in (0, 1):
        assert float(me.mean_latency_s[k]) == pytest.approx(expect, rel=0.03)
    # every request crosses the shared link (station counts are by time, completions by creation: +-few)
    assert int(me.station_departures[2]) == pytest.approx(int(me.completions.sum()), abs=5)


def test_link_stations_are_validated() -> None:
    with pytest.raises(ScenarioError, match="stage_link_station"):
        make_model(servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.1],
                   stage_link_station=[3])  # fmt: skip
    with pytest.raises(ScenarioError, match="stage_link_work_s"):
        make_model(servers=[1, 1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.1],
                   stage_link_station=[1], stage_link_work_s=[np.inf])  # fmt: skip
