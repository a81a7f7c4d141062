"""Link queueing from the scenario file (``links[].queueing: fifo``), end to end through the public simulate."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import edgescale
from edgescale.analysis._paths import PathMetrics
from edgescale.errors import ScenarioError
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.model.plan import plan_to_arrays
from edgescale.model.schema import Scenario
from edgescale.sim.links import hop_paths, link_queues
from edgescale.sim.world import World, build_world, route_delays
from tests.sim.test_failures import _two_edges


def _md1_sojourn_ms(rate_per_s: float, d_ms: float) -> float:
    """M/D/1 mean sojourn (Pollaczek-Khinchine, zero service variance): d + rho d / (2 (1 - rho))."""
    rho = rate_per_s * d_ms / 1000.0
    return d_ms + rho * d_ms / (2.0 * (1.0 - rho))


def _scenario(links: list[dict[str, Any]], cloud: list[str], **extra: Any) -> dict[str, Any]:
    """100 devices at edge site 'a' (1 req/s each, 1 ms access); a 1 ms deterministic service on the cloud
    sites *cloud* (64 cores); 6.25 kB requests (5 ms on a 10 Mb/s link), empty responses."""
    sites = [{"id": "a", "tier": "edge", "cpu_cores": 1, "location": {"lat": 0, "lon": 0}},
             {"id": "m", "tier": "aggregation", "cpu_cores": 1, "location": {"lat": 0, "lon": 0.5}}]  # fmt: skip
    sites += [{"id": c, "tier": "cloud", "cpu_cores": 64, "location": {"lat": 0, "lon": 1 + k}}
              for k, c in enumerate(cloud)]  # fmt: skip
    service = {"id": "s", "work_ms": 1, "work_distribution": "deterministic", "tiers": ["cloud"],
               "min_replicas": len(cloud)}  # fmt: skip
    group = {"id": "d", "count": 100, "application": "app", "placement": {"around": {"sites": ["a"]}},
             "arrival": {"process": "poisson", "rate_per_s": 1}, "access": {"assign": "home", "latency_ms": 1}}  # fmt: skip
    app = {"id": "app", "stages": [{"service": "s", "request_kb": 6.25}], "response_kb": 0}
    doc: dict[str, Any] = {"schema_version": 1, "name": "link-queueing", "sites": sites, "links": links,
                           "services": [service], "applications": [app], "device_groups": [group]}  # fmt: skip
    doc.update(extra)
    return doc


def _link(
    src: str, dst: str, latency_ms: float, mbps: float, queueing: str | None = "fifo"
) -> dict[str, Any]:
    out: dict[str, Any] = {"src": src, "dst": dst, "latency_ms": latency_ms, "bandwidth_mbps": mbps}
    if queueing is not None:
        out["queueing"] = queueing
    return out


def _by_direction(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(x["from"], x["to"]): x for x in result["links"]}


def test_one_queueing_link_is_an_md1_queue_end_to_end() -> None:
    """Poisson 100/s over a 10 Mb/s link (5 ms per request: rho 0.5, M/D/1 sojourn 7.5 ms), then 2 ms of
    propagation and 1 ms of service; back 2 ms; 1 ms access each way: 14.5 ms end to end, inside the
    99 % confidence interval of 10 replications; the link's station is an M/D/1 queue, the sites see only
    the service."""
    doc = _scenario([_link("a", "m", 0, 1e6, None), _link("a", "b", 2, 10)], ["b"])
    r = edgescale.simulate(scenario_from_dict(doc), duration_s=200, warmup_s=20, replications=10, seed=11,
                           epoch_s=50).to_dict()  # fmt: skip
    lat = r["applications"][0]["latency_ms"]
    expect = 1 + _md1_sojourn_ms(100.0, 5.0) + 2 + 1 + 2 + 1
    assert abs(lat["mean"] - expect) <= lat["mean_ci99_half_width"]
    assert lat["mean_ci99_half_width"] < 0.1  # a sharp test: 0.7 % of the mean
    fwd, back = _by_direction(r)[("a", "b")], _by_direction(r)[("b", "a")]
    assert fwd["utilization"] == pytest.approx(0.5, rel=0.02)
    assert fwd["visits_per_s"] == pytest.approx(100.0, rel=0.02)
    assert fwd["mean_sojourn_ms"] == pytest.approx(7.5, rel=0.02)
    assert fwd["mean_wait_ms"] == pytest.approx(2.5, rel=0.05)
    assert back["visits_per_s"] == 0.0  # responses are pure delays
    assert r["applications"][0]["decomposition_ms"]["wait"] == 0.0  # the link's queue is link time
    assert r["stations"] == 1  # service stations; the sites' utilization is the service's alone
    assert r["utilization"]["mean_by_site_max"] == pytest.approx(100 * 0.001 / 64, rel=0.03)
    assert r["littles_law"]["identity_max_rel_error"] < 1e-9


def test_a_two_link_path_queues_at_its_bottleneck_only() -> None:
    """a-m at 20 Mb/s (2.5 ms) then m-b at 10 Mb/s (5 ms), both queueing: the hop queues at m-b only, a-m's
    transmission is a delay. Exact for one flow (Friedman 1965): 2.5 + M/D/1 7.5 ms + 2 x 1 ms propagation,
    1 ms service, 2 ms back, 1 ms access each way = 17 ms."""
    doc = _scenario([_link("a", "m", 1, 20), _link("m", "b", 1, 10)], ["b"])
    r = edgescale.simulate(scenario_from_dict(doc), duration_s=200, warmup_s=20, replications=10, seed=5,
                           epoch_s=50).to_dict()  # fmt: skip
    lat = r["applications"][0]["latency_ms"]
    expect = 1 + 2.5 + _md1_sojourn_ms(100.0, 5.0) + 2 + 1 + 2 + 1
    assert abs(lat["mean"] - expect) <= lat["mean_ci99_half_width"]
    links = _by_direction(r)
    assert links[("m", "b")]["visits_per_s"] == pytest.approx(100.0, rel=0.02)
    assert links[("m", "b")]["utilization"] == pytest.approx(0.5, rel=0.02)
    assert all(links[k]["visits_per_s"] == 0.0 for k in (("a", "m"), ("m", "a"), ("b", "m")))


def test_a_reroute_moves_the_requests_to_the_new_paths_link_station() -> None:
    """The plan sends everything to b over a-b; b fails at 40.3 s and is suspected at 42.5 s (last heartbeat
    at 40 s + 2.5 s): from then on the requests queue at a-c's station on their way to c (8 ms further)."""
    det = {"name": "heartbeat-timeout", "params": {"timeout_s": 2.5}}
    doc = _scenario([_link("a", "b", 2, 10), _link("a", "c", 10, 10), _link("a", "m", 0, 1e6, None)], ["b", "c"],
                    events=[{"at_s": 40.3, "action": "fail", "sites": ["b"]}],
                    policies={"failure_detection": det})  # fmt: skip
    r = edgescale.simulate(scenario_from_dict(doc), duration_s=80, warmup_s=0, epoch_s=10, seed=3).to_dict()
    assert (42.5, "reroute") in [(e["t_s"], e["action"]) for e in r["events"]]
    links = _by_direction(r)
    for (src, dst), share in ((("a", "b"), 42.5 / 80), (("a", "c"), 37.5 / 80)):  # until/after the detection
        n = 100 * 80 * share
        assert links[(src, dst)]["visits_per_s"] * 80 == pytest.approx(n, abs=4.5 * math.sqrt(n))
        assert links[(src, dst)]["mean_sojourn_ms"] == pytest.approx(7.5, rel=0.1)
    rows = r["epochs"]["rows"]
    before = np.mean([x["mean_latency_ms"][0] for x in rows if x["t_s"] <= 40])
    after = np.mean([x["mean_latency_ms"][0] for x in rows if x["t_s"] > 50])
    assert before == pytest.approx(14.5, abs=0.5)
    assert after - before == pytest.approx(16.0, abs=1.0)  # 2 x 8 ms more propagation, the same M/D/1 queue


def test_only_the_busiest_link_directions_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("edgescale.analysis._link_queues.TOP_LINKS", 2)
    links = [_link("a", "b", 2, 10), _link("a", "c", 10, 20)]
    doc = _scenario(links, ["b", "c"], events=[{"at_s": 20, "action": "fail", "sites": ["b"]}])
    r = edgescale.simulate(scenario_from_dict(doc), duration_s=80, warmup_s=0, epoch_s=10, seed=3).to_dict()
    # a -> b carries ~25 s of traffic at rho 0.5, a -> c ~55 s at rho 0.25; the other directions none
    assert [(x["from"], x["to"]) for x in r["links"]] == [("a", "b"), ("a", "c")]


def _pair_with_failure(**link: Any) -> dict[str, Any]:
    """test_failures' two edge sites (a 10 ms, 8 Mb/s link; 2 kB requests) with e1 failing at 40.3 s."""
    doc = _two_edges(events=[{"at_s": 40.3, "action": "fail", "sites": ["e1"]}],
                     policies={"failure_detection": {"name": "heartbeat-timeout", "params": {"timeout_s": 2.5}}})  # fmt: skip
    doc["links"][0].update(bandwidth_mbps=8, **link)
    doc["applications"][0]["stages"][0]["request_kb"] = 2
    return doc


# the same run at commit e9da2aa, before link queueing existed (it uses no queueing link)
STORED = {"requests": 11672, "mean": 20.76211336714536, "p95": 46.76431256712947, "max": 135.62442376672834,
          "drops": 432, "link": 10.604352296093365, "util": 0.1361130638980493}  # fmt: skip
TIMING = {"wall_seconds", "kernel_seconds", "requests_per_kernel_second", "kernel_load_seconds"}


def test_without_queueing_the_results_are_those_of_before() -> None:
    runs = []
    for link in ({}, {"queueing": "none"}):
        s = scenario_from_dict(_pair_with_failure(**link))
        r = edgescale.simulate(s, duration_s=60, warmup_s=5, epoch_s=10, replications=2, seed=7).to_dict()
        runs.append({k: v for k, v in r.items() if k not in TIMING})
    assert runs[0] == runs[1]  # bit for bit
    r, app = runs[0], runs[0]["applications"][0]
    got = {"requests": r["requests"], "mean": app["latency_ms"]["mean"], "p95": app["latency_ms"]["p95"],
           "max": app["latency_ms"]["max"], "drops": app["drops"], "link": app["decomposition_ms"]["link"],
           "util": r["utilization"]["mean_by_site_max"]}  # fmt: skip
    assert got == STORED
    assert r["links"] is None


@pytest.mark.parametrize(
    ("link", "path", "words"),
    [({"queueing": "lifo"}, "links[0].queueing", "did you mean 'fifo'"),
     ({"queueing": "fifo", "bandwidth_mbps": None}, "links[0]", "needs bandwidth_mbps")],
)  # fmt: skip
def test_bad_queueing_values_are_clear_errors(link: dict[str, Any], path: str, words: str) -> None:
    doc = _scenario([{**_link("a", "b", 2, 10), **link}], ["b"])
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(doc)
    issue = e.value.issues[0]
    assert issue.path == path
    assert words in f"{issue.message}; {issue.hint}"


def test_bottlenecks_take_the_direction_travelled_and_the_paths_transmission() -> None:
    """A line a - m - b (a-m at 20 Mb/s, m-b at 10 Mb/s, both queueing): the bottleneck of a -> b and of m -> b
    is m-b forward, of b -> a m-b backward; the path's transmission is that of PathMetrics."""
    doc = _scenario([_link("a", "m", 1, 20), _link("m", "b", 1, 10)], ["b"])
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    q = link_queues(s, a, first_station=7)
    assert q is not None
    pos = {x: i for i, x in enumerate(a.site_ids)}
    k = int(np.flatnonzero(np.minimum(a.link_src, a.link_dst) == min(pos["m"], pos["b"]))[0])
    assert {int(a.link_src[k]), int(a.link_dst[k])} == {pos["m"], pos["b"]}
    fwd = 7 + 2 * int(q.queue_of_link[k]) + int(a.link_src[k] != pos["m"])  # the station from m to b
    back = fwd + 1 if (fwd - 7) % 2 == 0 else fwd - 1
    pm = PathMetrics(a)
    for o, t in (([pos["a"], pos["m"], pos["b"]], [pos["b"], pos["b"], pos["a"]]),  # more origins: searched back
                 ([pos["a"]], [pos["b"]])):  # fmt: skip
        oa, ta = np.array(o, np.int64), np.array(t, np.int64)
        _, ptx, st, qtx = hop_paths(q, pm, oa, ta)
        want = [fwd if a.site_ids[int(x)] != "b" else back for x in oa]
        assert st.tolist() == want
        np.testing.assert_allclose(qtx, 8.0 / 10.0)
        np.testing.assert_allclose(ptx, pm.pairs(oa, ta)[1])


def test_link_failures_cut_then_move_the_link_station() -> None:
    """Service at b only; a-b direct (2 ms, 10 Mb/s) or a-c-b (10 + 3 ms; c-b at 5 Mb/s is the bottleneck).
    a-b fails: while not suspected the path is cut (lost requests queue nowhere); once suspected the hop queues
    at c -> b for 10 ms and a-c's 5 ms transmission is a delay; trusted again, it is back on a -> b."""
    from edgescale.model.default_plan import default_plan
    from edgescale.model.plan import plan_to_arrays
    from edgescale.sim.control import ControlPlane
    from edgescale.sim.world import build_world

    links = [_link("a", "b", 2, 10), _link("a", "m", 10, 10), _link("m", "b", 3, 5)]
    s = scenario_from_dict(_scenario(links, ["b"]))
    a = compile_scenario(s, devices=False)
    w = build_world(s, a, plan_to_arrays(default_plan(s, a)[0], a))
    assert w.link_queues is not None
    names = [(src, dst) for _, src, dst in w.link_queues.station_names(a)]
    m = w.model
    assert names[int(m.stage_link_station[0]) - w.n_stations] == ("a", "b")
    assert m.stage_delay_s[0] == pytest.approx((1 + 2) / 1000)  # access + propagation; 5 ms queued
    cp = ControlPlane(w, a, s, w.replicas, 1.0)
    ends = [{a.site_ids[int(x)], a.site_ids[int(y)]} for x, y in zip(a.link_src, a.link_dst, strict=True)]
    ab = ends.index({"a", "b"})
    down = np.zeros(len(a.link_src), bool)
    down[ab] = True
    cp.set_links(down)  # the truth; not yet suspected
    assert m.stage_link_station[0] == -1 and math.isinf(m.stage_delay_s[0])
    cp.link_suspected = down.copy()
    cp._relay()  # what the link detector's verdict does
    assert names[int(m.stage_link_station[0]) - w.n_stations] == ("m", "b")
    assert m.stage_link_work_s[0] == pytest.approx(6.25 * 8 / 5 / 1000)
    assert m.stage_delay_s[0] == pytest.approx((1 + 10 + 3 + 6.25 * 8 / 10) / 1000)
    cp.link_down[:] = False
    cp.link_suspected[:] = False
    cp._relay()
    assert names[int(m.stage_link_station[0]) - w.n_stations] == ("a", "b")


def _world_and_stations(doc: dict[str, Any]) -> tuple[Scenario, SystemArrays, World, list[tuple[str, str]]]:
    """The scenario, its arrays, its world under the default plan and its link stations as (from, to)."""
    s = scenario_from_dict(doc)
    a = compile_scenario(s, devices=False)
    w = build_world(s, a, plan_to_arrays(default_plan(s, a)[0], a))
    assert w.link_queues is not None
    return s, a, w, [(src, dst) for _, src, dst in w.link_queues.station_names(a)]


def test_route_delays_reproduce_the_world_with_link_queueing() -> None:
    """Two stages, a -> b (over a-m, m-b) then b -> m: the first queues at m -> b, the second at b -> m (the
    way back over the bottleneck); the control plane's route_delays gives the world's arrays exactly."""
    doc = _scenario([_link("a", "m", 1, 20), _link("m", "b", 1, 10)], ["b"])
    doc["services"].append({"id": "t", "work_ms": 1, "tiers": ["aggregation"]})
    doc["applications"][0]["stages"].append({"service": "t", "request_kb": 1.25})
    _, a, w, names = _world_and_stations(doc)
    m = w.model
    assert [names[int(x) - w.n_stations] for x in m.stage_link_station] == [("m", "b"), ("b", "m")]
    np.testing.assert_allclose(m.stage_link_work_s, [6.25 * 8 / 10 / 1000, 1.25 * 8 / 10 / 1000])
    # 1 ms access, 2 ms propagation and a-m's 2.5 ms before b; 1 ms propagation before m
    np.testing.assert_allclose(m.stage_delay_s, [(1 + 2 + 2.5) / 1000, 1 / 1000])
    src = np.arange(m.n_sources, dtype=np.int64)
    d, r, link_st, link_work = route_delays(w, a, PathMetrics(a), src, w.stage_site)
    np.testing.assert_array_equal(d, m.stage_delay_s)
    np.testing.assert_array_equal(r, m.return_delay_s)
    np.testing.assert_array_equal(link_st, m.stage_link_station)
    np.testing.assert_array_equal(link_work, m.stage_link_work_s)


def test_equal_bottlenecks_do_not_depend_on_the_batch() -> None:
    """e1 - m, e2 - m and m - c all at 10 Mb/s: each hop to c has two equal bottlenecks and queues at the one
    nearest c, m -> c, shared by both groups, whether the batch is searched from its origins (the world's,
    with the way back) or from its targets (route_delays': two access sites, one target; it took e1 -> m and
    e2 -> m, separate queues, before), and analyze agrees."""
    from edgescale.analysis.scenario import analyze_scenario
    from tests.sim.test_link_queueing_parity import _shared_bottleneck

    doc = _shared_bottleneck()
    for link in doc["links"]:
        link["bandwidth_mbps"] = 10
    s, a, w, names = _world_and_stations(doc)
    m = w.model
    assert [names[int(x) - w.n_stations] for x in m.stage_link_station] == [("m", "c"), ("m", "c")]
    src = np.arange(m.n_sources, dtype=np.int64)
    d, _, link_st, link_work = route_delays(w, a, PathMetrics(a), src, w.stage_site)
    np.testing.assert_array_equal(link_st, m.stage_link_station)
    np.testing.assert_array_equal(link_work, m.stage_link_work_s)
    np.testing.assert_array_equal(d, m.stage_delay_s)
    busy = [(x["from"], x["to"]) for x in analyze_scenario(s).to_dict()["links"] if x["visits_per_s"]]
    assert busy == [("m", "c")]
