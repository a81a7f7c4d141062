"""Hollow agents (real protocol and keys, fake workloads) against a real controller over NATS."""

from __future__ import annotations

import asyncio

from edgescale.operate.controller import Controller, ControllerConfig
from edgescale.operate.hollow import HollowFleet

from .conftest import Env, await_until


def test_hollow_fleet_converges_and_failed_agents_lose_their_replicas_after_the_window(env: Env) -> None:
    async def main() -> None:
        c = Controller(
            env.cfg,
            ControllerConfig(
                env.dir / "ctl", heartbeat_s=0.2, reconcile_s=0.1, autonomy_window_s=1.0, api_port=-1
            ),
        )
        await c.start()
        fleet = HollowFleet(env.cfg.join(), 200, connections=4, heartbeat_s=0.2, slots=20, seed=1)
        try:
            await fleet.start()
            await await_until(lambda: len(c.agents) == 200, 20, "200 joined")
            for k in range(4):
                c.apply({"name": f"d{k}", "command": ["true"], "replicas": 250, "cpu_cores": 0.01})
            await await_until(lambda: c.summary()["replicas_running"] == 1000, 30, "1000 running")
            assert fleet.running() == 1000
            per_agent = [len(a.replicas) for a in fleet.agents]
            assert max(per_agent) - min(per_agent) <= 1  # least-loaded spreads evenly
            victims = [fleet.agents[k] for k in (3, 50, 199)]
            for k in (3, 50, 199):
                fleet.kill(k)
            await await_until(
                lambda: all(c.agents[v.agent_id].suspected_since is not None for v in victims),
                10,
                "suspected",
            )
            assert {a.node.site for a in c.agents.values() if a.suspected_since is not None} == {
                v.site for v in victims
            }
            await await_until(
                lambda: all(not c.by_agent.get(v.agent_id) for v in victims) and fleet.running() == 1000,
                15,
                "replicas moved off the silent agents",
            )
            lost = {e["subject"]: e["ts"] for e in c.store.events(kind="node.lost")}
            suspected = {e["subject"]: e["ts"] for e in c.store.events(kind="node.suspected")}
            for v in victims:
                assert lost[v.site] - suspected[v.site] >= 1.0 - 0.05  # not before the autonomy window
        finally:
            await fleet.stop()
            await c.stop()

    asyncio.run(main())
