"""Failures in the twin: detection delay then rerouting, availability against the Markov model, timelines."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from edgescale.analysis._paths import PathMetrics
from edgescale.analysis.availability import site_availability
from edgescale.analysis.markov import ctmc_steady_state
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import plan_to_arrays
from edgescale.sim.failures import failure_timeline, failure_units
from edgescale.sim.runner import simulate_scenario
from edgescale.sim.world import build_world, route_delays


def _two_edges(**extra: Any) -> dict[str, Any]:
    """Devices at e1; the service runs at e1 and e2 (10 ms apart); the plan sends everything to e1."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": "pair",
        "sites": [
            {"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0}},
            {"id": "e2", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0.5}},
        ],
        "links": [{"src": "e1", "dst": "e2", "latency_ms": 10, "bandwidth_mbps": 1000}],
        "services": [{"id": "s", "work_ms": 10, "min_replicas": 2}],
        "applications": [{"id": "a", "stages": [{"service": "s", "request_kb": 0}], "response_kb": 0}],
        "device_groups": [
            {
                "id": "d",
                "count": 10,
                "application": "a",
                "placement": {"around": {"sites": ["e1"]}},
                "arrival": {"process": "poisson", "rate_per_s": 10},
                "access": {"assign": "home", "latency_ms": 1},
            }
        ],
    }
    doc.update(extra)
    return doc


def _plan_routes_to_e1(doc: dict[str, Any]) -> None:
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    pa = plan_to_arrays(plan, a)
    assert (pa.replicas[0] > 0).all(), "the service must run on both sites"
    assert set(np.asarray(a.site_ids)[pa.route_site].tolist()) == {"e1"}


def test_route_delays_reproduce_the_world() -> None:
    s = scenario_from_dict(_two_edges())
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    w = build_world(s, a, plan_to_arrays(plan, a))
    src = np.arange(w.model.n_sources)
    d, r, link_st, link_work = route_delays(w, a, PathMetrics(a), src, w.stage_site)
    np.testing.assert_allclose(d, w.model.stage_delay_s)
    np.testing.assert_allclose(r, w.model.return_delay_s)
    assert (link_st == -1).all() and (link_work == 0).all()  # no queueing link


@pytest.mark.parametrize(
    ("detector", "delay"),
    [({"name": "heartbeat-timeout", "params": {"timeout_s": 2.5}}, 42.5 - 40.3)],
)
def test_traffic_is_rerouted_exactly_after_the_detectors_delay(
    detector: dict[str, Any], delay: float
) -> None:
    """e1 fails at 40.3 s; its last heartbeat was at 40 s, so the 2.5 s timeout suspects it at 42.5 s exactly.
    Until then requests to e1 are lost (100/s x 2.2 s); from then on they go to e2 (10 ms further each way)."""
    ev = {"at_s": 40.3, "action": "fail", "sites": ["e1"]}
    doc = _two_edges(events=[ev], policies={"failure_detection": detector})
    _plan_routes_to_e1(doc)
    r = simulate_scenario(scenario_from_dict(doc), duration_s=80, warmup_s=0, epoch_s=10, seed=3).to_dict()
    kinds = [(e["t_s"], e["action"]) for e in r["events"]]
    assert (40.3, "fail") in kinds
    assert (42.5, "suspect") in kinds and (42.5, "reroute") in kinds
    rows = r["epochs"]["rows"]
    times = [row["t_s"] for row in rows]
    assert 40.3 in times and 42.5 in times
    drops = {row["t_s"]: row["drops"][0] for row in rows}
    lost = drops[42.5]
    assert abs(lost - 100 * delay) < 4.5 * math.sqrt(100 * delay) + 5  # Poisson count while undetected
    assert sum(v for t, v in drops.items() if t > 42.5) == 0  # rerouted: nothing lost after the detection
    assert sum(v for t, v in drops.items() if t <= 40.3) == 0
    after = [row["mean_latency_ms"][0] for row in rows if row["t_s"] > 50]
    before = [row["mean_latency_ms"][0] for row in rows if row["t_s"] <= 40]
    # the detour adds 2 x 10 ms of path latency
    assert np.mean(after) - np.mean(before) == pytest.approx(20.0, abs=2.0)
    app = r["applications"][0]
    assert app["availability"]["mean"] == pytest.approx(1 - lost / app["arrivals"], abs=1e-3)


def test_recovered_site_is_trusted_again_at_its_next_heartbeat() -> None:
    ev = {"at_s": 20.5, "action": "fail", "sites": ["e1"], "duration_s": 10.2}
    doc = _two_edges(events=[ev], policies={"failure_detection": {"name": "heartbeat-timeout",
                                                                  "params": {"timeout_s": 3}}})  # fmt: skip
    r = simulate_scenario(scenario_from_dict(doc), duration_s=60, warmup_s=0, seed=1).to_dict()
    kinds = [(e["t_s"], e["action"]) for e in r["events"]]
    assert (23.0, "suspect") in kinds  # last heartbeat at 20 s + 3 s
    assert (30.7, "recover") in kinds
    assert (31.0, "trust") in kinds  # the first heartbeat after the repair
    rows = r["epochs"]["rows"]
    late = [row["mean_latency_ms"][0] for row in rows if row["t_s"] > 35]
    mid = [row["mean_latency_ms"][0] for row in rows if 24 < row["t_s"] <= 30]
    assert np.mean(mid) - np.mean(late) == pytest.approx(20.0, abs=2.0)  # back on the plan's route


def test_phi_accrual_detects_after_its_own_deadline() -> None:
    det = {
        "name": "phi-accrual",
        "params": {"threshold": 8, "min_std_s": 0.1, "first_heartbeat_estimate_s": 1},
    }
    ev = {"at_s": 30.5, "action": "fail", "sites": ["e1"]}
    doc = _two_edges(events=[ev], policies={"failure_detection": det})
    s = scenario_from_dict(doc)
    r = simulate_scenario(s, duration_s=60, warmup_s=0, seed=2).to_dict()
    suspect = [e["t_s"] for e in r["events"] if e["action"] == "suspect"]
    assert len(suspect) == 1
    # the detector's own deadline for a node last heard at 30 s, recomputed with a fresh detector
    from edgescale.policies import make_policy

    d = make_policy("failure_detection", "phi-accrual", det["params"])
    for t in range(31):
        d.heartbeat(0, float(t))
    assert suspect[0] == pytest.approx(d.suspect_at(0), abs=1e-9)
    assert 30.5 < suspect[0] < 33.0


def test_timeline_is_an_alternating_renewal_process_with_the_right_means() -> None:
    doc = _two_edges(failures={"classes": [{"sites": ["e1"], "mtbf_h": 0.01, "mttr_h": 0.002}]})
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    units = failure_units(s, a)
    tl = failure_timeline(units, 200_000.0, np.random.default_rng(5))
    t, down = tl.t_s, tl.down
    assert np.all(np.diff(t) >= 0) and np.all(down[::2] != down[1::2])
    if down[0]:  # stationary start: down at time 0, up after a residual repair time
        t, down = t[2:], down[2:]
    n = t.size // 2 * 2
    assert down[0] and not down[1]
    repairs = t[1:n:2] - t[0:n:2]  # fail -> repair
    assert repairs.mean() == pytest.approx(7.2, rel=0.05)  # MTTR 0.002 h
    gaps = t[2::2] - t[1:-1:2]  # repair -> next failure
    assert gaps.mean() == pytest.approx(36.0, rel=0.05)  # MTBF 0.01 h


def test_weibull_lives_have_the_mtbf_as_mean() -> None:
    doc = _two_edges(failures={"classes": [{"sites": ["e1"], "mtbf_h": 0.01, "mttr_h": 0.001,
                                            "distribution": "weibull", "weibull_shape": 2.0}]})  # fmt: skip
    s = scenario_from_dict(doc)
    tl = failure_timeline(failure_units(s, compile_scenario(s, devices=False)), 100_000.0,
                          np.random.default_rng(1))  # fmt: skip
    lives = np.diff(np.concatenate(([0.0], tl.t_s)))[0::2]  # up spells (starts up)
    assert lives.mean() == pytest.approx(36.0, rel=0.04)
    assert lives.std() / lives.mean() == pytest.approx(math.sqrt(4 / math.pi - 1), rel=0.08)  # Weibull k=2 CV


def test_simulated_availability_matches_the_markov_model() -> None:
    """One site failing and repairing (MTBF 40 s, MTTR 10 s) with no other replica: users see the site's
    availability, the two-state CTMC's stationary up probability 0.8 (= analysis.availability)."""
    doc = _two_edges(failures={"classes": [{"sites": ["e1"], "mtbf_h": 40 / 3600, "mttr_h": 10 / 3600}]})
    doc["services"][0]["min_replicas"] = 1
    doc["sites"] = doc["sites"][:1]
    doc["links"] = []
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    lam, mu = 1 / 40, 1 / 10
    pi = ctmc_steady_state(np.array([[-lam, lam], [mu, -mu]]))
    site_av, _ = site_availability(s, a)
    assert pi[0] == pytest.approx(site_av[0]) == pytest.approx(0.8)
    r = simulate_scenario(s, duration_s=4000, warmup_s=0, replications=8, seed=4).to_dict()
    seen = r["applications"][0]["availability"]
    assert abs(seen["mean"] - pi[0]) <= seen["ci99_half_width"]
    assert r["site_availability"]["mean"] == pytest.approx(np.mean(seen["by_replication"]), abs=0.01)
    assert r["random_failure_transitions"] > 100


def test_correlated_region_failure_takes_all_its_sites_down_together() -> None:
    doc = _two_edges(failures={"correlated": [{"failure_domain": "dom", "mtbf_h": 0.01, "mttr_h": 0.01}]})
    for site in doc["sites"]:
        site["failure_domain"] = "dom"
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    units = failure_units(s, a)
    assert len(units) == 1 and sorted(units[0].sites.tolist()) == [0, 1]


def test_overload_cascade_takes_down_one_site_then_the_next() -> None:
    """e1 (4 cores) gets 6 cores of work: it saturates, crashes at the first epoch end, and restarts 60 s later.
    Its traffic moves to e2 after the 5 s detection, which then saturates and crashes too: a cascade."""
    doc = _two_edges(failures={"overload_utilization": 0.95, "overload_restart_s": 60})
    doc["device_groups"][0]["arrival"]["rate_per_s"] = 60  # 600 req/s x 10 ms = 6 busy cores
    r = simulate_scenario(scenario_from_dict(doc), duration_s=100, warmup_s=0, epoch_s=10, seed=1).to_dict()
    fails = [
        (e["t_s"], e["site"]) for e in r["events"] if e["action"] == "fail" and e.get("cause") == "overload"
    ]
    assert fails[0] == (10.0, "e1")
    assert fails[1][1] == "e2" and 15.0 < fails[1][0] <= 30.0
    backs = [(e["t_s"], e["site"]) for e in r["events"] if e["action"] == "recover"]
    assert (70.0, "e1") in backs
    suspects = [e["t_s"] for e in r["events"] if e["action"] == "suspect"]
    assert suspects[0] == pytest.approx(15.0)  # the default 5 s heartbeat timeout after the last beat at 10 s
    assert r["applications"][0]["drops"] > 0


def test_no_overload_below_the_threshold() -> None:
    doc = _two_edges(failures={"overload_utilization": 0.95})
    r = simulate_scenario(scenario_from_dict(doc), duration_s=60, warmup_s=0, seed=1).to_dict()
    assert not [e for e in r["events"] if e.get("cause") == "overload"]
    assert r["applications"][0]["drops"] == 0


def test_link_failures_cut_the_path_as_often_as_the_markov_model_says() -> None:
    """Devices at e1, the service only at e2, one link between them failing with MTBF 40 s and MTTR 10 s: a
    request finds its path cut with the link's stationary down probability 0.2 (two-state CTMC)."""
    doc = _two_edges(failures={"link_mtbf_h": 40 / 3600, "link_mttr_h": 10 / 3600})
    doc["sites"][0]["cpu_cores"] = 0.5  # too small to host the service: everything goes to e2
    doc["services"][0]["min_replicas"] = 1
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    assert plan_to_arrays(plan, a).replicas[0].tolist()[0] == 0
    r = simulate_scenario(s, duration_s=4000, warmup_s=0, replications=6, seed=5).to_dict()
    seen = r["applications"][0]["availability"]
    pi = ctmc_steady_state(np.array([[-1 / 40, 1 / 40], [1 / 10, -1 / 10]]))
    assert abs(seen["mean"] - pi[0]) <= seen["ci99_half_width"] + 0.002  # + requests in flight at a cut
    assert any(e["action"] == "link_fail" for e in r["events"])


def test_a_failed_link_is_routed_around() -> None:
    """A triangle: e1-e2 direct (10 ms) or via e3 (2 x 30 ms). While the direct link is down requests take
    the detour (100 ms more round trip); they are lost only when the detour is cut too."""
    doc = _two_edges(failures={"link_mtbf_h": 60 / 3600, "link_mttr_h": 60 / 3600})
    doc["sites"][0]["cpu_cores"] = 0.5
    doc["services"][0]["min_replicas"] = 1
    doc["sites"].append({"id": "e3", "tier": "edge", "cpu_cores": 0.5, "location": {"lat": 0.3, "lon": 0.3}})
    doc["links"] += [{"src": "e1", "dst": "e3", "latency_ms": 30, "bandwidth_mbps": 1000},
                     {"src": "e3", "dst": "e2", "latency_ms": 30, "bandwidth_mbps": 1000}]  # fmt: skip
    r = simulate_scenario(
        scenario_from_dict(doc), duration_s=2000, warmup_s=0, replications=4, seed=2
    ).to_dict()
    lat = [row["mean_latency_ms"][0] for row in r["epochs"]["rows"] if row["mean_latency_ms"][0] is not None]
    assert min(lat) < 40 and max(lat) > 100  # direct (about 32 ms) and detour periods (about 132 ms)
    # each link is up half the time, independently: the path is cut when the direct link and the detour are
    # down, 1 - 0.5 x (1 - 0.5 x 0.5) = 0.625 of the time is served (series-parallel block diagram); less the
    # detection delay: each failure of the direct link (one per 120 s cycle) loses its traffic for 5 s after
    # the last heartbeat (4.5 s on average) while the detour is up (0.75), until the detector reroutes
    seen = r["applications"][0]["availability"]
    assert abs(seen["mean"] - (0.625 - 4.5 / 120 * 0.75)) <= seen["ci99_half_width"] + 0.005


def _triangle(**extra: Any) -> dict[str, Any]:
    """Devices at e1, the service only at e2: direct link e1-e2 (10 ms) or the detour via e3 (2 x 30 ms)."""
    doc = _two_edges(**extra)
    doc["sites"][0]["cpu_cores"] = 0.5
    doc["services"][0]["min_replicas"] = 1
    doc["sites"].append({"id": "e3", "tier": "edge", "cpu_cores": 0.5, "location": {"lat": 0.3, "lon": 0.3}})
    doc["links"] += [{"src": "e1", "dst": "e3", "latency_ms": 30, "bandwidth_mbps": 1000},
                     {"src": "e3", "dst": "e2", "latency_ms": 30, "bandwidth_mbps": 1000}]  # fmt: skip
    return doc


def test_a_failed_link_is_rerouted_exactly_at_the_detection_deadline() -> None:
    """The direct link fails at t_f: its last heartbeat was at floor(t_f) (1 s interval), so a 2.5 s timeout
    suspects it at floor(t_f) + 2.5 exactly. Until then requests on the direct path are lost (100/s); from
    then on they take the detour (100 ms more round trip) and none is lost until the next event."""
    det = {"name": "heartbeat-timeout", "params": {"timeout_s": 2.5}}
    doc = _triangle(failures={"link_mtbf_h": 300 / 3600, "link_mttr_h": 30 / 3600},
                    policies={"failure_detection": det})  # fmt: skip
    r = simulate_scenario(scenario_from_dict(doc), duration_s=300, warmup_s=0, seed=1).to_dict()
    ev = [(e["t_s"], e["action"], e.get("link")) for e in r["events"]]
    fails = [(t, link) for t, act, link in ev if act == "link_fail"]
    assert fails, "the seed must fail a link within the run"
    for t_f, link in fails:
        later = [(t, act) for t, act, lk in ev if lk == link and t > t_f]
        if later and later[0][1] == "link_suspect":
            assert later[0][0] == math.floor(t_f) + 2.5
        else:  # repaired before the deadline
            assert later[0][1] == "link_recover" and later[0][0] < math.floor(t_f) + 2.5
    # the first failure of the direct link, detected while the detour is up
    t_f = next(t for t, link in fails if link == "e1-e2")
    t_d = math.floor(t_f) + 2.5
    assert (t_d, "link_suspect", "e1-e2") in ev and (t_d, "reroute", None) in ev
    nxt = min(t for t, _, _ in ev if t > t_d)
    rows = r["epochs"]["rows"]
    assert t_d in [row["t_s"] for row in rows]
    lost = sum(row["drops"][0] for row in rows if t_f < row["t_s"] <= t_d)
    assert abs(lost - 100 * (t_d - t_f)) < 4.5 * math.sqrt(100 * (t_d - t_f)) + 5  # Poisson count
    assert sum(row["drops"][0] for row in rows if t_d < row["t_s"] <= nxt) == 0
    assert sum(row["drops"][0] for row in rows if row["t_s"] <= t_f) == 0
    detour = [row["mean_latency_ms"][0] for row in rows if t_d + 0.5 < row["t_s"] <= nxt]
    direct = [row["mean_latency_ms"][0] for row in rows if row["t_s"] <= t_f]
    assert detour and np.mean(detour) - np.mean(direct) == pytest.approx(100.0, abs=3.0)


def test_links_down_from_the_start_are_suspected_after_the_timeout() -> None:
    """The detector hears every link once at t = 0; a link down from the start is suspected at the timeout."""
    from edgescale.sim.control import ControlPlane

    s = scenario_from_dict(_triangle(failures={"link_mtbf_h": 1.0, "link_mttr_h": 1.0}))
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    w = build_world(s, a, plan_to_arrays(plan, a))
    cp = ControlPlane(w, a, s, plan_to_arrays(plan, a).replicas, 1.0)
    cp.feed_heartbeats(0.0)
    direct = [
        k
        for k in range(3)
        if {a.site_ids[int(a.link_src[k])], a.site_ids[int(a.link_dst[k])]} == {"e1", "e2"}
    ]
    down = np.zeros(3, bool)
    down[direct] = True
    before = w.model.stage_delay_s.copy()
    cp.set_links(down)
    assert np.all(np.isinf(w.model.stage_delay_s))  # the direct path is cut, not yet routed around
    assert cp.next_wakeup(0.0) == 5.0  # default detector: 5 s heartbeat timeout
    cp.feed_heartbeats(5.0)
    events = cp.update(5.0)
    assert [e["action"] for e in events] == ["link_suspect", "reroute"]
    np.testing.assert_allclose(w.model.stage_delay_s, before + 0.050)  # the detour: 60 ms instead of 10
