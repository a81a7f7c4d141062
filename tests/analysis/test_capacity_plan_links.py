"""analyze's capacity plan with queueing links: the budget left to the stations once the link waits are paid.

The scenarios are those of ``test_link_queueing_analysis.py`` (one 10 Mb/s link a-b queueing 6.25 kB requests,
5 ms each; two stages over two links) with an SLO and, for the one link, a 20 ms exponential service at b.
The link waits are computed here by hand: Pollaczek-Khinchine's mean ``lambda D^2 / (2 (1 - rho))`` and
Takacs' second moment (:func:`~edgescale.analysis.queueing.mg1_wait_second_moment`) of each M/D/1 link; the
budget ``B`` is checked against its definition (``edgescale.analysis._capacity_plan``): the verdicts' gamma,
matched to the link waits plus an exponential station response of p95 ``B``, reaches the SLO exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.stats import gamma

from edgescale.analysis._capacity_plan import RouteDelays
from edgescale.analysis.queueing import md1, mg1_wait_second_moment, mmc_response_time_percentile
from edgescale.analysis.scenario import analyze_scenario
from edgescale.model.io import scenario_from_dict
from tests.analysis.test_link_queueing_analysis import _one_link, _two_stages

FIXED_MS = 11.0
"""The one-link route's fixed delays: 1 ms access each way, 2 ms a -> b and back, 5 ms transmission."""


def _served(queueing: str, slo_ms: float, cores: int = 5, rate_per_s: float = 1.8) -> dict[str, Any]:
    """100 devices at *rate_per_s* (180/s: the link at rho 0.9) to a 20 ms exponential service on *cores*
    servers at b (the default plan uses them all), p95 SLO *slo_ms*."""
    d = _one_link(queueing, rate_per_s)
    d["services"][0].update(work_ms=20, work_distribution="exponential")
    d["sites"][1]["cpu_cores"] = cores
    d["applications"][0]["slo"] = {"latency_ms": slo_ms, "percentile": 95}
    return d


def _md1_wait_ms(rate_per_s: float, service_s: float) -> tuple[float, float]:
    """Mean (ms) and variance (ms^2) of an M/D/1 wait."""
    mean_s = md1(rate_per_s, service_s).mean_wait_s
    second = mg1_wait_second_moment(rate_per_s, service_s, service_s**2, service_s**3)
    return 1000.0 * mean_s, 1e6 * (second - mean_s**2)


def _p95_ms(mean_ms: float, var_ms2: float) -> float:
    """The p95 of the gamma with this mean and variance (as the verdicts fit the random part of a latency)."""
    return float(gamma.ppf(0.95, a=mean_ms**2 / var_ms2, scale=var_ms2 / mean_ms))


def _stations_p95_ms(budget_ms: float, links_ms: tuple[float, float]) -> float:
    """The verdicts' p95 of the link waits plus an exponential station response whose p95 is *budget_ms*."""
    s = budget_ms / math.log(20.0)
    return _p95_ms(links_ms[0] + s, links_ms[1] + s * s)


def _plan(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = analyze_scenario(scenario_from_dict(d)).to_dict()["capacity_plan"]
    return rows


def test_a_busy_queueing_link_shrinks_the_budget_and_adds_a_server() -> None:
    """rho 0.9: the link waits 22.5 ms on average (variance 581.25 ms^2); a p95 SLO of 120 ms leaves the 20 ms
    service B = 67.15 ms (109 ms without the queue), between what reserving the link's mean (86.5 ms) and its
    own p95 (38.2 ms) would leave. M/M/c at 180/s, mu 50/s: p95 71.4 ms with 5 servers, 62.5 ms with 6."""
    links = _md1_wait_ms(180.0, 0.005)
    assert links == pytest.approx((22.5, 581.25))
    assert _plan(_served("none", 120.0)) == []  # 5 servers meet 109 ms
    (row,) = _plan(_served("fifo", 120.0))
    budget = row["budget_ms"]
    assert FIXED_MS + _stations_p95_ms(budget, links) == pytest.approx(120.0, abs=1e-6)
    assert budget == pytest.approx(67.15, abs=0.005)
    assert 120.0 - FIXED_MS - _p95_ms(*links) < budget < 120.0 - FIXED_MS - links[0]
    assert row["link_wait_ms"] == pytest.approx(120.0 - FIXED_MS - budget, abs=1e-9)
    assert (row["servers_now"], row["servers_needed"]) == (5, 6)
    assert mmc_response_time_percentile(180.0, 50.0, 5, 0.95) * 1000.0 > budget
    assert mmc_response_time_percentile(180.0, 50.0, 6, 0.95) * 1000.0 <= budget
    # the verdict agrees: 5 servers miss the SLO with the queueing link, 6 meet it
    for cores, meets in ((5, False), (6, True)):
        app = analyze_scenario(scenario_from_dict(_served("fifo", 120.0, cores))).applications[0]
        assert app.meets_latency_slo is meets


def test_without_the_queue_the_budget_is_the_slo_less_the_fixed_delays_exactly() -> None:
    (row,) = _plan(_served("none", 120.0, cores=64))
    assert row["budget_ms"] == 120.0 - FIXED_MS
    assert "link_wait_ms" not in row
    # 0.1/s: the link waits 2.5e-6 ms on average, with a variance of 0.004 ms^2 (rare 5 ms waits): 1e-3 ms less
    (row,) = _plan(_served("fifo", 120.0, cores=64, rate_per_s=0.001))
    assert 120.0 - FIXED_MS - 2e-3 < row["budget_ms"] < 120.0 - FIXED_MS


def test_two_queueing_hops_add_their_waits_and_split_the_budget_over_the_stages() -> None:
    """a -> b queues at m -> b (5 ms, rho 0.5), b -> m at b -> m (1 ms, rho 0.1): B solves the verdicts' p95 of
    both waits (independent: means and variances add) plus the stations at the SLO, then halves."""
    w1, w2 = _md1_wait_ms(100.0, 0.005), _md1_wait_ms(100.0, 0.001)
    links = (w1[0] + w2[0], w1[1] + w2[1])
    d_plain, d_fifo = _two_stages("none"), _two_stages("fifo")
    for d in (d_plain, d_fifo):
        d["applications"][0]["slo"] = {"latency_ms": 30.0, "percentile": 95}
    budget_plain = {r["service"]: r["budget_ms"] for r in _plan(d_plain)}
    rows = _plan(d_fifo)
    assert {r["service"] for r in rows} == set(budget_plain) == {"s", "t"}
    fixed_ms = 30.0 - 2.0 * budget_plain["s"]
    for r in rows:
        assert fixed_ms + _stations_p95_ms(2.0 * r["budget_ms"], links) == pytest.approx(30.0, abs=1e-6)
        assert r["link_wait_ms"] == pytest.approx(2.0 * (budget_plain["s"] - r["budget_ms"]), abs=1e-9)


def test_link_waits_that_alone_break_the_slo_are_named_in_the_note() -> None:
    """rho 0.9: the fixed delays and the link waits' p95 (70.8 ms) already reach 81.8 ms, over an 80 ms SLO."""
    (row,) = _plan(_served("fifo", 80.0))
    over = FIXED_MS + _p95_ms(*_md1_wait_ms(180.0, 0.005)) - 80.0
    assert over == pytest.approx(1.8, abs=0.01)
    assert row["budget_ms"] == pytest.approx(-over, abs=1e-9)
    assert row["servers_needed"] is None
    assert row["note"].startswith("cannot meet: the link queueing waits alone exceed the SLO latency")
    assert f"{over:.3g} ms more" in row["note"]
    assert "fixed delays or service time" not in row["note"]


def test_link_waits_that_leave_less_than_the_service_needs_say_so() -> None:
    """A 110 ms SLO leaves B = 53.7 ms, under the 20 ms service's own p95 (59.9 ms): no server count meets it;
    without the queue 99 ms would (5 servers)."""
    (row,) = _plan(_served("fifo", 110.0))
    assert row["budget_ms"] == pytest.approx(53.7, abs=0.05)
    assert row["budget_ms"] < 20.0 * math.log(20.0)
    assert row["servers_needed"] is None
    assert "link queueing waits take" in row["note"] and "the budget would be 99 ms" in row["note"]
    assert _plan(_served("none", 110.0)) == []


def test_an_overloaded_link_leaves_no_budget_and_is_named() -> None:
    """250/s of 5 ms messages: rho 1.25 from a to b."""
    (row,) = _plan(_served("fifo", 120.0, cores=64, rate_per_s=2.5))
    assert row["budget_ms"] is None and row["link_wait_ms"] is None and row["servers_needed"] is None
    assert row["note"] == "cannot meet: queueing link a-b (a -> b) on the route is overloaded (utilization >= 1)"


def test_the_worst_demand_point_sets_the_budget() -> None:
    """Two demand points: one crossing the rho 0.9 link (11 ms fixed), one not; the smaller B binds, exactly
    ``SLO - fixed`` when it is the one without link waits, and a fixed delay over the SLO says by how much."""
    links = _md1_wait_ms(180.0, 0.005)

    def route(fixed_other_ms: float) -> RouteDelays:
        return RouteDelays(np.array([fixed_other_ms, FIXED_MS]), np.array([0.0, links[0]]), np.array([0.0, links[1]]))

    b = route(30.0).stations_budget_ms(120.0, 0.95)
    assert FIXED_MS + _stations_p95_ms(b, links) == pytest.approx(120.0, abs=1e-6)
    assert route(60.0).stations_budget_ms(120.0, 0.95) == 60.0
    assert route(200.0).stations_budget_ms(150.0, 0.95) == -50.0
    assert RouteDelays(np.array([FIXED_MS])).stations_budget_ms(120.0, 0.95) == 120.0 - FIXED_MS
