"""Parity: for the same state, a placement policy decides the same in the twin's view and the controller's.

The twin shows policies an ``ArrayClusterView``; the controller a ``LiveCluster`` built from its agent
and deployment records. Same policy object, same state, same decision, checked on random states; and
the controller's reconcile pass (through the real join protocol) places exactly what the policy
places on the twin's view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.model.schema import TIERS
from edgescale.operate.cluster import LiveCluster, NodeState, ServiceState, plan_counts
from edgescale.operate.config import ClusterConfig
from edgescale.operate.controller import Controller, ControllerConfig
from edgescale.operate.protocol import JOIN
from edgescale.operate.security import KeyPair, seal
from edgescale.policies import (
    ArrayClusterView,
    Demand,
    EverywhereAllowed,
    FromPlan,
    LeastLoadedPlacement,
    NearestFailover,
    PlacementPolicy,
)


def _state(seed: int, n: int, m: int) -> tuple[list[NodeState], list[ServiceState], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tiers = rng.choice(["edge", "aggregation", "cloud"], n, p=[0.6, 0.3, 0.1])
    nodes = [
        NodeState(f"a-{j}", f"s{j}", str(tiers[j]), float(rng.choice([1, 2, 4, 8])), 1024.0, {},
                  f"r{rng.integers(0, 3)}", f"d{rng.integers(0, 4)}")
        for j in range(n)
    ]  # fmt: skip
    services = [
        ServiceState(f"svc{s}", int(rng.integers(0, 2 * n)), float(rng.choice([0.25, 0.5, 1.0])),
                     None if rng.random() < 0.5 else ("edge", "cloud"))
        for s in range(m)
    ]  # fmt: skip
    current = rng.integers(0, 2, (m, n))
    lat = rng.uniform(1, 50, (n, n))
    lat = (lat + lat.T) / 2
    np.fill_diagonal(lat, 0.0)
    return nodes, services, current, lat


def _twin(
    nodes: list[NodeState], services: list[ServiceState], current: np.ndarray, lat: np.ndarray, up: np.ndarray
) -> ArrayClusterView:
    """The view the digital twin would build from the same system, straight from arrays."""
    regions = sorted({x.region for x in nodes})
    domains = sorted({x.domain for x in nodes})
    return ArrayClusterView(
        site_tier=[TIERS.index(x.tier) for x in nodes],
        latency_ms=lat,
        site_ids=[x.site for x in nodes],
        service_ids=[s.name for s in services],
        site_cpu_cores=[x.cpu_cores for x in nodes],
        site_up=up,
        site_region=[regions.index(x.region) for x in nodes],
        site_domain=[domains.index(x.domain) for x in nodes],
        service_cpu_cores=[s.cpu_cores for s in services],
        service_tier_mask=[s.tier_mask for s in services],
        replicas=current,
    )


def _policies(current: np.ndarray) -> list[PlacementPolicy]:
    return [
        LeastLoadedPlacement(),
        LeastLoadedPlacement(headroom=0.25),
        EverywhereAllowed(),
        FromPlan(replicas=current + 1),
        NearestFailover(),
        NearestFailover(base=LeastLoadedPlacement()),
    ]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 12), m=st.integers(1, 5))
def test_policies_decide_the_same_on_the_twin_and_the_live_view(seed: int, n: int, m: int) -> None:
    nodes, services, current, lat = _state(seed, n, m)
    up = np.random.default_rng(seed + 1).random(n) > 0.2
    twin = _twin(nodes, services, current, lat, up)
    live = LiveCluster.from_state(nodes, services, current, up=up, latency_ms=lat)
    want = np.array([s.replicas for s in services])
    usable = np.random.default_rng(seed + 2).random((m, n)) > 0.3
    for policy in _policies(current):
        a, b = policy.place(twin, Demand(replicas=want)), policy.place(live, Demand(replicas=want))
        np.testing.assert_array_equal(a.replicas, b.replicas, err_msg=repr(policy))
        np.testing.assert_array_equal(a.unplaced, b.unplaced, err_msg=repr(policy))
        pa, pb = plan_counts(policy, twin, usable, want), plan_counts(policy, live, usable, want)
        np.testing.assert_array_equal(pa[0], pb[0], err_msg=repr(policy))
        np.testing.assert_array_equal(pa[1], pb[1], err_msg=repr(policy))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 10), m=st.integers(1, 4))
def test_incremental_placement_keeps_replicas_respects_capacity_and_usable_nodes(
    seed: int, n: int, m: int
) -> None:
    nodes, services, _, lat = _state(seed, n, m)
    live0 = LiveCluster.from_state(nodes, services, np.zeros((m, n), np.int64), latency_ms=lat)
    usable = np.random.default_rng(seed + 2).random((m, n)) > 0.3
    want = np.array([s.replicas for s in services])
    first, _ = plan_counts(LeastLoadedPlacement(), live0, usable, want)
    cores = np.array([x.cpu_cores for x in nodes])
    svc = np.array([s.cpu_cores for s in services])
    tier_ok = np.array([[s.tier_mask >> TIERS.index(x.tier) & 1 for x in nodes] for s in services], bool)
    assert ((first * svc[:, None]).sum(axis=0) <= cores + 1e-9).all()
    assert (first[~(usable & tier_ok)] == 0).all()
    assert (first.sum(axis=1) <= want).all()
    # more replicas wanted: every replica already placed stays where it is (no churn)
    live1 = LiveCluster.from_state(nodes, services, first, latency_ms=lat)
    second, unplaced = plan_counts(LeastLoadedPlacement(), live1, usable, want + 2)
    assert (second >= first).all()
    assert ((second * svc[:, None]).sum(axis=0) <= cores + 1e-9).all()
    np.testing.assert_array_equal(second.sum(axis=1) + unplaced, want + 2)


def _join(c: Controller, node: NodeState) -> str:
    key = KeyPair.generate()
    body = {
        "site": node.site,
        "cpu_cores": node.cpu_cores,
        "memory_mb": 1024,
        "labels": {},
        "region": node.region,
        "domain": node.domain,
        "tier": node.tier,
        "token": c.cluster.bootstrap_token,
        "public_key": key.public_b64,
    }
    data, hdr = seal(key.shared_key(c.key), "join", "", JOIN, body)
    c._join(data, hdr)
    return next(a.id for a in c.agents.values() if a.node.site == node.site)


def test_controller_reconcile_places_what_the_policy_places_in_the_twin(tmp_path: Path) -> None:
    nodes, services, _, _ = _state(7, 8, 3)
    c = Controller(ClusterConfig(nats_urls=[]), ControllerConfig(tmp_path, api_port=-1))
    try:
        ids = [_join(c, x) for x in nodes]
        for s in services:
            c.apply(
                {
                    "name": s.name,
                    "command": ["true"],
                    "replicas": s.replicas,
                    "cpu_cores": s.cpu_cores,
                    "tiers": list(s.tiers) if s.tiers else None,
                }
            )
        c.reconcile_once()
        got = np.zeros((len(services), len(nodes)), np.int64)
        for r in c.replicas.values():
            got[int(r.deployment[3:]), ids.index(r.agent)] += 1
        zero = np.zeros_like(got)
        lat = np.zeros((len(nodes), len(nodes)))
        twin = _twin(nodes, services, zero, lat, np.ones(len(nodes), bool))
        expected = LeastLoadedPlacement().place(twin, Demand(replicas=[s.replicas for s in services]))
        np.testing.assert_array_equal(got, expected.replicas)
        assert got.sum() > 0
    finally:
        c.store.close()


def test_spread_evens_out_failure_domains_and_spills_what_a_domain_cannot_take() -> None:
    # domain 0: four 8-core sites, domain 1: one 2-core site, domain 2: two 4-core sites
    nodes = [NodeState(f"a{j}", f"s{j}", cpu_cores=c, domain=f"d{d}")
             for j, (c, d) in enumerate([(8, 0), (8, 0), (8, 0), (8, 0), (2, 1), (4, 2), (4, 2)])]  # fmt: skip
    svc = [ServiceState("web", 9, 0.5)]
    view = LiveCluster.from_state(nodes, svc, np.zeros((1, 7), np.int64))
    usable = np.ones((1, 7), bool)
    plain, _ = plan_counts(LeastLoadedPlacement(), view, usable, [9])
    dom = view.site_domain
    per_domain = lambda rep: [int(rep[0][dom == d].sum()) for d in range(3)]  # noqa: E731
    spread, unplaced = plan_counts(LeastLoadedPlacement(), view, usable, [9], spread=[dom])
    assert per_domain(spread) == [3, 3, 3] and unplaced.tolist() == [0]
    assert per_domain(plain) != [3, 3, 3]  # least-loaded alone favours the big domain
    # 30 replicas: domain 1 holds 4 at most (2 cores / 0.5); the rest spills to the others
    more, unplaced = plan_counts(
        LeastLoadedPlacement(), view.with_(replicas=spread), usable, [30], spread=[dom]
    )
    assert (more >= spread).all()  # nothing placed before moves
    assert per_domain(more)[1] == 4 and sum(per_domain(more)) == 30 and unplaced.tolist() == [0]


def test_controller_spreads_a_deployment_across_failure_domains(tmp_path: Path) -> None:
    c = Controller(ClusterConfig(nats_urls=[]), ControllerConfig(tmp_path, api_port=-1))
    try:
        for j, (cores, d) in enumerate([(8, 0), (8, 0), (8, 0), (2, 1), (4, 2)]):
            _join(c, NodeState(f"a{j}", f"s{j}", cpu_cores=cores, domain=f"d{d}"))
        c.apply({"name": "web", "command": ["true"], "replicas": 6, "cpu_cores": 0.5, "spread": "domain"})
        c.reconcile_once()
        per: dict[str, int] = {}
        for r in c.replicas.values():
            dom = c.agents[r.agent].node.domain
            per[dom] = per.get(dom, 0) + 1
        assert per == {"d0": 2, "d1": 2, "d2": 2}
    finally:
        c.store.close()
