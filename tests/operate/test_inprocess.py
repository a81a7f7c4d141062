"""Controller and agents in one event loop over a real nats-server: join, placement, supervision."""

from __future__ import annotations

import asyncio
import os
import signal

from edgescale.operate.agent import Agent, AgentConfig
from edgescale.operate.controller import Controller, ControllerConfig

from .conftest import Env, await_until, pid_alive


def _agents(env: Env, n: int, **kw: object) -> list[Agent]:
    return [
        Agent(
            AgentConfig(
                site=f"s{k}",
                state_dir=env.dir / f"agent{k}",
                heartbeat_s=0.2,
                tick_s=0.05,
                status_every_s=1.0,
                cpu_cores=2.0,
                **kw,
            ),  # type: ignore[arg-type]
            env.cfg.join(),
        )
        for k in range(n)
    ]


def test_converges_and_restarts_crashed_workloads(env: Env) -> None:
    async def main() -> None:
        c = Controller(
            env.cfg, ControllerConfig(env.dir / "ctl", heartbeat_s=0.2, reconcile_s=0.1, api_port=-1)
        )
        await c.start()
        agents = _agents(env, 3)
        tasks = [asyncio.create_task(a.run()) for a in agents]
        try:
            await await_until(lambda: len(c.agents) == 3, 10, "3 agents joined")
            c.apply(
                {
                    "name": "web",
                    "command": ["sleep", "300"],
                    "replicas": 5,
                    "cpu_cores": 0.5,
                    "restart_backoff_s": 0.1,
                }
            )
            await await_until(lambda: c.deployment_status("web")["running"] == 5, 10, "5 running")
            pids = [w.proc.pid for a in agents for w in a.workloads.values() if w.proc]
            env.pids += pids
            assert len(pids) == 5
            assert all(pid_alive(p) for p in pids)
            per_node = sorted(len(a.workloads) for a in agents)
            assert per_node == [1, 2, 2]  # least-loaded spreads 5 replicas of 0.5 cores over 3x2 cores
            victim = pids[0]
            os.kill(victim, signal.SIGKILL)
            await await_until(
                lambda: sum(w.restarts for a in agents for w in a.workloads.values()) == 1, 5, "a restart"
            )
            await await_until(lambda: c.deployment_status("web")["running"] == 5, 5, "5 running again")
            assert len(c.replicas) == 5
            c.apply(
                {
                    "name": "web",
                    "command": ["sleep", "300"],
                    "replicas": 2,
                    "cpu_cores": 0.5,
                    "restart_backoff_s": 0.1,
                }
            )
            await await_until(
                lambda: sum(len(a.workloads) for a in agents) == 2, 5, "scaled down to 2 on the agents"
            )
            assert c.deployment_status("web")["revision"] == 1  # replicas changed, template did not
        finally:
            for a in agents:
                a.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            for a in agents:
                await a.stop_workloads()
            await c.stop()

    asyncio.run(main())
