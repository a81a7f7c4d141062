"""A designed system becomes deployments, and the controller runs exactly the planned replicas per site."""

from __future__ import annotations

import copy
from pathlib import Path

from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import scenario_from_dict
from edgescale.operate.cluster import NodeState
from edgescale.operate.config import ClusterConfig
from edgescale.operate.controller import Controller, ControllerConfig
from edgescale.operate.design import deployments_from_plan
from edgescale.operate.protocol import JOIN
from edgescale.operate.security import KeyPair, seal

from ..conftest import TINY


def _join(c: Controller, site: str, cores: float, tier: str) -> None:
    key = KeyPair.generate()
    body = {"site": site, "cpu_cores": cores, "tier": tier, "labels": {}, "token": c.cluster.bootstrap_token,
            "public_key": key.public_b64}  # fmt: skip
    data, hdr = seal(key.shared_key(c.key), "join", "", JOIN, body)
    c._join(data, hdr)


def test_the_plan_is_what_runs(tmp_path: Path) -> None:
    s = scenario_from_dict(copy.deepcopy(TINY))
    arrays = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, arrays)
    docs = deployments_from_plan(s, plan, command=["sleep", "60"])
    assert sum(d["replicas"] for d in docs) == sum(e.count for e in plan.replicas) > 0
    c = Controller(ClusterConfig(nats_urls=[]), ControllerConfig(tmp_path, api_port=-1))
    try:
        for j, site in enumerate(arrays.site_ids):
            _join(
                c,
                site,
                float(arrays.site_cpu_cores[j]),
                ["device", "edge", "aggregation", "cloud"][arrays.site_tier[j]],
            )
        for d in docs:
            c.apply(d)
        c.reconcile_once()
        got: dict[tuple[str, str], int] = {}
        for r in c.replicas.values():
            key = (c.deployments[r.deployment].spec.env["EDGESCALE_SERVICE"], c.agents[r.agent].node.site)
            got[key] = got.get(key, 0) + 1
        assert got == {(e.service, e.site): e.count for e in plan.replicas}
        assert NodeState.from_info("a-1", {"site": "x"}).labels == {"edgescale/site": "x"}
    finally:
        c.store.close()
