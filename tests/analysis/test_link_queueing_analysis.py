"""analyze with queueing links (``links[].queueing: fifo``): one M/G/1 queue per link direction, closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edgescale.analysis._link_queues import DirectionLoads, direction_waits
from edgescale.analysis.queueing import md1_wait_percentile, mg1_wait_second_moment
from edgescale.analysis.scenario import analyze_scenario
from edgescale.errors import UnstableSystemError
from edgescale.model.io import scenario_from_dict


def _one_link(queueing: str, rate_per_s: float = 1.0, response_kb: float = 0.0) -> dict[str, Any]:
    """100 devices at edge site 'a' (*rate_per_s* each, 1 ms access) reach a 1 ms deterministic service at cloud
    site 'b' (64 cores) over a-b (2 ms, 10 Mb/s): 6.25 kB requests take 5 ms there (rho 0.5 at 1 req/s)."""
    loc = [{"lat": 0, "lon": 0}, {"lat": 0, "lon": 1}]
    sites = [{"id": "a", "tier": "edge", "cpu_cores": 1, "location": loc[0]},
             {"id": "b", "tier": "cloud", "cpu_cores": 64, "location": loc[1]}]  # fmt: skip
    link = {"src": "a", "dst": "b", "latency_ms": 2, "bandwidth_mbps": 10, "queueing": queueing}
    service = {"id": "s", "work_ms": 1, "work_distribution": "deterministic", "tiers": ["cloud"]}
    group = {"id": "d", "count": 100, "application": "app", "placement": {"around": {"sites": ["a"]}},
             "arrival": {"process": "poisson", "rate_per_s": rate_per_s},
             "access": {"assign": "home", "latency_ms": 1}}  # fmt: skip
    app = {"id": "app", "stages": [{"service": "s", "request_kb": 6.25}], "response_kb": response_kb}
    return {"schema_version": 1, "name": "one-link", "sites": sites, "links": [link], "services": [service],
            "applications": [app], "device_groups": [group]}  # fmt: skip


def test_one_queueing_link_adds_the_md1_wait_to_the_mean_exactly() -> None:
    """M/D/1 at rho = 100/s x 5 ms = 0.5: W = rho D / (2 (1 - rho)) = 2.5 ms (Pollaczek-Khinchine, Kleinrock
    Vol. 1 Sec. 5.7); without queueing the hop costs 1 + 5 + 2 ms in, 2 + 1 ms back and 1 ms of service."""
    plain = analyze_scenario(scenario_from_dict(_one_link("none"))).to_dict()
    fifo = analyze_scenario(scenario_from_dict(_one_link("fifo"))).to_dict()
    assert plain["applications"][0]["mean_ms"] == pytest.approx(12.0, abs=1e-9)
    app = fifo["applications"][0]
    assert app["mean_ms"] == pytest.approx(12.0 + 2.5, abs=1e-9)
    assert app["decomposition_ms"]["link_queueing"] == pytest.approx(2.5, abs=1e-12)
    assert app["decomposition_ms"]["transmission"] == pytest.approx(5.0)  # the queue's service, as before
    assert sum(app["decomposition_ms"].values()) == pytest.approx(app["mean_ms"])
    fwd, back = fifo["links"]
    assert (fwd["link"], fwd["from"], fwd["to"]) == ("a-b", "a", "b")
    assert fwd["utilization"] == pytest.approx(0.5)
    assert fwd["visits_per_s"] == pytest.approx(100.0)
    assert fwd["mean_wait_ms"] == pytest.approx(2.5)
    assert fwd["mean_sojourn_ms"] == pytest.approx(7.5)
    assert fwd["stable"] is True
    assert (back["from"], back["visits_per_s"], back["mean_wait_ms"]) == ("b", 0.0, None)  # responses never queue
    assert "link_queueing" not in plain["applications"][0]["decomposition_ms"]
    assert plain["links"] is None


@pytest.mark.parametrize("rate_per_s", [0.6, 1.0, 1.4])
def test_one_queueing_link_p95_is_the_md1_wait_percentile_within_the_gamma_fit(rate_per_s: float) -> None:
    """The latency is 12 ms plus the M/D/1 wait (the service's own wait is ~0: 64 servers at 0.16 %); the
    gamma matched to the wait's mean and variance (Takacs) gives its p95 within 5.5 % of the exact percentile
    (Crommelin 1932 / Franx 2001, :func:`md1_wait_percentile`) for 0.3 <= rho <= 0.9 (scanned in steps of 0.01:
    -5.2 % to +0.3 %); here rho = 0.3, 0.5, 0.7: -2.3 %, -1.1 %, +0.2 %."""
    r = analyze_scenario(scenario_from_dict(_one_link("fifo", rate_per_s))).to_dict()
    rate = 100.0 * rate_per_s
    exact_ms = 1000.0 * md1_wait_percentile(rate, 0.005, 0.95)
    assert r["applications"][0]["p95_ms"] - 12.0 == pytest.approx(exact_ms, rel=0.03)


def test_an_overloaded_link_direction_is_reported_like_an_unstable_station() -> None:
    """100 devices at 2.5 req/s of 5 ms each: rho 1.25 from a to b."""
    r = analyze_scenario(scenario_from_dict(_one_link("fifo", 2.5))).to_dict()
    app = r["applications"][0]
    assert app["unstable_stations"] == ["link a-b (a -> b)"]
    assert app["mean_ms"] is None and app["p95_ms"] is None and app["cdf"] is None
    assert r["links"][0]["utilization"] == pytest.approx(1.25)
    assert r["links"][0]["stable"] is False
    (w,) = [x for x in r["warnings"] if x["path"] == "links[0]"]
    assert w["severity"] == "warning"
    assert "a -> b" in w["message"] and "bandwidth_mbps" in w["hint"]
    assert "link a-b overloaded from a to b (125%)" in r["verdict"]


def test_mixed_message_sizes_share_a_direction_as_mg1() -> None:
    """80/s of 5 ms and 60/s of 3 ms: rho 0.58, E[S^2] = (80 x 25 + 60 x 9) / 140 ms^2, the Pollaczek-Khinchine
    mean wait lambda E[S^2] / (2 (1 - rho)) = 2.54 / 0.84 ms; E[W^2] by Takacs as in mg1_wait_second_moment."""
    loads = DirectionLoads.zeros(3)
    loads.add(np.array([1, 1, -1]), np.array([80.0, 60.0, 7.0]), np.array([0.005, 0.003, 1.0]))
    rho, mean_s, var_s2 = direction_waits(loads)
    assert rho.tolist() == pytest.approx([0.0, 0.58, 0.0])
    assert mean_s[1] == pytest.approx(0.00254 / 0.84, rel=1e-12)
    es1, es2, es3 = 0.58 / 140, (80 * 0.005**2 + 60 * 0.003**2) / 140, (80 * 0.005**3 + 60 * 0.003**3) / 140
    second = mg1_wait_second_moment(140.0, es1, es2, es3)
    assert var_s2[1] == pytest.approx(second - mean_s[1] ** 2, rel=1e-12)
    assert mean_s[0] == 0.0 and var_s2[0] == 0.0  # no traffic, no wait


def test_mg1_wait_second_moment_rejects_overload_and_bad_moments() -> None:
    with pytest.raises(UnstableSystemError):
        mg1_wait_second_moment(1.0, 1.0, 1.0, 1.0)
    with pytest.raises(Exception, match="second_moment_service_s2 must be >="):
        mg1_wait_second_moment(0.5, 1.0, 0.5, 1.0)


def _two_stages(queueing: str) -> dict[str, Any]:
    """a - m (1 ms, 20 Mb/s) - b (1 ms, 10 Mb/s), both links *queueing*; 100/s of 6.25 kB requests from a to a
    1 ms service at b, then 1.25 kB from b to a 1 ms service at m (deterministic, 64 and 4 servers)."""
    loc = [{"lat": 0, "lon": x} for x in (0, 0.5, 1)]
    sites = [{"id": "a", "tier": "edge", "cpu_cores": 1, "location": loc[0]},
             {"id": "m", "tier": "aggregation", "cpu_cores": 4, "location": loc[1]},
             {"id": "b", "tier": "cloud", "cpu_cores": 64, "location": loc[2]}]  # fmt: skip
    links = [{"src": "a", "dst": "m", "latency_ms": 1, "bandwidth_mbps": 20, "queueing": queueing},
             {"src": "m", "dst": "b", "latency_ms": 1, "bandwidth_mbps": 10, "queueing": queueing}]  # fmt: skip
    services = [{"id": "s", "work_ms": 1, "work_distribution": "deterministic", "tiers": ["cloud"]},
                {"id": "t", "work_ms": 1, "work_distribution": "deterministic", "tiers": ["aggregation"]}]  # fmt: skip
    group = {"id": "d", "count": 100, "application": "app", "placement": {"around": {"sites": ["a"]}},
             "arrival": {"process": "poisson", "rate_per_s": 1}, "access": {"assign": "home", "latency_ms": 1}}  # fmt: skip
    app = {"id": "app", "stages": [{"service": "s", "request_kb": 6.25}, {"service": "t", "request_kb": 1.25}],
           "response_kb": 0}  # fmt: skip
    return {"schema_version": 1, "name": "two-stages", "sites": sites, "links": links, "services": services,
            "applications": [app], "device_groups": [group]}  # fmt: skip


def test_each_hop_queues_at_its_own_bottleneck_direction() -> None:
    """a -> b queues at m -> b only (5 ms, rho 0.5: W = 2.5 ms; a - m's 2.5 ms stays a delay), b -> m at
    b -> m (1 ms, rho 0.1: W = 0.1 x 1 / 1.8 ms): the mean grows by exactly the two M/D/1 waits."""
    plain = analyze_scenario(scenario_from_dict(_two_stages("none"))).to_dict()
    fifo = analyze_scenario(scenario_from_dict(_two_stages("fifo"))).to_dict()
    grow = fifo["applications"][0]["mean_ms"] - plain["applications"][0]["mean_ms"]
    assert grow == pytest.approx(2.5 + 0.1 / 1.8, abs=1e-9)
    rows = {(x["from"], x["to"]): x for x in fifo["links"]}
    assert rows[("m", "b")]["utilization"] == pytest.approx(0.5)
    assert rows[("b", "m")]["utilization"] == pytest.approx(0.1)
    assert rows[("b", "m")]["mean_wait_ms"] == pytest.approx(0.1 / 1.8)
    assert all(rows[k]["visits_per_s"] == 0.0 for k in (("a", "m"), ("m", "a")))
