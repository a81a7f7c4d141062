"""Placement: parity with the default plan, least-loaded packing, deterministic re-placement on failure."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_replicas
from edgescale.model.schema import Scenario
from edgescale.policies import (
    ArrayClusterView,
    Demand,
    EverywhereAllowed,
    FromPlan,
    LeastLoadedPlacement,
    NearestFailover,
    fail_over,
)

EDGE, AGG, CLOUD = 1, 2, 3


def line_view(up: list[bool], **kw: Any) -> ArrayClusterView:
    """Five sites on a line, 10 ms apart: edge, edge, edge, aggregation, cloud."""
    pos = np.arange(5) * 10.0
    return ArrayClusterView(
        site_tier=[EDGE, EDGE, EDGE, AGG, CLOUD],
        latency_ms=np.abs(pos[:, None] - pos[None, :]),
        site_up=up,
        **kw,
    )


def test_everywhere_allowed_matches_the_default_plan(tiny_doc: dict[str, Any]) -> None:
    arrays = compile_scenario(Scenario.model_validate(tiny_doc))
    view = ArrayClusterView.from_system(arrays)
    np.testing.assert_array_equal(EverywhereAllowed().place(view).replicas, default_replicas(arrays))
    np.testing.assert_array_equal(
        EverywhereAllowed(tiers=["edge", "cloud"]).place(view).replicas,
        default_replicas(arrays, ("edge", "cloud")),
    )


def test_from_system_latencies_are_shortest_paths(tiny_doc: dict[str, Any]) -> None:
    arrays = compile_scenario(Scenario.model_validate(tiny_doc))
    g = nx.Graph()
    g.add_nodes_from(range(arrays.n_sites))
    for s, d, lat in zip(arrays.link_src, arrays.link_dst, arrays.link_latency_ms, strict=True):
        if not g.has_edge(int(s), int(d)) or g[int(s)][int(d)]["w"] > lat:
            g.add_edge(int(s), int(d), w=float(lat))
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="w"))
    view = ArrayClusterView.from_system(arrays)
    for i in range(arrays.n_sites):
        for j in range(arrays.n_sites):
            assert view.latency_ms(i, j) == (dist[i].get(j, np.inf)), (i, j)


def test_failover_moves_to_nearest_allowed_site_ties_by_index() -> None:
    # site 1 is down; sites 0 and 2 are both 10 ms away: the lower index wins; 1 core each
    view = line_view([True, False, True, True, True], site_cpu_cores=[1, 4, 4, 4, 64], n_services=2)
    rep = [[0, 3, 0, 0, 0], [0, 1, 0, 0, 0]]
    out = fail_over(view, rep, tier_mask=[1 << EDGE, 1 << CLOUD])
    # service 0: site 0 takes one (1 core), site 2 the other two; service 1 (cloud only) goes to site 4
    np.testing.assert_array_equal(out.replicas, [[1, 0, 2, 0, 0], [0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(out.unplaced, [0, 0])
    again = fail_over(view, rep, tier_mask=[1 << EDGE, 1 << CLOUD])
    np.testing.assert_array_equal(again.replicas, out.replicas)


def test_failover_counts_replicas_without_room() -> None:
    view = line_view([False, False, True, False, False], site_cpu_cores=[4, 4, 2, 4, 4], n_services=1)
    out = fail_over(view, [[2, 1, 0, 0, 0]], tier_mask=[1 << EDGE])
    np.testing.assert_array_equal(out.replicas, [[0, 0, 2, 0, 0]])
    np.testing.assert_array_equal(out.unplaced, [1])


@given(
    up=st.lists(st.booleans(), min_size=5, max_size=5),
    rep=st.lists(st.integers(0, 3), min_size=10, max_size=10),
    masks=st.lists(st.integers(1, 15), min_size=2, max_size=2),
)
@settings(max_examples=80, deadline=None, derandomize=True)
def test_failover_invariants(up: list[bool], rep: list[int], masks: list[int]) -> None:
    cores = np.array([4.0, 4.0, 4.0, 8.0, 64.0])
    view = line_view(up, site_cpu_cores=cores, n_services=2, service_cpu_cores=[1.0, 2.0])
    before = np.array(rep).reshape(2, 5)
    out = fail_over(view, before, tier_mask=masks)
    down = ~np.array(up)
    assert (out.replicas[:, down] == 0).all()
    np.testing.assert_array_equal(out.replicas.sum(axis=1) + out.unplaced, before.sum(axis=1))
    tier_ok = (np.array(masks)[:, None] >> np.array([EDGE, EDGE, EDGE, AGG, CLOUD])[None, :]) & 1
    moved = out.replicas - np.where(down, 0, before)
    assert (moved >= 0).all()
    assert (moved[tier_ok == 0] == 0).all()
    used_before = (np.where(down, 0, before) * [[1.0], [2.0]]).sum(axis=0)
    used_after = (out.replicas * [[1.0], [2.0]]).sum(axis=0)
    grew = used_after > used_before
    assert (used_after[grew] <= cores[grew]).all()


def test_from_plan_replaces_down_sites_and_can_keep_them() -> None:
    view = line_view([True, True, False, True, True], site_cpu_cores=[4, 4, 4, 4, 64], n_services=1)
    plan = [[1, 0, 2, 0, 0]]
    np.testing.assert_array_equal(FromPlan(replicas=plan).place(view).replicas, [[1, 2, 0, 0, 0]])
    np.testing.assert_array_equal(FromPlan(replicas=plan, failover=False).place(view).replicas, plan)


def test_nearest_failover_starts_from_running_replicas() -> None:
    view = line_view([True, True, True, False, True], n_services=1, replicas=[[0, 0, 0, 2, 0]])
    out = NearestFailover().place(view)
    # sites 2 and 4 are both 10 ms from site 3 and have one core each: site 2 first, then site 4
    np.testing.assert_array_equal(out.replicas, [[0, 0, 1, 0, 1]])
    np.testing.assert_array_equal(out.unplaced, [0])


def test_least_loaded_placement_spreads_and_respects_capacity() -> None:
    view = line_view(
        [True, True, True, True, False],
        site_cpu_cores=[2, 2, 2, 4, 64],
        site_load=[0.0, 0.5, 0.0, 0.0, 0.0],
        n_services=2,
        service_cpu_cores=[1.0, 2.0],
        service_tier_mask=[1 << EDGE | 1 << AGG, 1 << AGG | 1 << CLOUD],
    )
    out = LeastLoadedPlacement().place(view, Demand(replicas=[5, 3]))
    # service 1 (2 cores) first: two on the aggregation site, the cloud site is down -> 1 unplaced;
    # service 0: least loaded first, ties to the lower index: 0, 2, 0, 2, then 1 (load 0.5 + 0.5)
    np.testing.assert_array_equal(out.replicas, [[2, 1, 2, 0, 0], [0, 0, 0, 2, 0]])
    np.testing.assert_array_equal(out.unplaced, [0, 1])
    headroom = LeastLoadedPlacement(headroom=0.5).place(view, Demand(replicas=[5, 3]))
    np.testing.assert_array_equal(headroom.replicas, [[1, 1, 1, 0, 0], [0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(headroom.unplaced, [2, 2])
