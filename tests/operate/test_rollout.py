"""Rolling updates with real processes: surge and unavailability bounds, health gate, automatic rollback."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from edgescale.operate.agent import Agent, AgentConfig
from edgescale.operate.controller import Controller, ControllerConfig

from .conftest import Env, await_until

SERVER = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]


def _dep(**kw: Any) -> dict[str, Any]:
    base = {
        "name": "web",
        "command": SERVER,
        "replicas": 3,
        "cpu_cores": 0.2,
        "restart_backoff_s": 0.1,
        "health": {"http_path": "/", "period_s": 0.1, "failure_threshold": 1},
        "strategy": {"max_surge": 1, "max_unavailable": 0, "max_restarts": 1, "progress_deadline_s": 8},
    }
    return {**base, **kw}


def test_rollout_respects_bounds_and_rolls_back_a_failing_revision(env: Env) -> None:
    async def main() -> None:
        c = Controller(
            env.cfg, ControllerConfig(env.dir / "ctl", heartbeat_s=0.2, reconcile_s=0.05, api_port=-1)
        )
        await c.start()
        agents = [
            Agent(AgentConfig(site=f"s{k}", state_dir=env.dir / f"s{k}", heartbeat_s=0.2, tick_s=0.05,
                              status_every_s=0.5, cpu_cores=2.0), env.cfg.join())
            for k in range(2)
        ]  # fmt: skip
        tasks = [asyncio.create_task(a.run()) for a in agents]
        samples: list[tuple[int, int]] = []

        async def sample() -> None:
            while True:
                d = c.deployment_status("web")
                samples.append((d["assigned"], d["ready"]))
                await asyncio.sleep(0.02)

        try:
            await await_until(lambda: len(c.agents) == 2, 10, "joined")
            c.apply(_dep())
            await await_until(lambda: c.deployment_status("web")["ready"] == 3, 15, "v1 ready")
            sampler = asyncio.create_task(sample())
            # a good update: revision 2, one replica at a time, never fewer than 3 ready
            c.apply(_dep(env={"VERSION": "2"}))
            await await_until(lambda: not c.rollouts.active, 30, "rollout 2 finished")
            d = c.deployment_status("web")
            assert (d["revision"], d["updated"], d["ready"]) == (2, 3, 3)
            assert d["rollout"]["history"][-1]["state"] == "complete"
            assert max(a for a, _ in samples) <= 3 + 1  # max_surge 1
            assert min(r for _, r in samples) >= 3 - 0  # max_unavailable 0
            # a bad update: revision 3 crashes at once; the gate fails and revision 2 comes back
            samples.clear()
            c.apply(_dep(env={"VERSION": "3"}, command=[sys.executable, "-c", "import sys; sys.exit(3)"]))
            await await_until(
                lambda: (
                    [h["state"] for h in c.rollouts.status("web")["history"]][-2:]
                    == ["rolled-back", "complete"]
                ),
                30,
                "rolled back",
            )
            d = c.deployment_status("web")
            assert d["revision"] == 2
            assert d["spec"]["env"] == {"VERSION": "2"}
            await await_until(lambda: c.deployment_status("web")["ready"] == 3, 10, "v2 ready")
            assert all(r.revision == 2 for r in c.replicas.values())
            assert min(r for _, r in samples) >= 3  # the failing revision never took a ready replica away
            hist = c.rollouts.status("web")["history"]
            assert "restarted" in hist[-2]["message"]
            kinds = [e["kind"] for e in c.store.events()]
            assert "rollout.rolled-back" in kinds
            sampler.cancel()
        finally:
            for a in agents:
                a.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            for a in agents:
                await a.stop_workloads()
            await c.stop()

    asyncio.run(main())
