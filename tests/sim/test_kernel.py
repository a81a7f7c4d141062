"""The event kernel against queueing theory, with Student-t confidence intervals over seeded replications.

Every validation run also checks Little's law: exactly, as the identity between the integral of the number
in each station and the time requests spent there inside the window, and in the mean, L = lambda W.

References: L. Kleinrock, Queueing Systems, Vol. 1 (1975): M/M/1 §3.2, M/M/m (Erlang C) §3.5, M/M/1/K
§3.6, M/G/1 and the Pollaczek-Khinchine mean-value formula Ch. 5; Vol. 2 (1976) Ch. 4 for processor
sharing. J. R. Jackson, Networks of waiting lines, Operations Research 5 (1957) for the tandem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import stats

from edgescale.errors import ScenarioError, SimulationError
from edgescale.sim import _kernel_core as core
from edgescale.sim.histogram import LogHistogram
from edgescale.sim.kernel import (
    KernelMetrics,
    KernelModel,
    KernelState,
    init_state,
    make_model,
    merged_poisson_rates,
    read_metrics,
    reset_metrics,
    run_until,
)

REPS = 10
LEVEL = 0.99


def queue(lam: float, mean_s: float, **kw: Any) -> KernelModel:
    """One Poisson source into one station (keyword arguments go to make_model, per station or stage)."""
    return make_model(servers=[kw.pop("servers", 1)], rate_per_s=[lam], route_ptr=[0, 1], stage_station=[0],
                      stage_work_mean_s=[mean_s], **kw)  # fmt: skip


def check_little(m: KernelMetrics, rel: float | None) -> None:
    """Little's law: exactly as an identity of the window, and (unless *rel* is None: not a steady state)
    L = lambda W up to boundary effects, within relative tolerance *rel*."""
    np.testing.assert_allclose(
        m.station_in_system_s, m.station_residence_done_s + m.station_residence_open_s, rtol=1e-9, atol=1e-9
    )
    busy = m.station_departures > 0
    if rel is not None:
        np.testing.assert_allclose(
            m.mean_in_system[busy], (m.throughput_per_s * m.mean_sojourn_s)[busy], rtol=rel, atol=1e-3
        )


def replicate(
    model: KernelModel,
    stat: Callable[[KernelMetrics], Any],
    *,
    warmup: float,
    horizon: float,
    little: float = 0.02,
) -> np.ndarray:
    """*stat* (a number or a tuple) of REPS independent replications (seeds 0..REPS-1), each checked for
    Little's law; one row per replication."""
    out = []
    for seed in range(REPS):
        state = init_state(model, seed)
        run_until(model, state, warmup)
        reset_metrics(state, warmup)
        run_until(model, state, warmup + horizon)
        m = read_metrics(state)
        check_little(m, little)
        out.append(stat(m))
    return np.array(out)


def assert_ci_contains(samples: np.ndarray, expected: float, *, slack: float = 0.0) -> None:
    """Student-t CI at LEVEL over replications contains *expected* (widened by *slack*, e.g. a resolution)."""
    n = samples.size
    half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * samples.std(ddof=1) / math.sqrt(n)
    assert abs(samples.mean() - expected) <= half + slack, (
        f"{samples.mean():.5g} ± {half:.3g} (99% CI) does not contain {expected:.5g}"
    )


def mean_latency(m: KernelMetrics) -> float:
    return m.latency[0].mean


# ------------------------------------------------------------------ single-station queues against theory
def test_mm1_mean_and_p95() -> None:
    lam, mu = 0.8, 1.0
    both = replicate(queue(lam, 1 / mu), lambda m: (m.latency[0].mean, float(m.latency[0].quantile(0.95))),
                     warmup=500.0, horizon=400_000.0)  # fmt: skip
    assert_ci_contains(both[:, 0], 1 / (mu - lam))
    expected = -math.log(0.05) / (mu - lam)  # the M/M/1 response time is exponential with rate mu - lam
    assert_ci_contains(both[:, 1], expected, slack=0.01 * expected)  # plus the histogram's half-bucket


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a = lam/mu < c (Kleinrock Vol. 1, §3.5)."""
    tail = a**c / math.factorial(c) * c / (c - a)
    return tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)


@pytest.mark.parametrize("c", [2, 3])
def test_mmc_mean_matches_erlang_c(c: int) -> None:
    mu = 1.0
    lam = 0.8 * c * mu
    expected = erlang_c(c, lam / mu) / (c * mu - lam) + 1 / mu
    means = replicate(queue(lam, 1 / mu, servers=c), mean_latency, warmup=500.0, horizon=200_000.0)
    assert_ci_contains(means, expected)


def pk_mean(lam: float, mean_s: float, scv: float) -> float:
    """M/G/1 mean response time, Pollaczek-Khinchine: W = E[S] + lam E[S^2] / (2 (1 - rho))."""
    rho = lam * mean_s
    return mean_s + lam * (1 + scv) * mean_s**2 / (2 * (1 - rho))


@pytest.mark.parametrize(
    ("dist", "scv"), [(core.WORK_DET, 0.0), (core.WORK_GAMMA, 2.0), (core.WORK_LOGNORMAL, 0.5)],
    ids=["M/D/1", "M/gamma/1", "M/lognormal/1"],
)  # fmt: skip
def test_mg1_mean_matches_pollaczek_khinchine(dist: int, scv: float) -> None:
    lam, mean_s = 0.7, 1.0
    model = queue(lam, mean_s, stage_work_dist=dist, stage_work_scv=scv)
    means = replicate(model, mean_latency, warmup=500.0, horizon=200_000.0)
    assert_ci_contains(means, pk_mean(lam, mean_s, scv))


def test_mm1k_drops_match_blocking_probability() -> None:
    lam, mu, k = 1.0, 1.25, 5
    rho = lam / mu
    expected = (1 - rho) * rho**k / (1 - rho ** (k + 1))  # Kleinrock Vol. 1, §3.6; PASTA
    model = queue(lam, 1 / mu, capacity=k)
    frac = replicate(model, lambda m: m.drops_full[0] / m.arrivals[0], warmup=200.0, horizon=200_000.0)
    assert_ci_contains(frac, expected)


def test_processor_sharing_is_insensitive() -> None:
    """M/G/1-PS: W = E[S] / (1 - rho) for any service distribution (here deterministic)."""
    lam, mean_s = 0.6, 1.0
    model = queue(lam, mean_s, discipline=core.PS, stage_work_dist=core.WORK_DET)
    means = replicate(model, mean_latency, warmup=500.0, horizon=200_000.0)
    assert_ci_contains(means, mean_s / (1 - lam * mean_s))


def test_mm2_processor_sharing_has_the_mm2_mean() -> None:
    """With exponential work, M/M/2-PS and M/M/2-FIFO are the same birth-death process in n."""
    lam, mu = 1.4, 1.0
    expected = erlang_c(2, lam / mu) / (2 * mu - lam) + 1 / mu
    model = queue(lam, 1 / mu, servers=2, discipline=core.PS)
    means = replicate(model, mean_latency, warmup=500.0, horizon=200_000.0)
    assert_ci_contains(means, expected)


def test_speed_divides_service_time() -> None:
    lam, work = 0.5, 2.0
    means = replicate(queue(lam, work, speed=4.0), mean_latency, warmup=200.0, horizon=100_000.0)
    assert_ci_contains(means, 1 / (4.0 / work - lam))


# ------------------------------------------------------------------ networks
def tandem(lam: float, mu1: float, mu2: float, d1: float, d2: float, ret: float) -> KernelModel:
    return make_model(servers=[1, 1], rate_per_s=[lam], route_ptr=[0, 2], stage_station=[0, 1],
                      stage_work_mean_s=[1 / mu1, 1 / mu2], stage_delay_s=[d1, d2], return_delay_s=[ret])  # fmt: skip


def test_tandem_of_two_mm1_is_the_sum_of_means() -> None:
    lam, mu1, mu2, d1, d2, ret = 1.0, 1.25, 2.0, 0.1, 0.05, 0.2
    expected = 1 / (mu1 - lam) + 1 / (mu2 - lam) + d1 + d2 + ret  # Jackson: independent M/M/1 stations
    model = tandem(lam, mu1, mu2, d1, d2, ret)
    means = replicate(model, mean_latency, warmup=500.0, horizon=200_000.0)
    assert_ci_contains(means, expected)

    state = init_state(model, 7)
    run_until(model, state, 2_000.0)
    m = read_metrics(state)
    n = m.completions[0]
    assert m.link_s_sum[0] / n == pytest.approx(d1 + d2 + ret)  # links are constant delays
    assert m.wait_s_sum[0] + m.service_s_sum[0] + m.link_s_sum[0] == pytest.approx(m.latency[0].sum, rel=1e-9)


def test_merged_poisson_source_equals_its_devices() -> None:
    """100 devices at 0.1/s, one source each, and one merged source at 10/s give the same M/M/1."""
    rates = np.full(100, 0.1)
    per_device = make_model(servers=[1], rate_per_s=rates, route_ptr=np.arange(101), stage_station=np.zeros(100),
                            stage_work_mean_s=np.full(100, 0.08))  # fmt: skip
    merged = queue(float(merged_poisson_rates([100], 0.1)[0]), 0.08)
    for model in (per_device, merged):
        means = replicate(model, mean_latency, warmup=100.0, horizon=40_000.0)
        assert_ci_contains(means, 1 / (12.5 - 10.0))


def test_merged_poisson_rates_validates() -> None:
    np.testing.assert_array_equal(merged_poisson_rates([3, 0], [0.5, 2.0]), [1.5, 0.0])
    with pytest.raises(ScenarioError, match=r"device_count\[1\]: must be a whole number >= 0"):
        merged_poisson_rates([1, -1], 1.0)


# ------------------------------------------------------------------ arrival processes
def test_mmpp2_mean_rate() -> None:
    r0, r1, s01, s10 = 0.5, 4.0, 0.2, 0.3
    expected = (s10 * r0 + s01 * r1) / (s01 + s10)  # stationary phase probabilities
    model = queue(r0, 0.01, arrival_kind=core.MMPP2, mmpp_rate1_per_s=r1, mmpp_switch01_per_s=s01,
                  mmpp_switch10_per_s=s10)  # fmt: skip
    rate = replicate(model, lambda m: m.arrivals[0] / m.duration, warmup=10.0, horizon=100_000.0)
    assert_ci_contains(rate, expected)


def test_periodic_deterministic_queue_has_constant_latency() -> None:
    model = queue(0.5, 1.5, arrival_kind=core.PERIODIC, stage_work_dist=core.WORK_DET, stage_delay_s=0.25,
                  return_delay_s=0.25)  # fmt: skip
    state = init_state(model, 3)
    run_until(model, state, 1_000.0)
    m = read_metrics(state)
    h = m.latency[0]
    assert m.arrivals[0] in (499, 500)
    assert h.min == pytest.approx(2.0) and h.max == pytest.approx(2.0)
    assert h.counts[LogHistogram().bucket_index(2.0)] == h.count == m.completions[0]


def test_samplers_have_their_moments() -> None:
    rng = np.random.SeedSequence(5).generate_state(4, dtype=np.uint64)
    for dist, scv in (
        (core.WORK_EXP, 1.0),
        (core.WORK_GAMMA, 0.3),
        (core.WORK_GAMMA, 4.0),
        (core.WORK_LOGNORMAL, 2.0),
    ):
        x = np.empty(400_000)
        core.draw(rng, dist, 2.0, scv, x)
        assert x.mean() == pytest.approx(2.0, rel=0.02), (dist, scv)
        assert x.var() / x.mean() ** 2 == pytest.approx(scv, rel=0.08), (dist, scv)


# ------------------------------------------------------------------ determinism and memory
def run_epochs(model: KernelModel, seed: int, stops: list[float]) -> KernelState:
    state = init_state(model, seed, pool_capacity=2)  # tiny pool: forces growth (and resumption) mid-run
    for t in stops:
        run_until(model, state, t)
    return state


def test_same_seed_same_numbers_however_split() -> None:
    model = tandem(1.0, 1.5, 2.0, 0.01, 0.02, 0.03)
    a = read_metrics(run_epochs(model, 11, [3_000.0]))
    b = read_metrics(run_epochs(model, 11, [7.3, 100.0, 1_000.5, 1_000.5, 3_000.0]))
    c = read_metrics(run_epochs(model, 12, [3_000.0]))
    np.testing.assert_array_equal(a.latency[0].counts, b.latency[0].counts)
    assert a.latency[0].sum == b.latency[0].sum
    np.testing.assert_array_equal(a.station_departures, b.station_departures)
    np.testing.assert_allclose(a.station_in_system_s, b.station_in_system_s, rtol=1e-12)
    assert a.arrivals[0] != c.arrivals[0] or a.latency[0].sum != c.latency[0].sum


def mixed() -> KernelModel:
    """Every feature at once: FIFO c=2, PS, a bounded FIFO; Poisson, MMPP and periodic sources; timeouts."""
    return make_model(
        servers=[2, 1, 1],
        discipline=[core.FIFO, core.PS, core.FIFO],
        capacity=[-1, -1, 4],
        speed=[1.0, 2.0, 1.0],
        rate_per_s=[0.6, 0.3, 0.5],
        arrival_kind=[core.POISSON, core.MMPP2, core.PERIODIC],
        mmpp_rate1_per_s=[0.0, 2.0, 0.0],
        mmpp_switch01_per_s=[0.0, 0.1, 0.0],
        mmpp_switch10_per_s=[0.0, 0.4, 0.0],
        route_ptr=[0, 2, 4, 5],
        stage_station=[0, 1, 1, 2, 2],
        stage_work_mean_s=[1.0, 0.5, 0.4, 1.0, 1.2],
        stage_work_dist=[core.WORK_EXP, core.WORK_GAMMA, core.WORK_LOGNORMAL, core.WORK_EXP, core.WORK_DET],
        stage_work_scv=[1.0, 3.0, 0.5, 1.0, 0.0],
        stage_delay_s=[0.01, 0.0, 0.02, 0.03, 0.0],
        return_delay_s=[0.01, 0.02, 0.0],
        app_of_source=[0, 1, 1],
        timeout_s=[20.0, np.inf, 2.5],
        max_retries=[1, 0, 1],
    )


def test_every_feature_same_seed_same_numbers_however_split() -> None:
    model = mixed()
    a = run_epochs(model, 31, [20_000.0])
    b = run_epochs(model, 31, [0.5, 1_000.0, 1_000.0, 7_777.7, 20_000.0])
    ma, mb = read_metrics(a), read_metrics(b)
    for h, k in zip(ma.latency, mb.latency, strict=True):
        np.testing.assert_array_equal(h.counts, k.counts)
    for name in ("arrivals", "retries", "completions", "drops_full", "timeouts", "failed", "orphans_done"):
        np.testing.assert_array_equal(getattr(ma, name), getattr(mb, name))
    np.testing.assert_array_equal(ma.station_departures, mb.station_departures)
    np.testing.assert_allclose(ma.station_busy_s, mb.station_busy_s, rtol=1e-9)
    assert ma.timeouts.sum() > 0 and ma.drops_full.sum() > 0 and ma.retries.sum() > 0
    conservation(ma, a)
    check_little(ma, 0.05)
    assert (ma.utilization <= 1.0).all()


def test_seed_from_generator() -> None:
    model = queue(0.5, 1.0)
    states = [init_state(model, np.random.default_rng(4)) for _ in range(2)]
    for s in states:
        run_until(model, s, 500.0)
    assert read_metrics(states[0]).latency[0].sum == read_metrics(states[1]).latency[0].sum


def test_memory_does_not_grow_with_duration_or_epochs() -> None:
    model = queue(0.5, 1.0)
    state = init_state(model, 1, pool_capacity=256)
    run_until(model, state, 1_000.0)
    size = (state.nbytes, state.pool_capacity, state.heap_capacity)
    run_until(model, state, 50_000.0)
    for t in range(50_100, 60_001, 100):  # a hundred control epochs, changing the rate in each
        model.rate_per_s[0] = 0.5 if t % 200 else 0.4
        run_until(model, state, float(t))
    assert read_metrics(state).completions[0] > 25_000
    assert (state.nbytes, state.pool_capacity, state.heap_capacity) == size


def test_unstable_system_raises() -> None:
    model = queue(2.0, 1.0)
    state = init_state(model, 1, pool_capacity=64, max_live_requests=1_000)
    with pytest.raises(SimulationError, match="max_live_requests=1000"):
        run_until(model, state, 10_000.0)


# ------------------------------------------------------------------ control plane between epochs
def conservation(m: KernelMetrics, state: KernelState) -> None:
    """Every request is completed, dropped, failed, or still outstanding (counters since time 0)."""
    settled = m.completions + m.drops_full + m.drops_down + m.failed
    np.testing.assert_array_equal(m.arrivals, settled + state.outstanding)


def two_sites(discipline: int) -> KernelModel:
    """Two sources, each to its own single-server site, 10 ms links."""
    return make_model(servers=[1, 1], rate_per_s=[0.8, 0.8], route_ptr=[0, 1, 2], stage_station=[0, 1],
                      stage_work_mean_s=[1.0, 1.0], stage_delay_s=[0.01, 0.01], app_of_source=[0, 1],
                      discipline=discipline)  # fmt: skip


@pytest.mark.parametrize("discipline", [core.FIFO, core.PS], ids=["FIFO", "PS"])
def test_station_failure_drops_arrivals_and_loses_its_contents(discipline: int) -> None:
    model = two_sites(discipline)
    state = init_state(model, 5)
    run_until(model, state, 1_000.0)
    inside = int(state.in_station[1])
    before = read_metrics(state)
    model.up[1] = False  # site 1 crashes
    run_until(model, state, 2_000.0)
    during = read_metrics(state)
    assert state.in_station[1] == 0
    lost = during.station_drops_down[1] - before.station_drops_down[1]
    arrived = during.station_arrivals[1] - before.station_arrivals[1]
    assert lost == arrived + inside  # every arrival refused, plus what was inside when it failed
    assert during.station_departures[1] == before.station_departures[1]
    assert during.drops_down[1] == lost and during.drops_down[0] == 0
    assert during.station_up_s[1] == pytest.approx(1_000.0)
    model.up[1] = True  # repaired
    run_until(model, state, 3_000.0)
    after = read_metrics(state)
    assert after.station_departures[1] > during.station_departures[1] + 500
    assert after.station_drops_down[1] == during.station_drops_down[1]
    conservation(after, state)
    check_little(after, 0.05)


def test_empty_route_costs_only_the_return_delay() -> None:
    model = make_model(servers=[1], rate_per_s=[2.0, 1.0], route_ptr=[0, 0, 1], stage_station=[0],
                       stage_work_mean_s=[0.1], return_delay_s=[0.25, 0.0], app_of_source=[0, 1])  # fmt: skip
    state = init_state(model, 3)
    run_until(model, state, 1_000.0)
    m = read_metrics(state)
    assert m.completions[0] == m.arrivals[0] > 1_800
    assert m.latency[0].min == m.latency[0].max == 0.25
    assert m.station_departures[0] == pytest.approx(m.arrivals[1], abs=2)


def test_servers_added_drain_a_held_queue() -> None:
    model = queue(1.0, 1.0, servers=0)  # no servers yet: requests are held
    state = init_state(model, 2)
    run_until(model, state, 100.0)
    held = int(state.in_station[0])
    assert held > 70 and read_metrics(state).completions[0] == 0
    model.servers[0] = 3
    run_until(model, state, 400.0)
    m = read_metrics(state)
    assert m.completions[0] >= held
    assert state.in_station[0] < 15
    assert m.utilization[0] <= 1.0
    conservation(m, state)
    check_little(m, 0.05)


def test_fewer_servers_and_slower_speed_reschedule_the_queue() -> None:
    model = queue(2.5, 1.0, servers=4)
    state = init_state(model, 3)
    run_until(model, state, 200.0)
    model.servers[0] = 2
    model.speed[0] = 1.5  # capacity 3/s for 2.5/s offered
    run_until(model, state, 20_000.0)
    reset_metrics(state)
    run_until(model, state, 60_000.0)
    m = read_metrics(state)
    expected = erlang_c(2, 2.5 / 1.5) / (2 * 1.5 - 2.5) + 1 / 1.5
    assert m.latency[0].mean == pytest.approx(expected, rel=0.1)
    check_little(m, 0.05)


def test_rescheduling_back_to_the_same_departure_is_one_departure() -> None:
    """Servers 1 -> 0 -> 1 at one instant gives waiting requests their old departure times back: the old
    events must stay void (two-stage route, so a request outlives its first departure; with timeouts)."""
    model = make_model(servers=[1, 1], rate_per_s=[0.95], route_ptr=[0, 2], stage_station=[0, 1],
                       stage_work_mean_s=[1.0, 0.1], stage_delay_s=[0.0, 0.5], timeout_s=[60.0],
                       max_retries=[1])  # fmt: skip
    state = init_state(model, 1)
    run_until(model, state, 1_000.0)
    assert state.in_station[0] > 5
    for servers in (0, 1):
        model.servers[0] = servers
        run_until(model, state, 1_000.0)
    run_until(model, state, 3_000.0)
    m = read_metrics(state)
    assert (state.in_station >= 0).all()
    conservation(m, state)
    check_little(m, None)  # near saturation with retries: no steady state to compare L with lambda W


def test_unchanged_model_between_epochs_changes_nothing() -> None:
    model = queue(0.9, 1.0, servers=1)
    a = run_epochs(model, 9, [5_000.0])
    state = init_state(model, 9, pool_capacity=2)
    for t in range(500, 5_001, 500):
        run_until(replace(model, servers=model.servers.copy()), state, float(t))
    assert read_metrics(a).latency[0].sum == read_metrics(state).latency[0].sum


def test_rate_changes_apply_from_the_epoch() -> None:
    model = queue(0.0, 0.1)
    state = init_state(model, 4)
    run_until(model, state, 100.0)
    assert read_metrics(state).arrivals[0] == 0
    model.rate_per_s[0] = 5.0
    run_until(model, state, 1_100.0)
    assert read_metrics(state).arrivals[0] == pytest.approx(5_000, rel=0.1)


def test_route_change_moves_requests_in_flight() -> None:
    model = make_model(servers=[1, 1], rate_per_s=[0.5], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[1.0], stage_delay_s=[0.5])  # fmt: skip
    state = init_state(model, 6)
    run_until(model, state, 1_000.0)
    moved = replace(model, route_ptr=np.array([0, 2]), stage_station=np.array([0, 1]),
                    stage_work_mean_s=np.array([1.0, 0.2]), stage_delay_s=np.array([0.5, 0.1]),
                    stage_work_dist=np.zeros(2), stage_work_scv=np.ones(2))  # fmt: skip
    run_until(moved, state, 3_000.0)
    m = read_metrics(state)
    assert m.station_departures[1] > 0.9 * (m.station_departures[0] - 550)
    conservation(m, state)


def test_discipline_cannot_change() -> None:
    model = queue(0.5, 1.0)
    state = init_state(model, 1)
    with pytest.raises(ScenarioError, match=r"discipline\[0\]: cannot change during a run"):
        run_until(replace(model, discipline=np.array([1])), state, 1.0)


# ------------------------------------------------------------------ timeouts and retries
def test_timeouts_that_never_fire_change_nothing() -> None:
    base = queue(0.8, 1.0)
    with_timeout = queue(0.8, 1.0, timeout_s=1e9, max_retries=3)
    a, b = run_epochs(base, 21, [2_000.0]), run_epochs(with_timeout, 21, [2_000.0])
    ma, mb = read_metrics(a), read_metrics(b)
    assert ma.latency[0].sum == mb.latency[0].sum
    assert mb.timeouts[0] == 0


def test_timeout_then_retry_then_give_up() -> None:
    """Periodic requests every 10 s, work 3 s, timeout 2 s, one retry.

    Attempt 1 times out at +2 (an orphan, served until +3); the retry, sent at +2, waits behind it,
    is served from +3 to +6 and times out at +4. Each request: 2 timeouts, 1 retry, 1 failure, 2 orphans.
    """
    model = queue(0.1, 3.0, arrival_kind=core.PERIODIC, stage_work_dist=core.WORK_DET, timeout_s=2.0,
                  max_retries=1)  # fmt: skip
    state = init_state(model, 8)
    run_until(model, state, 1_000.0)
    m = read_metrics(state)
    n = m.arrivals[0]
    assert n in (99, 100)
    done = n - state.outstanding[0]
    assert (m.timeouts[0], m.retries[0], m.failed[0], m.completions[0]) == pytest.approx(
        (2 * done, done, done, 0), abs=2
    )
    assert m.orphans_done[0] == pytest.approx(2 * done, abs=2)
    conservation(m, state)


def test_late_response_counts_as_timeout() -> None:
    """Service fits in the timeout but the return delay does not: the response arrives late."""
    model = queue(0.1, 1.0, arrival_kind=core.PERIODIC, stage_work_dist=core.WORK_DET, timeout_s=1.5,
                  return_delay_s=1.0)  # fmt: skip
    state = init_state(model, 8)
    run_until(model, state, 1_000.0)
    m = read_metrics(state)
    assert m.completions[0] == 0 and m.orphans_done[0] == 0
    assert m.failed[0] == m.timeouts[0] >= 98
    conservation(m, state)


# ------------------------------------------------------------------ input validation
def test_invalid_model_reports_every_problem() -> None:
    with pytest.raises(ScenarioError) as err:
        make_model(servers=[1, -1], rate_per_s=[-1.0], route_ptr=[0, 1], stage_station=[5],
                   stage_work_mean_s=[1.0], speed=[1.0, 0.0])  # fmt: skip
    text = str(err.value)
    assert "4 problems" in text
    for where in ("servers[1]", "speed[1]", "rate_per_s[0]", "stage_station[0]: must be in [0, 2)"):
        assert where in text


GOOD: dict[str, Any] = {"servers": [1], "rate_per_s": [1.0], "route_ptr": [0, 1], "stage_station": [0],
                        "stage_work_mean_s": [1.0]}  # fmt: skip


BAD_FIELDS = [
    ("servers", [1.5], r"servers\[0\]: must be a whole number \(got 1.5\)"),
    ("discipline", [2], r"discipline\[0\]: must be 0 or 1"),
    ("capacity", [-2], r"capacity\[0\]: must be in \[0, 2147483647\], or -1"),
    ("arrival_kind", [5], r"arrival_kind\[0\]: must be 0, 1, 2, 3 or 4"),
    ("timeout_s", [0.0], r"timeout_s\[0\]: must be > 0 \(inf for none\)"),
    ("route_ptr", [1, 1], r"route_ptr: must start at 0 and end at n_stages = 1"),
    ("stage_delay_s", [-1.0], r"stage_delay_s\[0\]: must be >= 0 \(inf: no path\)"),
    ("stage_work_dist", [4], r"stage_work_dist\[0\]: must be 0, 1, 2 or 3"),
    ("mmpp_rate1_per_s", [-0.5], r"mmpp_rate1_per_s\[0\]: must be finite and >= 0"),
    ("max_retries", ["x"], r"max_retries: must be convertible to int32"),
    ("token_depth", [-1.0], r"token_depth\[0\]: must be finite and >= 0"),
    ("trace_t", [2.0, 1.0], r"trace_ptr: must start at 0 and end at 2"),
]


@pytest.mark.parametrize(("field", "value", "match"), BAD_FIELDS, ids=[f for f, _, _ in BAD_FIELDS])
def test_bad_model_field(field: str, value: Any, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        make_model(**{**GOOD, field: value})


def test_wrong_sizes_and_times() -> None:
    with pytest.raises(ScenarioError, match="route_ptr: must have n_sources"):
        make_model(
            servers=[1], rate_per_s=[1.0, 1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0]
        )
    model = queue(0.5, 1.0)
    state = init_state(model, 1)
    run_until(model, state, 10.0)
    with pytest.raises(SimulationError, match="must be finite and >= now"):
        run_until(model, state, 5.0)
    with pytest.raises(SimulationError, match="must equal the state's time"):
        reset_metrics(state, 3.0)
    other = make_model(
        servers=[1, 1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0]
    )
    with pytest.raises(ScenarioError, match="n_stations: must equal the state's 1"):
        run_until(other, state, 20.0)
